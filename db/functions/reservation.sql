-- The reservation ledger's rules (seeds 001 and 003): locking, availability and prices, then
-- holds, bookings, changes, cancellations and the waitlist.
--
-- Locking discipline (no deadlock between bookings): every writer locks core.inventory rows
-- first, in one statement ordered by (room_type_id, night), then hold rows, then writes. A
-- reservation row is locked before its inventory rows (modify, cancel, no-show).

-- Checks and steps that return a value are called by assignment (v := internal.f(...)), not by
-- PERFORM, on the booking path: PL/pgSQL evaluates an assignment's call as an expression, while
-- PERFORM runs it as a query through the executor (about 11 us more a call).

-- ---------------------------------------------------------------- locking and counters

create function internal.lock_nights(
    p_hotel_id      bigint,
    p_room_type_ids bigint[],
    p_froms         date[],
    p_untils        date[]
) returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_locked integer;
begin
    -- one ordered statement, so two writers wanting overlapping nights queue instead of deadlocking
    -- (PL/pgSQL keeps its plan; a SQL function with a SET clause is planned at every call)
    if cardinality(p_room_type_ids) = 1 then
        -- one range (almost every call): scalar parameters, so the cached generic plan is an
        -- index range scan; the join below over arrays is planned again at every call
        select count(*)::integer into v_locked
        from (
            select 1
            from core.inventory i
            where i.hotel_id = p_hotel_id and i.room_type_id = p_room_type_ids[1]
              and i.night >= p_froms[1] and i.night < p_untils[1]
            order by i.night
            for update of i
        ) locked;
        return v_locked;
    end if;
    select count(*)::integer into v_locked
    from (
        select 1
        from core.inventory i
        join unnest(p_room_type_ids, p_froms, p_untils) as r(room_type_id, night_from, night_until)
          on i.room_type_id = r.room_type_id and i.night >= r.night_from and i.night < r.night_until
        where i.hotel_id = p_hotel_id
        order by i.room_type_id, i.night
        for update of i
    ) locked;
    return v_locked;
end
$$;
comment on function internal.lock_nights(bigint, bigint[], date[], date[]) is
    'Locks the inventory rows of the given (room type, [from, until)) ranges of a hotel in (room type, night) order; returns how many. No external-PMS refusal: internal.lock_inventory is the ledger writers'' entry.';

create function internal.lock_inventory(
    p_hotel_id      bigint,
    p_room_type_ids bigint[],
    p_froms         date[],
    p_untils        date[]
) returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    -- an external PMS hotel's ledger is the vendor's: every ledger write starts here and stops
    -- (a confirmation locks with internal.lock_nights: its hold could not be placed in such a
    -- hotel, and its reservation's insert is refused by the ledger's trigger all the same)
    perform internal.refuse_external_ledger(p_hotel_id);
    return internal.lock_nights(p_hotel_id, p_room_type_ids, p_froms, p_untils);
end
$$;
comment on function internal.lock_inventory(bigint, bigint[], date[], date[]) is
    'EXTERNAL_PMS_HOTEL for a hotel kept by an external PMS (internal.refuse_external_ledger), else locks the inventory rows of the given (room type, [from, until)) ranges of a hotel in (room type, night) order (internal.lock_nights); returns how many.';

create function internal.end_holds(p_hold_ids bigint[], p_status core.hold_status) returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_ended bigint[];
    v_lines record;
begin
    -- caller has locked the inventory rows of these holds; only active holds end
    with ended as (
        update core.holds h
        set status = p_status, ended_at = internal.now()
        where h.id = any(p_hold_ids) and h.status = 'active'
        returning h.id
    )
    select coalesce(array_agg(e.id), '{}') into v_ended from ended e;
    if cardinality(v_ended) = 0 then
        return 0;
    end if;
    -- their nights go back: one range update per (room type, stay), an index range scan of the
    -- stay's nights (a join against per-night rows was planned as a scan of the hotel's calendar)
    for v_lines in
        select l.hotel_id, l.room_type_id, l.stay, count(*)::integer as n
        from core.hold_lines l
        where l.hold_id = any(v_ended)
        group by l.hotel_id, l.room_type_id, l.stay
        order by l.hotel_id, l.room_type_id, lower(l.stay)
    loop
        update core.inventory i
        set held = i.held - v_lines.n
        where i.hotel_id = v_lines.hotel_id and i.room_type_id = v_lines.room_type_id
          and i.night >= lower(v_lines.stay) and i.night < upper(v_lines.stay);
    end loop;
    -- an offer that ends unconfirmed ends the waitlist entry's turn
    update core.waitlist_entries w
    set status = case when p_status = 'released' then 'cancelled'::core.waitlist_status else 'expired' end
    where w.offer_hold_id = any(v_ended) and w.status = 'offered';
    return cardinality(v_ended);
end
$$;
comment on function internal.end_holds(bigint[], core.hold_status) is
    'Ends active holds (released or expired) and gives their nights back; the inventory rows must be locked already. Returns how many ended.';

create function internal.lock_and_reclaim(
    p_hotel_id      bigint,
    p_room_type_ids bigint[],
    p_froms         date[],
    p_untils        date[]
) returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_stale       bigint[];
    v_room_types  bigint[];
    v_froms       date[];
    v_untils      date[];
    v_locked      integer;
begin
    -- an external PMS hotel's ledger is the vendor's (as internal.lock_inventory)
    perform internal.refuse_external_ledger(p_hotel_id);
    -- expired holds still active on these nights: their rows are locked too, then they end,
    -- so an expired hold never blocks a sale even before api.expire_holds runs. The hotel's
    -- expired active holds first (usually none: one probe of the partial index of active holds),
    -- then which of them have lines on these nights (a join from the lines scanned every line of
    -- the room type the hotel ever held)
    select coalesce(array_agg(h.id), '{}') into v_stale
    from core.holds h
    where h.hotel_id = p_hotel_id and h.status = 'active' and h.expires_at <= internal.now();
    if cardinality(v_stale) > 0 then
        select coalesce(array_agg(distinct l.hold_id), '{}') into v_stale
        from core.hold_lines l
        join unnest(p_room_type_ids, p_froms, p_untils) as r(room_type_id, night_from, night_until)
          on l.room_type_id = r.room_type_id and l.stay && daterange(r.night_from, r.night_until)
        where l.hotel_id = p_hotel_id and l.hold_id = any(v_stale);
    end if;
    if cardinality(v_stale) = 0 then
        v_locked := internal.lock_nights(p_hotel_id, p_room_type_ids, p_froms, p_untils);
        return 0;
    end if;

    select array_agg(x.room_type_id), array_agg(x.night_from), array_agg(x.night_until)
    into v_room_types, v_froms, v_untils
    from (
        select r.room_type_id, r.night_from, r.night_until
        from unnest(p_room_type_ids, p_froms, p_untils) as r(room_type_id, night_from, night_until)
        union all
        select l.room_type_id, lower(l.stay), upper(l.stay)
        from core.hold_lines l where l.hold_id = any(v_stale)
    ) x;
    v_locked := internal.lock_nights(p_hotel_id, v_room_types, v_froms, v_untils);
    if cardinality(v_stale) > 0 then
        perform internal.end_holds(array(select h.id from core.holds h
                                         where h.id = any(v_stale) and h.status = 'active'
                                           and h.expires_at <= internal.now()), 'expired');
    end if;
    return cardinality(v_stale);
end
$$;
comment on function internal.lock_and_reclaim(bigint, bigint[], date[], date[]) is
    'Locks the inventory rows of the ranges (and of expired-but-active holds overlapping them) in order, then expires those holds. Returns how many holds it reclaimed.';

create function internal.take_inventory(
    p_hotel_id     bigint,
    p_room_type_id bigint,
    p_check_in     date,
    p_check_out    date,
    p_rooms        integer,
    p_counter      text,
    p_raise        boolean default true
) returns boolean
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_nights   integer := p_check_out - p_check_in;
    v_open     integer;
    v_stop     date;
    v_short    date;
    v_left     integer;
    v_min_stay integer;
    v_max_stay integer;
    v_cta      boolean;
    v_ctd      boolean;
begin
    -- the rows are locked by the caller (internal.lock_and_reclaim); every night must be open.
    -- One read of the stay's nights and the departure day's row: what is open, stop-sold or short,
    -- and the arrival night's and the departure day's restrictions
    select count(*) filter (where i.night < p_check_out)::integer,
           min(i.night) filter (where i.night < p_check_out and i.stop_sell),
           min(i.night) filter (where i.night < p_check_out and core.inventory_sellable(i) < p_rooms),
           min(i.min_stay) filter (where i.night = p_check_in),
           min(i.max_stay) filter (where i.night = p_check_in),
           bool_or(i.closed_to_arrival) filter (where i.night = p_check_in),
           bool_or(i.closed_to_departure) filter (where i.night = p_check_out)
    into v_open, v_stop, v_short, v_min_stay, v_max_stay, v_cta, v_ctd
    from core.inventory i
    where i.hotel_id = p_hotel_id and i.room_type_id = p_room_type_id
      and i.night >= p_check_in and i.night <= p_check_out;
    if v_open < v_nights then
        if not p_raise then return false; end if;
        perform internal.raise_error('INVENTORY_UNAVAILABLE',
            format('night %s of room type %s is not open for sale',
                   (select min(n.night)::date from generate_series(p_check_in, p_check_out - 1, interval '1 day') n(night)
                    where not exists (select 1 from core.inventory i where i.hotel_id = p_hotel_id
                                      and i.room_type_id = p_room_type_id and i.night = n.night::date)),
                   p_room_type_id),
            'open the calendar or choose other dates');
    end if;
    if v_stop is not null then
        if not p_raise then return false; end if;
        perform internal.raise_error('INVENTORY_UNAVAILABLE', format('night %s of room type %s is stop-sold', v_stop, p_room_type_id),
            'choose other dates or another room type');
    end if;

    -- restrictions: min/max stay and closed to arrival on the arrival night, closed to departure on the departure day
    if v_min_stay is not null and v_nights < v_min_stay
       or v_max_stay is not null and v_nights > v_max_stay
       or v_cta or coalesce(v_ctd, false) then
        if not p_raise then return false; end if;
        perform internal.raise_error('RESTRICTION_VIOLATED',
            case when v_cta then format('night %s is closed to arrival', p_check_in)
                 when coalesce(v_ctd, false) then format('%s is closed to departure', p_check_out)
                 when v_nights < v_min_stay then format('night %s requires a minimum stay of %s nights, got %s',
                                                        p_check_in, v_min_stay, v_nights)
                 else format('night %s allows a maximum stay of %s nights, got %s', p_check_in, v_max_stay, v_nights)
            end,
            'choose dates that meet the restriction');
    end if;

    if v_short is not null then
        if not p_raise then return false; end if;
        select greatest(core.inventory_sellable(i), 0) into v_left
        from core.inventory i where i.hotel_id = p_hotel_id and i.room_type_id = p_room_type_id and i.night = v_short;
        perform internal.raise_error('INVENTORY_UNAVAILABLE',
            format('night %s of room type %s has %s room(s) left, %s wanted', v_short, p_room_type_id, v_left, p_rooms),
            'choose other dates, another room type, or join the waitlist');
    end if;

    if p_counter = 'held' then
        update core.inventory i set held = i.held + p_rooms
        where i.hotel_id = p_hotel_id and i.room_type_id = p_room_type_id and i.night >= p_check_in and i.night < p_check_out;
    else
        update core.inventory i set booked = i.booked + p_rooms
        where i.hotel_id = p_hotel_id and i.room_type_id = p_room_type_id and i.night >= p_check_in and i.night < p_check_out;
    end if;
    return true;
end
$$;
comment on function internal.take_inventory(bigint, bigint, date, date, integer, text, boolean) is
    'Under the caller''s row locks: checks every night is open, not stop-sold, within restrictions and has p_rooms left, then adds them to held or booked. Raises INVENTORY_UNAVAILABLE / RESTRICTION_VIOLATED naming the night (or returns false with p_raise = false).';

create function internal.free_booked(p_reservation_id bigint) returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_count integer;
begin
    -- the lines still occupying nights give them back; rows are locked by the caller
    update core.inventory i
    set booked = i.booked - c.n
    from (
        select l.hotel_id, l.room_type_id, n.night::date as night, count(*)::integer as n
        from core.reservation_rooms l
        cross join generate_series(lower(l.stay), upper(l.stay) - 1, interval '1 day') as n(night)
        where l.reservation_id = p_reservation_id
          and l.status in ('pending', 'confirmed', 'checked_in', 'checked_out')
        group by 1, 2, 3
    ) c
    where i.hotel_id = c.hotel_id and i.room_type_id = c.room_type_id and i.night = c.night;
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function internal.free_booked(bigint) is
    'Gives back the nights of a reservation''s occupying lines (booked - 1 per line and night); the caller locked the rows and then changes the lines.';

