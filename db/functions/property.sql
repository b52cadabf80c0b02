-- Setting up a property through the api: hotels, room types, rooms, rate plans, cancellation
-- policies, seasons, holidays, pricing rules, length-of-stay discounts, and the inventory
-- calendar with its restrictions. Helpers first, then the public functions.

-- ---------------------------------------------------------------- helpers

create function internal.round_money(p_amount numeric, p_currency char(3)) returns numeric
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select round(p_amount, (select c.minor_units from core.currencies c where c.code = p_currency))
$$;
comment on function internal.round_money(numeric, char) is 'Rounds an amount to the minor units of its currency (KRW and JPY: whole units).';

create function internal.hotel_today(p_hotel_id bigint) returns date
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select (internal.now() at time zone h.time_zone)::date from core.hotels h where h.id = p_hotel_id
$$;
comment on function internal.hotel_today(bigint) is 'Today in the hotel''s own time zone, from the movable clock.';

create function internal.require_hotel(p_hotel_id bigint) returns core.hotels
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_hotel core.hotels;
begin
    if p_hotel_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_hotel_id is null', 'pass a hotel id');
    end if;
    select * into v_hotel from core.hotels h where h.id = p_hotel_id;
    if not found then
        perform internal.raise_error('HOTEL_NOT_FOUND', format('hotel %s', p_hotel_id), 'check the hotel id');
    end if;
    return v_hotel;
end
$$;
comment on function internal.require_hotel(bigint) is 'The hotel row, or HOTEL_NOT_FOUND / INVALID_ARGUMENT.';

create function internal.require_room_type(p_hotel_id bigint, p_room_type_id bigint) returns core.room_types
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_room_type core.room_types;
begin
    if p_room_type_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_room_type_id is null', 'pass a room type id');
    end if;
    select * into v_room_type from core.room_types rt where rt.hotel_id = p_hotel_id and rt.id = p_room_type_id;
    if not found then
        perform internal.raise_error('ROOM_TYPE_NOT_FOUND',
            format('room type %s in hotel %s', p_room_type_id, p_hotel_id), 'list the hotel''s room types');
    end if;
    return v_room_type;
end
$$;
comment on function internal.require_room_type(bigint, bigint) is 'The room type of that hotel, or ROOM_TYPE_NOT_FOUND.';

create function internal.require_count(p_name text, p_value integer, p_min integer, p_max integer) returns integer
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_value is null or p_value < p_min or p_value > p_max then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('%s = %s, expected %s to %s', p_name, coalesce(p_value::text, 'null'), p_min, p_max),
            format('pass %s between %s and %s', p_name, p_min, p_max));
    end if;
    return p_value;
end
$$;
comment on function internal.require_count(text, integer, integer, integer) is 'Refuses a null or out-of-range count with INVALID_ARGUMENT naming the field.';

create function internal.require_text(p_name text, p_value text) returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_value is null or btrim(p_value) = '' then
        perform internal.raise_error('INVALID_ARGUMENT', format('%s is null or blank', p_name), format('pass %s', p_name));
    end if;
    return btrim(p_value);
end
$$;
comment on function internal.require_text(text, text) is 'Refuses a null or blank text argument with INVALID_ARGUMENT naming the field.';

-- A secret the processes outside the database use (a vendor API key, a webhook signing secret) is
-- stored sealed only, a Fernet token under a key the database never holds (pyapi/vault.py); the
-- tables' *_sealed checks say it too.
create function internal.require_sealed(p_name text, p_value text) returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_value is null or p_value !~ '^fernet:[A-Za-z0-9_=-]+$' or length(p_value) > 2000 then
        perform internal.raise_error('INVALID_ARGUMENT', format('%s is not sealed', p_name),
            'seal it with the key outside the database (pyapi.vault.seal); a secret in clear is never stored');
    end if;
    return p_value;
end
$$;
comment on function internal.require_sealed(text, text) is 'p_value when it is a sealed secret (a fernet: token), else INVALID_ARGUMENT naming the field.';

create function internal.require_amount(p_name text, p_value numeric) returns numeric
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    -- prices are numeric(12, 2): below 10^10 (NaN and infinity sort above every number)
    if p_value is null or p_value < 0 or p_value >= 10000000000 then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('%s = %s, expected an amount from 0 to 9999999999.99', p_name, coalesce(p_value::text, 'null')),
            format('pass %s >= 0 and below 10^10', p_name));
    end if;
    return p_value;
end
$$;
comment on function internal.require_amount(text, numeric) is
    'Refuses a null, negative, NaN or 10^10 or more amount with INVALID_ARGUMENT naming the field.';

create function internal.require_range(p_hotel_id bigint, p_from date, p_until date) returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_from is null or p_until is null or not isfinite(p_from) or not isfinite(p_until) or p_until <= p_from then
        perform internal.raise_error('INVALID_DATES', format('[%s, %s) is not a date range', p_from, p_until),
            'pass p_from < p_until');
    end if;
    if p_until - p_from > 731 then
        perform internal.raise_error('INVALID_ARGUMENT', format('[%s, %s) is longer than two years', p_from, p_until),
            'extend the calendar in steps of at most two years');
    end if;
end
$$;
comment on function internal.require_range(bigint, date, date) is 'Refuses a missing, reversed, infinite or over two-year calendar range.';

