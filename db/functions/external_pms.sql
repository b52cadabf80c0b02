-- Hotels mastered by an external PMS (seed 001): the mirror as cache, its freshness, the one
-- refusal that keeps the ledger functions off such hotels, and what the connector (Python:
-- import, webhooks, polling, checkout) writes back. The database cannot call the vendor; every
-- write here records what the vendor already said.

-- ---------------------------------------------------------------------------- helpers

create function internal.is_external_hotel(p_hotel_id bigint) returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    return exists (select 1 from core.pms_properties p where p.hotel_id = p_hotel_id);
end
$$;
comment on function internal.is_external_hotel(bigint) is 'True when the hotel''s ledger is kept by an external PMS (core.pms_properties).';

create function internal.refuse_external_ledger(p_hotel_id bigint) returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_vendor text;
begin
    -- nothing may sell an external hotel's room without the vendor's confirmation: the ledger
    -- functions (hold, confirm, modify, cancel, blocks, inventory) refuse and name the way to book
    select p.vendor into v_vendor from core.pms_properties p where p.hotel_id = p_hotel_id;
    if v_vendor is not null then
        perform internal.raise_error('EXTERNAL_PMS_HOTEL',
            format('hotel %s is kept by the PMS %s; hotelcore holds only its mirror', p_hotel_id, v_vendor),
            format('book it with POST /api/booking/checkout (vendor "%s"), which holds and confirms at the PMS', v_vendor));
    end if;
end
$$;
comment on function internal.refuse_external_ledger(bigint) is
    'EXTERNAL_PMS_HOTEL when the hotel is kept by an external PMS: its ledger is the vendor''s, booked only through the checkout API''s connector.';

create function internal.require_external_hotel(p_hotel_id bigint) returns core.pms_properties
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_property core.pms_properties;
begin
    if p_hotel_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_hotel_id is null', 'pass a hotel id');
    end if;
    -- row-level security limits the row to the caller's hotel scope
    select * into v_property from core.pms_properties p where p.hotel_id = p_hotel_id;
    if not found then
        perform internal.raise_error('PMS_HOTEL_NOT_FOUND', format('hotel %s is not an external-PMS hotel', p_hotel_id),
            'import it with hotelcore pms import, or check the hotel id');
    end if;
    return v_property;
end
$$;
comment on function internal.require_external_hotel(bigint) is 'The external hotel''s connection row, or PMS_HOTEL_NOT_FOUND / INVALID_ARGUMENT.';

create function internal.require_mirror_source(p_source text) returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if not coalesce(core.mirror_source_is_known(p_source), false) then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_source %L', left(p_source, 40)),
            'one of import, poll, fetch, webhook, booking');
    end if;
    return p_source;
end
$$;
comment on function internal.require_mirror_source(text) is 'p_source when it names where mirror data came from, else INVALID_ARGUMENT.';

-- ---------------------------------------------------------------------------- the mirror answers