-- ---------------------------------------------------------------- validation

create function internal.check_stay(p_hotel core.hotels, p_check_in date, p_check_out date) returns integer
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_today date := (internal.now() at time zone p_hotel.time_zone)::date;
begin
    if p_check_in is null or p_check_out is null then
        perform internal.raise_error('INVALID_DATES', format('check_in %s, check_out %s: both are required',
            coalesce(p_check_in::text, 'null'), coalesce(p_check_out::text, 'null')), 'pass both dates');
    end if;
    if not isfinite(p_check_in) or not isfinite(p_check_out) or p_check_out <= p_check_in then
        perform internal.raise_error('INVALID_DATES', format('check_out %s is not after check_in %s', p_check_out, p_check_in),
            'check_out must be after check_in');
    end if;
    if p_check_in < v_today then
        perform internal.raise_error('INVALID_DATES', format('check_in %s is before today (%s) in %s', p_check_in, v_today,
            p_hotel.time_zone), 'book from today on');
    end if;
    if p_check_out - p_check_in > p_hotel.max_stay_nights then
        perform internal.raise_error('STAY_TOO_LONG', format('%s nights, hotel %s allows %s', p_check_out - p_check_in,
            p_hotel.id, p_hotel.max_stay_nights), 'split the stay or ask the hotel');
    end if;
    return p_check_out - p_check_in;
end
$$;
comment on function internal.check_stay(core.hotels, date, date) is
    'Refuses missing, reversed, past (hotel time zone) or too long stays with INVALID_DATES / STAY_TOO_LONG; returns the nights.';

create function internal.check_guests(p_room_type core.room_types, p_rooms integer, p_adults integer, p_children integer)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_count integer;
begin
    v_count := internal.require_count('p_rooms', p_rooms, 1, 10);
    v_count := internal.require_count('p_adults', p_adults, 1, 20);
    v_count := internal.require_count('p_children', p_children, 0, 20);
    if p_adults + p_children > p_room_type.max_occupancy then
        perform internal.raise_error('OCCUPANCY_EXCEEDED', format('%s adults + %s children per room, room type %s takes %s',
            p_adults, p_children, p_room_type.code, p_room_type.max_occupancy), 'book more rooms or a larger room type');
    end if;
end
$$;
comment on function internal.check_guests(core.room_types, integer, integer, integer) is
    'Refuses bad room/guest counts (INVALID_ARGUMENT) and more guests per room than the room type takes (OCCUPANCY_EXCEEDED).';

create function internal.require_rate_plan(p_hotel_id bigint, p_room_type_id bigint, p_rate_plan_id bigint)
returns core.rate_plans
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_plan core.rate_plans;
begin
    if p_rate_plan_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_rate_plan_id is null', 'pass a rate plan id');
    end if;
    select * into v_plan from core.rate_plans rp
    where rp.hotel_id = p_hotel_id and rp.room_type_id = p_room_type_id and rp.id = p_rate_plan_id and rp.active;
    if not found then
        perform internal.raise_error('RATE_PLAN_NOT_FOUND', format('rate plan %s for room type %s', p_rate_plan_id, p_room_type_id),
            'list the room type''s rate plans');
    end if;
    return v_plan;
end
$$;
comment on function internal.require_rate_plan(bigint, bigint, bigint) is 'The active rate plan of that room type, or RATE_PLAN_NOT_FOUND.';

create function internal.require_customer(p_customer_id bigint) returns bigint
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_customer_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_customer_id is null', 'create the guest profile first');
    end if;
    if not exists (select 1 from core.customers c where c.id = p_customer_id) then
        perform internal.raise_error('CUSTOMER_NOT_FOUND', format('customer %s', p_customer_id), 'create the guest profile first');
    end if;
    return p_customer_id;
end
$$;
comment on function internal.require_customer(bigint) is 'The customer id, or CUSTOMER_NOT_FOUND.';

-- ---------------------------------------------------------------- availability and prices