-- The nightly rack rate of every room type and night of a hotel: base price, overridden by the
-- highest-precedence rule that matches the night (season > holiday > weekday/weekend; a
-- room-type rule beats a hotel-wide one; then the newest). Set-based, one statement.
create function internal.nightly_rates(p_hotel_id bigint, p_from date, p_until date, p_room_type_id bigint default null)
returns table (room_type_id bigint, night date, rate numeric, source text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select rt.id, n.night::date,
           coalesce(r.fixed_price, round(rt.base_price * r.multiplier, 2), rt.base_price),
           coalesce(r.source, 'base')
    from core.room_types rt
    join core.hotels h on h.id = rt.hotel_id
    cross join generate_series(p_from, p_until - 1, interval '1 day') as n(night)
    left join lateral (
        select pr.fixed_price, pr.multiplier,
               pr.kind::text || coalesce(':' || s.code, '') || coalesce(':' || hd.name, '') as source
        from core.pricing_rules pr
        left join core.seasons s on s.hotel_id = pr.hotel_id and s.id = pr.season_id
        left join core.holidays hd on pr.kind = 'holiday' and hd.hotel_id = pr.hotel_id and hd.day = n.night::date
        where pr.hotel_id = rt.hotel_id
          and pr.active
          and (pr.room_type_id is null or pr.room_type_id = rt.id)
          and case pr.kind
                  when 'season' then s.during @> n.night::date
                  when 'holiday' then hd.day is not null
                  when 'weekend' then extract(isodow from n.night)::smallint = any(h.weekend_days)
                  else not (extract(isodow from n.night)::smallint = any(h.weekend_days))
              end
        order by pr.kind desc, (pr.room_type_id is not null) desc, pr.id desc
        limit 1
    ) r on true
    where rt.hotel_id = p_hotel_id and (p_room_type_id is null or rt.id = p_room_type_id)
$$;
comment on function internal.nightly_rates(bigint, date, date, bigint) is
    'The rack rate and its source for every room type (or one) of a hotel and night of [p_from, p_until): the highest-precedence pricing rule (season > holiday > weekday/weekend; a room-type rule beats a hotel-wide one), else the base price.';

create function internal.rebuild_rate_calendar(
    p_hotel_id     bigint,
    p_from         date default null,
    p_until        date default null,
    p_rate_plan_id bigint default null
) returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_first date;
    v_end   date;
    v_count integer;
begin
    -- one writer per hotel at a time (rate changes are rare, and two would clash on the same rows)
    perform pg_advisory_xact_lock(hashtextextended('hotelcore.rate_calendar:' || p_hotel_id, 0));
    select date_trunc('month', coalesce(p_from, min(i.night)))::date,
           (date_trunc('month', coalesce(p_until, max(i.night) + 1) - 1) + interval '1 month')::date
    into v_first, v_end
    from core.inventory i where i.hotel_id = p_hotel_id;
    if v_first is null or v_end is null or v_end <= v_first then
        return 0;
    end if;
    delete from core.rate_calendar c
    where c.hotel_id = p_hotel_id and c.month >= v_first and c.month < v_end
      and (p_rate_plan_id is null or c.rate_plan_id = p_rate_plan_id);
    with nights as (
        select rp.room_type_id, rp.id as rate_plan_id, date_trunc('month', i.night)::date as month,
               i.night - date_trunc('month', i.night)::date as k,
               (internal.nightly_price(i.rack_rate, rp.price_multiplier, rp.price_supplement, cur.minor_units)
                * power(10::numeric, cur.minor_units))::bigint as price
        from core.rate_plans rp
        join core.hotels h on h.id = rp.hotel_id
        join core.currencies cur on cur.code = h.currency
        join core.inventory i on i.hotel_id = rp.hotel_id and i.room_type_id = rp.room_type_id
                             and i.night >= v_first and i.night < v_end
        where rp.hotel_id = p_hotel_id and (p_rate_plan_id is null or rp.id = p_rate_plan_id)
    ),
    days as (
        select m.room_type_id, m.rate_plan_id, m.month, g.k
        from (select distinct n.room_type_id, n.rate_plan_id, n.month from nights n) m
        cross join generate_series(0, (m.month + interval '1 month')::date - m.month) as g(k)
    ),
    sums as (
        -- element k + 1 sums the nights before day k of the month
        select d.room_type_id, d.rate_plan_id, d.month, d.k,
               coalesce(sum(n.price) over w, 0) as price_sum, count(n.price) over w as open_sum
        from days d
        left join nights n on n.rate_plan_id = d.rate_plan_id and n.month = d.month and n.k = d.k
        window w as (partition by d.rate_plan_id, d.month order by d.k rows between unbounded preceding and 1 preceding)
    )
    insert into core.rate_calendar (hotel_id, month, room_type_id, rate_plan_id, price_sums, open_sums)
    select p_hotel_id, s.month, s.room_type_id, s.rate_plan_id,
           array_agg(s.price_sum::bigint order by s.k), array_agg(s.open_sum::integer order by s.k)
    from sums s
    group by s.month, s.room_type_id, s.rate_plan_id
    -- in key order: a hotel's month (what a chain search reads of it) lies on a few adjacent pages
    order by s.month, s.room_type_id, s.rate_plan_id;
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function internal.rebuild_rate_calendar(bigint, date, date, bigint) is
    'Rewrites core.rate_calendar for the months of [p_from, p_until) (default: the whole calendar) of a hotel, or of one rate plan: running sums of the nightly price in minor units and of the open nights. Called by whatever writes rates, opens nights or adds a rate plan; returns the rows written.';

create function internal.refresh_rates(p_hotel_id bigint, p_from date default null, p_until date default null)
returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_from  date;
    v_until date;
    v_count integer;
begin
    -- only the open calendar has nights to price: a range beyond it (or none given) is cut to it
    select min(i.night), max(i.night) + 1 into v_from, v_until from core.inventory i where i.hotel_id = p_hotel_id;
    if v_from is null then
        return 0;  -- no calendar yet
    end if;
    v_from := greatest(p_from, v_from);
    v_until := least(p_until, v_until);
    if v_from is null or v_until is null or v_until <= v_from then
        return 0;  -- an empty range
    end if;
    update core.inventory i
    set rack_rate = p.rate, rate_source = p.source
    from internal.nightly_rates(p_hotel_id, v_from, v_until) p
    where i.hotel_id = p_hotel_id and i.room_type_id = p.room_type_id and i.night = p.night
      and (i.rack_rate, i.rate_source) is distinct from (p.rate, p.source);
    get diagnostics v_count = row_count;
    -- the chain search's running sums follow (also for nights just opened at their price)
    perform internal.rebuild_rate_calendar(p_hotel_id, v_from, v_until);
    return v_count;
end
$$;
comment on function internal.refresh_rates(bigint, date, date) is
    'Recomputes core.inventory.rack_rate / rate_source of a hotel from base prices, seasons, holidays and pricing rules (internal.nightly_rates), then the months of core.rate_calendar concerned; returns the nights changed.';

-- ---------------------------------------------------------------- hotels

create function internal.create_hotel(
    p_code               text,
    p_name               text,
    p_time_zone          text,
    p_currency           text,
    p_city               text default null,
    p_country_code       text default null,
    p_tax_rate           numeric default 0,
    p_prices_include_tax boolean default false,
    p_check_in_time      time default '15:00',
    p_check_out_time     time default '10:00',
    p_max_stay_nights    integer default 30,
    p_holiday_country    text default null
) returns bigint
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_hotel_id bigint;
begin
    perform internal.require_text('p_code', p_code);
    perform internal.require_text('p_name', p_name);
    perform internal.require_text('p_time_zone', p_time_zone);
    perform internal.require_count('p_max_stay_nights', p_max_stay_nights, 1, 365);
    -- the time zone must be one PostgreSQL knows: it drives "today" and every deadline
    if not exists (select 1 from pg_catalog.pg_timezone_names z where z.name = p_time_zone) then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_time_zone %L is not a known time zone', p_time_zone),
            'use an IANA name such as Asia/Tokyo');
    end if;
    if p_currency is null or not exists (select 1 from core.currencies c where c.code = upper(p_currency)) then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_currency %L is not a supported currency', p_currency),
            'use an ISO 4217 code such as KRW, JPY, USD');
    end if;
    if p_country_code is not null and upper(p_country_code) !~ '^[A-Z]{2}$' then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('p_country_code %L is not ISO 3166 alpha-2', left(p_country_code, 20)), 'e.g. JP, KR');
    end if;
    if p_tax_rate is null or p_tax_rate < 0 or p_tax_rate >= 1 then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_tax_rate = %s, expected a fraction in [0, 1)', p_tax_rate),
            'pass e.g. 0.10 for 10 %');
    end if;
    if exists (select 1 from core.hotels h where h.code = p_code) then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_code %L is already used by another hotel', p_code),
            'choose another hotel code');
    end if;
    if p_code !~ '^[A-Za-z0-9][A-Za-z0-9_-]*$' then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_code %L has characters other than letters, digits, - and _', p_code),
            'use letters, digits, - and _');
    end if;

    insert into core.hotels (code, name, city, country_code, time_zone, currency, tax_rate, prices_include_tax,
                             check_in_time, check_out_time, max_stay_nights, holiday_country, created_at, updated_at)
    values (p_code, btrim(p_name), p_city, upper(p_country_code), p_time_zone, upper(p_currency), p_tax_rate,
            coalesce(p_prices_include_tax, false), coalesce(p_check_in_time, '15:00'), coalesce(p_check_out_time, '10:00'),
            p_max_stay_nights, p_holiday_country, internal.now(), internal.now())
    returning id into v_hotel_id;

    -- two ready-made cancellation policies: flexible (free until the day before arrival, then the
    -- first night) and non-refundable; rate plans without a policy use "flexible"
    insert into core.cancellation_policies (hotel_id, code, name, non_refundable, free_until_days, late_fee_kind,
                                            no_show_fee_kind)
    values (v_hotel_id, 'flexible', 'Free cancellation until the day before arrival', false, 1, 'first_night', 'first_night'),
           (v_hotel_id, 'non_refundable', 'Non-refundable', true, null, 'full', 'full');
    return v_hotel_id;