-- The vendor's stay restrictions that forbid a stay, per external hotel and rate plan, as the
-- native ones do: the arrival night's closed to arrival, minimum and maximum length of stay, and
-- the departure date's closed to departure (mirrored from the rate plans' detailed rates).
create function internal.mirror_restrictions(p_hotel_ids bigint[], p_check_in date, p_check_out date)
returns table (hotel_id bigint, rate_plan_id bigint, night date, rule text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select r.hotel_id, r.rate_plan_id, r.night,
           case when r.night = p_check_out then format('%s is closed to departure', r.night)
                when r.closed_to_arrival then format('night %s is closed to arrival', r.night)
                when p_check_out - p_check_in < r.min_los
                    then format('night %s requires a minimum stay of %s nights, got %s', r.night, r.min_los,
                                p_check_out - p_check_in)
                else format('night %s allows a maximum stay of %s nights, got %s', r.night, r.max_los,
                            p_check_out - p_check_in)
           end
    from core.pms_rates r
    where r.hotel_id = any(p_hotel_ids) and r.night in (p_check_in, p_check_out)
      and case when r.night = p_check_out then r.closed_to_departure
               else r.closed_to_arrival or p_check_out - p_check_in < coalesce(r.min_los, 0)
                    or p_check_out - p_check_in > coalesce(r.max_los, 2147483647)
          end
$$;
comment on function internal.mirror_restrictions(bigint[], date, date) is
    'The vendor''s restrictions in the mirror that forbid the stay, per external hotel, rate plan and night: closed to arrival, minimum or maximum length of stay of the arrival night, closed to departure of the departure date; rule says which in words.';

-- Every room type and rate plan of external hotels for a stay, priced from the mirror: the
-- vendor's nightly prices summed, the hotel's tax rule applied (added, or extracted when prices
-- include it), each rounded to the currency; available = the fewest rooms left on a night.
-- Vendor prices are final: hotelcore's own pricing rules, length-of-stay and member discounts do
-- not apply to a ledger it does not keep. as_of = the oldest mirror row the answer read. A rate
-- plan the vendor's restrictions forbid for the stay is no offer (internal.mirror_restrictions).
create function internal.mirror_offers(p_hotel_ids bigint[], p_check_in date, p_check_out date)
returns table (
    hotel_id      bigint,
    room_type_id  bigint,
    rate_plan_id  bigint,
    max_occupancy integer,
    open_nights   integer,
    available     integer,
    currency      char(3),
    subtotal      numeric,
    tax           numeric,
    total         numeric,
    as_of         timestamptz
)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    with inv as (
        select i.hotel_id, i.room_type_id, count(*)::integer as nights, min(i.available)::integer as available,
               min(i.fetched_at) as as_of
        from core.pms_inventory i
        where i.hotel_id = any(p_hotel_ids) and i.night >= p_check_in and i.night < p_check_out
        group by i.hotel_id, i.room_type_id
    ),
    rates as (
        select r.hotel_id, r.rate_plan_id, count(*)::integer as nights, sum(r.amount) as subtotal,
               min(r.fetched_at) as as_of
        from core.pms_rates r
        where r.hotel_id = any(p_hotel_ids) and r.night >= p_check_in and r.night < p_check_out
        group by r.hotel_id, r.rate_plan_id
    )
    select inv.hotel_id, rt.id, rp.id, rt.max_occupancy, least(inv.nights, ra.nights), inv.available, h.currency,
           sub.subtotal, tx.tax,
           case when h.prices_include_tax then sub.subtotal else sub.subtotal + tx.tax end,
           least(inv.as_of, ra.as_of)
    from inv
    join core.hotels h on h.id = inv.hotel_id
    join core.room_types rt on rt.hotel_id = inv.hotel_id and rt.id = inv.room_type_id and rt.active
    join core.rate_plans rp on rp.hotel_id = rt.hotel_id and rp.room_type_id = rt.id and rp.active
    join rates ra on ra.hotel_id = rp.hotel_id and ra.rate_plan_id = rp.id
    cross join lateral (select internal.round_money(ra.subtotal, h.currency) as subtotal) sub
    cross join lateral (
        select case when h.prices_include_tax
                    then sub.subtotal - internal.round_money(sub.subtotal / (1 + h.tax_rate), h.currency)
                    else internal.round_money(sub.subtotal * h.tax_rate, h.currency) end as tax
    ) tx
    where not exists (select 1 from internal.mirror_restrictions(p_hotel_ids, p_check_in, p_check_out) x
                      where x.hotel_id = rp.hotel_id and x.rate_plan_id = rp.id)
$$;
comment on function internal.mirror_offers(bigint[], date, date) is
    'Offers of external hotels for a stay from the mirror (core.pms_inventory, core.pms_rates): rooms left, the vendor''s prices summed with the hotel''s tax, and as_of, the oldest mirror row read; rate plans the vendor''s restrictions forbid for the stay left out.';

-- ---------------------------------------------------------------------------- mirror writes

-- Inventory and rates as the vendor said them at p_as_of: a row is replaced only by a newer
-- fetch (an older answer that arrives late never overwrites a newer one).
create function internal.apply_mirror_snapshot(
    p_hotel_id bigint,
    p_document jsonb,
    p_source   text,
    p_as_of    timestamptz
) returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_inventory integer;
    v_rates     integer;
    v_prices    integer;
begin
    if jsonb_typeof(coalesce(p_document, 'null')) <> 'object'
       or jsonb_typeof(coalesce(p_document -> 'inventory', '[]')) <> 'array'
       or jsonb_typeof(coalesce(p_document -> 'rates', '[]')) <> 'array' then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_document must be {"inventory": [...], "rates": [...]}',
            'inventory rows {room_type_id, night, total, available}; rates rows {rate_plan_id, night, amount}');
    end if;
    begin
        insert into core.pms_inventory as i (hotel_id, room_type_id, night, total, available, fetched_at, source)
        select p_hotel_id, rt.room_type_id, x.night, x.total, least(x.available, x.total), p_as_of, p_source
        from jsonb_to_recordset(coalesce(p_document -> 'inventory', '[]'))
             as x(room_type_external_id text, night date, total integer, available integer)
        join core.pms_room_types rt on rt.hotel_id = p_hotel_id and rt.external_id = x.room_type_external_id
        on conflict (hotel_id, room_type_id, night) do update
            set total = excluded.total, available = excluded.available, fetched_at = excluded.fetched_at,
                source = excluded.source
            where i.fetched_at <= excluded.fetched_at;
        get diagnostics v_inventory = row_count;
        -- a rate row with its restrictions (a rate plan's detailed rates) sets them; one without
        -- (a price change alone) keeps those mirrored
        insert into core.pms_rates as r (hotel_id, rate_plan_id, night, amount, min_los, max_los, closed_to_arrival,
                                         closed_to_departure, fetched_at, source)
        select p_hotel_id, rp.rate_plan_id, x.night, x.amount,
               nullif(least(greatest(x.min_los, 0), 365), 0), nullif(least(greatest(x.max_los, 0), 365), 0),
               coalesce(x.closed_to_arrival, false), coalesce(x.closed_to_departure, false), p_as_of, p_source
        from jsonb_to_recordset(coalesce(p_document -> 'rates', '[]'))
             as x(rate_plan_external_id text, night date, amount numeric, restricted boolean, min_los integer,
                  max_los integer, closed_to_arrival boolean, closed_to_departure boolean)
        join core.pms_rate_plans rp on rp.hotel_id = p_hotel_id and rp.external_id = x.rate_plan_external_id
        where x.restricted is not null
        on conflict (hotel_id, rate_plan_id, night) do update
            set amount = excluded.amount, min_los = excluded.min_los, max_los = excluded.max_los,
                closed_to_arrival = excluded.closed_to_arrival, closed_to_departure = excluded.closed_to_departure,
                fetched_at = excluded.fetched_at, source = excluded.source
            where r.fetched_at <= excluded.fetched_at;
        get diagnostics v_rates = row_count;
        insert into core.pms_rates as r (hotel_id, rate_plan_id, night, amount, fetched_at, source)
        select p_hotel_id, rp.rate_plan_id, x.night, x.amount, p_as_of, p_source
        from jsonb_to_recordset(coalesce(p_document -> 'rates', '[]'))
             as x(rate_plan_external_id text, night date, amount numeric, restricted boolean)
        join core.pms_rate_plans rp on rp.hotel_id = p_hotel_id and rp.external_id = x.rate_plan_external_id
        where x.restricted is null
        on conflict (hotel_id, rate_plan_id, night) do update
            set amount = excluded.amount, fetched_at = excluded.fetched_at, source = excluded.source
            where r.fetched_at <= excluded.fetched_at;
        get diagnostics v_prices = row_count;
        v_rates := v_rates + v_prices;
    exception
        when invalid_datetime_format or invalid_text_representation or numeric_value_out_of_range
             or check_violation or not_null_violation or datetime_field_overflow then
            perform internal.raise_error('INVALID_ARGUMENT', format('a mirror row is malformed: %s', sqlerrm),
                'nights as YYYY-MM-DD, counts and amounts not negative');
    end;
    update core.pms_room_types set fetched_at = p_as_of, source = p_source
    where hotel_id = p_hotel_id and p_document ? 'room_types_seen' and fetched_at < p_as_of;
    return v_inventory + v_rates;
end
$$;
comment on function internal.apply_mirror_snapshot(bigint, jsonb, text, timestamptz) is
    'Upserts the mirror''s inventory and rate rows of a vendor answer as of p_as_of (newer wins); returns the rows written.';

-- One reservation as the vendor says it. A version older than the one held (vendor_modified_at)
-- changes nothing. When the reservation starts or stops taking rooms, or moves, the mirror's
-- inventory nights that the vendor counted before this change (fetched_at older than it) are
-- corrected by the difference: the seed's decrement on booking and increment on cancellation.
create function internal.apply_mirror_reservation(
    p_hotel_id bigint,
    p_document jsonb,
    p_source   text
) returns text
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_old        core.pms_reservations;
    v_external   text := p_document ->> 'external_id';
    v_status     text := p_document ->> 'status';
    v_modified   timestamptz;
    v_room_type  bigint;
    v_stay       daterange;
    v_rooms      integer;
    v_now        timestamptz := internal.now();
begin
    begin
        v_modified := (p_document ->> 'modified_at')::timestamptz;
        v_stay := daterange((p_document ->> 'check_in')::date, (p_document ->> 'check_out')::date);
        v_rooms := coalesce((p_document ->> 'rooms')::integer, 1);
    exception when invalid_datetime_format or invalid_text_representation or datetime_field_overflow
                   or numeric_value_out_of_range or data_exception then
        perform internal.raise_error('INVALID_ARGUMENT', format('reservation document: %s', sqlerrm),
            'modified_at as ISO 8601, check_in/check_out as YYYY-MM-DD');
    end;
    if v_external is null or v_status is null or v_modified is null or not core.nights_are_canonical(v_stay)
       or v_rooms not between 1 and 100 then
        perform internal.raise_error('INVALID_ARGUMENT',
            'a reservation needs external_id, status, modified_at, check_in < check_out and 1-100 rooms',
            'send the vendor''s reservation as the connector normalises it');
    end if;
    if v_status not in ('not_confirmed', 'confirmed', 'canceled', 'checked_in', 'checked_out', 'no_show') then
        perform internal.raise_error('INVALID_ARGUMENT', format('status %L', left(v_status, 40)),
            'a Cloudbeds reservation status');
    end if;
    select rt.room_type_id into v_room_type
    from core.pms_room_types rt where rt.hotel_id = p_hotel_id and rt.external_id = p_document ->> 'room_type_external_id';

    -- one version at a time per reservation (webhooks and polls of it may race, the first version
    -- included: a row lock cannot serialise two writers of a row that does not exist yet)
    perform pg_advisory_xact_lock(hashtextextended('hotelcore.pms_reservation:' || p_hotel_id || ':' || v_external, 0));
    select * into v_old from core.pms_reservations r
    where r.hotel_id = p_hotel_id and r.external_id = v_external for update;
    if found and v_old.vendor_modified_at >= v_modified then
        return 'stale';  -- the mirror already holds this version or a newer one
    end if;

    -- the inventory effect: the old version's rooms back, the new version's rooms taken, on the
    -- nights whose mirror row predates this change (a later fetch already counts it)
    with effect as (
        select v_old.room_type_id as room_type_id, n::date as night, v_old.rooms as delta
        from generate_series(lower(v_old.stay), upper(v_old.stay) - 1, interval '1 day') n
        where v_old.external_id is not null and v_old.status <> 'canceled' and v_old.room_type_id is not null
        union all
        select v_room_type, n::date, -v_rooms
        from generate_series(lower(v_stay), upper(v_stay) - 1, interval '1 day') n
        where v_status <> 'canceled' and v_room_type is not null
    ),
    net as (
        select e.room_type_id, e.night, sum(e.delta)::integer as delta
        from effect e group by e.room_type_id, e.night having sum(e.delta) <> 0
    )
    update core.pms_inventory i
    set available = least(greatest(i.available + net.delta, 0), i.total),
        source = case when p_source = 'booking' then 'booking' else i.source end
    from net
    where i.hotel_id = p_hotel_id and i.room_type_id = net.room_type_id and i.night = net.night
      and i.fetched_at < v_modified;

    insert into core.pms_reservations as r (hotel_id, external_id, room_type_id, stay, rooms, status, guest_name, total,
                                            vendor_modified_at, checkout_id, fetched_at, source)
    values (p_hotel_id, v_external, v_room_type, v_stay, v_rooms, v_status, left(p_document ->> 'guest_name', 200),
            (p_document ->> 'total')::numeric, v_modified, (p_document ->> 'checkout_id')::bigint, v_now, p_source)
    on conflict (hotel_id, external_id) do update
        set room_type_id = excluded.room_type_id, stay = excluded.stay, rooms = excluded.rooms, status = excluded.status,
            guest_name = coalesce(excluded.guest_name, r.guest_name), total = coalesce(excluded.total, r.total),
            vendor_modified_at = excluded.vendor_modified_at, checkout_id = coalesce(r.checkout_id, excluded.checkout_id),
            fetched_at = excluded.fetched_at, source = excluded.source;
    return 'applied';
end
$$;
comment on function internal.apply_mirror_reservation(bigint, jsonb, text) is
    'Applies one vendor reservation version to the mirror unless an equal or newer one is held (returns applied or stale); corrects the mirror''s inventory by the rooms it takes or frees.';

-- ---------------------------------------------------------------------------- api: import

create function api.pms_import_property(
    p_vendor         text,
    p_property_id    text,
    p_base_url       text,
    p_api_key        text,
    p_webhook_secret text,
    p_webhook_token  text,
    p_document       jsonb
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_hotel    jsonb := p_document -> 'hotel';
    v_hotel_id bigint;
    v_rt       jsonb;
    v_rt_id    bigint;
    v_room     jsonb;
    v_room_id  bigint;
    v_rp       jsonb;
    v_rp_id    bigint;
    v_policy   bigint;
    v_now      timestamptz := internal.now();
    v_counts   jsonb;
begin
    -- seed 001's admin flow: only chain administration creates hotels
    perform internal.require_right('hotel.create');
    perform internal.require_text('p_vendor', p_vendor);
    perform internal.require_text('p_property_id', p_property_id);
    perform internal.require_text('p_base_url', p_base_url);
    perform internal.require_text('p_api_key', p_api_key);
    perform internal.require_text('p_webhook_secret', p_webhook_secret);
    perform internal.require_text('p_webhook_token', p_webhook_token);
    if p_vendor !~ '^[a-z][a-z0-9_]{0,49}$' then
        perform internal.raise_error('PMS_VENDOR_UNKNOWN', format('vendor %L', left(p_vendor, 60)), 'e.g. cloudbeds');
    end if;
    perform internal.require_sealed('p_api_key', p_api_key);
    perform internal.require_sealed('p_webhook_secret', p_webhook_secret);
    if p_base_url !~ '^https?://[^[:space:]]+$' or length(p_base_url) > 500 then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_base_url is not an http(s) URL', 'e.g. https://api.cloudbeds.com/api/v1.3');
    end if;
    if length(p_property_id) > 100 or length(p_webhook_token) > 500 then
        perform internal.raise_error('INVALID_ARGUMENT', 'an identifier or token is longer than allowed', 'ids up to 100, tokens up to 500 characters');
    end if;
    if jsonb_typeof(coalesce(v_hotel, 'null')) <> 'object'
       or jsonb_typeof(coalesce(p_document -> 'room_types', 'null')) <> 'array'
       or jsonb_typeof(coalesce(p_document -> 'rate_plans', '[]')) <> 'array' then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_document must hold hotel {...}, room_types [...], rate_plans [...]',
            'the connector''s normalised property');
    end if;
    -- a vendor's property is imported once across the chain (the lookup's key keeps it)
    if exists (select 1 from core.pms_property_hotels l where l.vendor = p_vendor and l.property_id = p_property_id) then
        perform internal.raise_error('PMS_PROPERTY_ALREADY_IMPORTED', format('%s property %s', p_vendor, p_property_id),
            'it syncs already: see hotelcore pms status');
    end if;

    -- the hotel, its room types, rooms and rate plans, through the property functions' bodies
    -- (their rules; the right to create a hotel, checked above, covers them)
    begin
        v_hotel_id := internal.create_hotel(v_hotel ->> 'code', v_hotel ->> 'name', v_hotel ->> 'time_zone', v_hotel ->> 'currency',
                                       v_hotel ->> 'city', v_hotel ->> 'country_code',
                                       coalesce((v_hotel ->> 'tax_rate')::numeric, 0),
                                       coalesce((v_hotel ->> 'prices_include_tax')::boolean, false));
    exception when invalid_text_representation or numeric_value_out_of_range then
        perform internal.raise_error('INVALID_ARGUMENT', format('hotel document: %s', sqlerrm), 'tax_rate a fraction such as 0.1');
    end;
    v_policy := internal.create_cancellation_policy(v_hotel_id, 'pms', 'As the PMS decides', false, null, 'none', null, 'none', null);
    for v_rt in select * from jsonb_array_elements(p_document -> 'room_types') loop
        v_rt_id := internal.create_room_type(v_hotel_id, v_rt ->> 'code', v_rt ->> 'name',
                                        (v_rt ->> 'max_occupancy')::integer, (v_rt ->> 'base_price')::numeric);
        insert into core.pms_room_types (hotel_id, room_type_id, external_id, fetched_at, source)
        values (v_hotel_id, v_rt_id, v_rt ->> 'external_id', v_now, 'import');
        for v_room in select * from jsonb_array_elements(coalesce(v_rt -> 'rooms', '[]')) loop
            v_room_id := internal.create_room(v_hotel_id, v_rt_id, v_room ->> 'number');
            insert into core.pms_rooms (hotel_id, room_id, external_id) values (v_hotel_id, v_room_id, v_room ->> 'external_id');
        end loop;
    end loop;
    for v_rp in select * from jsonb_array_elements(coalesce(p_document -> 'rate_plans', '[]')) loop
        select rt.room_type_id into v_rt_id from core.pms_room_types rt
        where rt.hotel_id = v_hotel_id and rt.external_id = v_rp ->> 'room_type_external_id';
        if v_rt_id is null then
            perform internal.raise_error('INVALID_ARGUMENT',
                format('rate plan %s names room type %s, not in the property', v_rp ->> 'external_id', v_rp ->> 'room_type_external_id'),
                'list every room type a rate plan names');
        end if;
        v_rp_id := internal.create_rate_plan(v_hotel_id, v_rt_id, v_rp ->> 'code', v_rp ->> 'name',
                                        p_cancellation_policy_id => v_policy);
        insert into core.pms_rate_plans (hotel_id, rate_plan_id, external_id, fetched_at, source)
        values (v_hotel_id, v_rp_id, v_rp ->> 'external_id', v_now, 'import');
    end loop;

    -- from here on the hotel is external: its ledger functions refuse, the mirror answers
    insert into core.pms_properties (hotel_id, vendor, property_id, base_url, api_key, webhook_secret,
                                     webhook_token_sha256, next_sync_at, imported_at)
    values (v_hotel_id, p_vendor, p_property_id, rtrim(p_base_url, '/'), p_api_key, p_webhook_secret,
            sha256(convert_to(p_webhook_token, 'UTF8')), v_now + interval '300 seconds', v_now);
    perform internal.apply_mirror_snapshot(v_hotel_id, p_document, 'import', v_now);
    select jsonb_build_object(
               'hotel_id', v_hotel_id,
               'room_types', (select count(*) from core.pms_room_types t where t.hotel_id = v_hotel_id),
               'rooms', (select count(*) from core.pms_rooms r where r.hotel_id = v_hotel_id),
               'rate_plans', (select count(*) from core.pms_rate_plans r where r.hotel_id = v_hotel_id),
               'inventory_nights', (select count(*) from core.pms_inventory i where i.hotel_id = v_hotel_id),
               'rate_nights', (select count(*) from core.pms_rates r where r.hotel_id = v_hotel_id))
    into v_counts;
    return v_counts;