-- The price ladder, written once: from a room's subtotal for the stay, the length-of-stay discount,
-- then the member discount on what is left, then tax added (or extracted when the hotel's prices
-- include it), each step rounded to the currency. internal.stay_offers and the chain search's
-- fast path both price through it. Plain SQL with a standard body, immutable and without
-- settings: bound when created (a caller's search_path cannot change it) and inlined by the
-- planner into the caller's query, so pricing a thousand offers is one query, not a thousand calls.
-- Inlined, each step is written out where it is used (the net amount twice in a total with tax
-- added, the length-of-stay discount in the member discount and in the net amount), so a step that
-- cannot change the amount is left out of it: with no member discount the net amount is the
-- subtotal less the length-of-stay discount alone (the same value and scale: the member discount
-- would be a zero in the currency's minor units). A caller whose member rate is known when its
-- query is planned (the chain search plans each call) has the test folded away; any other pays a
-- comparison.
create function internal.nightly_price(
    p_rack_rate   numeric,
    p_multiplier  numeric,
    p_supplement  numeric,
    p_minor_units integer
) returns numeric
language sql
immutable
parallel safe
return round(p_rack_rate * p_multiplier + p_supplement, p_minor_units);
comment on function internal.nightly_price(numeric, numeric, numeric, integer) is
    'A night''s price on a rate plan: round(rack rate * multiplier + supplement) to the currency''s minor units.';

create function internal.price_stay(
    p_subtotal           numeric,
    p_los_rate           numeric,
    p_member_rate        numeric,
    p_prices_include_tax boolean,
    p_tax_rate           numeric,
    p_minor_units        integer
) returns table (los_discount numeric, member_discount numeric, tax numeric, total numeric)
language sql
immutable
parallel safe
begin atomic
    select d1.los_discount, d2.member_discount, tx.tax,
           case when p_prices_include_tax then net.amount else net.amount + tx.tax end as total
    from (select round(p_subtotal * p_los_rate, p_minor_units) as los_discount) as d1
    cross join lateral (select round((p_subtotal - d1.los_discount) * p_member_rate, p_minor_units) as member_discount) as d2
    cross join lateral (select case when p_member_rate = 0 then p_subtotal - d1.los_discount
                                    else p_subtotal - d1.los_discount - d2.member_discount end as amount) as net
    cross join lateral (
        select case when p_prices_include_tax then net.amount - round(net.amount / (1 + p_tax_rate), p_minor_units)
                    else round(net.amount * p_tax_rate, p_minor_units) end as tax
    ) as tx;
end;
comment on function internal.price_stay(numeric, numeric, numeric, boolean, numeric, integer) is
    'The price ladder of one room for a stay: length-of-stay discount on p_subtotal, member discount on the rest, tax added (or extracted when prices include tax), each rounded to p_minor_units; total is what the guest pays per room. One row.';

-- Everything search, quote and hold need for a stay, one row per (hotel, room type, rate plan),
-- set-based over any number of hotels. Per room: nightly = internal.nightly_price; subtotal =
-- sum; then internal.price_stay's ladder. "available" counts only live holds as taken.
-- Cost: one pass over the stay's inventory rows grouped by (room type, rack rate) -- a stay has
-- few distinct rates, so the subtotal sums count * round(rate * multiplier + supplement) over those
-- groups (equal to the per-night sum) instead of pricing every night of every rate plan. Searches
-- pass p_with_nightly = false; the per-night array is then left null.
-- Its cached plan serves the one-hotel callers (search, quote, hold, modify, waitlist); the chain
-- search sets plan_cache_mode = force_custom_plan for its call, because a generic plan cannot tell
-- one hotel from a hundred (it chose nested loops and a sort of every night of a chain).
create function internal.stay_offers(
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
    -- whether any expired hold of the hotels awaits reclaiming (usually not): only then is the
    -- list below looked at, so a stay's nights are not joined against an empty list
    v_any_stale   boolean := exists (select 1 from core.holds h
                                     where h.hotel_id = any(p_hotel_ids) and h.status = 'active'
                                       and h.expires_at <= v_now);
begin
    return query
    with stale as materialized (
        -- nights of active holds that expired but were not reclaimed yet (usually none): read once,
        -- and probed per inventory row only when v_any_stale says there are some. The lines are
        -- looked up hold by hold (the fence keeps that join a nested loop over hold_lines_hold):
        -- a cached plan, estimated for any number of hotels, otherwise scanned every hold line
        -- ever written to find the few of the expired holds
        select l.hotel_id, l.room_type_id, n.night::date as night, count(*)::integer as n
        from core.holds h
        cross join lateral (
            select l.hotel_id, l.room_type_id, l.stay from core.hold_lines l
            where l.hold_id = h.id and l.stay && daterange(p_check_in, p_check_out)
            offset 0
        ) l
        cross join generate_series(greatest(lower(l.stay), p_check_in), least(upper(l.stay), p_check_out) - 1,
                                   interval '1 day') as n(night)
        where h.hotel_id = any(p_hotel_ids) and h.status = 'active' and h.expires_at <= v_now
        group by 1, 2, 3
    ),
    by_rate as (
        -- per room type, one pass over the nights of the stay plus the departure day (closed to
        -- departure) grouped by rack rate: a room type's few dozen rows at a time, not one sort of
        -- every night of the hotels
        select rt.hotel_id, rt.id as room_type_id, rt.max_occupancy, n.*
        from core.room_types rt
        cross join lateral (
            select i.rack_rate,
                   (count(*) filter (where i.night < p_check_out))::integer as open_nights,
                   (min(core.inventory_sellable(i)
                        + case when v_any_stale
                               then coalesce((select s.n from stale s where s.hotel_id = i.hotel_id
                                              and s.room_type_id = i.room_type_id and s.night = i.night), 0)
                               else 0 end)
                        filter (where i.night < p_check_out))::integer as available,
                   bool_or(i.stop_sell) filter (where i.night < p_check_out) as stop_sold,
                   bool_or(case when i.night = p_check_out then i.closed_to_departure
                                when i.night = p_check_in then i.closed_to_arrival
                                    or (p_check_out - p_check_in) < coalesce(i.min_stay, 0)
                                    or (p_check_out - p_check_in) > coalesce(i.max_stay, 2147483647)
                                else false end) as restricted
            from core.inventory i
            where i.hotel_id = rt.hotel_id and i.room_type_id = rt.id
              and i.night >= p_check_in and i.night <= p_check_out
            group by i.rack_rate
        ) n
        where rt.hotel_id = any(p_hotel_ids) and rt.active and (p_room_type_id is null or rt.id = p_room_type_id)
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
comment on function internal.stay_offers(bigint[], date, date, bigint, bigint, bigint, boolean) is
    'Availability (live holds only), restrictions and the per-room price (nightly unless p_with_nightly is false, subtotal, length-of-stay and member discounts, tax, total) of every room type and rate plan of the hotels for a stay.';

create function internal.search_availability(
    p_hotel_id    bigint,
    p_check_in    date,
    p_check_out   date,
    p_adults      integer default 2,
    p_children    integer default 0,
    p_rooms       integer default 1,
    p_customer_id bigint default null
) returns table (
    room_type_id    bigint,
    room_type_code  text,
    room_type_name  text,
    rate_plan_id    bigint,
    rate_plan_code  text,
    rate_plan_name  text,
    available_rooms integer,
    currency        char(3),
    price_per_room  numeric,
    discount        numeric,
    tax             numeric,
    total           numeric,
    source          text,
    as_of           timestamptz
)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
-- cached plans for every query of the search, internal.stay_offers' included, as internal.quote
-- and internal.create_hold have them: under the default mode the plan cache planned that query
-- again at most searches (its generic plan, estimated for any number of hotels, looked dearer
-- than each custom one), about half of the search's time; for one hotel the generic plan reads
-- the same inventory rows of the hotel's room types
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
declare
    v_hotel core.hotels;
    v_now   timestamptz := internal.now();  -- read once, not once per offer
begin
    v_hotel := internal.require_hotel(p_hotel_id);
    perform internal.check_stay(v_hotel, p_check_in, p_check_out);
    perform internal.require_count('p_rooms', p_rooms, 1, 10);
    perform internal.require_count('p_adults', p_adults, 1, 20);
    perform internal.require_count('p_children', p_children, 0, 20);
    if internal.is_external_hotel(p_hotel_id) then
        -- an external PMS hotel answers from the mirror, saying how old it is (seed 001's cache)
        return query
        select o.room_type_id, rt.code, rt.name, o.rate_plan_id, rp.code, rp.name, o.available, o.currency,
               o.total, 0::numeric, o.tax * p_rooms, o.total * p_rooms, 'mirror'::text, o.as_of
        from internal.mirror_offers(array[p_hotel_id], p_check_in, p_check_out) o
        join core.room_types rt on rt.id = o.room_type_id
        join core.rate_plans rp on rp.id = o.rate_plan_id
        where o.open_nights = p_check_out - p_check_in
          and o.available >= p_rooms
          and o.max_occupancy >= p_adults + p_children
        order by o.total, o.room_type_id, o.rate_plan_id;
        return;
    end if;
    return query
    select o.room_type_id, rt.code, rt.name, o.rate_plan_id, rp.code, rp.name, o.available, o.currency,
           o.total, (o.los_discount + o.member_discount) * p_rooms, o.tax * p_rooms, o.total * p_rooms,
           'ledger'::text, v_now
    from internal.stay_offers(array[p_hotel_id], p_check_in, p_check_out, p_customer_id, p_with_nightly => false) o
    join core.room_types rt on rt.id = o.room_type_id
    join core.rate_plans rp on rp.id = o.rate_plan_id
    where o.open_nights = p_check_out - p_check_in
      and o.available >= p_rooms
      and not o.stop_sold
      and not o.restricted
      and o.max_occupancy >= p_adults + p_children
    order by o.total, o.room_type_id, o.rate_plan_id;
end
$$;
comment on function internal.search_availability(bigint, date, date, integer, integer, integer, bigint) is
    'The body of api.search_availability without its rights check (callers check them): Room types and rate plans of one hotel bookable for every night of [p_check_in, p_check_out) with p_rooms rooms of p_adults + p_children guests each (restrictions, stop-sell and occupancy respected), with the quoted price per room and total; cheapest first. source: ledger (hotelcore''s own), or mirror for an external-PMS hotel, as_of how old the mirror rows read are.';

create function api.search_availability(
    p_hotel_id    bigint,
    p_check_in    date,
    p_check_out   date,
    p_adults      integer default 2,
    p_children    integer default 0,
    p_rooms       integer default 1,
    p_customer_id bigint default null
) returns table (
    room_type_id    bigint,
    room_type_code  text,
    room_type_name  text,
    rate_plan_id    bigint,
    rate_plan_code  text,
    rate_plan_name  text,
    available_rooms integer,
    currency        char(3),
    price_per_room  numeric,
    discount        numeric,
    tax             numeric,
    total           numeric,
    source          text,
    as_of           timestamptz
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('rooms.read');
    return query select * from internal.search_availability(p_hotel_id, p_check_in, p_check_out, p_adults, p_children, p_rooms, p_customer_id);
end
$$;
comment on function api.search_availability(bigint, date, date, integer, integer, integer, bigint) is
    'Room types and rate plans of one hotel bookable for every night of [p_check_in, p_check_out) with p_rooms rooms of p_adults + p_children guests each (restrictions, stop-sell and occupancy respected), with the quoted price per room and total; cheapest first. source: ledger (hotelcore''s own), or mirror for an external-PMS hotel, as_of how old the mirror rows read are.';

create function api.search_city_availability(
    p_city        text,
    p_check_in    date,
    p_check_out   date,
    p_adults      integer default 2,
    p_children    integer default 0,
    p_rooms       integer default 1,
    p_customer_id bigint default null,
    p_hotel_ids   bigint[] default null
) returns table (
    hotel_id          bigint,
    hotel_code        text,
    hotel_name        text,
    currency          char(3),
    bookable_offers   integer,
    room_type_id      bigint,
    rate_plan_id      bigint,
    available_rooms   integer,
    lowest_total      numeric,
    source            text,
    as_of             timestamptz
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
set plan_cache_mode = force_custom_plan  -- each query is planned for this call's hotels and dates
as $$
#variable_conflict use_column
declare
    v_hotel_ids   bigint[];
    v_now         timestamptz := internal.now();  -- read once, not once per hotel
    v_nights      integer;
    v_month       date;  -- the month of the arrival
    v_next        date;  -- the month after
    v_member_rate numeric := coalesce((select mr.discount_rate from core.customers c
                                       join core.membership_ranks mr on mr.code = c.rank_code
                                       where c.id = p_customer_id), 0);
begin
    perform internal.require_right('rooms.read');
    if p_city is null and p_hotel_ids is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'pass p_city or p_hotel_ids', 'name a city or a list of hotels');
    end if;
    if p_check_in is null or p_check_out is null or not isfinite(p_check_in) or not isfinite(p_check_out)
       or p_check_out <= p_check_in then
        perform internal.raise_error('INVALID_DATES', format('check_out %s is not after check_in %s', p_check_out, p_check_in),
            'check_out must be after check_in');
    end if;
    perform internal.require_count('p_rooms', p_rooms, 1, 10);
    perform internal.require_count('p_adults', p_adults, 1, 20);
    perform internal.require_count('p_children', p_children, 0, 20);
    v_nights := p_check_out - p_check_in;
    -- hotels of the city (or the list) for which the stay is not in the past and not too long
    select coalesce(array_agg(h.id), '{}') into v_hotel_ids
    from core.hotels h
    where h.active
      and (p_city is null or lower(h.city) = lower(p_city))
      and (p_hotel_ids is null or h.id = any(p_hotel_ids))
      and p_check_in >= (v_now at time zone h.time_zone)::date
      and v_nights <= h.max_stay_nights;
    -- external PMS hotels answer from the mirror (their ledger is the vendor's); the mirror query
    -- (planned afresh at every call, like every query here) only when one of the hotels is one
    if exists (select 1 from core.pms_properties p where p.hotel_id = any(v_hotel_ids)) then
        return query
        select distinct on (o.hotel_id)
               o.hotel_id, h.code, h.name, o.currency,
               (count(*) over (partition by o.hotel_id))::integer,
               o.room_type_id, o.rate_plan_id, o.available, o.total * p_rooms, 'mirror'::text, o.as_of
        from internal.mirror_offers(v_hotel_ids, p_check_in, p_check_out) o
        join core.hotels h on h.id = o.hotel_id
        where o.open_nights = v_nights
          and o.available >= p_rooms
          and o.max_occupancy >= p_adults + p_children
        order by o.hotel_id, o.total, o.room_type_id, o.rate_plan_id;
    end if;
    v_month := date_trunc('month', p_check_in)::date;
    v_next  := (v_month + interval '1 month')::date;
    if p_rooms > 1 or p_check_out > (v_next + interval '1 month')::date then
        -- several rooms (the exception nights only know sold-out ones), or a stay over more than
        -- two months: every night of the stay
        return query
        select distinct on (o.hotel_id)
               o.hotel_id, h.code, h.name, o.currency,
               (count(*) over (partition by o.hotel_id))::integer,
               o.room_type_id, o.rate_plan_id, o.available, o.total * p_rooms, 'ledger'::text, v_now
        from internal.stay_offers(v_hotel_ids, p_check_in, p_check_out, p_customer_id, p_with_nightly => false) o
        join core.hotels h on h.id = o.hotel_id
        where o.open_nights = v_nights
          and o.available >= p_rooms
          and not o.stop_sold
          and not o.restricted
          and o.max_occupancy >= p_adults + p_children
        order by o.hotel_id, o.total, o.room_type_id, o.rate_plan_id;
        return;
    end if;
    -- one room, a stay within two months: prices and open nights from the running sums of
    -- core.rate_calendar, and only the exception nights of the stay looked at (any other night has
    -- a room and no rule against the stay); the sums are of internal.nightly_price, and the ladder
    -- on the subtotal is internal.price_stay, as in internal.stay_offers
    return query
    with stale as (
        -- nights of active holds that expired but were not reclaimed yet: they count as free
        select l.hotel_id, l.room_type_id, n.night::date as night, count(*)::integer as n
        from core.holds h
        join core.hold_lines l on l.hold_id = h.id
        cross join generate_series(greatest(lower(l.stay), p_check_in), least(upper(l.stay), p_check_out) - 1,
                                   interval '1 day') as n(night)
        where h.hotel_id = any(v_hotel_ids) and h.status = 'active' and h.expires_at <= v_now
          and l.stay && daterange(p_check_in, p_check_out)
        group by 1, 2, 3
    ),
    stopped as (
        -- room types an exception night of the stay rules out: stop-sell, closed to departure, or
        -- (read from the calendar) the arrival rules and a sold-out night no expired hold frees
        select x.hotel_id, x.room_type_id
        from core.inventory_exceptions x
        left join core.inventory i on (x.sold_out and x.night < p_check_out or x.arrival_rules and x.night = p_check_in)
                                  and i.hotel_id = x.hotel_id and i.room_type_id = x.room_type_id and i.night = x.night
        where x.hotel_id = any(v_hotel_ids) and x.night >= p_check_in and x.night <= p_check_out
          and case when x.night = p_check_out then x.closed_to_departure
                   else x.stop_sell
                        or x.sold_out and core.inventory_sellable(i)
                                          + coalesce((select s.n from stale s where s.hotel_id = i.hotel_id
                                                      and s.room_type_id = i.room_type_id and s.night = i.night), 0) < 1
                        or x.night = p_check_in and x.arrival_rules
                           and (i.closed_to_arrival or v_nights < coalesce(i.min_stay, 0)
                                or v_nights > coalesce(i.max_stay, 2147483647))
              end
        group by x.hotel_id, x.room_type_id
    ),
    los as (
        -- the length-of-stay rates of the stay, per room type and hotel-wide (room_type_id null):
        -- the largest min_nights not above the stay length
        select distinct on (d.hotel_id, d.room_type_id) d.hotel_id, d.room_type_id, d.discount_rate
        from core.length_of_stay_discounts d
        where d.hotel_id = any(v_hotel_ids) and d.min_nights <= v_nights
        order by d.hotel_id, d.room_type_id, d.min_nights desc
    ),
    types as materialized (
        -- per room type (once, not per rate plan): active, the party fits, no exception night of
        -- the stay stops it; with its hotel's money rules and its length-of-stay rate (a room-type
        -- rate beats the hotel-wide one). Read once and hashed for the rate plans below.
        select rt.hotel_id, rt.id as room_type_id, h.currency, h.prices_include_tax, h.tax_rate, cur.minor_units,
               round(power(10::numeric, -cur.minor_units), cur.minor_units) as minor_unit,
               coalesce(ls.discount_rate, lh.discount_rate, 0) as los_rate
        from core.room_types rt
        join core.hotels h on h.id = rt.hotel_id
        join core.currencies cur on cur.code = h.currency
        left join los ls on ls.hotel_id = rt.hotel_id and ls.room_type_id = rt.id
        left join los lh on lh.hotel_id = rt.hotel_id and lh.room_type_id is null
        where rt.hotel_id = any(v_hotel_ids) and rt.active and rt.max_occupancy >= p_adults + p_children
          and (rt.hotel_id, rt.id) not in (select st.hotel_id, st.room_type_id from stopped st)
    ),
    offers as (
        -- per active rate plan of those room types open every night of the stay: its subtotal in
        -- the currency from the running sums (minor units) of the arrival's month and, when the
        -- stay runs into it, the next, times the minor unit (exact, in the currency's scale).
        -- offset 0 keeps it a subquery, so the subtotal is computed once per offer (the ladder
        -- below reads it as a column, not as an expression it would repeat).
        select c.hotel_id, c.room_type_id, c.rate_plan_id, t.currency, t.prices_include_tax, t.tax_rate,
               t.minor_units, t.los_rate,
               (c.price_sums[least(p_check_out, v_next) - v_month + 1] - c.price_sums[p_check_in - v_month + 1]
                + coalesce(n.price_sums[p_check_out - v_next + 1] - n.price_sums[1], 0))::numeric * t.minor_unit as subtotal
        from core.rate_calendar c
        join types t on t.hotel_id = c.hotel_id and t.room_type_id = c.room_type_id
        left join core.rate_calendar n on p_check_out > v_next and n.hotel_id = c.hotel_id and n.month = v_next
                                      and n.room_type_id = c.room_type_id and n.rate_plan_id = c.rate_plan_id
        where c.hotel_id = any(v_hotel_ids) and c.month = v_month
          and c.open_sums[least(p_check_out, v_next) - v_month + 1] - c.open_sums[p_check_in - v_month + 1]
              + coalesce(n.open_sums[p_check_out - v_next + 1] - n.open_sums[1], 0) = v_nights
          -- inactive rate plans (few or none) left out
          and c.rate_plan_id not in (select rp.id from core.rate_plans rp
                                     where rp.hotel_id = any(v_hotel_ids) and not rp.active)
        offset 0
    ),
    best as (
        -- per hotel, one pass over its priced offers: how many, and the cheapest as the least
        -- (total, room type, rate plan), the order a list of the hotel's offers would show them in.
        -- Each offer is priced into that one array first (offset 0), so grouping the offers by
        -- hotel moves two columns per offer, not the ladder's eight.
        select p.hotel_id, count(*)::integer as offers, min(p.offer) as cheapest
        from (select o.hotel_id, array[pr.total, o.room_type_id, o.rate_plan_id] as offer
              from offers o
              cross join lateral internal.price_stay(o.subtotal, o.los_rate, v_member_rate, o.prices_include_tax,
                                                     o.tax_rate, o.minor_units) pr
              offset 0) p
        group by p.hotel_id
    )
    select b.hotel_id, h.code, h.name, h.currency, b.offers, b.cheapest[2]::bigint, b.cheapest[3]::bigint,
           -- the exact rooms left of the offer shown (live holds only)
           (select min(core.inventory_sellable(i)
                       + coalesce((select s.n from stale s where s.hotel_id = i.hotel_id
                                   and s.room_type_id = i.room_type_id and s.night = i.night), 0))::integer
            from core.inventory i
            where i.hotel_id = b.hotel_id and i.room_type_id = b.cheapest[2]::bigint
              and i.night >= p_check_in and i.night < p_check_out),
           b.cheapest[1] * p_rooms, 'ledger'::text, v_now
    from best b
    join core.hotels h on h.id = b.hotel_id
    order by b.hotel_id;
end
$$;
comment on function api.search_city_availability(text, date, date, integer, integer, integer, bigint, bigint[]) is
    'Multi-hotel search (a city, or a chain''s list of hotels): per bookable hotel, how many room type / rate plan offers fit the stay and the cheapest one with its total for p_rooms rooms; source ledger, or mirror (with as_of) for an external-PMS hotel.';

create function internal.quote(
    p_hotel_id     bigint,
    p_room_type_id bigint,
    p_rate_plan_id bigint,
    p_check_in     date,
    p_check_out    date,
    p_adults       integer default 2,
    p_children     integer default 0,
    p_rooms        integer default 1,
    p_customer_id  bigint default null
) returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
-- cached plans for every query of a quote, internal.stay_offers' included, as internal.create_hold
-- has them: under the default mode the plan cache planned that query again at every quote of
-- another stay (about 2.5 ms, most of a checkout's first step); for one hotel, room type and
-- rate plan the generic plan reads the same few inventory rows
set plan_cache_mode = force_generic_plan
as $$
declare
    v_hotel     core.hotels;
    v_room_type core.room_types;
    v_offer     record;
    v_nights    integer;
begin
    v_hotel := internal.require_hotel(p_hotel_id);
    v_room_type := internal.require_room_type(p_hotel_id, p_room_type_id);
    perform internal.require_rate_plan(p_hotel_id, p_room_type_id, p_rate_plan_id);
    v_nights := internal.check_stay(v_hotel, p_check_in, p_check_out);
    perform internal.check_guests(v_room_type, p_rooms, p_adults, p_children);
    if p_customer_id is not null then
        perform internal.require_customer(p_customer_id);
    end if;
    select * into v_offer
    from internal.stay_offers(array[p_hotel_id], p_check_in, p_check_out, p_customer_id, p_room_type_id, p_rate_plan_id) o;
    if v_offer is null or v_offer.open_nights < v_nights then
        perform internal.raise_error('INVENTORY_UNAVAILABLE',
            format('room type %s is not on sale for every night of [%s, %s)', p_room_type_id, p_check_in, p_check_out),
            'open the calendar or choose other dates');
    end if;
    return jsonb_build_object(
        'hotel_id', p_hotel_id, 'room_type_id', p_room_type_id, 'rate_plan_id', p_rate_plan_id,
        'check_in', p_check_in, 'check_out', p_check_out, 'nights', v_nights, 'rooms', p_rooms,
        'currency', v_offer.currency, 'prices_include_tax', v_hotel.prices_include_tax, 'tax_rate', v_hotel.tax_rate,
        'night_prices', (
            select jsonb_agg(jsonb_build_object('night', i.night, 'rack_rate', i.rack_rate, 'rule', i.rate_source,
                                                'price', v_offer.nightly[(i.night - p_check_in) + 1]) order by i.night)
            from core.inventory i
            where i.hotel_id = p_hotel_id and i.room_type_id = p_room_type_id
              and i.night >= p_check_in and i.night < p_check_out),
        'subtotal', v_offer.subtotal,
        'length_of_stay_discount', v_offer.los_discount,
        'member_discount', v_offer.member_discount,
        'tax', v_offer.tax,
        'total_per_room', v_offer.total,
        'total', v_offer.total * p_rooms,
        'available_rooms', greatest(v_offer.available, 0),
        'bookable', v_offer.available >= p_rooms and not v_offer.stop_sold and not v_offer.restricted);
end
$$;
comment on function internal.quote(bigint, bigint, bigint, date, date, integer, integer, integer, bigint) is
    'The body of api.quote without its rights check (callers check them): Night-by-night price of a stay for a room type and rate plan: rule applied per night, subtotal, length-of-stay and member-rank discounts, tax, total per room and for p_rooms, and whether it is bookable now.';

create function api.quote(
    p_hotel_id     bigint,
    p_room_type_id bigint,
    p_rate_plan_id bigint,
    p_check_in     date,
    p_check_out    date,
    p_adults       integer default 2,
    p_children     integer default 0,
    p_rooms        integer default 1,
    p_customer_id  bigint default null
) returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('rooms.read');
    return internal.quote(p_hotel_id, p_room_type_id, p_rate_plan_id, p_check_in, p_check_out, p_adults, p_children, p_rooms, p_customer_id);
end
$$;
comment on function api.quote(bigint, bigint, bigint, date, date, integer, integer, integer, bigint) is
    'Night-by-night price of a stay for a room type and rate plan: rule applied per night, subtotal, length-of-stay and member-rank discounts, tax, total per room and for p_rooms, and whether it is bookable now.';

-- ---------------------------------------------------------------- holds

-- A hold belongs to who placed it (internal.owned_by_caller): another caller is told it does not
-- exist.
create function internal.require_hold_owner(p_hold_id bigint, p_owner text) returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if not internal.owned_by_caller(p_owner) then
        perform internal.raise_error('HOLD_NOT_FOUND', format('hold %s', p_hold_id), 'check the hold id');
    end if;
    return p_owner;
end
$$;
comment on function internal.require_hold_owner(bigint, text) is
    'The owner p_owner of hold p_hold_id when it is the caller (internal.owned_by_caller), else HOLD_NOT_FOUND: a hold of another API key or login is not found.';

create function internal.require_own_hold(p_hold_id bigint) returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_hold_owner(h.id, h.owner) from core.holds h where h.id = p_hold_id;
end
$$;
comment on function internal.require_own_hold(bigint) is
    'HOLD_NOT_FOUND when the hold exists but belongs to another API key or login (internal.require_hold_owner).';

create function internal.create_hold(
    p_hotel_id     bigint,
    p_room_type_id bigint,
    p_rate_plan_id bigint,
    p_check_in     date,
    p_check_out    date,
    p_rooms        integer default 1,
    p_adults       integer default 2,
    p_children     integer default 0,
    p_customer_id  bigint default null,
    p_client_key   text default null,
    p_ttl_seconds  integer default null,
    p_quote        jsonb default null
) returns table (hold_id bigint, status core.hold_status, expires_at timestamptz, currency char(3), total_amount numeric)
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
-- cached plans for every query of a hold, internal.stay_offers' included: under the default mode
-- the plan cache planned that query again at every hold (its generic plan, estimated for any
-- number of hotels, looked dearer than each custom one), most of a hold's time; for one hotel,
-- room type and rate plan the generic plan reads the same few inventory rows
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
declare
    v_hotel     core.hotels;
    v_room_type core.room_types;
    v_hash      text;
    v_existing  core.holds;
    v_offer     record;
    v_hold_id   bigint;
    v_now       timestamptz;
    v_expires   timestamptz;
    v_owner     text := internal.request_owner();
    v_plan      core.rate_plans;
    v_nights    integer;
    v_customer  bigint;
    v_reclaimed integer;
    v_taken     boolean;
begin
    v_hotel := internal.require_hotel(p_hotel_id);
    -- idempotency: the same client key returns the same hold; a different request under it is refused
    if p_client_key is not null then
        v_hash := md5(concat_ws('|', p_hotel_id, p_room_type_id, p_rate_plan_id, p_check_in, p_check_out, p_rooms,
                                p_adults, p_children, p_customer_id));
        perform pg_advisory_xact_lock(hashtextextended('hotelcore.hold:' || p_hotel_id || ':' || v_owner || ':' || p_client_key, 0));
        -- client keys are the owner's own: another caller's key of the same text is another hold
        select * into v_existing from core.holds h
        where h.hotel_id = p_hotel_id and h.owner = v_owner and h.client_key = p_client_key;
        if found then
            if v_existing.request_hash is distinct from v_hash then
                perform internal.raise_error('IDEMPOTENCY_MISMATCH',
                    format('client key %L was used for hold %s with another request', p_client_key, v_existing.id),
                    'use a new client key for a new request');
            end if;
            return query select v_existing.id, v_existing.status, v_existing.expires_at, v_existing.currency,
                                v_existing.total_amount;
            return;
        end if;
    end if;
    v_room_type := internal.require_room_type(p_hotel_id, p_room_type_id);
    v_plan := internal.require_rate_plan(p_hotel_id, p_room_type_id, p_rate_plan_id);
    v_nights := internal.check_stay(v_hotel, p_check_in, p_check_out);
    perform internal.check_guests(v_room_type, p_rooms, p_adults, p_children);
    if p_customer_id is not null then
        v_customer := internal.require_customer(p_customer_id);
    end if;
    if p_ttl_seconds is not null then
        -- bounded by what the calling system needs (internal.hold_ttl_limit)
        perform internal.require_count('p_ttl_seconds', p_ttl_seconds, 1, internal.hold_ttl_limit());
    end if;

    -- lock the nights in order (reclaiming expired holds on them), check and take them
    v_reclaimed := internal.lock_and_reclaim(p_hotel_id, array[p_room_type_id], array[p_check_in], array[p_check_out]);
    v_taken := internal.take_inventory(p_hotel_id, p_room_type_id, p_check_in, p_check_out, p_rooms, 'held');

    -- the price: internal.quote's answer for this very stay when the caller took it in this
    -- transaction (one home for the money rules, applied once), else priced here
    if p_quote is not null then
        select (p_quote ->> 'currency')::char(3) as currency,
               (p_quote ->> 'subtotal')::numeric as subtotal,
               (p_quote ->> 'length_of_stay_discount')::numeric as los_discount,
               (p_quote ->> 'member_discount')::numeric as member_discount,
               (p_quote ->> 'tax')::numeric as tax,
               (p_quote ->> 'total_per_room')::numeric as total,
               array(select (n ->> 'price')::numeric
                     from jsonb_array_elements(p_quote -> 'night_prices') with ordinality as e(n, i) order by e.i) as nightly
        into v_offer;
    else
        select * into v_offer
        from internal.stay_offers(array[p_hotel_id], p_check_in, p_check_out, p_customer_id, p_room_type_id, p_rate_plan_id) o;
    end if;
    v_now := internal.now();
    v_expires := v_now + make_interval(secs => coalesce(p_ttl_seconds, v_hotel.hold_ttl_seconds));
    -- the hold and its lines (one per room) in one statement
    with new_hold as (
        insert into core.holds (hotel_id, customer_id, client_key, request_hash, currency, total_amount, subtotal_per_room,
                                los_discount_per_room, member_discount_per_room, tax_per_room, created_at, expires_at, owner)
        values (p_hotel_id, p_customer_id, p_client_key, v_hash, v_offer.currency, v_offer.total * p_rooms, v_offer.subtotal,
                v_offer.los_discount, v_offer.member_discount, v_offer.tax, v_now, v_expires, v_owner)
        returning id
    ), lines as (
        insert into core.hold_lines (hold_id, hotel_id, room_type_id, rate_plan_id, stay, adults, children, amount, nightly)
        select h.id, p_hotel_id, p_room_type_id, p_rate_plan_id, daterange(p_check_in, p_check_out), p_adults, p_children,
               v_offer.total, v_offer.nightly
        from new_hold h cross join generate_series(1, p_rooms)
    )
    select h.id into v_hold_id from new_hold h;
    return query select v_hold_id, 'active'::core.hold_status, v_expires, v_offer.currency, v_offer.total * p_rooms;
end
$$;
comment on function internal.create_hold(bigint, bigint, bigint, date, date, integer, integer, integer, bigint, text, integer, jsonb) is
    'The body of api.create_hold without its rights check (callers check them): Holds p_rooms rooms of a room type on a rate plan for every night of the stay for 180 s (the hotel''s hold TTL, or p_ttl_seconds) at the quoted price (seed 001); p_ttl_seconds up to 900 s for hotel-member, a day for hotel-pms. Idempotent per p_client_key within the hotel. Refuses with INVENTORY_UNAVAILABLE / RESTRICTION_VIOLATED naming the night. p_quote: internal.quote''s answer for the same stay, rate plan and customer taken in this transaction, whose prices the hold keeps instead of pricing the stay again (the checkout saga).';

create function api.create_hold(
    p_hotel_id     bigint,
    p_room_type_id bigint,
    p_rate_plan_id bigint,
    p_check_in     date,
    p_check_out    date,
    p_rooms        integer default 1,
    p_adults       integer default 2,
    p_children     integer default 0,
    p_customer_id  bigint default null,
    p_client_key   text default null,
    p_ttl_seconds  integer default null
) returns table (hold_id bigint, status core.hold_status, expires_at timestamptz, currency char(3), total_amount numeric)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('reservation.create');
    return query select * from internal.create_hold(p_hotel_id, p_room_type_id, p_rate_plan_id, p_check_in, p_check_out, p_rooms, p_adults, p_children, p_customer_id, p_client_key, p_ttl_seconds);
end
$$;
comment on function api.create_hold(bigint, bigint, bigint, date, date, integer, integer, integer, bigint, text, integer) is
    'Holds p_rooms rooms of a room type on a rate plan for every night of the stay for 180 s (the hotel''s hold TTL, or p_ttl_seconds) at the quoted price (seed 001). Idempotent per p_client_key within the hotel. Refuses with INVENTORY_UNAVAILABLE / RESTRICTION_VIOLATED naming the night.';

create function internal.release_hold(p_hold_id bigint) returns core.hold_status
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_hold core.holds;
begin
    select * into v_hold from core.holds h where h.id = p_hold_id;
    if not found then
        perform internal.raise_error('HOLD_NOT_FOUND', format('hold %s', coalesce(p_hold_id::text, 'null')), 'check the hold id');
    end if;
    if v_hold.status = 'confirmed' then
        perform internal.raise_error('HOLD_NOT_ACTIVE', format('hold %s was confirmed', p_hold_id), 'cancel the reservation instead');
    end if;
    if v_hold.status <> 'active' then
        return v_hold.status;
    end if;
    perform internal.lock_inventory(v_hold.hotel_id,
        array(select l.room_type_id from core.hold_lines l where l.hold_id = p_hold_id),
        array(select lower(l.stay) from core.hold_lines l where l.hold_id = p_hold_id),
        array(select upper(l.stay) from core.hold_lines l where l.hold_id = p_hold_id));
    perform internal.end_holds(array[p_hold_id],
        case when v_hold.expires_at <= internal.now() then 'expired'::core.hold_status else 'released' end);
    return (select h.status from core.holds h where h.id = p_hold_id);
end
$$;
comment on function internal.release_hold(bigint) is
    'The body of api.release_hold without its rights check (callers check them): Releases an active hold and gives its nights back (an already expired one is recorded as expired); idempotent for ended holds; HOLD_NOT_ACTIVE for a confirmed one. Returns the hold''s status.';

create function api.release_hold(p_hold_id bigint) returns core.hold_status
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('reservation.create');
    perform internal.require_own_hold(p_hold_id);
    return internal.release_hold(p_hold_id);
end
$$;
comment on function api.release_hold(bigint) is
    'Releases an active hold and gives its nights back (an already expired one is recorded as expired); idempotent for ended holds; HOLD_NOT_ACTIVE for a confirmed one. Returns the hold''s status.';

create function api.expire_holds(p_hotel_id bigint default null, p_limit integer default 1000) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_hotel_id bigint;
    v_ids      bigint[];
    v_count    integer := 0;
begin
    perform internal.require_right('reservation.update');
    perform internal.require_count('p_limit', p_limit, 1, 100000);
    -- hotel by hotel, so each transaction part locks one hotel's rows in order
    for v_hotel_id in
        select distinct h.hotel_id from core.holds h
        where h.status = 'active' and h.expires_at <= internal.now() and (p_hotel_id is null or h.hotel_id = p_hotel_id)
        order by h.hotel_id
    loop
        select array_agg(h.id order by h.id) into v_ids
        from (select h.id from core.holds h
              where h.hotel_id = v_hotel_id and h.status = 'active' and h.expires_at <= internal.now()
              order by h.id limit p_limit - v_count) h;
        perform internal.lock_inventory(v_hotel_id,
            array(select l.room_type_id from core.hold_lines l where l.hold_id = any(v_ids)),
            array(select lower(l.stay) from core.hold_lines l where l.hold_id = any(v_ids)),
            array(select upper(l.stay) from core.hold_lines l where l.hold_id = any(v_ids)));
        v_count := v_count + internal.end_holds(v_ids, 'expired');
        exit when v_count >= p_limit;
    end loop;
    return v_count;
end
$$;
comment on function api.expire_holds(bigint, integer) is
    'Periodic job: ends active holds whose expiry has passed (of one hotel or all, at most p_limit) and gives their nights back. Returns how many expired. Expired holds are never counted as taken even before this runs.';

-- ---------------------------------------------------------------- bookings

create function internal.confirm_booking(
    p_hold_id               bigint,
    p_customer_id           bigint,
    p_payment_authorisation text default null,
    p_origin                text default 'direct',
    p_special_requests      text default null,
    p_owner_only            boolean default false
) returns table (reservation_id bigint, confirmation_code text, status core.reservation_status,
                 currency char(3), total_amount numeric, version integer)
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_hold        core.holds;
    v_found       boolean;
    v_owner       text;
    v_customer    bigint;
    v_locked      integer;
    v_reservation core.reservations;
    v_held        record;
    v_types       bigint[];   -- the hold's (room type, stay) ranges and rooms per range
    v_froms       date[];
    v_untils      date[];
    v_rooms       integer[];
    v_origin      core.reservation_origin;
    v_now         timestamptz := internal.now();  -- read once: each call of it is a query
begin
    if p_hold_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_hold_id is null', 'pass the hold id from api.create_hold');
    end if;
    -- the hold and its lines, read once: the ranges to lock, how many rooms, the stay they cover.
    -- With p_owner_only another caller's hold is not found before anything else is checked (the
    -- api function's ownership rule, as internal.require_own_hold)
    select h as hold, x.room_type_ids, x.froms, x.untils, x.lines, x.stay, x.ranges
    into v_held
    from core.holds h
    cross join lateral (
        select array_agg(l.room_type_id) as room_type_ids, array_agg(lower(l.stay)) as froms,
               array_agg(upper(l.stay)) as untils, count(*) as lines, range_merge(range_agg(l.stay)) as stay,
               count(distinct (l.room_type_id, l.stay)) as ranges
        from core.hold_lines l where l.hotel_id = h.hotel_id and l.hold_id = h.id
    ) x
    where h.id = p_hold_id;
    v_found := found;
    v_hold := v_held.hold;
    if v_found and p_owner_only then
        v_owner := internal.require_hold_owner(p_hold_id, v_hold.owner);
    end if;
    v_customer := internal.require_customer(p_customer_id);
    -- the origin is one of core.reservation_origin's values (read once, typed from here on)
    if p_origin is null or not p_origin = any (enum_range(null::core.reservation_origin)::text[]) then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_origin %L', p_origin),
            format('use one of %s', array_to_string(enum_range(null::core.reservation_origin)::text[], ', ')));
    end if;
    v_origin := p_origin::core.reservation_origin;
    if not v_found then
        perform internal.raise_error('HOLD_NOT_FOUND', format('hold %s', p_hold_id), 'create a hold first');
    end if;
    if v_hold.customer_id is not null and v_hold.customer_id <> p_customer_id then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('p_customer_id %s is not the customer %s the hold was quoted for', p_customer_id, v_hold.customer_id),
            'confirm with the customer of the hold');
    end if;

    -- rows first (in order), then the hold row: a live hold is confirmed by the update that locks
    -- it (its status and expiry checked again under the lock); any other is re-read under its lock
    -- and answered below
    v_locked := internal.lock_nights(v_hold.hotel_id, v_held.room_type_ids, v_held.froms, v_held.untils);
    update core.holds h set status = 'confirmed', ended_at = v_now
    where h.hotel_id = v_hold.hotel_id and h.id = p_hold_id and h.status = 'active' and h.expires_at > v_now;
    if not found then
        select * into v_hold from core.holds h where h.hotel_id = v_hold.hotel_id and h.id = p_hold_id for update;
        if v_hold.status = 'confirmed' then
            -- a retried confirmation answers with the reservation it made
            return query select r.id, r.confirmation_code, r.status, r.currency, r.total_amount, r.version
                         from core.reservations r where r.hold_id = p_hold_id;
            return;
        end if;
        if v_hold.status = 'expired' or (v_hold.status = 'active' and v_hold.expires_at <= v_now) then
            perform internal.raise_error('HOLD_EXPIRED', format('hold %s expired at %s', p_hold_id, v_hold.expires_at),
                'create a new hold');
        end if;
        perform internal.raise_error('HOLD_NOT_ACTIVE', format('hold %s is %s', p_hold_id, v_hold.status), 'create a new hold');
    end if;

    -- held becomes booked on every night of every line: one range update per (room type, stay),
    -- an index range scan of the stay's nights only (a join against per-night rows was planned as
    -- a scan of the hotel's whole calendar, so confirm slowed down as the calendar grew); a hold
    -- of one range (almost every hold) takes it from what was read above, with no query to group
    if v_held.ranges = 1 then
        v_types := v_held.room_type_ids[1:1];
        v_froms := v_held.froms[1:1];
        v_untils := v_held.untils[1:1];
        v_rooms := array[v_held.lines::integer];
    else
        select array_agg(x.room_type_id order by x.room_type_id, x.night_from, x.night_until),
               array_agg(x.night_from order by x.room_type_id, x.night_from, x.night_until),
               array_agg(x.night_until order by x.room_type_id, x.night_from, x.night_until),
               array_agg(x.n order by x.room_type_id, x.night_from, x.night_until)
        into v_types, v_froms, v_untils, v_rooms
        from (select u.room_type_id, u.night_from, u.night_until, count(*)::integer as n
              from unnest(v_held.room_type_ids, v_held.froms, v_held.untils) as u(room_type_id, night_from, night_until)
              group by u.room_type_id, u.night_from, u.night_until) x;
    end if;
    for i in 1 .. cardinality(v_types) loop
        update core.inventory inv
        set held = inv.held - v_rooms[i], booked = inv.booked + v_rooms[i]
        where inv.hotel_id = v_hold.hotel_id and inv.room_type_id = v_types[i]
          and inv.night >= v_froms[i] and inv.night < v_untils[i];
    end loop;

    -- the reservation and its room lines (one per room held) in one statement
    with booked as (
        insert into core.reservations (hotel_id, customer_id, status, origin, stay, currency, subtotal_amount,
                                       discount_amount, tax_amount, total_amount, hold_id, payment_authorisation,
                                       special_requests, created_at, updated_at)
        values (v_hold.hotel_id, p_customer_id, 'confirmed', v_origin, v_held.stay,
                v_hold.currency,
                v_hold.subtotal_per_room * v_held.lines,
                (v_hold.los_discount_per_room + v_hold.member_discount_per_room) * v_held.lines,
                v_hold.tax_per_room * v_held.lines,
                v_hold.total_amount, p_hold_id, p_payment_authorisation, p_special_requests, v_now, v_now)
        returning *
    ), lines as (
        insert into core.reservation_rooms (reservation_id, hotel_id, room_type_id, rate_plan_id, stay, adults, children,
                                            status, amount, nightly, created_at)
        select b.id, l.hotel_id, l.room_type_id, l.rate_plan_id, l.stay, l.adults, l.children, 'confirmed',
               l.amount, l.nightly, v_now
        from booked b cross join core.hold_lines l
        where l.hotel_id = v_hold.hotel_id and l.hold_id = p_hold_id order by l.id
    )
    select * into v_reservation from booked;
    if v_hold.waitlist_entry_id is not null then
        update core.waitlist_entries w set status = 'booked' where w.id = v_hold.waitlist_entry_id;
    end if;
    return query select v_reservation.id, v_reservation.confirmation_code, v_reservation.status, v_reservation.currency,
                        v_reservation.total_amount, v_reservation.version;
end
$$;
comment on function internal.confirm_booking(bigint, bigint, text, text, text, boolean) is
    'The body of api.confirm_booking without its rights check (callers check them): Turns a live hold into a confirmed reservation for p_customer_id (one room line per room held), recording the payment authorisation reference and origin. A retried call returns the same reservation; HOLD_EXPIRED / HOLD_NOT_ACTIVE / HOLD_NOT_FOUND otherwise. p_owner_only: another caller''s hold is HOLD_NOT_FOUND (internal.require_hold_owner), checked first.';

create function api.confirm_booking(
    p_hold_id               bigint,
    p_customer_id           bigint,
    p_payment_authorisation text default null,
    p_origin                text default 'direct',
    p_special_requests      text default null
) returns table (reservation_id bigint, confirmation_code text, status core.reservation_status,
                 currency char(3), total_amount numeric, version integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    -- a new booking: hotel-member books as origin member only, the PMS with any origin
    perform internal.require_origin(p_origin);
    -- a hold belongs to who placed it: checked on the confirmation's own read of the hold
    return query select * from internal.confirm_booking(p_hold_id, p_customer_id, p_payment_authorisation, p_origin,
                                                        p_special_requests, p_owner_only => true);
end
$$;
comment on function api.confirm_booking(bigint, bigint, text, text, text) is
    'Turns a live hold into a confirmed reservation for p_customer_id (one room line per room held), recording the payment authorisation reference and origin. A retried call returns the same reservation; HOLD_EXPIRED / HOLD_NOT_ACTIVE / HOLD_NOT_FOUND otherwise.';

-- A reservation's first room line: what a change applies to every line is read from it (its room
-- type, rate plan and guests), its rate plan's cancellation policy is the reservation's, and the
-- conflict rules compare its fields. Ordered by an expression, so the planner reads the lines
-- through the index on reservation_id instead of walking the primary key in id order filtering on
-- reservation_id (chosen on stale statistics, that scan reads every line of the table: a bulk load
-- became quadratic). A SQL function with a standard body: inlined into the query that reads it.
create function internal.first_room_line(p_reservation_id bigint) returns setof core.reservation_rooms
language sql
stable
rows 1
begin atomic
    select l.* from core.reservation_rooms l where l.reservation_id = p_reservation_id
    order by l.id + 0 limit 1;
end;
comment on function internal.first_room_line(bigint) is
    'The first room line of a reservation (lowest id), read through the index on reservation_id; no row when it has none.';

create function internal.reservation_policy(p_reservation_id bigint) returns core.cancellation_policies
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_policy core.cancellation_policies;
begin
    -- the cancellation policy of the rate plan its first room line was booked on
    select cp.* into v_policy
    from core.rate_plans rp
    join core.cancellation_policies cp on cp.id = rp.cancellation_policy_id
    where rp.id = (select l.rate_plan_id from internal.first_room_line(p_reservation_id) l);
    return v_policy;
end
$$;
comment on function internal.reservation_policy(bigint) is
    'A reservation''s cancellation policy: that of the rate plan of its first room line (internal.first_room_line); null when the plan has none.';

create function internal.lock_reservation(p_reservation_id bigint, p_version integer) returns core.reservations
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_reservation core.reservations;
begin
    if p_reservation_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_reservation_id is null', 'pass a reservation id');
    end if;
    select * into v_reservation from core.reservations r where r.id = p_reservation_id for update;
    if not found then
        perform internal.raise_error('RESERVATION_NOT_FOUND', format('reservation %s', p_reservation_id),
            'check the reservation id');
    end if;
    if p_version is not null and p_version <> v_reservation.version then
        perform internal.raise_error('VERSION_CONFLICT',
            format('reservation %s is at version %s, caller read %s', p_reservation_id, v_reservation.version, p_version),
            'read the reservation again and retry');
    end if;
    return v_reservation;
end
$$;
comment on function internal.lock_reservation(bigint, integer) is
    'Locks a reservation row; RESERVATION_NOT_FOUND, or VERSION_CONFLICT when p_version is given and stale.';

create function api.book_reservation(
    p_hotel_id         bigint,
    p_room_type_id     bigint,
    p_rate_plan_id     bigint,
    p_check_in         date,
    p_check_out        date,
    p_customer_id      bigint,
    p_rooms            integer default 1,
    p_adults           integer default 2,
    p_children         integer default 0,
    p_origin           text default 'direct',
    p_special_requests text default null
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_hold record;
    v_res  record;
begin
    -- a new booking: hotel-member books as origin member only, the PMS with any origin
    perform internal.require_origin(p_origin);
    if p_hotel_id is null or not exists (select 1 from core.hotels h where h.id = p_hotel_id)
       or not internal.in_request_scope(p_hotel_id) then
        perform internal.raise_error('HOTEL_NOT_FOUND', format('hotel_id %s', p_hotel_id), 'check the hotel id');
    end if;
    -- a booking without a payment step (pay at the hotel): hold and confirm in one transaction
    select * into v_hold
    from internal.create_hold(p_hotel_id, p_room_type_id, p_rate_plan_id, p_check_in, p_check_out, p_rooms, p_adults,
                         p_children, p_customer_id) h;
    select * into v_res
    from internal.confirm_booking(v_hold.hold_id, p_customer_id, null, p_origin, p_special_requests) c;
    return internal.get_reservation(v_res.reservation_id);
end
$$;
comment on function api.book_reservation(bigint, bigint, bigint, date, date, bigint, integer, integer, integer, text, text) is
    'A booking without payment (seed 000 POST /reservations of hotel-member and hotel-pms): holds and confirms in one transaction, in the request''s hotel scope. Returns the reservation.';

-- The change of a locked, pending or confirmed reservation to these values (null: keep the
-- current one), every room line alike: validated, re-quoted, the inventory moved. With
-- p_check_only nothing is written: the checks a change must pass before the conflict rules
-- record it.
create function internal.write_reservation_change(
    p_res              core.reservations,
    p_check_in         date,
    p_check_out        date,
    p_room_type_id     bigint,
    p_rate_plan_id     bigint,
    p_adults           integer,
    p_children         integer,
    p_special_requests text,
    p_check_only       boolean
) returns core.reservations
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_res        core.reservations := p_res;
    v_hotel      core.hotels;
    v_room_type  core.room_types;
    v_line       core.reservation_rooms;
    v_check_in   date;
    v_check_out  date;
    v_type_id    bigint;
    v_plan_id    bigint;
    v_adults     integer;
    v_children   integer;
    v_lines      integer;
    v_offer      record;
begin
    if v_res.status not in ('pending', 'confirmed') then
        perform internal.raise_error('INVALID_STATE_TRANSITION',
            format('reservation %s is %s; only pending or confirmed ones can be modified', v_res.id, v_res.status),
            'ask the front desk');
    end if;
    if length(p_special_requests) > 2000 then
        perform internal.raise_error('INVALID_ARGUMENT', 'special_requests is longer than 2000 characters',
            'shorten the requests');
    end if;
    v_hotel := internal.require_hotel(v_res.hotel_id);
    select * into v_line from internal.first_room_line(v_res.id);
    select count(*) into v_lines from core.reservation_rooms l where l.reservation_id = v_res.id;
    v_check_in := coalesce(p_check_in, lower(v_res.stay));
    v_check_out := coalesce(p_check_out, upper(v_res.stay));
    v_type_id := coalesce(p_room_type_id, v_line.room_type_id);
    v_plan_id := case when p_rate_plan_id is not null then p_rate_plan_id
                      when p_room_type_id is null or p_room_type_id = v_line.room_type_id then v_line.rate_plan_id
                      else (select rp.id from core.rate_plans rp join core.rate_plans old on old.id = v_line.rate_plan_id
                            where rp.hotel_id = v_res.hotel_id and rp.room_type_id = p_room_type_id and rp.active
                              and rp.code = old.code)
                 end;
    v_adults := coalesce(p_adults, v_line.adults);
    v_children := coalesce(p_children, v_line.children);
    v_room_type := internal.require_room_type(v_res.hotel_id, v_type_id);
    if v_plan_id is null then
        perform internal.raise_error('RATE_PLAN_NOT_FOUND',
            format('room type %s has no rate plan like the booked one', v_type_id), 'pass p_rate_plan_id');
    end if;
    perform internal.require_rate_plan(v_res.hotel_id, v_type_id, v_plan_id);
    perform internal.check_stay(v_hotel, v_check_in, v_check_out);
    perform internal.check_guests(v_room_type, v_lines, v_adults, v_children);
    if p_check_only then
        return v_res;
    end if;

    -- lock old and new nights together in order, give the old back, take the new
    perform internal.lock_and_reclaim(v_res.hotel_id,
        array(select l.room_type_id from core.reservation_rooms l where l.reservation_id = v_res.id) || v_type_id,
        array(select lower(l.stay) from core.reservation_rooms l where l.reservation_id = v_res.id) || v_check_in,
        array(select upper(l.stay) from core.reservation_rooms l where l.reservation_id = v_res.id) || v_check_out);
    perform internal.free_booked(v_res.id);
    perform internal.take_inventory(v_res.hotel_id, v_type_id, v_check_in, v_check_out, v_lines, 'booked');

    select * into v_offer
    from internal.stay_offers(array[v_res.hotel_id], v_check_in, v_check_out, v_res.customer_id, v_type_id, v_plan_id) o;
    update core.reservation_rooms l
    set room_type_id = v_type_id, rate_plan_id = v_plan_id, stay = daterange(v_check_in, v_check_out),
        adults = v_adults, children = v_children, amount = v_offer.total, nightly = v_offer.nightly
    where l.reservation_id = v_res.id;
    update core.reservations r
    set stay = daterange(v_check_in, v_check_out),
        subtotal_amount = v_offer.subtotal * v_lines,
        discount_amount = (v_offer.los_discount + v_offer.member_discount) * v_lines,
        tax_amount = v_offer.tax * v_lines,
        total_amount = v_offer.total * v_lines,
        special_requests = coalesce(p_special_requests, r.special_requests)
    where r.id = v_res.id
    returning * into v_res;
    perform internal.offer_waitlist(v_res.hotel_id, v_line.room_type_id);
    return v_res;
end
$$;
comment on function internal.write_reservation_change(core.reservations, date, date, bigint, bigint, integer, integer, text, boolean) is
    'Changes dates, room type, rate plan, guests or requests of a locked pending/confirmed reservation (every line; null keeps the value): validates, re-quotes and moves the inventory; with p_check_only only validates. INVENTORY_UNAVAILABLE / RESTRICTION_VIOLATED leave it unchanged.';

create function api.modify_reservation(
    p_reservation_id   bigint,
    p_version          integer,
    p_check_in         date default null,
    p_check_out        date default null,
    p_room_type_id     bigint default null,
    p_rate_plan_id     bigint default null,
    p_adults           integer default null,
    p_children         integer default null,
    p_special_requests text default null
) returns table (reservation_id bigint, version integer, status core.reservation_status, currency char(3),
                 total_amount numeric, conflict jsonb)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_res    core.reservations;
    v_base   jsonb;
    v_ours   jsonb := '{}';
    v_in     date;
    v_out    date;
    v_judged jsonb;
    v_apply  jsonb;
begin
    perform internal.require_right('reservation.update');
    if p_version is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_version is null', 'pass the version you read');
    end if;
    v_res := internal.lock_reservation(p_reservation_id, null);
    -- optimistic lock (seed 000: version number): a version never read cannot be a base
    if p_version < 1 or p_version > v_res.version then
        perform internal.raise_error('VERSION_CONFLICT',
            format('reservation %s is at version %s, not %s', p_reservation_id, v_res.version, p_version),
            'read the reservation again and retry with its version');
    end if;
    if p_version = v_res.version then
        v_res := internal.write_reservation_change(v_res, p_check_in, p_check_out, p_room_type_id, p_rate_plan_id,
            p_adults, p_children, p_special_requests, false);
        return query select v_res.id, v_res.version, v_res.status, v_res.currency, v_res.total_amount, null::jsonb;
        return;
    end if;

    -- a write based on an older version: what it asked, in the document's terms (dates relative to
    -- the stay it read), checked as a change would be, then judged by the conflict rules
    select ch.document into v_base from core.reservation_changes ch
    where ch.hotel_id = v_res.hotel_id and ch.reservation_id = v_res.id and ch.version = p_version;
    v_base := coalesce(v_base, internal.reservation_document(v_res.id));
    if p_check_in is not null or p_check_out is not null then
        v_in := coalesce(p_check_in, lower((v_base ->> 'stay')::daterange));
        v_out := coalesce(p_check_out, upper((v_base ->> 'stay')::daterange));
    end if;
    perform internal.write_reservation_change(v_res, v_in, v_out, p_room_type_id, p_rate_plan_id,
        p_adults, p_children, p_special_requests, true);
    if v_in is not null then
        v_ours := v_ours || jsonb_build_object('stay', daterange(v_in, v_out)::text);
    end if;
    v_ours := v_ours || jsonb_strip_nulls(jsonb_build_object('room_type_id', p_room_type_id,
        'rate_plan_id', p_rate_plan_id, 'adults', p_adults, 'children', p_children, 'special_requests', p_special_requests));
    v_judged := internal.judge_reservation_write(v_res, v_ours,
        array(select k from jsonb_object_keys(v_ours) k order by k), p_version, internal.change_system(), internal.now());
    -- what the rules gave this write (nothing when it is kept for review)
    select coalesce(jsonb_object_agg(a.k, v_ours -> a.k), '{}') into v_apply
    from jsonb_array_elements_text(v_judged -> 'apply') a (k);
    if v_apply <> '{}' then
        v_res := internal.write_reservation_change(v_res,
            lower((v_apply ->> 'stay')::daterange), upper((v_apply ->> 'stay')::daterange),
            (v_apply ->> 'room_type_id')::bigint, (v_apply ->> 'rate_plan_id')::bigint, (v_apply ->> 'adults')::integer,
            (v_apply ->> 'children')::integer, v_apply ->> 'special_requests', false);
        update core.reservation_changes ch set conflict_id = (v_judged ->> 'conflict_id')::bigint
        where ch.hotel_id = v_res.hotel_id and ch.reservation_id = v_res.id and ch.version = v_res.version;
        update core.conflicts f set resolved_version = v_res.version where f.id = (v_judged ->> 'conflict_id')::bigint;
    end if;
    return query select v_res.id, v_res.version, v_res.status, v_res.currency, v_res.total_amount, v_judged - 'apply';
end
$$;
comment on function api.modify_reservation(bigint, integer, date, date, bigint, bigint, integer, integer, text) is
    'Changes dates, room type, rate plan, guests or requests of a pending/confirmed reservation (every line): re-quotes and moves the inventory in one transaction. A write based on an older p_version goes through the conflict rules (db/functions/conflicts.sql): merged (the answer''s conflict says what was applied) or recorded for review and not applied (conflict.verdict needs_review, with its conflict_id; escalated for VIP, high-value or special-event-day bookings); a version never read is VERSION_CONFLICT. INVENTORY_UNAVAILABLE / RESTRICTION_VIOLATED leave it unchanged.';

-- What a cancellation or no-show costs under the rate plan's policy (seed 003), per reservation.
create function internal.policy_fee(p_reservation core.reservations, p_kind text) returns numeric
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_policy   core.cancellation_policies;
    v_days     integer;
    v_fee_kind text;
    v_percent  numeric;
    v_first    numeric;
begin
    v_policy := internal.reservation_policy(p_reservation.id);
    v_days := lower(p_reservation.stay) - internal.hotel_today(p_reservation.hotel_id);
    if v_policy.id is null then
        v_fee_kind := case when p_kind = 'no_show' then 'first_night' when v_days >= 1 then 'none' else 'first_night' end;
    elsif v_policy.non_refundable then
        v_fee_kind := 'full';
    elsif p_kind = 'no_show' then
        v_fee_kind := v_policy.no_show_fee_kind;
        v_percent := v_policy.no_show_fee_percent;
    elsif v_policy.free_until_days is not null and v_days >= v_policy.free_until_days then
        v_fee_kind := 'none';
    else
        v_fee_kind := v_policy.late_fee_kind;
        v_percent := v_policy.late_fee_percent;
    end if;
    -- the first night's share of each line's amount (discounts and tax apportioned)
    select coalesce(sum(case when s.total > 0 then l.amount * l.nightly[1] / s.total else 0 end), 0) into v_first
    from core.reservation_rooms l
    cross join lateral (select sum(x) as total from unnest(l.nightly) as x) s
    where l.reservation_id = p_reservation.id;
    return internal.round_money(case v_fee_kind
                                    when 'none' then 0
                                    when 'full' then p_reservation.total_amount
                                    when 'percent' then p_reservation.total_amount * v_percent / 100
                                    else least(v_first, p_reservation.total_amount)
                                end, p_reservation.currency);
end
$$;
comment on function internal.policy_fee(core.reservations, text) is
    'The fee the booked rate plan''s cancellation policy charges for a cancellation now (hotel time zone) or a no-show: none, first night, percent or full.';

create function internal.cancel_reservation(
    p_reservation_id bigint,
    p_version        integer default null,
    p_reason         text default null
) returns table (cancellation_id bigint, reservation_id bigint, version integer, currency char(3),
                 fee_amount numeric, refund_amount numeric, waitlist_offers integer)
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_res     core.reservations;
    v_fee     numeric;
    v_id      bigint;
    v_offers  integer := 0;
    v_type_id bigint;
begin
    v_res := internal.lock_reservation(p_reservation_id, p_version);
    if v_res.status not in ('pending', 'confirmed') then
        perform internal.raise_error('NOT_CANCELLABLE',
            format('reservation %s is %s', p_reservation_id, v_res.status), 'only pending or confirmed reservations can be cancelled');
    end if;
    v_fee := internal.policy_fee(v_res, 'cancellation');
    perform internal.lock_inventory(v_res.hotel_id,
        array(select l.room_type_id from core.reservation_rooms l where l.reservation_id = p_reservation_id),
        array(select lower(l.stay) from core.reservation_rooms l where l.reservation_id = p_reservation_id),
        array(select upper(l.stay) from core.reservation_rooms l where l.reservation_id = p_reservation_id));
    perform internal.free_booked(p_reservation_id);
    update core.reservation_rooms l set status = 'cancelled'
    where l.reservation_id = p_reservation_id and l.status in ('pending', 'confirmed');
    update core.reservations r set status = 'cancelled', cancelled_at = internal.now()
    where r.id = p_reservation_id returning * into v_res;
    insert into core.cancellations (reservation_id, hotel_id, kind, reason, policy_id, currency, fee_amount, refund_amount,
                                    days_before_arrival, created_at)
    values (v_res.id, v_res.hotel_id, 'cancellation', p_reason,
            (internal.reservation_policy(v_res.id)).id,
            v_res.currency, v_fee, v_res.total_amount - v_fee,
            lower(v_res.stay) - internal.hotel_today(v_res.hotel_id), internal.now())
    returning id into v_id;
    -- the freed nights go to the waitlist
    for v_type_id in select distinct l.room_type_id from core.reservation_rooms l where l.reservation_id = v_res.id loop
        v_offers := v_offers + internal.offer_waitlist(v_res.hotel_id, v_type_id);
    end loop;
    return query select v_id, v_res.id, v_res.version, v_res.currency, v_fee, v_res.total_amount - v_fee, v_offers;
end
$$;
comment on function internal.cancel_reservation(bigint, integer, text) is
    'The body of api.cancel_reservation without its rights check (callers check them): Cancels a pending/confirmed reservation: the rate plan''s policy sets the fee (free until N days before arrival in the hotel''s time zone, then first night / percent / full; non-refundable), a cancellation record keeps fee and refund, the nights are freed and offered to the waitlist. NOT_CANCELLABLE otherwise.';

create function api.cancel_reservation(
    p_reservation_id bigint,
    p_version        integer default null,
    p_reason         text default null
) returns table (cancellation_id bigint, reservation_id bigint, version integer, currency char(3),
                 fee_amount numeric, refund_amount numeric, waitlist_offers integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('reservation.update');
    return query select * from internal.cancel_reservation(p_reservation_id, p_version, p_reason);
end
$$;
comment on function api.cancel_reservation(bigint, integer, text) is
    'Cancels a pending/confirmed reservation: the rate plan''s policy sets the fee (free until N days before arrival in the hotel''s time zone, then first night / percent / full; non-refundable), a cancellation record keeps fee and refund, the nights are freed and offered to the waitlist. NOT_CANCELLABLE otherwise.';

create function internal.mark_no_show(p_reservation_id bigint, p_version integer default null)
returns table (cancellation_id bigint, reservation_id bigint, version integer, currency char(3), fee_amount numeric)
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_res core.reservations;
    v_fee numeric;
    v_id  bigint;
begin
    v_res := internal.lock_reservation(p_reservation_id, p_version);
    if v_res.status <> 'confirmed' then
        perform internal.raise_error('INVALID_STATE_TRANSITION',
            format('reservation %s: %s -> no_show', p_reservation_id, v_res.status), 'only a confirmed reservation can be a no-show');
    end if;
    if internal.hotel_today(v_res.hotel_id) < lower(v_res.stay) then
        perform internal.raise_error('NOT_ARRIVAL_DAY',
            format('arrival is %s, today is %s in the hotel', lower(v_res.stay), internal.hotel_today(v_res.hotel_id)),
            'mark a no-show on or after the arrival day');
    end if;
    v_fee := internal.policy_fee(v_res, 'no_show');
    perform internal.lock_inventory(v_res.hotel_id,
        array(select l.room_type_id from core.reservation_rooms l where l.reservation_id = p_reservation_id),
        array(select lower(l.stay) from core.reservation_rooms l where l.reservation_id = p_reservation_id),
        array(select upper(l.stay) from core.reservation_rooms l where l.reservation_id = p_reservation_id));
    perform internal.free_booked(p_reservation_id);
    update core.reservation_rooms l set status = 'no_show' where l.reservation_id = p_reservation_id and l.status = 'confirmed';
    update core.reservations r set status = 'no_show' where r.id = p_reservation_id returning * into v_res;
    insert into core.cancellations (reservation_id, hotel_id, kind, policy_id, currency, fee_amount, refund_amount,
                                    days_before_arrival, created_at)
    values (v_res.id, v_res.hotel_id, 'no_show',
            (internal.reservation_policy(v_res.id)).id,
            v_res.currency, v_fee, v_res.total_amount - v_fee,
            lower(v_res.stay) - internal.hotel_today(v_res.hotel_id), internal.now())
    returning id into v_id;
    return query select v_id, v_res.id, v_res.version, v_res.currency, v_fee;
end
$$;
comment on function internal.mark_no_show(bigint, integer) is
    'The body of api.mark_no_show without its rights check (callers check them): Marks a confirmed reservation whose arrival day has come as a no-show: the policy''s no-show fee is recorded and its nights are freed.';

create function api.mark_no_show(p_reservation_id bigint, p_version integer default null) returns table (cancellation_id bigint, reservation_id bigint, version integer, currency char(3), fee_amount numeric)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('reservation.update');
    return query select * from internal.mark_no_show(p_reservation_id, p_version);
end
$$;
comment on function api.mark_no_show(bigint, integer) is
    'Marks a confirmed reservation whose arrival day has come as a no-show: the policy''s no-show fee is recorded and its nights are freed.';

-- ---------------------------------------------------------------- waitlist

-- Offers freed nights of a room type to waiting entries in order: members of a rank with
-- priority booking first (higher level first), then first come first served. Each offer is a hold.
create function internal.offer_waitlist(p_hotel_id bigint, p_room_type_id bigint) returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_entry   core.waitlist_entries;
    v_hotel   core.hotels;
    v_offer   record;
    v_hold_id bigint;
    v_count   integer := 0;
begin
    select * into v_hotel from core.hotels h where h.id = p_hotel_id;
    for v_entry in
        select w.*
        from core.waitlist_entries w
        join core.customers c on c.id = w.customer_id
        join core.membership_ranks mr on mr.code = c.rank_code
        where w.hotel_id = p_hotel_id and w.room_type_id = p_room_type_id and w.status = 'waiting'
          and w.expires_at > internal.now() and lower(w.stay) >= internal.hotel_today(p_hotel_id)
        order by case when mr.priority_booking then mr.level else -1 end desc, w.created_at, w.id
        for update of w skip locked
    loop
        perform internal.lock_and_reclaim(p_hotel_id, array[p_room_type_id], array[lower(v_entry.stay)],
                                          array[upper(v_entry.stay)]);
        continue when not internal.take_inventory(p_hotel_id, p_room_type_id, lower(v_entry.stay), upper(v_entry.stay),
                                                  v_entry.rooms, 'held', false);
        select * into v_offer
        from internal.stay_offers(array[p_hotel_id], lower(v_entry.stay), upper(v_entry.stay), v_entry.customer_id,
                                  p_room_type_id, v_entry.rate_plan_id) o;
        insert into core.holds (hotel_id, customer_id, currency, total_amount, subtotal_per_room, los_discount_per_room,
                                member_discount_per_room, tax_per_room, waitlist_entry_id, created_at, expires_at)
        values (p_hotel_id, v_entry.customer_id, v_offer.currency, v_offer.total * v_entry.rooms, v_offer.subtotal,
                v_offer.los_discount, v_offer.member_discount, v_offer.tax, v_entry.id, internal.now(), internal.now() + make_interval(secs => v_hotel.waitlist_offer_ttl_seconds))
        returning id into v_hold_id;
        insert into core.hold_lines (hold_id, hotel_id, room_type_id, rate_plan_id, stay, adults, children, amount, nightly)
        select v_hold_id, p_hotel_id, p_room_type_id, v_entry.rate_plan_id, v_entry.stay, v_entry.adults, v_entry.children,
               v_offer.total, v_offer.nightly
        from generate_series(1, v_entry.rooms);
        update core.waitlist_entries w set status = 'offered', offer_hold_id = v_hold_id, offered_at = internal.now()
        where w.id = v_entry.id;
        perform pg_notify('hotelcore_waitlist_offer',
            json_build_object('waitlist_entry_id', v_entry.id, 'hold_id', v_hold_id, 'customer_id', v_entry.customer_id)::text);
        v_count := v_count + 1;
    end loop;
    return v_count;
end
$$;
comment on function internal.offer_waitlist(bigint, bigint) is
    'Offers a hold to each waiting entry of a room type whose whole stay is available again, priority ranks first then first come first served; notifies on channel hotelcore_waitlist_offer. Returns the offers made.';

create function api.join_waitlist(
    p_hotel_id     bigint,
    p_room_type_id bigint,
    p_rate_plan_id bigint,
    p_customer_id  bigint,
    p_check_in     date,
    p_check_out    date,
    p_rooms        integer default 1,
    p_adults       integer default 2,
    p_children     integer default 0,
    p_expires_at   timestamptz default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_hotel     core.hotels;
    v_room_type core.room_types;
    v_expires   timestamptz;
    v_id        bigint;
begin
    perform internal.require_right('reservation.create');
    v_hotel := internal.require_hotel(p_hotel_id);
    v_room_type := internal.require_room_type(p_hotel_id, p_room_type_id);
    perform internal.require_rate_plan(p_hotel_id, p_room_type_id, p_rate_plan_id);
    perform internal.require_customer(p_customer_id);
    perform internal.check_stay(v_hotel, p_check_in, p_check_out);
    perform internal.check_guests(v_room_type, p_rooms, p_adults, p_children);
    -- by default the wait ends at the arrival day's check-in time in the hotel's time zone
    v_expires := coalesce(p_expires_at, (p_check_in + v_hotel.check_in_time) at time zone v_hotel.time_zone);
    if v_expires <= internal.now() then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_expires_at %s is not in the future', v_expires),
            'pass a later expiry');
    end if;
    insert into core.waitlist_entries (hotel_id, room_type_id, rate_plan_id, customer_id, stay, rooms, adults, children,
                                       created_at, expires_at)
    values (p_hotel_id, p_room_type_id, p_rate_plan_id, p_customer_id, daterange(p_check_in, p_check_out), p_rooms,
            p_adults, p_children, clock_timestamp() + (internal.now() - now()), v_expires)
    returning id into v_id;
    return v_id;
end
$$;
comment on function api.join_waitlist(bigint, bigint, bigint, bigint, date, date, integer, integer, integer, timestamptz) is
    'Puts a customer on the waitlist for a room type, rate plan and stay (seed 003) until p_expires_at (default: arrival day''s check-in time). Returns the entry id.';

create function api.offer_waitlist(p_hotel_id bigint, p_room_type_id bigint default null) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_type_id bigint;
    v_count   integer := 0;
begin
    perform internal.require_right('reservation.update');
    perform internal.require_hotel(p_hotel_id);
    if p_room_type_id is not null then
        perform internal.require_room_type(p_hotel_id, p_room_type_id);
    end if;
    for v_type_id in
        select rt.id from core.room_types rt
        where rt.hotel_id = p_hotel_id and (p_room_type_id is null or rt.id = p_room_type_id) order by rt.id
    loop
        v_count := v_count + internal.offer_waitlist(p_hotel_id, v_type_id);
    end loop;
    return v_count;
end
$$;
comment on function api.offer_waitlist(bigint, bigint) is
    'Offers whatever is free to the waiting entries of a hotel (or one room type), in waitlist order, each as a hold; returns the offers made. Cancellations call it by themselves.';

create function api.leave_waitlist(p_entry_id bigint) returns core.waitlist_status
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_entry core.waitlist_entries;
begin
    perform internal.require_right('reservation.update');
    select * into v_entry from core.waitlist_entries w where w.id = p_entry_id for update;
    if not found then
        perform internal.raise_error('WAITLIST_ENTRY_NOT_FOUND', format('waitlist entry %s', coalesce(p_entry_id::text, 'null')),
            'check the entry id');
    end if;
    if v_entry.status = 'offered' then
        perform internal.release_hold(v_entry.offer_hold_id);
    end if;
    update core.waitlist_entries w set status = 'cancelled'
    where w.id = p_entry_id and w.status in ('waiting', 'offered');
    return (select w.status from core.waitlist_entries w where w.id = p_entry_id);
end
$$;
comment on function api.leave_waitlist(bigint) is
    'Takes an entry off the waitlist (releasing its offer hold, if any); returns its status.';

create function api.expire_waitlist(p_hotel_id bigint default null) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_count integer;
begin
    perform internal.require_right('reservation.update');
    -- stale entries: past their expiry, their arrival day, or their offer hold ended unconfirmed
    update core.waitlist_entries w
    set status = 'expired'
    where (p_hotel_id is null or w.hotel_id = p_hotel_id)
      and w.status in ('waiting', 'offered')
      and (w.expires_at <= internal.now()
           or lower(w.stay) < internal.hotel_today(w.hotel_id)
           or (w.status = 'offered' and not exists (
                   select 1 from core.holds h where h.id = w.offer_hold_id and h.status in ('active', 'confirmed')
                   and (h.status = 'confirmed' or h.expires_at > internal.now()))))
      and not exists (select 1 from core.holds h where h.id = w.offer_hold_id and h.status = 'active'
                      and h.expires_at > internal.now());
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function api.expire_waitlist(bigint) is
    'Periodic job: expires waitlist entries past their expiry or arrival day, and offered entries whose offer hold ran out. Returns how many.';

-- ---------------------------------------------------------------- reading

create function internal.get_reservation(p_reservation_id bigint) returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_out jsonb;
begin
    select to_jsonb(r) || jsonb_build_object('rooms', (
               select coalesce(jsonb_agg(to_jsonb(l) order by l.id), '[]') from core.reservation_rooms l
               where l.reservation_id = r.id))
    into v_out
    from core.reservations r where r.id = p_reservation_id;
    if v_out is null then
        perform internal.raise_error('RESERVATION_NOT_FOUND', format('reservation %s', coalesce(p_reservation_id::text, 'null')),
            'check the reservation id');
    end if;
    return v_out;
end
$$;
comment on function internal.get_reservation(bigint) is 'The body of the api function without its rights check (callers check them): A reservation with its room lines, as JSON (status, version, amounts, stay).';

create function api.get_reservation(p_reservation_id bigint) returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('reservation.read');
    return internal.get_reservation(p_reservation_id);
end
$$;
comment on function api.get_reservation(bigint) is 'A reservation with its room lines, as JSON (status, version, amounts, stay).';

create function api.list_reservations(
    p_hotel_id     bigint,
    p_status       text default null,
    p_arrival_from date default null,
    p_arrival_to   date default null,
    p_limit        integer default 50,
    p_offset       integer default 0
) returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('reservation.read');
    if p_hotel_id is null or not exists (select 1 from core.hotels h where h.id = p_hotel_id)
       or not internal.in_request_scope(p_hotel_id) then
        perform internal.raise_error('HOTEL_NOT_FOUND', format('hotel_id %s', p_hotel_id), 'check the hotel id');
    end if;
    if p_status is not null and p_status not in (select unnest(enum_range(null::core.reservation_status))::text) then
        perform internal.raise_error('INVALID_ARGUMENT', format('status %L', p_status),
            'pending, confirmed, checked_in, checked_out, cancelled or no_show');
    end if;
    if coalesce(p_limit, 0) not between 1 and 500 or coalesce(p_offset, -1) < 0 then
        perform internal.raise_error('INVALID_ARGUMENT', format('limit %s, offset %s', p_limit, p_offset),
            'limit 1..500, offset >= 0');
    end if;
    return coalesce((
        select jsonb_agg(x.doc order by x.arrival, x.id)
        from (
            select r.id, lower(r.stay) as arrival,
                   jsonb_build_object('reservation_id', r.id, 'hotel_id', r.hotel_id, 'customer_id', r.customer_id,
                       'confirmation_code', r.confirmation_code, 'status', r.status, 'origin', r.origin,
                       'checkin_date', lower(r.stay), 'checkout_date', upper(r.stay), 'currency', r.currency,
                       'total_amount', r.total_amount, 'version', r.version) as doc
            from core.reservations r
            where r.hotel_id = p_hotel_id
              and (p_status is null or r.status::text = p_status)
              and (p_arrival_from is null or lower(r.stay) >= p_arrival_from)
              and (p_arrival_to is null or lower(r.stay) <= p_arrival_to)
            order by lower(r.stay), r.id
            limit p_limit offset p_offset
        ) x), '[]'::jsonb);
end
$$;
comment on function api.list_reservations(bigint, text, date, date, integer, integer) is
    'A hotel''s reservations (seed 000 GET /reservations) in the request''s hotel scope, by arrival date, optionally by status and arrival range; seed 000''s fields.';

create function api.list_customer_reservations(
    p_customer_id bigint,
    p_limit       integer default 50,
    p_offset      integer default 0
) returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('reservation.read');
    if p_customer_id is null or not exists (select 1 from core.customers c where c.id = p_customer_id) then
        perform internal.raise_error('CUSTOMER_NOT_FOUND', format('customer_id %s', p_customer_id), 'check the customer id');
    end if;
    if coalesce(p_limit, 0) not between 1 and 500 or coalesce(p_offset, -1) < 0 then
        perform internal.raise_error('INVALID_ARGUMENT', format('limit %s, offset %s', p_limit, p_offset),
            'limit 1..500, offset >= 0');
    end if;
    -- only the reservations at hotels in the key's scope
    return coalesce((
        select jsonb_agg(x.doc order by x.arrival desc, x.id desc)
        from (
            select r.id, lower(r.stay) as arrival,
                   jsonb_build_object('reservation_id', r.id, 'hotel_id', r.hotel_id, 'customer_id', r.customer_id,
                       'confirmation_code', r.confirmation_code, 'status', r.status, 'origin', r.origin,
                       'checkin_date', lower(r.stay), 'checkout_date', upper(r.stay), 'currency', r.currency,
                       'total_amount', r.total_amount, 'version', r.version) as doc
            from core.reservations r
            where r.customer_id = p_customer_id and internal.in_request_scope(r.hotel_id)
            order by lower(r.stay) desc, r.id desc
            limit p_limit offset p_offset
        ) x), '[]'::jsonb);
end
$$;
comment on function api.list_customer_reservations(bigint, integer, integer) is
    'A customer''s reservation history (seed 000 GET /reservations/customer/{id}) at the hotels of the request''s scope, newest arrival first.';