end
$$;
comment on function internal.create_hotel(text, text, text, text, text, text, numeric, boolean, time, time, integer, text) is
    'The body of api.create_hotel without its rights check (callers check them): Creates a hotel (own time zone, ISO currency, tax rate and whether prices include it, check-in/out times, maximum stay) with the policies "flexible" and "non_refundable"; returns its id.';

create function api.create_hotel(
    p_code               text,
    p_name               text,
    p_time_zone          text,
    p_currency           text,
    p_city               text default null,
    p_country_code       text default null,
    p_tax_rate           numeric default 0,
    p_prices_include_tax boolean default false,
    p_check_in_time      time default '15:00',
    p_check_out_time     time default '10:00',
    p_max_stay_nights    integer default 30,
    p_holiday_country    text default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('hotel.create');
    return internal.create_hotel(p_code, p_name, p_time_zone, p_currency, p_city, p_country_code, p_tax_rate, p_prices_include_tax, p_check_in_time, p_check_out_time, p_max_stay_nights, p_holiday_country);
end
$$;
comment on function api.create_hotel(text, text, text, text, text, text, numeric, boolean, time, time, integer, text) is
    'Creates a hotel (own time zone, ISO currency, tax rate and whether prices include it, check-in/out times, maximum stay) with the policies "flexible" and "non_refundable"; returns its id.';

-- ---------------------------------------------------------------- room types and rooms

create function internal.create_room_type(
    p_hotel_id      bigint,
    p_code          text,
    p_name          text,
    p_max_occupancy integer,
    p_base_price    numeric,
    p_amenities     jsonb default '{}'::jsonb,
    p_size_sqm      numeric default null,
    p_description   text default null
) returns bigint
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_id bigint;
begin
    perform internal.require_hotel(p_hotel_id);
    perform internal.require_text('p_code', p_code);
    perform internal.require_text('p_name', p_name);
    perform internal.require_count('p_max_occupancy', p_max_occupancy, 1, 20);
    perform internal.require_amount('p_base_price', p_base_price);
    if p_amenities is not null and jsonb_typeof(p_amenities) <> 'object' then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_amenities is not a JSON object', 'pass e.g. {"wifi": true}');
    end if;
    -- numeric(6, 1); NaN sorts above every number
    if p_size_sqm is not null and (p_size_sqm <= 0 or p_size_sqm >= 100000) then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_size_sqm = %s', p_size_sqm), 'pass a positive size');
    end if;
    if exists (select 1 from core.room_types rt where rt.hotel_id = p_hotel_id and rt.code = p_code) then
        perform internal.raise_error('INVALID_ARGUMENT', format('room type code %L exists in hotel %s', p_code, p_hotel_id),
            'choose another code');
    end if;
    insert into core.room_types (hotel_id, code, name, description, max_occupancy, base_price, amenities, size_sqm, created_at)
    values (p_hotel_id, p_code, btrim(p_name), p_description, p_max_occupancy, p_base_price,
            coalesce(p_amenities, '{}'::jsonb), p_size_sqm, internal.now())
    returning id into v_id;
    return v_id;
end
$$;
comment on function internal.create_room_type(bigint, text, text, integer, numeric, jsonb, numeric, text) is
    'The body of api.create_room_type without its rights check (callers check them): Creates a room type (maximum occupancy, base price in the hotel currency, amenities, size) and returns its id.';

create function api.create_room_type(
    p_hotel_id      bigint,
    p_code          text,
    p_name          text,
    p_max_occupancy integer,
    p_base_price    numeric,
    p_amenities     jsonb default '{}'::jsonb,
    p_size_sqm      numeric default null,
    p_description   text default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('rooms.update');
    return internal.create_room_type(p_hotel_id, p_code, p_name, p_max_occupancy, p_base_price, p_amenities, p_size_sqm, p_description);
end
$$;
comment on function api.create_room_type(bigint, text, text, integer, numeric, jsonb, numeric, text) is
    'Creates a room type (maximum occupancy, base price in the hotel currency, amenities, size) and returns its id.';

create function api.set_room_type_price(p_hotel_id bigint, p_room_type_id bigint, p_base_price numeric)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('rooms.update');
    perform internal.require_room_type(p_hotel_id, p_room_type_id);
    perform internal.require_amount('p_base_price', p_base_price);
    update core.room_types rt set base_price = p_base_price where rt.hotel_id = p_hotel_id and rt.id = p_room_type_id;
    return internal.refresh_rates(p_hotel_id);
end
$$;
comment on function api.set_room_type_price(bigint, bigint, numeric) is
    'Changes a room type''s base price and re-prices the calendar; returns the nights re-priced.';

create function internal.create_room(
    p_hotel_id     bigint,
    p_room_type_id bigint,
    p_number       text,
    p_floor        integer default null
) returns bigint
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_id bigint;
begin
    perform internal.require_hotel(p_hotel_id);
    perform internal.require_room_type(p_hotel_id, p_room_type_id);
    perform internal.require_text('p_number', p_number);
    if exists (select 1 from core.rooms r where r.hotel_id = p_hotel_id and r.number = btrim(p_number)) then
        perform internal.raise_error('INVALID_ARGUMENT', format('room number %L exists in hotel %s', p_number, p_hotel_id),
            'room numbers are unique per hotel');
    end if;
    insert into core.rooms (hotel_id, room_type_id, number, floor, created_at)
    values (p_hotel_id, p_room_type_id, btrim(p_number), p_floor, internal.now())
    returning id into v_id;
    return v_id;
end
$$;
comment on function internal.create_room(bigint, bigint, text, integer) is
    'The body of api.create_room without its rights check (callers check them): Adds a physical room (number unique per hotel); the open calendar of its type gains one room from today on. Returns its id.';

create function api.create_room(
    p_hotel_id     bigint,
    p_room_type_id bigint,
    p_number       text,
    p_floor        integer default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('rooms.update');
    return internal.create_room(p_hotel_id, p_room_type_id, p_number, p_floor);
end
$$;
comment on function api.create_room(bigint, bigint, text, integer) is
    'Adds a physical room (number unique per hotel); the open calendar of its type gains one room from today on. Returns its id.';

create function api.set_room_active(p_hotel_id bigint, p_room_id bigint, p_active boolean) returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_room  core.rooms;
    v_night date;
begin
    perform internal.require_right('rooms.update');
    perform internal.require_hotel(p_hotel_id);
    if p_active is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_active is null', 'pass true or false');
    end if;
    select * into v_room from core.rooms r where r.hotel_id = p_hotel_id and r.id = p_room_id;
    if not found then
        perform internal.raise_error('ROOM_NOT_FOUND', format('room %s in hotel %s', p_room_id, p_hotel_id), 'check the room id');
    end if;
    if v_room.active and not p_active then
        -- taking a room out must not leave a sold night without a room
        perform internal.lock_inventory(p_hotel_id, array[v_room.room_type_id],
                                        array[internal.hotel_today(p_hotel_id)], array['infinity'::date]);
        select i.night into v_night
        from core.inventory i
        where i.hotel_id = p_hotel_id and i.room_type_id = v_room.room_type_id
          and i.night >= internal.hotel_today(p_hotel_id)
          and core.inventory_sellable(i) < 1
        order by i.night
        limit 1;
        if v_night is not null then
            perform internal.raise_error('INVENTORY_UNAVAILABLE',
                format('night %s of room type %s would be oversold without room %s', v_night, v_room.room_type_id, v_room.number),
                'move or cancel bookings first, or use a room block');
        end if;
    end if;
    update core.rooms r set active = p_active where r.id = p_room_id;
    return p_active;
end
$$;
comment on function api.set_room_active(bigint, bigint, boolean) is
    'Activates or deactivates a room; the calendar capacity of its type follows from today on. Refuses a deactivation that would oversell a night.';

-- ---------------------------------------------------------------- rates

create function internal.create_cancellation_policy(
    p_hotel_id            bigint,
    p_code                text,
    p_name                text,
    p_non_refundable      boolean default false,
    p_free_until_days     integer default null,
    p_late_fee_kind       text default 'first_night',
    p_late_fee_percent    numeric default null,
    p_no_show_fee_kind    text default 'first_night',
    p_no_show_fee_percent numeric default null
) returns bigint
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_id bigint;
begin
    perform internal.require_hotel(p_hotel_id);
    perform internal.require_text('p_code', p_code);
    perform internal.require_text('p_name', p_name);
    if p_free_until_days is not null then
        perform internal.require_count('p_free_until_days', p_free_until_days, 0, 365);
    end if;
    if not coalesce(core.fee_kind_is_known(p_late_fee_kind), false)
       or not coalesce(core.fee_kind_is_known(p_no_show_fee_kind), false) then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('fee kinds %L / %L', p_late_fee_kind, p_no_show_fee_kind), 'use none, first_night, percent or full');
    end if;
    if not core.fee_percent_fits(p_late_fee_kind, p_late_fee_percent)
       or not core.fee_percent_fits(p_no_show_fee_kind, p_no_show_fee_percent) then
        perform internal.raise_error('INVALID_ARGUMENT', 'a percent fee needs its percentage (0 to 100) and only then',
            'pass p_late_fee_percent / p_no_show_fee_percent with the kind percent');
    end if;
    if exists (select 1 from core.cancellation_policies cp where cp.hotel_id = p_hotel_id and cp.code = p_code) then
        perform internal.raise_error('INVALID_ARGUMENT', format('policy code %L exists in hotel %s', p_code, p_hotel_id),
            'choose another code');
    end if;
    insert into core.cancellation_policies (hotel_id, code, name, non_refundable, free_until_days, late_fee_kind,
                                            late_fee_percent, no_show_fee_kind, no_show_fee_percent)
    values (p_hotel_id, p_code, p_name, coalesce(p_non_refundable, false), p_free_until_days, p_late_fee_kind,
            p_late_fee_percent, p_no_show_fee_kind, p_no_show_fee_percent)
    returning id into v_id;
    return v_id;
end
$$;
comment on function internal.create_cancellation_policy(bigint, text, text, boolean, integer, text, numeric, text, numeric) is
    'The body of api.create_cancellation_policy without its rights check (callers check them): Creates a cancellation policy as data: free until N days before arrival (hotel time zone), then a fee (first night, percent or full); non-refundable; the no-show fee. Returns its id.';

create function api.create_cancellation_policy(
    p_hotel_id            bigint,
    p_code                text,
    p_name                text,
    p_non_refundable      boolean default false,
    p_free_until_days     integer default null,
    p_late_fee_kind       text default 'first_night',
    p_late_fee_percent    numeric default null,
    p_no_show_fee_kind    text default 'first_night',
    p_no_show_fee_percent numeric default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('rooms.update');
    return internal.create_cancellation_policy(p_hotel_id, p_code, p_name, p_non_refundable, p_free_until_days, p_late_fee_kind, p_late_fee_percent, p_no_show_fee_kind, p_no_show_fee_percent);
end
$$;
comment on function api.create_cancellation_policy(bigint, text, text, boolean, integer, text, numeric, text, numeric) is
    'Creates a cancellation policy as data: free until N days before arrival (hotel time zone), then a fee (first night, percent or full); non-refundable; the no-show fee. Returns its id.';

create function internal.create_rate_plan(
    p_hotel_id               bigint,
    p_room_type_id           bigint,
    p_code                   text,
    p_name                   text,
    p_price_multiplier       numeric default 1,
    p_price_supplement       numeric default 0,
    p_includes_breakfast     boolean default false,
    p_cancellation_policy_id bigint default null
) returns bigint
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_policy_id bigint := p_cancellation_policy_id;
    v_id        bigint;
begin
    perform internal.require_room_type(p_hotel_id, p_room_type_id);
    perform internal.require_text('p_code', p_code);
    perform internal.require_text('p_name', p_name);
    perform internal.require_amount('p_price_supplement', p_price_supplement);
    if p_price_multiplier is null or p_price_multiplier <= 0 or p_price_multiplier >= 100 then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_price_multiplier = %s', p_price_multiplier),
            'pass a positive multiplier, e.g. 0.9');
    end if;
    if v_policy_id is null then
        select cp.id into v_policy_id from core.cancellation_policies cp where cp.hotel_id = p_hotel_id and cp.code = 'flexible';
    elsif not exists (select 1 from core.cancellation_policies cp where cp.hotel_id = p_hotel_id and cp.id = v_policy_id) then
        perform internal.raise_error('INVALID_ARGUMENT', format('cancellation policy %s is not in hotel %s', v_policy_id, p_hotel_id),
            'create the policy first');
    end if;
    if exists (select 1 from core.rate_plans rp where rp.hotel_id = p_hotel_id and rp.room_type_id = p_room_type_id
                                                  and rp.code = p_code) then
        perform internal.raise_error('INVALID_ARGUMENT', format('rate plan code %L exists for room type %s', p_code, p_room_type_id),
            'choose another code');
    end if;
    insert into core.rate_plans (hotel_id, room_type_id, code, name, includes_breakfast, price_multiplier, price_supplement,
                                 cancellation_policy_id, created_at)
    values (p_hotel_id, p_room_type_id, p_code, p_name, coalesce(p_includes_breakfast, false), p_price_multiplier,
            p_price_supplement, v_policy_id, internal.now())
    returning id into v_id;
    perform internal.rebuild_rate_calendar(p_hotel_id, p_rate_plan_id => v_id);
    return v_id;
end
$$;
comment on function internal.create_rate_plan(bigint, bigint, text, text, numeric, numeric, boolean, bigint) is
    'The body of api.create_rate_plan without its rights check (callers check them): Creates a rate plan for a room type: nightly price = rack rate * p_price_multiplier + p_price_supplement; default policy "flexible". Returns its id.';

create function api.create_rate_plan(
    p_hotel_id               bigint,
    p_room_type_id           bigint,
    p_code                   text,
    p_name                   text,
    p_price_multiplier       numeric default 1,
    p_price_supplement       numeric default 0,
    p_includes_breakfast     boolean default false,
    p_cancellation_policy_id bigint default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('rooms.update');
    return internal.create_rate_plan(p_hotel_id, p_room_type_id, p_code, p_name, p_price_multiplier, p_price_supplement, p_includes_breakfast, p_cancellation_policy_id);
end
$$;
comment on function api.create_rate_plan(bigint, bigint, text, text, numeric, numeric, boolean, bigint) is
    'Creates a rate plan for a room type: nightly price = rack rate * p_price_multiplier + p_price_supplement; default policy "flexible". Returns its id.';

create function api.create_season(p_hotel_id bigint, p_code text, p_name text, p_from date, p_until date)
returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_id bigint;
begin
    perform internal.require_right('rooms.update');
    perform internal.require_hotel(p_hotel_id);
    perform internal.require_text('p_code', p_code);
    perform internal.require_text('p_name', p_name);
    perform internal.require_range(p_hotel_id, p_from, p_until);
    if exists (select 1 from core.seasons s where s.hotel_id = p_hotel_id
                                              and (s.code = p_code or s.during && daterange(p_from, p_until))) then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('season %L [%s, %s) reuses a code or overlaps another season', p_code, p_from, p_until),
            'seasons of a hotel never overlap');
    end if;
    insert into core.seasons (hotel_id, code, name, during) values (p_hotel_id, p_code, p_name, daterange(p_from, p_until))
    returning id into v_id;
    perform internal.refresh_rates(p_hotel_id, p_from, p_until);
    return v_id;
end
$$;
comment on function api.create_season(bigint, text, text, date, date) is
    'Creates a season [p_from, p_until) for seasonal pricing rules (seasons never overlap); returns its id.';

create function api.add_holidays(p_hotel_id bigint, p_days date[], p_names text[]) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_count integer;
begin
    perform internal.require_right('rooms.update');
    perform internal.require_hotel(p_hotel_id);
    if p_days is null or p_names is null or cardinality(p_days) <> cardinality(p_names)
       or array_position(p_days, null) is not null or array_position(p_names, null) is not null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_days and p_names must be arrays of the same length without nulls',
            'pass one name per date');
    end if;
    insert into core.holidays (hotel_id, day, name)
    select p_hotel_id, d.day, d.name from unnest(p_days, p_names) as d(day, name)
    on conflict (hotel_id, day) do update set name = excluded.name;
    get diagnostics v_count = row_count;
    perform internal.refresh_rates(p_hotel_id);
    return v_count;
end
$$;
comment on function api.add_holidays(bigint, date[], text[]) is
    'Adds (or renames) holidays in the hotel''s calendar, e.g. national holidays loaded from Python''s holidays library, and re-prices the calendar; returns the dates written.';

create function api.set_pricing_rule(
    p_hotel_id     bigint,
    p_kind         text,
    p_multiplier   numeric default null,
    p_fixed_price  numeric default null,
    p_room_type_id bigint default null,
    p_season_id    bigint default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_id bigint;
begin
    perform internal.require_right('rooms.update');
    perform internal.require_hotel(p_hotel_id);
    if p_kind is null or p_kind not in ('weekday', 'weekend', 'holiday', 'season') then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_kind %L', p_kind), 'use weekday, weekend, holiday or season');
    end if;
    -- multiplier numeric(6, 4), fixed price numeric(12, 2); NaN and infinity sort above every number
    if num_nonnulls(p_multiplier, p_fixed_price) <> 1 or p_multiplier <= 0 or p_multiplier >= 100
       or p_fixed_price < 0 or p_fixed_price >= 10000000000 then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('p_multiplier = %s, p_fixed_price = %s: pass exactly one of p_multiplier (> 0, < 100) '
                   || 'and p_fixed_price (>= 0, < 10^10)', coalesce(p_multiplier::text, 'null'),
                   coalesce(p_fixed_price::text, 'null')),
            'a rule is a multiplier of the base price or a fixed price');
    end if;
    if p_room_type_id is not null then
        perform internal.require_room_type(p_hotel_id, p_room_type_id);
    end if;
    if (p_kind = 'season') <> (p_season_id is not null)
       or (p_season_id is not null and not exists (select 1 from core.seasons s where s.hotel_id = p_hotel_id and s.id = p_season_id)) then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_season_id %s for kind %s', p_season_id, p_kind),
            'a season rule needs a season of this hotel, other kinds none');
    end if;
    -- one active rule per target: a new one replaces the old
    update core.pricing_rules pr set active = false
    where pr.hotel_id = p_hotel_id and pr.active and pr.kind = p_kind::core.pricing_rule_kind
      and pr.room_type_id is not distinct from p_room_type_id and pr.season_id is not distinct from p_season_id;
    insert into core.pricing_rules (hotel_id, room_type_id, kind, season_id, multiplier, fixed_price, created_at)
    values (p_hotel_id, p_room_type_id, p_kind::core.pricing_rule_kind, p_season_id, p_multiplier, p_fixed_price, internal.now())
    returning id into v_id;
    perform internal.refresh_rates(p_hotel_id);
    return v_id;