end
$$;
comment on function api.pms_import_property(text, text, text, text, text, text, jsonb) is
    'Seed 001''s import of a PMS property in one transaction (p_api_key and p_webhook_secret sealed by the connector, never in clear: INVALID_ARGUMENT): the hotel (name, location, time zone, currency, tax), room types (occupancy, average price), rooms and rate plans through the property functions, the vendor id of each, the connection and webhook secrets, and the first mirror of inventory and rates. Returns the counts.';

-- ---------------------------------------------------------------------------- api: connector reads

create function api.pms_connection(p_hotel_id bigint) returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_property core.pms_properties;
begin
    -- the vendor's credentials, sealed: scheduled jobs and the connector only (admin)
    perform internal.require_right('maintenance.run');
    v_property := internal.require_external_hotel(p_hotel_id);
    return jsonb_build_object(
        'hotel_id', v_property.hotel_id, 'vendor', v_property.vendor, 'property_id', v_property.property_id,
        'base_url', v_property.base_url, 'api_key_sealed', v_property.api_key,
        'poll_interval_seconds', v_property.poll_interval_seconds, 'poll_horizon_days', v_property.poll_horizon_days,
        -- the room list is due again after its TTL (3,600 s), or at once after a room_update webhook
        'room_list_stale', coalesce((select min(t.fetched_at) from core.pms_room_types t where t.hotel_id = p_hotel_id)
                                    < internal.now() - make_interval(secs => (select f.ttl_seconds from core.pms_freshness f
                                                                               where f.kind = 'rooms')), true),
        'room_types', (select coalesce(jsonb_object_agg(t.external_id, t.room_type_id), '{}')
                       from core.pms_room_types t where t.hotel_id = p_hotel_id),
        'rate_plans', (select coalesce(jsonb_agg(jsonb_build_object(
                                  'rate_plan_id', r.rate_plan_id, 'external_id', r.external_id,
                                  'room_type_id', rp.room_type_id, 'room_type_external_id', t.external_id)
                                  order by r.rate_plan_id), '[]')
                       from core.pms_rate_plans r
                       join core.rate_plans rp on rp.hotel_id = r.hotel_id and rp.id = r.rate_plan_id
                       join core.pms_room_types t on t.hotel_id = rp.hotel_id and t.room_type_id = rp.room_type_id
                       where r.hotel_id = p_hotel_id),
        'rooms', (select coalesce(jsonb_agg(jsonb_build_object('room_id', m.room_id, 'external_id', m.external_id,
                                                               'room_type_external_id', t.external_id)
                                            order by m.room_id), '[]')
                  from core.pms_rooms m
                  join core.rooms r on r.hotel_id = m.hotel_id and r.id = m.room_id
                  join core.pms_room_types t on t.hotel_id = r.hotel_id and t.room_type_id = r.room_type_id
                  where m.hotel_id = p_hotel_id and r.active));
end
$$;
comment on function api.pms_connection(bigint) is
    'The connector''s view of an external hotel: vendor, property, base URL and the API key sealed (only the connector''s key outside the database opens it), sync settings, and the vendor ids of its room types, rate plans and rooms. Admin only (it holds the vendor''s credentials).';

