drop schema if exists x cascade; create schema x;
create function x.stay_offers(
    p_hotel_ids    bigint[],
    p_check_in     date,
    p_check_out    date,
    p_customer_id  bigint default null,
    p_room_type_id bigint default null,
    p_rate_plan_id bigint default null,
    p_with_nightly boolean default true
) returns table (
    hotel_id            bigint,
    room_type_id        bigint,
    rate_plan_id        bigint,
    max_occupancy       integer,
    open_nights         integer,
    available           integer,
    stop_sold           boolean,
    restricted          boolean,
    currency            char(3),
    nightly             numeric[],
    subtotal            numeric,
    los_discount        numeric,
    member_discount     numeric,
    tax                 numeric,
    total               numeric
)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    -- computed once, so the one query below stays simple to plan (plpgsql caches its plan)
    v_now         timestamptz := internal.now();
    v_member_rate numeric := coalesce((select mr.discount_rate from core.customers c
                                       join core.membership_ranks mr on mr.code = c.rank_code
                                       where c.id = p_customer_id), 0);
begin
    return query
    with stale as materialized (
        -- nights of active holds that expired but were not reclaimed yet (usually none): read once,
        -- so a plan that probes it once per inventory row rescans a list, not a hash table
        select l.hotel_id, l.room_type_id, n.night::date as night, count(*)::integer as n
        from core.holds h
        join core.hold_lines l on l.hold_id = h.id
        cross join generate_series(greatest(lower(l.stay), p_check_in), least(upper(l.stay), p_check_out) - 1,
                                   interval '1 day') as n(night)
        where h.hotel_id = any(p_hotel_ids) and h.status = 'active' and h.expires_at <= v_now
          and l.stay && daterange(p_check_in, p_check_out)
        group by 1, 2, 3
    ),
    by_rate as (
        -- one pass over the nights of the stay plus the departure day (closed to departure),
        -- grouped by rack rate (hash aggregate, no per-night sort)
        select rt.hotel_id, rt.id as room_type_id, rt.max_occupancy, i.rack_rate,
               (count(*) filter (where i.night < p_check_out))::integer as open_nights,
               (min(core.inventory_sellable(i) + coalesce(s.n, 0))
                    filter (where i.night < p_check_out))::integer as available,
               bool_or(i.stop_sell) filter (where i.night < p_check_out) as stop_sold,
               bool_or(case when i.night = p_check_out then i.closed_to_departure
                            when i.night = p_check_in then i.closed_to_arrival
                                or (p_check_out - p_check_in) < coalesce(i.min_stay, 0)
                                or (p_check_out - p_check_in) > coalesce(i.max_stay, 2147483647)
                            else false end) as restricted
        from core.room_types rt
        join core.inventory i on i.hotel_id = rt.hotel_id and i.room_type_id = rt.id
                             and i.night >= p_check_in and i.night <= p_check_out
        left join stale s on s.hotel_id = i.hotel_id and s.room_type_id = i.room_type_id and s.night = i.night
        where rt.hotel_id = any(p_hotel_ids) and rt.active and (p_room_type_id is null or rt.id = p_room_type_id)
        group by rt.hotel_id, rt.id, rt.max_occupancy, i.rack_rate
    ),
    inv as (
        -- per room type: the rates of the stay's nights and how many nights each
        select b.hotel_id, b.room_type_id, b.max_occupancy,
               sum(b.open_nights)::integer as open_nights,
               min(b.available) as available,
               coalesce(bool_or(b.stop_sold), false) as stop_sold,
               coalesce(bool_or(b.restricted), false) as restricted,
               array_agg(b.rack_rate) filter (where b.open_nights > 0) as rates,
               array_agg(b.open_nights) filter (where b.open_nights > 0) as rate_nights
        from by_rate b
        group by b.hotel_id, b.room_type_id, b.max_occupancy
    ),
    los as (
        -- the length-of-stay rate of the stay per room type and hotel-wide (room_type_id null): the
        -- largest min_nights not above the stay length; read once and hash-joined below
        select distinct on (d.hotel_id, d.room_type_id) d.hotel_id, d.room_type_id, d.discount_rate
        from core.length_of_stay_discounts d
        where d.hotel_id = any(p_hotel_ids) and d.min_nights <= p_check_out - p_check_in
        order by d.hotel_id, d.room_type_id, d.min_nights desc
    ),
    typed as materialized (
        -- per room type (once, not per rate plan): the hotel's money rules and the length-of-stay
        -- rate (a room-type row beats a hotel-wide one)
        select inv.*, h.currency, h.prices_include_tax, h.tax_rate, cur.minor_units,
               coalesce(ls.discount_rate, lh.discount_rate, 0) as los_rate
        from inv
        join core.hotels h on h.id = inv.hotel_id
        join core.currencies cur on cur.code = h.currency
        left join los ls on ls.hotel_id = inv.hotel_id and ls.room_type_id = inv.room_type_id
        left join los lh on lh.hotel_id = inv.hotel_id and lh.room_type_id is null
        where inv.open_nights > 0
    )
    select t.hotel_id, t.room_type_id, rp.id, t.max_occupancy, t.open_nights, t.available,
           t.stop_sold, t.restricted,
           t.currency, np.nightly, np.subtotal, pr.los_discount, pr.member_discount, pr.tax, pr.total
    from typed t
    join core.rate_plans rp on rp.hotel_id = t.hotel_id and rp.room_type_id = t.room_type_id and rp.active
                           and (p_rate_plan_id is null or rp.id = p_rate_plan_id)
    cross join lateral (
        select case when p_with_nightly then
                   (select array_agg(internal.nightly_price(i.rack_rate, rp.price_multiplier, rp.price_supplement,
                                                            t.minor_units) order by i.night)
                    from core.inventory i
                    where i.hotel_id = t.hotel_id and i.room_type_id = t.room_type_id
                      and i.night >= p_check_in and i.night < p_check_out)
               end as nightly,
               sum(internal.nightly_price(u.rate, rp.price_multiplier, rp.price_supplement, t.minor_units)
                   * u.nights) as subtotal
        from unnest(t.rates, t.rate_nights) as u(rate, nights)
    ) np
    cross join lateral internal.price_stay(np.subtotal, t.los_rate, v_member_rate, t.prices_include_tax, t.tax_rate,
                                           t.minor_units) pr;
end
$$;