end
$$;
comment on function api.set_pricing_rule(bigint, text, numeric, numeric, bigint, bigint) is
    'Sets the weekday, weekend, holiday or season rule (multiplier or fixed price) of a hotel or one room type, replacing the previous one, and re-prices the calendar. Precedence: season > holiday > weekday/weekend > base price.';

create function api.set_length_of_stay_discount(
    p_hotel_id      bigint,
    p_min_nights    integer,
    p_discount_rate numeric,
    p_room_type_id  bigint default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_id bigint;
begin
    perform internal.require_right('rooms.update');
    perform internal.require_hotel(p_hotel_id);
    perform internal.require_count('p_min_nights', p_min_nights, 2, 365);
    if p_discount_rate is null or p_discount_rate <= 0 or p_discount_rate >= 1 then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_discount_rate = %s', p_discount_rate),
            'pass a fraction, e.g. 0.10 for 10 %');
    end if;
    if p_room_type_id is not null then
        perform internal.require_room_type(p_hotel_id, p_room_type_id);
    end if;
    delete from core.length_of_stay_discounts d
    where d.hotel_id = p_hotel_id and d.min_nights = p_min_nights and d.room_type_id is not distinct from p_room_type_id;
    insert into core.length_of_stay_discounts (hotel_id, room_type_id, min_nights, discount_rate)
    values (p_hotel_id, p_room_type_id, p_min_nights, p_discount_rate)
    returning id into v_id;
    return v_id;