create function api.pms_webhook_target(p_vendor text, p_property_id text)
returns table (hotel_id bigint, webhook_secret text, webhook_token_sha256 bytea)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
begin
    perform internal.require_right('maintenance.run');
    perform internal.require_text('p_vendor', p_vendor);
    perform internal.require_text('p_property_id', p_property_id);
    -- the chain-wide lookup names the hotel, whose row holds the secrets
    return query select p.hotel_id, p.webhook_secret, p.webhook_token_sha256
                 from core.pms_property_hotels l
                 join core.pms_properties p on p.hotel_id = l.hotel_id
                 where l.vendor = p_vendor and l.property_id = p_property_id;
end
$$;
comment on function api.pms_webhook_target(text, text) is
    'The external hotel a vendor''s webhook names, with what its signature or token is checked against: the signing secret sealed (only the key outside the database opens it) and the token''s sha256 (no row: unknown property). Admin only.';

-- Seed 001's freshness of the mirror for a stay, per external hotel: fresh when every night of
-- every room type is mirrored within the inventory TTL (90 s) and of every rate plan within the
-- rates TTL (300 s); a miss goes to the PMS. Each lookup counts as a cache hit or miss per hotel
-- and UTC day (the seed's cache hit rate).
create function internal.mirror_freshness(p_hotel_ids bigint[], p_check_in date, p_check_out date)
returns table (hotel_id bigint, fresh boolean, as_of timestamptz, inventory_as_of timestamptz,
               rates_as_of timestamptz, nights integer)
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_now       timestamptz := internal.now();
    v_inv_ttl   integer := (select f.ttl_seconds from core.pms_freshness f where f.kind = 'inventory');
    v_rates_ttl integer := (select f.ttl_seconds from core.pms_freshness f where f.kind = 'rates');
    v_nights    integer := p_check_out - p_check_in;
begin
    return query
    with hotels as (
        -- row-level security limits the properties to the caller's hotel scope
        select p.hotel_id from core.pms_properties p where p.hotel_id = any(p_hotel_ids)
    ),
    inv as (
        select i.hotel_id, min(i.fetched_at) as oldest, count(*) as n
        from core.pms_inventory i
        join core.pms_room_types t on t.hotel_id = i.hotel_id and t.room_type_id = i.room_type_id
        where i.hotel_id = any(p_hotel_ids) and i.night >= p_check_in and i.night < p_check_out
        group by i.hotel_id
    ),
    rates as (
        select r.hotel_id, min(r.fetched_at) as oldest, count(*) as n
        from core.pms_rates r
        where r.hotel_id = any(p_hotel_ids) and r.night >= p_check_in and r.night < p_check_out
        group by r.hotel_id
    ),
    judged as (
        select h.hotel_id,
               coalesce(inv.n = v_nights * (select count(*) from core.pms_room_types t where t.hotel_id = h.hotel_id)
                        and rates.n = v_nights * (select count(*) from core.pms_rate_plans r where r.hotel_id = h.hotel_id)
                        and inv.oldest > v_now - make_interval(secs => v_inv_ttl)
                        and rates.oldest > v_now - make_interval(secs => v_rates_ttl), false) as fresh,
               inv.oldest as inventory_as_of, rates.oldest as rates_as_of
        from hotels h
        left join inv on inv.hotel_id = h.hotel_id
        left join rates on rates.hotel_id = h.hotel_id
    ),
    counted as (
        insert into core.pms_cache_lookups as l (hotel_id, day, hits, misses)
        select j.hotel_id, (v_now at time zone 'UTC')::date, case when j.fresh then 1 else 0 end,
               case when j.fresh then 0 else 1 end
        from judged j
        on conflict (hotel_id, day) do update set hits = l.hits + excluded.hits, misses = l.misses + excluded.misses
    )
    select j.hotel_id, j.fresh, least(j.inventory_as_of, j.rates_as_of), j.inventory_as_of, j.rates_as_of, v_nights
    from judged j
    order by j.hotel_id;
end
$$;
comment on function internal.mirror_freshness(bigint[], date, date) is
    'Per external hotel of p_hotel_ids (in the caller''s scope): whether the mirror answers the stay fresh (every night present, inventory within its TTL, rates within theirs) and how old it is; counts each as a cache hit or miss.';

create function internal.require_mirror_stay(p_check_in date, p_check_out date) returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_check_in is null or p_check_out is null or p_check_out <= p_check_in or p_check_out - p_check_in > 365 then
        perform internal.raise_error('INVALID_DATES', format('[%s, %s)', p_check_in, p_check_out), 'check_out after check_in, up to a year');
    end if;
end
$$;
comment on function internal.require_mirror_stay(date, date) is 'INVALID_DATES unless [p_check_in, p_check_out) is a stay of one night up to a year.';

create function api.pms_lookup(p_hotel_id bigint, p_check_in date, p_check_out date)
returns table (fresh boolean, as_of timestamptz, inventory_as_of timestamptz, rates_as_of timestamptz, nights integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
begin
    perform internal.require_right('rooms.read');
    perform internal.require_external_hotel(p_hotel_id);
    perform internal.require_mirror_stay(p_check_in, p_check_out);
    return query select f.fresh, f.as_of, f.inventory_as_of, f.rates_as_of, f.nights
                 from internal.mirror_freshness(array[p_hotel_id], p_check_in, p_check_out) f;
end
$$;
comment on function api.pms_lookup(bigint, date, date) is
    'Whether the mirror of an external hotel answers a stay fresh (inventory within 90 s, rates within 300 s, every night present) and how old it is; counts the lookup as a cache hit or miss. A miss is refreshed from the PMS by the caller.';

create function api.pms_city_lookup(
    p_city      text,
    p_check_in  date,
    p_check_out date,
    p_hotel_ids bigint[] default null
) returns table (hotel_id bigint, fresh boolean, as_of timestamptz)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_hotel_ids bigint[];
    v_now       timestamptz := internal.now();
begin
    perform internal.require_right('rooms.read');
    if p_city is null and p_hotel_ids is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'pass p_city or p_hotel_ids', 'name a city or a list of hotels');
    end if;
    perform internal.require_mirror_stay(p_check_in, p_check_out);
    if cardinality(p_hotel_ids) > 1000 then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_hotel_ids lists more than 1,000 hotels', 'search up to 1,000 hotels at once');
    end if;
    -- the external hotels a city (or chain) search covers: active, of the city or the list, and
    -- whose calendar has reached the arrival
    select coalesce(array_agg(h.id), '{}') into v_hotel_ids
    from core.pms_properties p
    join core.hotels h on h.id = p.hotel_id
    where h.active
      and (p_city is null or lower(h.city) = lower(p_city))
      and (p_hotel_ids is null or h.id = any(p_hotel_ids))
      and p_check_in >= (v_now at time zone h.time_zone)::date;
    return query select f.hotel_id, f.fresh, f.as_of
                 from internal.mirror_freshness(v_hotel_ids, p_check_in, p_check_out) f;
end
$$;
comment on function api.pms_city_lookup(text, date, date, bigint[]) is
    'The external-PMS hotels a city (or chain) search covers in the caller''s scope, each with whether its mirror answers the stay fresh and how old it is; counts each as a cache hit or miss. The stale ones are refreshed from the PMS by the caller before it searches.';

-- ---------------------------------------------------------------------------- api: connector writes

create function api.pms_apply_snapshot(
    p_hotel_id bigint,
    p_document jsonb,
    p_source   text,
    p_as_of    timestamptz default null
) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('maintenance.run');
    perform internal.require_external_hotel(p_hotel_id);
    perform internal.require_mirror_source(p_source);
    if p_as_of is not null and (not isfinite(p_as_of) or p_as_of > internal.now() + interval '5 minutes') then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_as_of %s is in the future', p_as_of), 'when the vendor answered');
    end if;
    return internal.apply_mirror_snapshot(p_hotel_id, p_document, p_source, coalesce(p_as_of, internal.now()));
end
$$;
comment on function api.pms_apply_snapshot(bigint, jsonb, text, timestamptz) is
    'Writes a vendor answer (inventory per room type and night, rates per rate plan and night, by vendor ids) into the mirror as of p_as_of (default now); a row already newer is kept. Returns the rows written.';

create function api.pms_apply_reservation(p_hotel_id bigint, p_document jsonb, p_source text) returns text
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('maintenance.run');
    perform internal.require_external_hotel(p_hotel_id);
    perform internal.require_mirror_source(p_source);
    if jsonb_typeof(coalesce(p_document, 'null')) <> 'object' then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_document must be a reservation object', 'the connector''s normalised reservation');
    end if;
    return internal.apply_mirror_reservation(p_hotel_id, p_document, p_source);
end
$$;
comment on function api.pms_apply_reservation(bigint, jsonb, text) is
    'Writes one vendor reservation version into the mirror (applied), unless the mirror holds it already or a newer one (stale); its rooms are taken from or given back to the mirror''s inventory.';

create function api.pms_apply_webhook(
    p_vendor   text,
    p_event_id text,
    p_hotel_id bigint,
    p_kind     text,
    p_document jsonb
) returns text
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_id      bigint;
    v_outcome text := 'applied';
    v_now     timestamptz := internal.now();
    v_as_of   timestamptz;
begin
    perform internal.require_right('maintenance.run');
    perform internal.require_text('p_vendor', p_vendor);
    perform internal.require_text('p_event_id', p_event_id);
    perform internal.require_external_hotel(p_hotel_id);
    if p_kind is null or p_kind not in ('inventory_update', 'rate_update', 'booking_confirm', 'booking_cancel', 'room_update',
                                        'reservation') then
        perform internal.raise_error('WEBHOOK_MALFORMED', format('event kind %L', left(p_kind, 60)),
            'inventory_update, rate_update, booking_confirm, booking_cancel, room_update or reservation');
    end if;
    if jsonb_typeof(coalesce(p_document, 'null')) <> 'object' then
        perform internal.raise_error('WEBHOOK_MALFORMED', 'the event''s data is not an object', 'send the event''s data');
    end if;
    -- the vendor's event id makes the event idempotent: a second delivery changes nothing (an
    -- event is about the one property it names, so once per hotel is once)
    insert into core.pms_webhook_events (vendor, event_id, hotel_id, kind, outcome, received_at)
    values (p_vendor, left(p_event_id, 200), p_hotel_id, p_kind, 'applied', v_now)
    on conflict (vendor, event_id, hotel_id) do nothing
    returning id into v_id;
    if v_id is null then
        return 'duplicate';
    end if;
    if p_kind in ('booking_confirm', 'booking_cancel', 'reservation') then
        v_outcome := internal.apply_mirror_reservation(p_hotel_id, p_document, 'webhook');
    elsif p_kind = 'room_update' then
        update core.pms_room_types set fetched_at = '-infinity', source = 'webhook' where hotel_id = p_hotel_id;
    else
        begin
            v_as_of := coalesce((p_document ->> 'as_of')::timestamptz, v_now);
        exception when invalid_datetime_format or datetime_field_overflow or data_exception then
            perform internal.raise_error('WEBHOOK_MALFORMED', 'as_of is not a timestamp', 'ISO 8601');
        end;
        if internal.apply_mirror_snapshot(p_hotel_id, p_document, 'webhook', least(v_as_of, v_now)) = 0 then
            v_outcome := 'stale';
        end if;
    end if;
    update core.pms_webhook_events set outcome = v_outcome where id = v_id and hotel_id = p_hotel_id;
    return v_outcome;