end
$$;
comment on function api.set_length_of_stay_discount(bigint, integer, numeric, bigint) is
    'Sets the consecutive-night discount for stays of at least p_min_nights (seed 003), hotel-wide or for one room type; returns its id.';

-- ---------------------------------------------------------------- the calendar

create function api.open_inventory(
    p_hotel_id     bigint,
    p_from         date,
    p_until        date,
    p_room_type_id bigint default null
) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_count integer;
begin
    perform internal.require_right('rooms.update');
    perform internal.require_hotel(p_hotel_id);
    perform internal.require_range(p_hotel_id, p_from, p_until);
    if p_room_type_id is not null then
        perform internal.require_room_type(p_hotel_id, p_room_type_id);
    end if;
    -- born priced and in (room type, night) order: a room type's nights share a few pages, which
    -- is what searches read; pricing them after the insert would move most rows off their page
    insert into core.inventory (hotel_id, room_type_id, night, capacity, rack_rate, rate_source)
    select rt.hotel_id, rt.id, p.night,
           (select count(*) from core.rooms r where r.hotel_id = rt.hotel_id and r.room_type_id = rt.id and r.active),
           p.rate, p.source
    from core.room_types rt
    join internal.nightly_rates(p_hotel_id, p_from, p_until, p_room_type_id) p on p.room_type_id = rt.id
    where rt.hotel_id = p_hotel_id and rt.active and (p_room_type_id is null or rt.id = p_room_type_id)
    order by rt.id, p.night
    on conflict (hotel_id, room_type_id, night) do nothing;
    get diagnostics v_count = row_count;
    -- nights that were already open keep their counters; their price is brought up to date (a no-op
    -- for the nights just inserted)
    perform internal.refresh_rates(p_hotel_id, p_from, p_until);
    return v_count;
end
$$;
comment on function api.open_inventory(bigint, date, date, bigint) is
    'Opens (or extends) the sale calendar [p_from, p_until) for every active room type of a hotel (or one): capacity = active rooms, priced by the rules. Existing nights are kept. Returns the nights added.';

create function api.set_restrictions(
    p_hotel_id              bigint,
    p_room_type_id          bigint,
    p_from                  date,
    p_until                 date,
    p_stop_sell             boolean default null,
    p_min_stay              integer default null,
    p_max_stay              integer default null,
    p_closed_to_arrival     boolean default null,
    p_closed_to_departure   boolean default null,
    p_overbooking_allowance integer default null
) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_count integer;
    v_night date;
begin
    perform internal.require_right('rooms.update');
    perform internal.require_hotel(p_hotel_id);
    perform internal.require_room_type(p_hotel_id, p_room_type_id);
    perform internal.require_range(p_hotel_id, p_from, p_until);
    if p_min_stay is not null then perform internal.require_count('p_min_stay', p_min_stay, 0, 365); end if;
    if p_max_stay is not null then perform internal.require_count('p_max_stay', p_max_stay, 0, 365); end if;
    if p_overbooking_allowance is not null then
        perform internal.require_count('p_overbooking_allowance', p_overbooking_allowance, 0, 1000);
    end if;
    perform internal.lock_inventory(p_hotel_id, array[p_room_type_id], array[p_from], array[p_until]);
    -- lowering the allowance must not leave a night oversold
    if p_overbooking_allowance is not null then
        select i.night into v_night from core.inventory i
        where i.hotel_id = p_hotel_id and i.room_type_id = p_room_type_id and i.night >= p_from and i.night < p_until
          and core.inventory_sellable(i) - i.overbooking_allowance + p_overbooking_allowance < 0
        order by i.night limit 1;
        if v_night is not null then
            perform internal.raise_error('INVENTORY_UNAVAILABLE',
                format('night %s already has more rooms taken than capacity + %s', v_night, p_overbooking_allowance),
                'keep the allowance until bookings are moved');
        end if;
    end if;
    -- a null argument keeps the value; 0 clears min_stay / max_stay
    update core.inventory i
    set stop_sell             = coalesce(p_stop_sell, i.stop_sell),
        min_stay              = case when p_min_stay is null then i.min_stay else nullif(p_min_stay, 0) end,
        max_stay              = case when p_max_stay is null then i.max_stay else nullif(p_max_stay, 0) end,
        closed_to_arrival     = coalesce(p_closed_to_arrival, i.closed_to_arrival),
        closed_to_departure   = coalesce(p_closed_to_departure, i.closed_to_departure),
        overbooking_allowance = coalesce(p_overbooking_allowance, i.overbooking_allowance)
    where i.hotel_id = p_hotel_id and i.room_type_id = p_room_type_id and i.night >= p_from and i.night < p_until;
    get diagnostics v_count = row_count;
    if coalesce((select min_stay > max_stay from core.inventory i where i.hotel_id = p_hotel_id
                   and i.room_type_id = p_room_type_id and i.night >= p_from and i.night < p_until
                   and i.min_stay > i.max_stay limit 1), false) then
        perform internal.raise_error('INVALID_ARGUMENT', 'min stay above max stay', 'pass p_min_stay <= p_max_stay');
    end if;
    return v_count;
end
$$;
comment on function api.set_restrictions(bigint, bigint, date, date, boolean, integer, integer, boolean, boolean, integer) is
    'Sets stop-sell, min/max stay (0 clears), closed to arrival/departure and the overbooking allowance on the nights [p_from, p_until) of a room type; null keeps a value. Returns the nights changed.';

create function api.refresh_rates(p_hotel_id bigint, p_from date default null, p_until date default null) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('rooms.update');
    perform internal.require_hotel(p_hotel_id);
    return internal.refresh_rates(p_hotel_id, p_from, p_until);
end
$$;
comment on function api.refresh_rates(bigint, date, date) is
    'Re-prices a hotel''s calendar from its rules; call it after loading rules or inventory set-based. Returns the nights re-priced.';