end
$$;
comment on function api.pms_apply_webhook(text, text, bigint, text, jsonb) is
    'Applies one PMS webhook event in one transaction, once per (vendor, event id): inventory_update / rate_update into the mirror (as of the vendor''s time), booking_confirm / booking_cancel / reservation as a reservation version, room_update marks the room list stale. Returns applied, stale (older than the mirror) or duplicate.';

-- ---------------------------------------------------------------------------- api: sync state

create function api.pms_sync_status(p_hotel_id bigint default null)
returns table (
    hotel_id             bigint,
    hotel_name           text,
    vendor               text,
    property_id          text,
    running              boolean,
    sync_enabled         boolean,
    last_sync_at         timestamptz,
    last_sync_ok         boolean,
    next_sync_at         timestamptz,
    consecutive_failures integer,
    error_count          bigint,
    last_error           text,
    stopped_at           timestamptz
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
begin
    perform internal.require_right('rooms.read');
    if p_hotel_id is not null then
        perform internal.require_external_hotel(p_hotel_id);
    end if;
    return query
    select p.hotel_id, h.name, p.vendor, p.property_id, p.sync_running, p.sync_enabled, p.last_sync_at, p.last_sync_ok,
           case when p.sync_enabled then p.next_sync_at end, p.consecutive_failures, p.error_count, p.last_error, p.stopped_at
    from core.pms_properties p
    join core.hotels h on h.id = p.hotel_id
    where p_hotel_id is null or p.hotel_id = p_hotel_id
    order by p.hotel_id;
end
$$;
comment on function api.pms_sync_status(bigint) is
    'The polling sync of each external hotel in scope (or one): running, enabled, last and next sync, consecutive failures (5 stop it), errors.';

create function api.pms_claim_sync(p_hotel_id bigint) returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_claimed boolean;
begin
    perform internal.require_right('maintenance.run');
    perform internal.require_external_hotel(p_hotel_id);
    -- one sync per hotel at a time, however many workers poll: the flag is taken in one update
    update core.pms_properties set sync_running = true
    where hotel_id = p_hotel_id and sync_enabled and not sync_running
    returning true into v_claimed;
    return coalesce(v_claimed, false);
end
$$;
comment on function api.pms_claim_sync(bigint) is
    'Takes the hotel''s sync for this worker (true), or false when it runs elsewhere or is stopped. Admin (the sync worker).';

create function api.pms_record_sync(
    p_hotel_id   bigint,
    p_trigger    text,
    p_started_at timestamptz,
    p_ok         boolean,
    p_changes    integer default 0,
    p_error      text default null
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_now      timestamptz := internal.now();
    v_property core.pms_properties;
begin
    perform internal.require_right('maintenance.run');
    perform internal.require_external_hotel(p_hotel_id);
    if p_trigger is null or p_trigger not in ('poll', 'manual', 'import') then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_trigger %L', left(p_trigger, 40)), 'poll, manual or import');
    end if;
    if p_ok is null or p_started_at is null or not isfinite(p_started_at) or p_started_at > v_now then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_ok and a p_started_at not in the future are required', 'when the run started');
    end if;
    perform internal.require_count('p_changes', coalesce(p_changes, 0), 0, 2147483647);
    insert into core.pms_sync_runs (hotel_id, trigger, started_at, finished_at, ok, changes, error)
    values (p_hotel_id, p_trigger, p_started_at, v_now, p_ok, coalesce(p_changes, 0), left(p_error, 1000));
    -- five consecutive failures stop the polling (seed 001) until a manual trigger
    update core.pms_properties p
    set sync_running = false,
        last_sync_at = v_now,
        last_sync_ok = p_ok,
        consecutive_failures = case when p_ok then 0 else p.consecutive_failures + 1 end,
        error_count = p.error_count + case when p_ok then 0 else 1 end,
        last_error = case when p_ok then p.last_error else left(p_error, 1000) end,
        sync_enabled = p.sync_enabled and (p_ok or p.consecutive_failures + 1 < 5),
        stopped_at = case when not p_ok and p.consecutive_failures + 1 >= 5 and p.sync_enabled then v_now else p.stopped_at end,
        next_sync_at = v_now + make_interval(secs => p.poll_interval_seconds)
    where p.hotel_id = p_hotel_id
    returning * into v_property;
    -- the ops event of a stop, in the same transaction (seed 001: 관리자에게 알림)
    if v_property.stopped_at = v_now then
        perform internal.emit_event('pms_sync.stopped', p_hotel_id::text, p_hotel_id,
            jsonb_build_object('hotel_id', p_hotel_id, 'vendor', v_property.vendor, 'property_id', v_property.property_id,
                               'consecutive_failures', v_property.consecutive_failures, 'last_error', v_property.last_error));
    end if;
    return jsonb_build_object('hotel_id', p_hotel_id, 'ok', p_ok, 'consecutive_failures', v_property.consecutive_failures,
                              'sync_enabled', v_property.sync_enabled, 'stopped', not v_property.sync_enabled,
                              'next_sync_at', v_property.next_sync_at);
end
$$;
comment on function api.pms_record_sync(bigint, text, timestamptz, boolean, integer, text) is
    'Ends a sync run of an external hotel: records it, schedules the next one after the polling interval, and after 5 consecutive failures stops the polling (stopped_at set; the caller publishes the ops event).';

create function api.pms_request_sync(p_hotel_id bigint) returns timestamptz
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_now timestamptz := internal.now();
begin
    -- the manual trigger: the PMS system may ask for a sync now, and it restarts a stopped one
    perform internal.require_right('rooms.update');
    perform internal.require_external_hotel(p_hotel_id);
    update core.pms_properties
    set next_sync_at = v_now, sync_enabled = true, consecutive_failures = 0, stopped_at = null
    where hotel_id = p_hotel_id;
    return v_now;
end
$$;
comment on function api.pms_request_sync(bigint) is
    'The manual trigger: the external hotel''s next sync is due now, and a sync stopped by failures is enabled again.';

create function api.pms_due_syncs(p_limit integer default 100) returns setof bigint
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('maintenance.run');
    perform internal.require_count('p_limit', p_limit, 1, 10000);
    return query select p.hotel_id from core.pms_properties p
                 where p.sync_enabled and not p.sync_running and p.next_sync_at <= internal.now()
                 order by p.next_sync_at, p.hotel_id limit p_limit;
end
$$;
comment on function api.pms_due_syncs(integer) is 'External hotels whose polling sync is due (enabled, not running). Admin (the sync worker).';

create function api.pms_record_breaker(p_hotel_id bigint, p_state text) returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_property core.pms_properties;
begin
    perform internal.require_right('maintenance.run');
    v_property := internal.require_external_hotel(p_hotel_id);
    if p_state is null or p_state not in ('closed', 'open', 'half_open') then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_state %L', left(p_state, 40)), 'closed, open or half_open');
    end if;
    insert into core.pms_breaker_events (hotel_id, vendor, state, at)
    values (p_hotel_id, v_property.vendor, p_state, internal.now());
end
$$;
comment on function api.pms_record_breaker(bigint, text) is 'Records a state change of the circuit breaker of an external hotel''s vendor and property.';

-- ---------------------------------------------------------------------------- api: checkout through the connector

create function api.pms_checkout_begin(
    p_hotel_id     bigint,
    p_room_type_id bigint,
    p_rate_plan_id bigint,
    p_check_in     date,
    p_check_out    date,
    p_rooms        integer,
    p_adults       integer,
    p_children     integer,
    p_amount       numeric,
    p_currency     text,
    p_request      jsonb
) returns table (checkout_id bigint, amount numeric, currency char(3), room_type_external_id text,
                 rate_plan_external_id text, hold_ttl_seconds integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_hotel   core.hotels;
    v_offer   record;
    v_night   date;
    v_rule    text;
    v_now     timestamptz := internal.now();
    v_id      bigint;
begin
    -- seed 001's step 1 for an external hotel: the inventory check reads the mirror
    perform internal.require_right('reservation.create');
    perform internal.require_external_hotel(p_hotel_id);
    v_hotel := internal.require_hotel(p_hotel_id);
    perform internal.require_room_type(p_hotel_id, p_room_type_id);
    perform internal.check_stay(v_hotel, p_check_in, p_check_out);
    perform internal.require_count('p_rooms', p_rooms, 1, 10);
    perform internal.require_count('p_adults', p_adults, 1, 20);
    perform internal.require_count('p_children', p_children, 0, 20);
    if p_amount is null or p_amount < 0 then
        perform internal.raise_error('INVALID_ARGUMENT', format('payment.amount %s', p_amount), 'pass the quoted total');
    end if;
    if jsonb_typeof(coalesce(p_request, 'null')) <> 'object' then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_request must be an object', 'the request as received');
    end if;
    -- every night of the stay mirrored with rooms left, else the first night that has none
    select n::date into v_night
    from generate_series(p_check_in, p_check_out - 1, interval '1 day') n
    left join core.pms_inventory i on i.hotel_id = p_hotel_id and i.room_type_id = p_room_type_id and i.night = n::date
    where i.night is null or i.available < p_rooms
    order by n limit 1;
    if v_night is not null then
        perform internal.raise_error('INVENTORY_UNAVAILABLE', format('재고 부족: %s', v_night),
            'search again: the mirror has no room of this type left that night');
    end if;
    -- the vendor's restrictions on the rate plan asked for, as the native ones refuse a stay
    select x.rule into v_rule
    from internal.mirror_restrictions(array[p_hotel_id], p_check_in, p_check_out) x
    join core.rate_plans rp on rp.hotel_id = x.hotel_id and rp.id = x.rate_plan_id
    where rp.room_type_id = p_room_type_id and (p_rate_plan_id is null or x.rate_plan_id = p_rate_plan_id)
      -- without a rate plan named: refused only when every rate plan of the room type is restricted
      and (p_rate_plan_id is not null
           or not exists (select 1 from core.rate_plans o
                          where o.hotel_id = p_hotel_id and o.room_type_id = p_room_type_id and o.active
                            and not exists (select 1 from internal.mirror_restrictions(array[p_hotel_id], p_check_in, p_check_out) y
                                            where y.rate_plan_id = o.id)))
    order by x.night, x.rate_plan_id limit 1;
    if v_rule is not null then
        perform internal.raise_error('RESTRICTION_VIOLATED', v_rule,
            'the PMS''s restrictions forbid this stay on this rate: change the dates or the rate plan');
    end if;
    select o.*, rp.external_id as rate_ext into v_offer
    from internal.mirror_offers(array[p_hotel_id], p_check_in, p_check_out) o
    join core.pms_rate_plans rp on rp.hotel_id = o.hotel_id and rp.rate_plan_id = o.rate_plan_id
    where o.room_type_id = p_room_type_id and (p_rate_plan_id is null or o.rate_plan_id = p_rate_plan_id)
      and o.open_nights = p_check_out - p_check_in and o.max_occupancy >= p_adults + p_children
    order by o.total, o.rate_plan_id limit 1;
    if v_offer is null then
        perform internal.raise_error('INVENTORY_UNAVAILABLE',
            format('no rate of room type %s for %s guests on every night of [%s, %s)', p_room_type_id,
                   p_adults + p_children, p_check_in, p_check_out),
            'search again for a room type and rate plan the mirror prices');
    end if;
    if upper(p_currency) is distinct from v_offer.currency then
        perform internal.raise_error('CURRENCY_MISMATCH', format('payment.currency %s, the hotel sells in %s', p_currency, v_offer.currency),
            'pay in the hotel''s currency');
    end if;
    if p_amount <> v_offer.total * p_rooms then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('payment.amount %s, the quoted total is %s', p_amount, v_offer.total * p_rooms), 'quote again and pay the total');
    end if;
    insert into core.pms_checkouts (hotel_id, api_key_id, room_type_id, rate_plan_id, stay, rooms, adults, children, currency,
                                    amount, request, created_at, updated_at)
    values (p_hotel_id, internal.request_api_key_id(), p_room_type_id, v_offer.rate_plan_id, daterange(p_check_in, p_check_out),
            p_rooms, p_adults, p_children, v_offer.currency, p_amount, p_request, v_now, v_now)
    returning id into v_id;
    insert into core.pms_checkout_steps (checkout_id, hotel_id, step, detail, at)
    values (v_id, p_hotel_id, 'started', jsonb_build_object('rate_plan_id', v_offer.rate_plan_id, 'total', p_amount), v_now);
    return query
    select v_id, p_amount, v_offer.currency,
           (select t.external_id from core.pms_room_types t where t.hotel_id = p_hotel_id and t.room_type_id = p_room_type_id),
           v_offer.rate_ext, v_hotel.hold_ttl_seconds;
end
$$;
comment on function api.pms_checkout_begin(bigint, bigint, bigint, date, date, integer, integer, integer, numeric, text, jsonb) is
    'Starts a checkout of an external-PMS hotel (seed 001): every night of the stay has rooms left in the mirror (INVENTORY_UNAVAILABLE naming the night), the vendor''s restrictions allow the stay (RESTRICTION_VIOLATED naming the night and rule), the amount is the mirror''s quoted total (INVALID_ARGUMENT) in the hotel''s currency (CURRENCY_MISMATCH). Returns the vendor ids the connector holds and books.';

create function api.pms_checkout_step(p_checkout_id bigint, p_step text, p_detail jsonb default '{}'::jsonb) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_co      core.pms_checkouts;
    v_now     timestamptz := internal.now();
    v_detail  jsonb := coalesce(p_detail, '{}'::jsonb);
    v_allowed text[];
begin
    perform internal.require_right('reservation.create');
    if p_checkout_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_checkout_id is null', 'pass the checkout id');
    end if;
    if jsonb_typeof(v_detail) <> 'object' then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_detail must be an object', 'what the step produced');
    end if;
    -- only the API key that started it (or an unrestricted caller) moves a checkout on
    select * into v_co from core.pms_checkouts c where c.id = p_checkout_id for update;
    if not found or (v_co.api_key_id is distinct from internal.request_api_key_id() and not internal.caller_unrestricted()) then
        perform internal.raise_error('RESERVATION_NOT_FOUND', format('checkout %s', p_checkout_id), 'check the checkout id');
    end if;
    -- the saga's order: each step follows the one before; compensation only of what exists
    v_allowed := case p_step
        when 'held' then array['started']
        when 'authorised' then array['held']
        when 'confirmed' then array['authorised']
        when 'captured' then array['confirmed']
        when 'hold_released' then array['started', 'held', 'authorised', 'compensated']
        when 'authorisation_voided' then array['held', 'authorised', 'confirmed', 'compensated']
        when 'cancelled_at_vendor' then array['confirmed', 'compensated']
        when 'failed' then array['started', 'held', 'authorised', 'confirmed', 'compensated']
    end;
    if v_allowed is null then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_step %L', left(p_step, 40)),
            'held, authorised, confirmed, captured, hold_released, authorisation_voided, cancelled_at_vendor or failed');
    end if;
    if v_co.status <> 'running' or not v_co.step = any(v_allowed) then
        perform internal.raise_error('INVALID_STATE_TRANSITION', format('checkout %s is %s (%s), not ready for %s', v_co.id, v_co.step,
            v_co.status, p_step), 'read the checkout''s state');
    end if;
    insert into core.pms_checkout_steps (checkout_id, hotel_id, step, detail, at)
    values (v_co.id, v_co.hotel_id, p_step, v_detail, v_now);
    update core.pms_checkouts c set
        step = case when p_step in ('held', 'authorised', 'confirmed', 'captured') then p_step
                    when p_step = 'failed' then 'failed' else 'compensated' end,
        status = case p_step when 'captured' then 'succeeded' when 'failed' then 'failed' else 'running' end,
        hold_ref = coalesce(v_detail ->> 'hold_ref', c.hold_ref),
        hold_expires_at = case when p_step = 'held' then v_now + make_interval(secs => (select h.hold_ttl_seconds from core.hotels h
                                                                                    where h.id = c.hotel_id))
                               else c.hold_expires_at end,
        authorisation_ref = coalesce(v_detail ->> 'authorisation_ref', c.authorisation_ref),
        vendor_reservation_id = coalesce(v_detail ->> 'vendor_reservation_id', c.vendor_reservation_id),
        capture_ref = coalesce(v_detail ->> 'capture_ref', c.capture_ref),
        error_code = case when p_step = 'failed' then coalesce(v_detail ->> 'error_code', 'INTERNAL_ERROR') end,
        updated_at = v_now
    where c.id = v_co.id
    returning * into v_co;
    -- the vendor's booking and its cancellation reach the mirror in the same transaction (seed
    -- 001's decrement): the next search does not sell the room again
    if p_step in ('confirmed', 'cancelled_at_vendor') and v_detail ? 'reservation' then
        perform internal.apply_mirror_reservation(v_co.hotel_id,
            (v_detail -> 'reservation') || jsonb_build_object('checkout_id', v_co.id), 'booking');
    end if;
    return jsonb_build_object('checkout_id', v_co.id, 'step', v_co.step, 'status', v_co.status,
                              'hold_expires_at', v_co.hold_expires_at);
end
$$;
comment on function api.pms_checkout_step(bigint, text, jsonb) is
    'Records a step of an external-PMS checkout in order (held, authorised, confirmed, captured) or its compensation (hold_released, authorisation_voided, cancelled_at_vendor, failed with error_code); confirmed and cancelled_at_vendor apply the vendor''s reservation to the mirror in the same transaction.';

create function api.pms_get_checkout(p_checkout_id bigint) returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_co core.pms_checkouts;
begin
    perform internal.require_right('reservation.create');
    select * into v_co from core.pms_checkouts c where c.id = p_checkout_id;
    if p_checkout_id is null or not found
       or (v_co.api_key_id is distinct from internal.request_api_key_id() and not internal.caller_unrestricted()) then
        perform internal.raise_error('RESERVATION_NOT_FOUND', format('checkout %s', p_checkout_id), 'check the checkout id');
    end if;
    return to_jsonb(v_co) - 'request' || jsonb_build_object('steps',
        (select jsonb_agg(jsonb_build_object('step', s.step, 'detail', s.detail, 'at', s.at) order by s.id)
         from core.pms_checkout_steps s where s.checkout_id = v_co.id));
end
$$;
comment on function api.pms_get_checkout(bigint) is 'An external-PMS checkout with its step log (the caller''s own API key''s, or any for an unrestricted caller).';

create function api.pms_stalled_checkouts(p_stale_after interval default interval '3 minutes', p_limit integer default 100)
returns table (checkout_id bigint, hotel_id bigint, step text, hold_ref text, authorisation_ref text,
               vendor_reservation_id text, amount numeric, currency char(3), room_type_external_id text,
               check_in date, check_out date, rooms integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
begin
    -- recovery after a crash: running checkouts nobody moved for p_stale_after (longer than a hold)
    perform internal.require_right('maintenance.run');
    if p_stale_after is null or p_stale_after < interval '0' then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_stale_after %s', p_stale_after), 'a positive interval');
    end if;
    perform internal.require_count('p_limit', p_limit, 1, 10000);
    return query
    with claimed as (
        -- taken over: its updated_at moves, so a second recoverer does not take it in the meantime
        update core.pms_checkouts c set updated_at = internal.now()
        where c.id in (select s.id from core.pms_checkouts s
                       where s.status = 'running' and s.updated_at < internal.now() - p_stale_after
                       order by s.id limit p_limit for update skip locked)
        returning c.*
    )
    select c.id, c.hotel_id, c.step, c.hold_ref, c.authorisation_ref, c.vendor_reservation_id, c.amount, c.currency,
           t.external_id, lower(c.stay), upper(c.stay), c.rooms
    from claimed c
    join core.pms_room_types t on t.hotel_id = c.hotel_id and t.room_type_id = c.room_type_id
    order by c.id;
end
$$;
comment on function api.pms_stalled_checkouts(interval, integer) is
    'Claims running external-PMS checkouts untouched for p_stale_after (a crash between steps) for recovery: a confirmed one is captured, anything earlier compensated. Admin (the recovery worker).';

create function api.pms_apply_room_list(p_hotel_id bigint, p_document jsonb, p_source text) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_now     timestamptz := internal.now();
    v_rt      jsonb;
    v_rt_id   bigint;
    v_room    jsonb;
    v_rp      jsonb;
    v_policy  bigint;
    v_added   integer := 0;
    v_gone    integer := 0;
begin
    -- the room list's refresh (seed 001: hotel:{id}:rooms, TTL 3,600 s): room types, rooms and rate
    -- plans the vendor added are created through the property functions' bodies, names and occupancy
    -- follow the vendor, rooms it no longer lists stop counting
    perform internal.require_right('maintenance.run');
    perform internal.require_external_hotel(p_hotel_id);
    perform internal.require_mirror_source(p_source);
    if jsonb_typeof(coalesce(p_document, 'null')) <> 'object'
       or jsonb_typeof(coalesce(p_document -> 'room_types', 'null')) <> 'array'
       or jsonb_typeof(coalesce(p_document -> 'rooms', 'null')) <> 'array'
       or jsonb_typeof(coalesce(p_document -> 'rate_plans', '[]')) <> 'array' then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_document must hold room_types [...], rooms [...], rate_plans [...]',
            'the connector''s room list');
    end if;
    for v_rt in select * from jsonb_array_elements(p_document -> 'room_types') loop
        select t.room_type_id into v_rt_id from core.pms_room_types t
        where t.hotel_id = p_hotel_id and t.external_id = v_rt ->> 'external_id';
        if v_rt_id is null then
            v_rt_id := internal.create_room_type(p_hotel_id, v_rt ->> 'code', v_rt ->> 'name',
                                                 (v_rt ->> 'max_occupancy')::integer,
                                                 coalesce((v_rt ->> 'base_price')::numeric, 0));
            insert into core.pms_room_types (hotel_id, room_type_id, external_id, fetched_at, source)
            values (p_hotel_id, v_rt_id, v_rt ->> 'external_id', v_now, p_source);
            v_added := v_added + 1;
        else
            update core.room_types set name = coalesce(v_rt ->> 'name', name),
                                       max_occupancy = coalesce((v_rt ->> 'max_occupancy')::integer, max_occupancy), active = true
            where hotel_id = p_hotel_id and id = v_rt_id;
        end if;
    end loop;
    for v_room in select * from jsonb_array_elements(p_document -> 'rooms') loop
        if not exists (select 1 from core.pms_rooms m where m.hotel_id = p_hotel_id and m.external_id = v_room ->> 'external_id') then
            select t.room_type_id into v_rt_id from core.pms_room_types t
            where t.hotel_id = p_hotel_id and t.external_id = v_room ->> 'room_type_external_id';
            if v_rt_id is not null then
                insert into core.pms_rooms (hotel_id, room_id, external_id)
                values (p_hotel_id, internal.create_room(p_hotel_id, v_rt_id, v_room ->> 'number'), v_room ->> 'external_id');
                v_added := v_added + 1;
            end if;
        end if;
    end loop;
    -- rooms the vendor no longer lists: no longer counted (kept, for the history of what was booked)
    update core.rooms r set active = false
    from core.pms_rooms m
    where m.hotel_id = p_hotel_id and r.hotel_id = m.hotel_id and r.id = m.room_id and r.active
      and not exists (select 1 from jsonb_array_elements(p_document -> 'rooms') x where x ->> 'external_id' = m.external_id);
    get diagnostics v_gone = row_count;
    select c.id into v_policy from core.cancellation_policies c where c.hotel_id = p_hotel_id and c.code = 'pms';
    for v_rp in select * from jsonb_array_elements(coalesce(p_document -> 'rate_plans', '[]')) loop
        select t.room_type_id into v_rt_id from core.pms_room_types t
        where t.hotel_id = p_hotel_id and t.external_id = v_rp ->> 'room_type_external_id';
        if v_rt_id is not null and not exists (select 1 from core.pms_rate_plans p
                                               where p.hotel_id = p_hotel_id and p.external_id = v_rp ->> 'external_id') then
            insert into core.pms_rate_plans (hotel_id, rate_plan_id, external_id, fetched_at, source)
            values (p_hotel_id, internal.create_rate_plan(p_hotel_id, v_rt_id, v_rp ->> 'code', v_rp ->> 'name',
                                                          p_cancellation_policy_id => v_policy),
                    v_rp ->> 'external_id', v_now, p_source);
            v_added := v_added + 1;
        end if;
    end loop;
    update core.pms_room_types set fetched_at = v_now, source = p_source where hotel_id = p_hotel_id;
    return jsonb_build_object('added', v_added, 'rooms_gone', v_gone);
end
$$;
comment on function api.pms_apply_room_list(bigint, jsonb, text) is
    'Refreshes an external hotel''s room list from the vendor (TTL 3,600 s): new room types, rooms and rate plans created, names and occupancy updated, rooms no longer listed deactivated. Returns what changed. Admin (the sync worker).';

-- ---------------------------------------------------------------------------- follow-up fetches

create function api.pms_enqueue_fetch(
    p_vendor    text,
    p_event_id  text,
    p_hotel_id  bigint,
    p_event     text,
    p_entity_id text
) returns text
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_now timestamptz := internal.now();
    v_id  bigint;
begin
    -- a vendor notification accepted: the fetch of the entity it names is queued in the same
    -- transaction, so a crash before the fetch loses nothing
    perform internal.require_right('maintenance.run');
    perform internal.require_text('p_vendor', p_vendor);
    perform internal.require_text('p_event_id', p_event_id);
    perform internal.require_text('p_event', p_event);
    perform internal.require_text('p_entity_id', p_entity_id);
    if length(p_event_id) > 200 or length(p_event) > 100 or length(p_entity_id) > 100 then
        perform internal.raise_error('INVALID_ARGUMENT', 'an identifier is longer than allowed', 'ids up to 100, event ids up to 200 characters');
    end if;
    if p_event !~ '^reservation/' then
        perform internal.raise_error('INVALID_ARGUMENT', format('event %L names no reservation', left(p_event, 60)),
            'only reservation/* notifications are followed by a fetch');
    end if;
    if (internal.require_external_hotel(p_hotel_id)).vendor <> p_vendor then
        perform internal.raise_error('PMS_HOTEL_NOT_FOUND', format('hotel %s is not kept by %s', p_hotel_id, left(p_vendor, 60)),
            'check the vendor');
    end if;
    insert into core.pms_fetch_queue (hotel_id, vendor, event_id, event, entity_id, enqueued_at, next_attempt_at)
    values (p_hotel_id, p_vendor, p_event_id, p_event, p_entity_id, v_now, v_now)
    on conflict (hotel_id, event_id) do nothing
    returning id into v_id;
    return case when v_id is null then 'duplicate' else 'queued' end;
end
$$;
comment on function api.pms_enqueue_fetch(text, text, bigint, text, text) is
    'Queues the follow-up fetch of the reservation a vendor notification names (core.pms_fetch_queue), in the caller''s transaction; a notification already queued (same event id) answers duplicate. Admin (the webhook receiver).';

create function api.pms_claim_fetches(p_limit integer default 10, p_lease_seconds integer default 120)
returns table (id bigint, hotel_id bigint, vendor text, event_id text, event text, entity_id text, attempts integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_now timestamptz := internal.now();
begin
    perform internal.require_right('maintenance.run');
    perform internal.require_count('p_limit', p_limit, 1, 1000);
    perform internal.require_count('p_lease_seconds', p_lease_seconds, 1, 3600);
    -- due, not held by a live worker; rows another worker is claiming right now are skipped
    return query
    update core.pms_fetch_queue q
    set claimed_until = v_now + make_interval(secs => p_lease_seconds), attempts = q.attempts + 1
    where q.id in (select d.id from core.pms_fetch_queue d
                   where d.done_at is null and d.given_up_at is null and d.next_attempt_at <= v_now
                     and (d.claimed_until is null or d.claimed_until <= v_now)
                   order by d.next_attempt_at, d.id
                   limit p_limit
                   for update skip locked)
    returning q.id, q.hotel_id, q.vendor, q.event_id, q.event, q.entity_id, q.attempts;
end
$$;
comment on function api.pms_claim_fetches(integer, integer) is
    'Claims up to p_limit due follow-up fetches for p_lease_seconds (FOR UPDATE SKIP LOCKED: concurrent workers never claim the same row; a dead worker''s claim runs again after its lease). Admin (the sync worker).';

create function api.pms_finish_fetch(
    p_id               bigint,
    p_error            text default null,
    p_retry_in_seconds numeric default null
) returns text
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_row core.pms_fetch_queue;
    v_now timestamptz := internal.now();
begin
    perform internal.require_right('maintenance.run');
    select * into v_row from core.pms_fetch_queue q where q.id = p_id for update;
    if not found then
        perform internal.raise_error('INVALID_ARGUMENT', format('follow-up fetch %s does not exist', p_id), 'pass an id pms_claim_fetches gave');
    end if;
    if v_row.done_at is not null or v_row.given_up_at is not null then
        return case when v_row.done_at is not null then 'done' else 'given_up' end;  -- finished already
    end if;
    if p_error is null then
        update core.pms_fetch_queue set done_at = v_now, claimed_until = null, last_error = null where id = p_id;
        return 'done';
    end if;
    -- a failure waits p_retry_in_seconds (the worker's backoff), then runs again; none: given up
    -- (the next polling sync reads the reservation anyway)
    if p_retry_in_seconds is null then
        update core.pms_fetch_queue set given_up_at = v_now, claimed_until = null, last_error = left(p_error, 1000)
        where id = p_id;
        return 'given_up';
    end if;
    if p_retry_in_seconds < 0 or p_retry_in_seconds > 86400 then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_retry_in_seconds = %s', p_retry_in_seconds), 'a wait of 0 to 86,400 seconds');
    end if;
    update core.pms_fetch_queue
    set next_attempt_at = v_now + make_interval(secs => p_retry_in_seconds), claimed_until = null,
        last_error = left(p_error, 1000)
    where id = p_id;
    return 'retry';
end
$$;
comment on function api.pms_finish_fetch(bigint, text, numeric) is
    'Ends a claimed follow-up fetch: done (no p_error), or failed and due again in p_retry_in_seconds, or given up (a failure without a retry: the next polling sync reads the reservation). Returns done, retry or given_up. Admin (the sync worker).';

-- ---------------------------------------------------------------------------- sealed secrets

-- An external hotel's sealed credential stored, the one body of api.pms_set_api_key and
-- api.pms_set_webhook_secret: p_column names which credential, from a closed set, and each
-- branch names its column in static SQL (no statement is ever built from a caller's text). The
-- value must be sealed; with p_previous it is stored only while the stored one is still
-- p_previous: the update itself compares, so of two rotations racing the later one finds the
-- earlier one's value and stores nothing.
create function internal.pms_store_sealed(p_hotel_id bigint, p_column text, p_sealed text, p_previous text)
returns boolean
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_column is null or p_column not in ('api_key', 'webhook_secret') then
        perform internal.raise_error('INTERNAL_ERROR', format('internal.pms_store_sealed: no credential column %L', left(p_column, 40)),
            'pass api_key or webhook_secret');
    end if;
    perform internal.require_external_hotel(p_hotel_id);
    perform internal.require_sealed(format('p_%s_sealed', p_column), p_sealed);
    if p_column = 'api_key' then
        update core.pms_properties p set api_key = p_sealed
        where p.hotel_id = p_hotel_id and (p_previous is null or p.api_key = p_previous);
    else
        update core.pms_properties p set webhook_secret = p_sealed
        where p.hotel_id = p_hotel_id and (p_previous is null or p.webhook_secret = p_previous);
    end if;
    return found;
end
$$;
comment on function internal.pms_store_sealed(bigint, text, text, text) is
    'Stores an external hotel''s sealed credential, p_column api_key or webhook_secret (else INTERNAL_ERROR): PMS_HOTEL_NOT_FOUND outside the caller''s scope, INVALID_ARGUMENT when not sealed; with p_previous only while the stored value is still p_previous (false otherwise). The body of api.pms_set_api_key and api.pms_set_webhook_secret.';

create function api.pms_set_api_key(p_hotel_id bigint, p_api_key_sealed text, p_previous text default null)
returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    -- a new vendor key, or the same one sealed again under a newer key (rotation); p_previous:
    -- only if the stored value is still that one (another rotation in between wins)
    perform internal.require_right('maintenance.run');
    return internal.pms_store_sealed(p_hotel_id, 'api_key', p_api_key_sealed, p_previous);
end
$$;
comment on function api.pms_set_api_key(bigint, text, text) is
    'Stores an external hotel''s vendor API key, sealed (never in clear: INVALID_ARGUMENT); with p_previous only while the stored value is still p_previous (false otherwise). Admin (the connector''s key rotation).';

create function api.pms_set_webhook_secret(p_hotel_id bigint, p_webhook_secret_sealed text, p_previous text default null)
returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    -- the secret of the vendor's signed webhooks sealed again under a newer key (rotation);
    -- p_previous: only if the stored value is still that one (another rotation in between wins)
    perform internal.require_right('maintenance.run');
    return internal.pms_store_sealed(p_hotel_id, 'webhook_secret', p_webhook_secret_sealed, p_previous);
end
$$;
comment on function api.pms_set_webhook_secret(bigint, text, text) is
    'Stores the secret an external hotel''s signed webhooks are checked with, sealed (never in clear: INVALID_ARGUMENT); with p_previous only while the stored value is still p_previous (false otherwise). Admin (the key rotation).';
