-- The front desk (seed 000's hotel-pms, seed 003's payments): room status, room blocks, room
-- assignment and moves, check-in and check-out, folios, payments and the night audit.
-- Helpers first, then the public functions.
--
-- Locking discipline (shared with the reservation ledger, no deadlock): a reservation row is
-- locked before inventory rows; inventory rows are locked in (room type, night) order by
-- internal.lock_inventory / internal.lock_and_reclaim. Two uses of one room on one night are
-- refused by the exclusion constraint core.room_assignments.room_assignments_no_overlap, not by
-- a read-then-write check, so concurrent assignments cannot overlap whatever their isolation level.

-- ---------------------------------------------------------------- helpers

create function internal.require_room(p_hotel_id bigint, p_room_id bigint) returns core.rooms
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_room core.rooms;
begin
    if p_room_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_room_id is null', 'pass a room id');
    end if;
    select * into v_room from core.rooms r where r.hotel_id = p_hotel_id and r.id = p_room_id;
    if not found then
        perform internal.raise_error('ROOM_NOT_FOUND', format('room %s in hotel %s', p_room_id, p_hotel_id),
            'list the hotel''s rooms');
    end if;
    return v_room;
end
$$;
comment on function internal.require_room(bigint, bigint) is 'The room of that hotel, or ROOM_NOT_FOUND.';

create function internal.require_folio(p_reservation_id bigint) returns core.folios
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_folio core.folios;
begin
    if p_reservation_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_reservation_id is null', 'pass a reservation id');
    end if;
    select * into v_folio from core.folios f where f.reservation_id = p_reservation_id for update;
    if not found then
        if not exists (select 1 from core.reservations r where r.id = p_reservation_id) then
            perform internal.raise_error('RESERVATION_NOT_FOUND', format('reservation %s', p_reservation_id),
                'check the reservation id');
        end if;
        perform internal.raise_error('FOLIO_NOT_FOUND', format('reservation %s has no folio', p_reservation_id),
            'folios are opened when a reservation is created; check the reservation id');
    end if;
    return v_folio;
end
$$;
comment on function internal.require_folio(bigint) is
    'Locks and returns the folio of a reservation; RESERVATION_NOT_FOUND or FOLIO_NOT_FOUND.';

create function internal.require_money(p_name text, p_amount numeric, p_currency char(3)) returns numeric
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    -- folio amounts are numeric(14, 2): below 10^12 (NaN and infinity sort above every number)
    if p_amount is null or p_amount <= 0 or p_amount >= 1000000000000 then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('%s = %s, expected an amount > 0 and below 10^12', p_name, coalesce(p_amount::text, 'null')),
            format('pass %s > 0 and below 10^12', p_name));
    end if;
    if p_amount <> internal.round_money(p_amount, p_currency) then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('%s = %s has more decimals than %s allows', p_name, p_amount, p_currency),
            format('round %s to the minor units of %s', p_name, p_currency));
    end if;
    return p_amount;
end
$$;
comment on function internal.require_money(text, numeric, char) is
    'Refuses a null, non-positive, NaN, 10^12+ or over-precise amount (KRW, JPY: no minor unit) with INVALID_ARGUMENT.';

create function internal.require_currency(p_folio core.folios, p_currency char(3)) returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_currency is not null and upper(p_currency) <> p_folio.currency then
        perform internal.raise_error('CURRENCY_MISMATCH',
            format('amount in %s, folio %s is in %s', p_currency, p_folio.id, p_folio.currency),
            format('pass amounts in %s', p_folio.currency));
    end if;
end
$$;
comment on function internal.require_currency(core.folios, char) is
    'CURRENCY_MISMATCH when the caller states a currency other than the folio''s (null = the folio''s).';

create function internal.require_payment(p_payment_id bigint) returns core.payments
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_payment core.payments;
begin
    if p_payment_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_payment_id is null', 'pass a payment id');
    end if;
    select * into v_payment from core.payments p where p.id = p_payment_id for update;
    if not found then
        perform internal.raise_error('PAYMENT_NOT_FOUND', format('payment %s', p_payment_id), 'check the payment id');
    end if;
    return v_payment;
end
$$;
comment on function internal.require_payment(bigint) is 'Locks and returns a payment, or PAYMENT_NOT_FOUND.';

create function internal.set_actor(p_app_user text, p_reason text default null) returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    -- no p_app_user: keep the request's (api.authenticate set it), so the audit log names it
    select set_config('hotelcore.app_user', coalesce(p_app_user, pg_catalog.current_setting('hotelcore.app_user', true), ''), true),
           set_config('hotelcore.status_reason', coalesce(p_reason, ''), true)
$$;
comment on function internal.set_actor(text, text) is
    'Tells the logging triggers (room status log, folio postings) who acts and why, for the rest of the transaction.';

-- Every housekeeping status change goes through here so the room operation log (trigger
-- _100_log_status on core.rooms) records the application user and the reason.
create function internal.change_room_status(
    p_room_id  bigint,
    p_status   core.room_status,
    p_reason   text,
    p_app_user text
) returns core.room_status
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_old core.room_status;
begin
    select r.status into v_old from core.rooms r where r.id = p_room_id for no key update;
    if v_old is distinct from p_status then
        perform internal.set_actor(p_app_user, p_reason);
        update core.rooms r set status = p_status, status_changed_at = internal.now() where r.id = p_room_id;
        perform internal.set_actor(p_app_user, null);
    end if;
    return v_old;
end
$$;
comment on function internal.change_room_status(bigint, core.room_status, text, text) is
    'Sets a room''s housekeeping status (logged with reason and application user by the trigger on core.rooms); returns the previous status.';

-- One room for the nights of a booked room line: the room asked for, or the best free one of the
-- type (inspected, then clean, then dirty; never out of order / out of service). The insert is
-- the test: room_assignments_no_overlap refuses a room another transaction took, and the loop
-- tries the next candidate.
create function internal.assign_line(
    p_line            core.reservation_rooms,
    p_nights          daterange,
    p_room_id         bigint,
    p_ready_only      boolean,
    p_exclude_room_id bigint,
    p_app_user        text
) returns bigint
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_room     core.rooms;
    v_room_id  bigint;
    v_conflict date;
    v_holder   text;
    v_tried    bigint[] := '{}';
begin
    if p_room_id is not null then
        v_room := internal.require_room(p_line.hotel_id, p_room_id);
        perform 1 from core.rooms r where r.id = v_room.id for no key update;
        if v_room.room_type_id <> p_line.room_type_id then
            perform internal.raise_error('ROOM_TYPE_MISMATCH',
                format('room %s is of room type %s, the booked line %s is of room type %s',
                       v_room.number, v_room.room_type_id, p_line.id, p_line.room_type_id),
                'pick a room of the booked type, or change the booking''s room type');
        end if;
        if not v_room.active or v_room.status in ('out_of_order', 'out_of_service') then
            perform internal.raise_error('ROOM_UNAVAILABLE',
                format('room %s is %s', v_room.number, case when v_room.active then v_room.status::text else 'inactive' end),
                'pick another room');
        end if;
        if p_ready_only and v_room.status not in ('clean', 'inspected') then
            perform internal.raise_error('ROOM_NOT_READY', format('room %s is %s', v_room.number, v_room.status),
                'have housekeeping clean or inspect it, or pick another room');
        end if;
        begin
            insert into core.room_assignments (hotel_id, room_id, reservation_room_id, nights, assigned_by, assigned_at)
            values (p_line.hotel_id, v_room.id, p_line.id, p_nights, p_app_user, internal.now());
        exception when exclusion_violation then
            -- the refusal names the stay (or block) holding the room and offers free rooms of the
            -- same or a similar type for these nights (seed 000: 類似部屋への自動提案)
            select lower(a.nights * p_nights), coalesce(format('reservation %s (%s)', r.confirmation_code, r.id),
                                                        format('room block %s', a.room_block_id))
            into v_conflict, v_holder
            from core.room_assignments a
            left join core.reservation_rooms l on l.id = a.reservation_room_id
            left join core.reservations r on r.id = l.reservation_id
            where a.hotel_id = p_line.hotel_id and a.room_id = v_room.id and a.active and a.nights && p_nights
            order by lower(a.nights) limit 1;
            perform internal.raise_error('ROOM_UNAVAILABLE',
                format('room %s is held by %s on night %s', v_room.number, coalesce(v_holder, 'another stay'),
                       coalesce(v_conflict::text, '?')),
                internal.room_suggestions_text(internal.room_suggestions(p_line.hotel_id, p_line.room_type_id, p_nights,
                    p_line.adults + p_line.children, v_room.id)));
        end;
        return v_room.id;
    end if;

    -- the best free room nobody else is assigning right now (skip locked), else wait for the best
    -- one; holding the room row while inserting keeps two inserts of one room from deadlocking in
    -- the exclusion check. A room taken meanwhile fails the insert and the next one is tried.
    loop
        select r.id into v_room_id
        from core.rooms r
        where r.hotel_id = p_line.hotel_id and r.room_type_id = p_line.room_type_id and r.active
          and r.status not in ('out_of_order', 'out_of_service')
          and (not p_ready_only or r.status in ('clean', 'inspected'))
          and r.id is distinct from p_exclude_room_id and r.id <> all(v_tried)
          and not exists (select 1 from core.room_assignments a
                          where a.hotel_id = r.hotel_id and a.room_id = r.id and a.active and a.nights && p_nights)
        order by case r.status when 'inspected' then 0 when 'clean' then 1 else 2 end, r.floor nulls last, r.number
        limit 1
        for no key update of r skip locked;
        if v_room_id is null then
            select r.id into v_room_id
            from core.rooms r
            where r.hotel_id = p_line.hotel_id and r.room_type_id = p_line.room_type_id and r.active
              and r.status not in ('out_of_order', 'out_of_service')
              and (not p_ready_only or r.status in ('clean', 'inspected'))
              and r.id is distinct from p_exclude_room_id and r.id <> all(v_tried)
              and not exists (select 1 from core.room_assignments a
                              where a.hotel_id = r.hotel_id and a.room_id = r.id and a.active and a.nights && p_nights)
            order by case r.status when 'inspected' then 0 when 'clean' then 1 else 2 end, r.floor nulls last, r.number
            limit 1
            for no key update of r;
            exit when v_room_id is null;
        end if;
        begin
            insert into core.room_assignments (hotel_id, room_id, reservation_room_id, nights, assigned_by, assigned_at)
            values (p_line.hotel_id, v_room_id, p_line.id, p_nights, p_app_user, internal.now());
            return v_room_id;
        exception when exclusion_violation then
            v_tried := v_tried || v_room_id;  -- taken meanwhile by a committed assignment: try the next one
        end;
    end loop;

    if p_ready_only and exists (
        select 1 from core.rooms r
        where r.hotel_id = p_line.hotel_id and r.room_type_id = p_line.room_type_id and r.active and r.status = 'dirty'
          and r.id is distinct from p_exclude_room_id
          and not exists (select 1 from core.room_assignments a
                          where a.hotel_id = r.hotel_id and a.room_id = r.id and a.active and a.nights && p_nights)) then
        perform internal.raise_error('ROOM_NOT_READY',
            format('every free room of room type %s for %s is dirty', p_line.room_type_id, p_nights),
            'have housekeeping clean one, then retry');
    end if;
    perform internal.raise_error('ROOM_UNAVAILABLE',
        format('no free room of room type %s for nights %s', p_line.room_type_id, p_nights),
        'unblock or free a room, or move another stay');
    return null;
end
$$;
comment on function internal.assign_line(core.reservation_rooms, daterange, bigint, boolean, bigint, text) is
    'Assigns a room to the nights of a booked room line: the one asked (ROOM_TYPE_MISMATCH / ROOM_UNAVAILABLE / ROOM_NOT_READY) or the best free one of the type; the exclusion constraint arbitrates concurrent callers. Returns the room id.';

-- The booked room line an assignment call is about: the one named, else the first line (by id)
-- of the room's type, preferring one without a room yet.
create function internal.pick_line(
    p_reservation_id      bigint,
    p_reservation_room_id bigint,
    p_room                core.rooms
) returns core.reservation_rooms
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_line core.reservation_rooms;
begin
    select l.* into v_line
    from core.reservation_rooms l
    where l.reservation_id = p_reservation_id
      and (p_reservation_room_id is null or l.id = p_reservation_room_id)
      and l.status in ('pending', 'confirmed', 'checked_in')
    order by (p_room.id is not null and l.room_type_id <> p_room.room_type_id),
             exists (select 1 from core.room_assignments a where a.reservation_room_id = l.id and a.active),
             l.id
    limit 1;
    if v_line.id is null then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('reservation %s has no open room line%s', p_reservation_id,
                   coalesce(' ' || p_reservation_room_id, '')),
            'pass a room line of this reservation');
    end if;
    return v_line;
end
$$;
comment on function internal.pick_line(bigint, bigint, core.rooms) is
    'The room line of a reservation an assignment is for: p_reservation_room_id, else the first of the room''s type (unassigned first).';

-- Posts the room nights (and the tax they contain) of checked-in room lines for the nights in
-- [p_from, p_until), once per line and night. A line's amount (discounts and tax included) is
-- spread over its nights in proportion to the nightly prices with cumulative rounding, so the
-- nights of a stay add up to the booked amount exactly; the tax share is amount * rate / (1 + rate).
create function internal.post_room_nights(
    p_hotel_id       bigint,
    p_reservation_id bigint,
    p_from           date,
    p_until          date,
    p_business_date  date,
    p_posted_by      text
) returns integer
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    with lines as (
        select l.id, l.hotel_id, l.amount, l.nightly, lower(l.stay) as first_night, upper(l.stay) as departure,
               f.id as folio_id, f.currency, c.minor_units,
               round(l.amount * h.tax_rate / (1 + h.tax_rate), c.minor_units) as tax,
               (select sum(x) from unnest(l.nightly) as x) as weight
        from core.reservation_rooms l
        join core.reservations r on r.id = l.reservation_id and r.status = 'checked_in'
        join core.folios f on f.reservation_id = l.reservation_id
        join core.hotels h on h.id = l.hotel_id
        join core.currencies c on c.code = f.currency
        where l.hotel_id = p_hotel_id and l.status = 'checked_in'
          and (p_reservation_id is null or l.reservation_id = p_reservation_id)
          and l.stay && daterange(p_from, p_until)
    ),
    nights as (
        select l.*, n.night::date as night, (n.night::date - l.first_night) + 1 as k
        from lines l
        cross join generate_series(greatest(l.first_night, p_from), least(l.departure, p_until) - 1,
                                   interval '1 day') as n(night)
        where l.weight > 0
    ),
    shares as (
        select n.*,
               (select coalesce(sum(x), 0) from unnest(n.nightly[1:n.k]) as x) as cum_to,
               (select coalesce(sum(x), 0) from unnest(n.nightly[1:n.k - 1]) as x) as cum_from
        from nights n
    ),
    priced as (
        select s.*,
               round(s.amount * s.cum_to / s.weight, s.minor_units) - round(s.amount * s.cum_from / s.weight, s.minor_units)
                   as gross,
               round(s.tax * s.cum_to / s.weight, s.minor_units) - round(s.tax * s.cum_from / s.weight, s.minor_units)
                   as tax_part,
               (select r.number from core.room_assignments a join core.rooms r on r.id = a.room_id
                where a.reservation_room_id = s.id and a.active and a.nights @> s.night limit 1) as room_number
        from shares s
    ),
    posted as (
        insert into core.folio_lines (hotel_id, folio_id, currency, kind, description, amount, reservation_room_id, night,
                                      business_date, posted_by, posted_at)
        select p.hotel_id, p.folio_id, p.currency, v.kind, v.description, v.amount, p.id, p.night,
               p_business_date, p_posted_by, internal.now()
        from priced p
        cross join lateral (values
            ('room_night'::core.folio_line_kind, format('room %s, night of %s', coalesce(p.room_number, '-'), p.night),
             p.gross - p.tax_part),
            ('tax'::core.folio_line_kind, format('tax on the night of %s', p.night), p.tax_part)
        ) as v(kind, description, amount)
        where v.amount > 0
        order by p.folio_id, p.id, p.night, v.kind
        -- one charge a night (folio_lines_one_charge_per_night_with_hotel): the only key a new line can meet
        on conflict do nothing
        returning kind
    )
    select (count(*) filter (where kind = 'room_night'))::integer from posted
$$;
comment on function internal.post_room_nights(bigint, bigint, date, date, date, text) is
    'Posts room-night and tax lines of checked-in stays for the nights in [p_from, p_until) (one reservation, or every in-house one of the hotel), each at most once; set-based. Returns the room nights posted.';

create function internal.folio_balance(p_folio_id bigint) returns numeric
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(sum(l.amount), 0) from core.folio_lines l where l.folio_id = p_folio_id
$$;
comment on function internal.folio_balance(bigint) is 'Charges minus payments of a folio: the sum of its lines.';

-- ---------------------------------------------------------------- room status

create function api.set_room_status(
    p_hotel_id bigint,
    p_room_id  bigint,
    p_status   text,
    p_reason   text default null,
    p_app_user text default null
) returns core.room_status
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_room core.rooms;
begin
    perform internal.require_right('rooms.update');
    perform internal.require_hotel(p_hotel_id);
    v_room := internal.require_room(p_hotel_id, p_room_id);
    if p_status is null or p_status not in (select unnest(enum_range(null::core.room_status))::text) then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_status %L', p_status),
            'use clean, dirty, inspected, out_of_order or out_of_service');
    end if;
    perform internal.change_room_status(v_room.id, p_status::core.room_status, p_reason, p_app_user);
    return p_status::core.room_status;
end
$$;
comment on function api.set_room_status(bigint, bigint, text, text, text) is
    'Sets a room''s housekeeping status (seed 000: clean, dirty, inspected, out_of_order, out_of_service); the change is logged with who (role and p_app_user), when, from, to and p_reason. Setting the same status logs nothing.';

-- What the conflict rules compare of a room (its document): the housekeeping status, whether it
-- counts, its number, floor, room type and housekeeping notes. One home: the version trigger
-- bumps a room's version when it changes, the history trigger logs its changed fields, a stale
-- write is compared with it.
create function internal.room_document(p_room core.rooms) returns jsonb
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    select jsonb_build_object('status', p_room.status, 'active', p_room.active, 'number', p_room.number,
                              'floor', p_room.floor, 'room_type_id', p_room.room_type_id,
                              'housekeeping_notes', p_room.housekeeping_notes)
$$;
comment on function internal.room_document(core.rooms) is
    'A room as the conflict rules compare it: status, active, number, floor, room_type_id, housekeeping_notes. A change of any of them is a new version of the room.';

create function internal.room_answer(p_room_id bigint) returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select internal.room_document(r) || jsonb_build_object('room_id', r.id, 'hotel_id', r.hotel_id,
               'version', r.version, 'status_changed_at', r.status_changed_at)
    from core.rooms r where r.id = p_room_id
$$;
comment on function internal.room_answer(bigint) is 'A room''s document with its id, hotel, version and status_changed_at: what a room write answers.';

-- A room write based on p_expected_version (api.update_room, seed 000's room conflicts, a
-- resolution): the fields a system may write here are the housekeeping status, the notes and the
-- floor (active through api.set_room_active, which guards the sold nights). A stale write goes
-- through the conflict rules (internal.judge_room_write): merged, or recorded for review and not
-- applied. The room's row is locked first (the lock order of db/schema/conflicts--room-versions.sql).
create function internal.apply_room_changes(
    p_room_id          bigint,
    p_expected_version integer,
    p_changes          jsonb,
    p_system           text,
    p_changed_at       timestamptz,
    p_reason           text,
    p_app_user         text
) returns jsonb
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_cur    core.rooms;
    v_new    core.rooms;
    v_key    text;
    v_fields text[];
    v_judged jsonb;
begin
    select r.* into v_cur from core.rooms r where r.id = p_room_id for no key update;
    if not found then
        perform internal.raise_error('ROOM_NOT_FOUND', format('room %s', p_room_id), 'list the hotel''s rooms');
    end if;
    -- optimistic lock (seed 000: version number): a version never read cannot be a base
    if p_expected_version is null or p_expected_version < 1 or p_expected_version > v_cur.version then
        perform internal.raise_error('VERSION_CONFLICT',
            format('room %s is at version %s, not %s', v_cur.number, v_cur.version, p_expected_version),
            'read the room again (GET /rooms) and retry with its version');
    end if;
    if p_changes is null or jsonb_typeof(p_changes) <> 'object' or p_changes = '{}' then
        perform internal.raise_error('INVALID_ARGUMENT', 'the room changes must be a non-empty JSON object',
            'e.g. {"status": "dirty"} or {"housekeeping_notes": "stain on the carpet"}');
    end if;
    select k into v_key from jsonb_object_keys(p_changes) k
    where k not in ('status', 'housekeeping_notes', 'floor') order by k limit 1;
    if v_key is not null then
        perform internal.raise_error('INVALID_ARGUMENT', format('room field %s is not written here', v_key),
            'status, housekeeping_notes, floor; take a room in or out with api.set_room_active');
    end if;

    v_new := v_cur;
    if p_changes ? 'status' then
        if jsonb_typeof(p_changes -> 'status') is distinct from 'string'
           or not (p_changes ->> 'status') = any (enum_range(null::core.room_status)::text[]) then
            perform internal.raise_error('INVALID_ARGUMENT', format('status %s', p_changes -> 'status'),
                'use clean, dirty, inspected, out_of_order or out_of_service');
        end if;
        v_new.status := (p_changes ->> 'status')::core.room_status;
    end if;
    if p_changes ? 'housekeeping_notes' then
        if jsonb_typeof(p_changes -> 'housekeeping_notes') not in ('string', 'null')
           or length(p_changes ->> 'housekeeping_notes') > 2000 then
            perform internal.raise_error('INVALID_ARGUMENT', 'housekeeping_notes must be text of at most 2000 characters, or null',
                'shorten the note');
        end if;
        v_new.housekeeping_notes := nullif(btrim(p_changes ->> 'housekeeping_notes'), '');
    end if;
    if p_changes ? 'floor' then
        if jsonb_typeof(p_changes -> 'floor') not in ('number', 'null')
           or (jsonb_typeof(p_changes -> 'floor') = 'number' and (p_changes ->> 'floor') !~ '^-?[0-9]{1,3}$') then
            perform internal.raise_error('INVALID_ARGUMENT', format('floor %s is not a whole number from -999 to 999', p_changes -> 'floor'),
                'e.g. 12, or null');
        end if;
        v_new.floor := (p_changes ->> 'floor')::integer;
    end if;

    -- a stale write is judged by the conflict rules (the one home: internal.judge_write)
    v_fields := array(select k from jsonb_object_keys(p_changes) k order by k);
    v_judged := internal.judge_room_write(v_cur, internal.room_document(v_new), v_fields, p_expected_version,
        p_system, p_changed_at);
    if v_judged is not null then
        if v_judged ->> 'verdict' = 'needs_review' then
            return internal.room_answer(v_cur.id) || jsonb_build_object('conflict', v_judged - 'apply');
        end if;
        -- the fields the rules did not give to this write keep their current value
        if not (v_judged -> 'apply') ? 'status' then v_new.status := v_cur.status; end if;
        if not (v_judged -> 'apply') ? 'housekeeping_notes' then v_new.housekeeping_notes := v_cur.housekeeping_notes; end if;
        if not (v_judged -> 'apply') ? 'floor' then v_new.floor := v_cur.floor; end if;
    end if;

    -- one statement, so one version (trigger _050_bump_version) with one history row
    if internal.room_document(v_new) is distinct from internal.room_document(v_cur) then
        perform internal.set_actor(p_app_user, p_reason);
        update core.rooms r
        set status = v_new.status,
            status_changed_at = case when v_new.status is distinct from r.status then internal.now() else r.status_changed_at end,
            housekeeping_notes = v_new.housekeeping_notes, floor = v_new.floor
        where r.id = v_cur.id;
        perform internal.set_actor(p_app_user, null);
        -- the version's source system and time, and the conflict that merged it
        update core.room_changes ch
        set system = p_system, changed_at = p_changed_at, conflict_id = (v_judged ->> 'conflict_id')::bigint
        where ch.hotel_id = v_cur.hotel_id and ch.room_id = v_cur.id and ch.version = v_cur.version + 1;
        if v_judged is not null then
            update core.conflicts f set resolved_version = v_cur.version + 1 where f.id = (v_judged ->> 'conflict_id')::bigint;
        end if;
    end if;
    return internal.room_answer(v_cur.id)
        || case when v_judged is null then '{}'::jsonb else jsonb_build_object('conflict', v_judged - 'apply') end;
end
$$;
comment on function internal.apply_room_changes(bigint, integer, jsonb, text, timestamptz, text, text) is
    'Writes a room''s status, housekeeping_notes and floor based on p_expected_version (status changes logged with p_reason and p_app_user); a stale write goes through the conflict rules and is merged or recorded for review. Returns the room (internal.room_answer), with "conflict" when one was recorded.';

create function api.update_room(
    p_hotel_id         bigint,
    p_room_id          bigint,
    p_expected_version integer,
    p_changes          jsonb,
    p_reason           text default null,
    p_app_user         text default null
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_room core.rooms;
begin
    -- seed 000's matrix: 部屋状態 is hotel-pms's (and admin's)
    perform internal.require_right('rooms.update');
    perform internal.require_hotel(p_hotel_id);
    v_room := internal.require_room(p_hotel_id, p_room_id);
    if length(p_reason) > 500 then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_reason is longer than 500 characters', 'shorten the reason');
    end if;
    return internal.apply_room_changes(v_room.id, p_expected_version, p_changes, internal.change_system(),
        internal.now(), p_reason, p_app_user);
end
$$;
comment on function api.update_room(bigint, bigint, integer, jsonb, text, text) is
    'Changes a room''s status (logged with p_reason and p_app_user), housekeeping_notes or floor, based on the version read (p_expected_version). A stale write goes through seed 000''s conflict rules: merged (the answer''s "conflict" says how), or recorded for review and not applied (verdict needs_review; status out_of_order / out_of_service and the room''s identity are critical). Returns the room with its version. VERSION_CONFLICT for a version never read.';

create function api.list_rooms(p_hotel_id bigint) returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('rooms.read');
    if p_hotel_id is null or not exists (select 1 from core.hotels h where h.id = p_hotel_id)
       or not internal.in_request_scope(p_hotel_id) then
        perform internal.raise_error('HOTEL_NOT_FOUND', format('hotel_id %s', p_hotel_id), 'check the hotel id');
    end if;
    return coalesce((
        select jsonb_agg(jsonb_build_object(
                   'room_id', r.id, 'hotel_id', r.hotel_id, 'number', r.number, 'floor', r.floor, 'active', r.active,
                   'room_type_id', r.room_type_id, 'room_type_code', t.code, 'status', r.status,
                   'status_changed_at', r.status_changed_at, 'housekeeping_notes', r.housekeeping_notes,
                   'version', r.version,
                   'occupied_tonight', exists (
                       select 1 from core.room_assignments a
                       where a.room_id = r.id and a.active
                         and a.nights @> internal.hotel_today(r.hotel_id)))
               order by r.number)
        from core.rooms r
        join core.room_types t on t.id = r.room_type_id
        where r.hotel_id = p_hotel_id), '[]'::jsonb);
end
$$;
comment on function api.list_rooms(bigint) is
    'The rooms of a hotel (seed 000 GET /rooms) in the request''s hotel scope: number, floor, type, housekeeping status and notes, version (for api.update_room) and whether a stay or block uses it tonight.';

-- ---------------------------------------------------------------- room blocks

create function api.block_room(
    p_hotel_id bigint,
    p_room_id  bigint,
    p_from     date,
    p_until    date,
    p_kind     text default 'maintenance',
    p_reason   text default null,
    p_app_user text default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_room     core.rooms;
    v_nights   daterange;
    v_night    date;
    v_open     integer;
    v_block_id bigint;
begin
    perform internal.require_right('rooms.update');
    perform internal.require_hotel(p_hotel_id);
    v_room := internal.require_room(p_hotel_id, p_room_id);
    if p_kind is null or p_kind not in (select unnest(enum_range(null::core.room_block_kind))::text) then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_kind %L', p_kind),
            'use maintenance, out_of_order or out_of_service');
    end if;
    if p_from is null or p_until is null or p_until <= p_from or not isfinite(p_from) or not isfinite(p_until) then
        perform internal.raise_error('INVALID_DATES', format('[%s, %s) is not a range of nights', p_from, p_until),
            'pass p_from < p_until');
    end if;
    if p_from < internal.hotel_today(p_hotel_id) then
        perform internal.raise_error('INVALID_DATES',
            format('night %s is before today (%s) in the hotel', p_from, internal.hotel_today(p_hotel_id)),
            'block from today on');
    end if;
    if not v_room.active then
        perform internal.raise_error('ROOM_UNAVAILABLE', format('room %s is inactive', v_room.number),
            'an inactive room is already out of the calendar');
    end if;
    v_nights := daterange(p_from, p_until);

    -- inventory rows first (the ledger's order), then the room row (as assignments do)
    perform internal.lock_and_reclaim(p_hotel_id, array[v_room.room_type_id], array[p_from], array[p_until]);
    perform 1 from core.rooms r where r.id = v_room.id for no key update;

    -- a block overlaps no stay and no other block of the room
    select lower(a.nights * v_nights) into v_night
    from core.room_assignments a
    where a.hotel_id = p_hotel_id and a.room_id = v_room.id and a.active and a.nights && v_nights
    order by lower(a.nights) limit 1;
    if v_night is not null then
        perform internal.raise_error('ROOM_UNAVAILABLE',
            format('room %s is assigned or blocked on night %s', v_room.number, v_night),
            'move the stay to another room first');
    end if;

    -- the room type loses one room on each night: refuse if a night would be oversold
    select count(*)::integer,
           min(i.night) filter (where core.inventory_sellable(i) < 1)
    into v_open, v_night
    from core.inventory i
    where i.hotel_id = p_hotel_id and i.room_type_id = v_room.room_type_id and i.night >= p_from and i.night < p_until;
    if v_open < p_until - p_from then
        perform internal.raise_error('INVALID_DATES',
            format('[%s, %s) is not all in the open calendar of room type %s', p_from, p_until, v_room.room_type_id),
            'open the calendar first (api.open_inventory)');
    end if;
    if v_night is not null then
        perform internal.raise_error('INVENTORY_UNAVAILABLE',
            format('night %s of room type %s would be oversold without room %s', v_night, v_room.room_type_id, v_room.number),
            'block another room, or move or cancel bookings first');
    end if;

    insert into core.room_blocks (hotel_id, room_id, room_type_id, nights, kind, reason, created_by, created_at)
    values (p_hotel_id, v_room.id, v_room.room_type_id, v_nights, p_kind::core.room_block_kind, p_reason, p_app_user,
            internal.now())
    returning id into v_block_id;
    begin
        insert into core.room_assignments (hotel_id, room_id, room_block_id, nights, assigned_by, assigned_at)
        values (p_hotel_id, v_room.id, v_block_id, v_nights, p_app_user, internal.now());
    exception when exclusion_violation then
        perform internal.raise_error('ROOM_UNAVAILABLE',
            format('room %s was assigned for a night of %s meanwhile', v_room.number, v_nights), 'retry');
    end;
    update core.inventory i set blocked = i.blocked + 1
    where i.hotel_id = p_hotel_id and i.room_type_id = v_room.room_type_id and i.night >= p_from and i.night < p_until;
    return v_block_id;
end
$$;
comment on function api.block_room(bigint, bigint, date, date, text, text, text) is
    'Blocks a room for nights [p_from, p_until) (maintenance, out of order, out of service): it overlaps no stay or block (ROOM_UNAVAILABLE) and its room type loses one room on each night, refused if a night would be oversold (INVENTORY_UNAVAILABLE). Returns the block id.';

create function api.unblock_room(p_hotel_id bigint, p_block_id bigint, p_app_user text default null) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_block   core.room_blocks;
    v_from    date;
    v_count   integer := 0;
begin
    perform internal.require_right('rooms.update');
    perform internal.require_hotel(p_hotel_id);
    if p_block_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_block_id is null', 'pass a room block id');
    end if;
    select * into v_block from core.room_blocks b where b.hotel_id = p_hotel_id and b.id = p_block_id for update;
    if not found then
        perform internal.raise_error('ROOM_BLOCK_NOT_FOUND', format('room block %s in hotel %s', p_block_id, p_hotel_id),
            'list the room''s blocks');
    end if;
    if not v_block.active then
        return 0;  -- released already
    end if;
    -- nights already past stay blocked (history); the rest go back to the calendar
    v_from := least(greatest(lower(v_block.nights), internal.hotel_today(p_hotel_id)), upper(v_block.nights));
    if v_from < upper(v_block.nights) then
        perform internal.lock_inventory(p_hotel_id, array[v_block.room_type_id], array[v_from], array[upper(v_block.nights)]);
        update core.inventory i set blocked = i.blocked - 1
        where i.hotel_id = p_hotel_id and i.room_type_id = v_block.room_type_id
          and i.night >= v_from and i.night < upper(v_block.nights);
        get diagnostics v_count = row_count;
    end if;
    update core.room_blocks b set active = false, released_at = internal.now(), released_from = v_from
    where b.id = v_block.id;
    update core.room_assignments a set active = false, released_at = internal.now()
    where a.room_block_id = v_block.id and a.active;
    return v_count;
end
$$;
comment on function api.unblock_room(bigint, bigint, text) is
    'Releases a room block: its nights from today on go back to the room type''s calendar (blocked - 1) and the room can be assigned again; past nights stay recorded as blocked. Returns the nights released (0 if already released).';

-- ---------------------------------------------------------------- room assignment

create function api.assign_room(
    p_reservation_id      bigint,
    p_room_id             bigint default null,
    p_reservation_room_id bigint default null,
    p_app_user            text default null
) returns table (reservation_room_id bigint, room_id bigint, room_number text, nights daterange)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_res     core.reservations;
    v_room    core.rooms;
    v_line    core.reservation_rooms;
    v_current core.room_assignments;
    v_room_id bigint;
begin
    perform internal.require_right('rooms.update');
    v_res := internal.lock_reservation(p_reservation_id, null);
    if v_res.status not in ('pending', 'confirmed') then
        perform internal.raise_error('INVALID_STATE_TRANSITION',
            format('reservation %s is %s; rooms are assigned before check-in', p_reservation_id, v_res.status),
            case when v_res.status = 'checked_in' then 'use api.move_room' else 'only pending or confirmed stays get rooms' end);
    end if;
    if p_room_id is not null then
        v_room := internal.require_room(v_res.hotel_id, p_room_id);
    end if;
    v_line := internal.pick_line(p_reservation_id, p_reservation_room_id, v_room);

    select * into v_current from core.room_assignments a
    where a.reservation_room_id = v_line.id and a.active order by lower(a.nights) limit 1;
    if v_current.id is not null and (p_room_id is null or v_current.room_id = p_room_id) then
        v_room_id := v_current.room_id;  -- already assigned: answer with it
    else
        if v_current.id is not null then
            update core.room_assignments a set active = false, released_at = internal.now()
            where a.reservation_room_id = v_line.id and a.active;
        end if;
        v_room_id := internal.assign_line(v_line, v_line.stay, p_room_id, false, null, p_app_user);
    end if;
    return query
        select a.reservation_room_id, a.room_id, r.number, a.nights
        from core.room_assignments a join core.rooms r on r.id = a.room_id
        where a.reservation_room_id = v_line.id and a.active and a.room_id = v_room_id;
end
$$;
comment on function api.assign_room(bigint, bigint, bigint, text) is
    'Assigns a physical room to a booked room line for all its nights before check-in: p_room_id, or the best free room of the type (inspected, clean, then dirty). Reassigns if the line had another room. ROOM_TYPE_MISMATCH / ROOM_UNAVAILABLE / ROOM_NOT_FOUND.';

create function api.move_room(
    p_reservation_id      bigint,
    p_room_id             bigint default null,
    p_reservation_room_id bigint default null,
    p_reason              text default null,
    p_app_user            text default null
) returns table (reservation_room_id bigint, room_id bigint, room_number text, nights daterange)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_res     core.reservations;
    v_room    core.rooms;
    v_line    core.reservation_rooms;
    v_current core.room_assignments;
    v_split   date;
    v_room_id bigint;
begin
    perform internal.require_right('rooms.update');
    v_res := internal.lock_reservation(p_reservation_id, null);
    if v_res.status <> 'checked_in' then
        perform internal.raise_error('INVALID_STATE_TRANSITION',
            format('reservation %s is %s; only an in-house stay moves rooms', p_reservation_id, v_res.status),
            'use api.assign_room before check-in');
    end if;
    if p_room_id is not null then
        v_room := internal.require_room(v_res.hotel_id, p_room_id);
    end if;
    v_line := internal.pick_line(p_reservation_id, p_reservation_room_id, v_room);

    -- the nights already slept stay on the old room; from today on the guest sleeps in the new one
    v_split := greatest(internal.hotel_today(v_res.hotel_id), lower(v_line.stay));
    select * into v_current from core.room_assignments a
    where a.reservation_room_id = v_line.id and a.active and upper(a.nights) > v_split
    order by lower(a.nights) limit 1;
    if v_split >= upper(v_line.stay) then
        perform internal.raise_error('INVALID_DATES',
            format('the stay %s has no night left from %s', v_line.stay, v_split), 'check the guest out instead');
    end if;
    if p_room_id is not null and p_room_id = v_current.room_id then
        perform internal.raise_error('INVALID_ARGUMENT', format('the guest is already in room %s', v_room.number),
            'pick another room');
    end if;
    if v_current.id is not null then
        if lower(v_current.nights) < v_split then
            update core.room_assignments a set nights = daterange(lower(a.nights), v_split) where a.id = v_current.id;
        else
            update core.room_assignments a set active = false, released_at = internal.now() where a.id = v_current.id;
        end if;
    end if;
    v_room_id := internal.assign_line(v_line, daterange(v_split, upper(coalesce(v_current.nights, v_line.stay))),
                                      p_room_id, true, v_current.room_id, p_app_user);
    if v_current.id is not null then
        perform internal.change_room_status(v_current.room_id, 'dirty',
            coalesce(p_reason, format('room move of reservation %s', v_res.confirmation_code)), p_app_user);
    end if;
    return query
        select a.reservation_room_id, a.room_id, r.number, a.nights
        from core.room_assignments a join core.rooms r on r.id = a.room_id
        where a.reservation_room_id = v_line.id and a.active and a.room_id = v_room_id;
end
$$;
comment on function api.move_room(bigint, bigint, bigint, text, text) is
    'Moves an in-house room line to another room (p_room_id, or the best ready free room of the type) from today on: the nights already slept stay on the old room, which becomes dirty. ROOM_NOT_READY / ROOM_UNAVAILABLE / ROOM_TYPE_MISMATCH.';

-- ---------------------------------------------------------------- check-in and check-out

create function api.check_in(
    p_reservation_id bigint,
    p_room_id        bigint default null,
    p_app_user       text default null
) returns table (reservation_room_id bigint, room_id bigint, room_number text, nights daterange)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_res     core.reservations;
    v_today   date;
    v_room    core.rooms;
    v_line    core.reservation_rooms;
    v_asked   bigint;
    v_current core.room_assignments;
    v_status  core.room_status;
begin
    perform internal.require_right('stay.update');
    v_res := internal.lock_reservation(p_reservation_id, null);
    if v_res.status <> 'confirmed' then
        perform internal.raise_error('INVALID_STATE_TRANSITION',
            format('reservation %s: %s -> checked_in', p_reservation_id, v_res.status),
            'only a confirmed reservation checks in');
    end if;
    -- on or after the arrival date, in the hotel's time zone, and before the stay is over
    v_today := internal.hotel_today(v_res.hotel_id);
    if v_today < lower(v_res.stay) or v_today >= upper(v_res.stay) then
        perform internal.raise_error('NOT_ARRIVAL_DAY',
            format('stay %s, today is %s in the hotel', v_res.stay, v_today),
            case when v_today < lower(v_res.stay) then 'check in on or after the arrival date'
                 else 'the stay is over; mark a no-show or rebook' end);
    end if;
    if p_room_id is not null then
        v_room := internal.require_room(v_res.hotel_id, p_room_id);
        if not exists (select 1 from core.reservation_rooms l
                       where l.reservation_id = p_reservation_id and l.room_type_id = v_room.room_type_id) then
            perform internal.raise_error('ROOM_TYPE_MISMATCH',
                format('room %s is of room type %s, not booked in reservation %s', v_room.number, v_room.room_type_id,
                       v_res.confirmation_code),
                'pick a room of the booked type');
        end if;
        v_asked := (internal.pick_line(p_reservation_id, null, v_room)).id;
    end if;

    -- lock order: one assigner at a time per room type of the lines, the types' locks taken in
    -- one fixed (key) order before any room row is locked. Without it two multi-room check-ins
    -- could each hold a room of one line and wait for the other's room for their next line (40P01).
    perform pg_advisory_xact_lock(k.key)
    from (select distinct hashtextextended('hotelcore.assign_room_type:' || l.room_type_id, 0) as key
          from core.reservation_rooms l
          where l.reservation_id = p_reservation_id and l.status = 'confirmed'
          order by 1) k;

    -- every room line gets a ready room: its assigned one, the one asked, or the best free one
    for v_line in select * from core.reservation_rooms l
                  where l.reservation_id = p_reservation_id and l.status = 'confirmed' order by l.id loop
        select * into v_current from core.room_assignments a
        where a.reservation_room_id = v_line.id and a.active order by lower(a.nights) limit 1;
        if v_line.id = v_asked and v_current.room_id is distinct from p_room_id then
            update core.room_assignments a set active = false, released_at = internal.now()
            where a.reservation_room_id = v_line.id and a.active;
            perform internal.assign_line(v_line, v_line.stay, p_room_id, true, null, p_app_user);
        elsif v_current.id is null then
            perform internal.assign_line(v_line, v_line.stay, null, true, null, p_app_user);
        else
            select r.status into v_status from core.rooms r where r.id = v_current.room_id;
            if v_status not in ('clean', 'inspected') then
                perform internal.raise_error('ROOM_NOT_READY',
                    format('room %s is %s', (select r.number from core.rooms r where r.id = v_current.room_id), v_status),
                    'have housekeeping clean or inspect it, or check in to another room (p_room_id)');
            end if;
        end if;
    end loop;

    update core.reservation_rooms l set status = 'checked_in'
    where l.reservation_id = p_reservation_id and l.status = 'confirmed';
    update core.reservations r set status = 'checked_in' where r.id = p_reservation_id;
    return query
        select a.reservation_room_id, a.room_id, r.number, a.nights
        from core.reservation_rooms l
        join core.room_assignments a on a.reservation_room_id = l.id and a.active
        join core.rooms r on r.id = a.room_id
        where l.reservation_id = p_reservation_id
        order by l.id, lower(a.nights);
end
$$;
comment on function api.check_in(bigint, bigint, text) is
    'Checks a confirmed reservation in on or after its arrival date in the hotel''s time zone (NOT_ARRIVAL_DAY): every room line gets a clean or inspected room (its assigned one, p_room_id, or the best free one; ROOM_NOT_READY / ROOM_UNAVAILABLE / ROOM_TYPE_MISMATCH), then the status becomes checked_in. Returns the rooms.';

-- An early departure: the nights not slept go back to the calendar, the room assignments end on the
-- departure day, and each room line and the reservation cost what was charged for the nights slept
-- (tax, discount and subtotal scaled with the total).
create function internal.end_stay_early(p_reservation core.reservations, p_folio_id bigint, p_end date) returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_freed     integer;
    v_old_total numeric;
begin
    perform internal.lock_inventory(p_reservation.hotel_id,
        array(select l.room_type_id from core.reservation_rooms l where l.reservation_id = p_reservation.id),
        array(select p_end from core.reservation_rooms l where l.reservation_id = p_reservation.id),
        array(select upper(l.stay) from core.reservation_rooms l where l.reservation_id = p_reservation.id));
    update core.inventory i set booked = i.booked - c.n
    from (
        select l.room_type_id, n.night::date as night, count(*)::integer as n
        from core.reservation_rooms l
        cross join generate_series(p_end, upper(l.stay) - 1, interval '1 day') as n(night)
        where l.reservation_id = p_reservation.id and l.status = 'checked_in' and upper(l.stay) > p_end
        group by 1, 2
    ) c
    where i.hotel_id = p_reservation.hotel_id and i.room_type_id = c.room_type_id and i.night = c.night;
    get diagnostics v_freed = row_count;
    update core.room_assignments a set active = false, released_at = internal.now()
    from core.reservation_rooms l
    where l.reservation_id = p_reservation.id and a.reservation_room_id = l.id and a.active and lower(a.nights) >= p_end;
    update core.room_assignments a set nights = daterange(lower(a.nights), p_end)
    from core.reservation_rooms l
    where l.reservation_id = p_reservation.id and a.reservation_room_id = l.id and a.active and upper(a.nights) > p_end;
    -- each line now costs what was charged for it
    update core.reservation_rooms l
    set stay = daterange(lower(l.stay), p_end),
        nightly = l.nightly[1:(p_end - lower(l.stay))],
        amount = coalesce((select sum(fl.amount) from core.folio_lines fl
                           where fl.folio_id = p_folio_id and fl.reservation_room_id = l.id
                             and fl.kind in ('room_night', 'tax')), 0)
    where l.reservation_id = p_reservation.id and upper(l.stay) > p_end;
    v_old_total := p_reservation.total_amount;
    update core.reservations r
    set stay = daterange(lower(r.stay), p_end),
        total_amount = t.total,
        tax_amount = case when v_old_total > 0 then internal.round_money(r.tax_amount * t.total / v_old_total, r.currency) else 0 end,
        discount_amount = case when v_old_total > 0 then internal.round_money(r.discount_amount * t.total / v_old_total, r.currency) else 0 end,
        subtotal_amount = case when v_old_total > 0 then internal.round_money(r.subtotal_amount * t.total / v_old_total, r.currency) else 0 end
    from (select coalesce(sum(l.amount), 0) as total from core.reservation_rooms l where l.reservation_id = p_reservation.id) t
    where r.id = p_reservation.id;
    return v_freed;
end
$$;
comment on function internal.end_stay_early(core.reservations, bigint, date) is
    'Ends a checked-in stay on p_end before its departure (the caller locked the reservation and charged the nights slept on folio p_folio_id): releases the later nights of every room line, ends the room assignments, and reprices the lines and the reservation to what was charged. Returns the inventory nights released.';

create function api.check_out(
    p_reservation_id bigint,
    p_app_user       text default null
) returns table (folio_id bigint, currency char(3), nights_charged integer, nights_released integer,
                 late_checkout_fee numeric)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_res      core.reservations;
    v_hotel    core.hotels;
    v_folio    core.folios;
    v_today    date;
    v_local    timestamp;
    v_end      date;
    v_deadline timestamp;
    v_fee      numeric := 0;
    v_balance  numeric;
    v_freed    integer := 0;
begin
    perform internal.require_right('stay.update');
    v_res := internal.lock_reservation(p_reservation_id, null);
    if v_res.status <> 'checked_in' then
        perform internal.raise_error('INVALID_STATE_TRANSITION',
            format('reservation %s: %s -> checked_out', p_reservation_id, v_res.status), 'only an in-house stay checks out');
    end if;
    v_hotel := internal.require_hotel(v_res.hotel_id);
    v_folio := internal.require_folio(p_reservation_id);
    v_local := internal.now() at time zone v_hotel.time_zone;
    v_today := v_local::date;
    perform internal.set_actor(p_app_user, null);

    -- the nights slept (at least one) are charged, whether or not the night audit ran yet
    v_end := least(upper(v_res.stay), greatest(v_today, lower(v_res.stay) + 1));
    perform internal.post_room_nights(v_res.hotel_id, p_reservation_id, lower(v_res.stay), v_end,
                                      coalesce(v_hotel.business_date, v_today), p_app_user);

    -- late check-out: after check_out_time on the departure day, unless the guest's rank includes
    -- late check-out until a later time (seed 003's membership ranks)
    if v_today >= upper(v_res.stay) and coalesce(v_hotel.late_checkout_fee, 0) > 0 then
        select upper(v_res.stay) + greatest(v_hotel.check_out_time,
                   coalesce(case when mr.late_checkout then mr.late_checkout_until end, v_hotel.check_out_time))
        into v_deadline
        from core.customers c join core.membership_ranks mr on mr.code = c.rank_code
        where c.id = v_res.customer_id;
        v_deadline := coalesce(v_deadline, upper(v_res.stay) + v_hotel.check_out_time);
        if v_local > v_deadline
           and not exists (select 1 from core.folio_lines l where l.folio_id = v_folio.id and l.kind = 'late_checkout_fee') then
            v_fee := v_hotel.late_checkout_fee;
            insert into core.folio_lines (hotel_id, folio_id, currency, kind, description, amount, business_date,
                                          posted_by, posted_at)
            values (v_folio.hotel_id, v_folio.id, v_folio.currency, 'late_checkout_fee',
                    format('late check-out after %s', v_deadline::time), v_fee,
                    coalesce(v_hotel.business_date, v_today), p_app_user, internal.now());
        end if;
    end if;

    -- the folio must be settled: charges minus payments is zero
    v_balance := internal.folio_balance(v_folio.id);
    if v_balance <> 0 then
        perform internal.raise_error('FOLIO_UNBALANCED',
            format('folio %s of reservation %s has a balance of %s %s%s', v_folio.id, v_res.confirmation_code,
                   v_balance, v_folio.currency,
                   case when v_fee > 0 then format(' (including a late check-out fee of %s)', v_fee) else '' end),
            case when v_balance > 0 then 'take a payment for the balance, then check out again'
                 else 'refund the overpayment, then check out again' end);
    end if;

    -- early departure: the nights not slept go back to the calendar and the stay ends today
    if v_end < upper(v_res.stay) then
        v_freed := internal.end_stay_early(v_res, v_folio.id, v_end);
    end if;

    -- card holds not captured are released; the folio is settled
    update core.payments p set status = 'voided', updated_at = internal.now()
    where p.folio_id = v_folio.id and p.status = 'preauthorised';
    update core.folios f set settled_at = internal.now() where f.id = v_folio.id;

    -- the rooms the guest leaves become dirty (logged); the status change fires loyalty's trigger
    perform internal.change_room_status(a.room_id, 'dirty', format('check-out of reservation %s', v_res.confirmation_code),
                                        p_app_user)
    from core.reservation_rooms l
    join core.room_assignments a on a.reservation_room_id = l.id and a.active and upper(a.nights) = upper(l.stay)
    where l.reservation_id = p_reservation_id;
    update core.reservation_rooms l set status = 'checked_out'
    where l.reservation_id = p_reservation_id and l.status = 'checked_in';
    update core.reservations r set status = 'checked_out' where r.id = p_reservation_id;
    return query select v_folio.id, v_folio.currency, (v_end - lower(v_res.stay))::integer, v_freed, v_fee;
end
$$;
comment on function api.check_out(bigint, text) is
    'Checks an in-house reservation out: posts the nights slept not yet charged (and the late check-out fee when due: after check_out_time, or the rank''s late_checkout_until), refuses with FOLIO_UNBALANCED unless charges minus payments is zero, frees the nights not slept (early departure), voids card holds not captured, makes the rooms dirty and sets checked_out.';

-- ---------------------------------------------------------------- folio and payments

create function api.post_charge(
    p_reservation_id bigint,
    p_kind           text,
    p_amount         numeric,
    p_description    text,
    p_currency       char(3) default null,
    p_app_user       text default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_folio core.folios;
    v_id    bigint;
begin
    perform internal.require_right('billing.update');
    v_folio := internal.require_folio(p_reservation_id);
    if p_kind is null or p_kind not in ('service', 'tax', 'cancellation_fee', 'no_show_fee', 'late_checkout_fee', 'adjustment') then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_kind %L', p_kind),
            'use service, tax, cancellation_fee, no_show_fee, late_checkout_fee or adjustment (room nights are posted by the night audit, payments by the payment functions)');
    end if;
    perform internal.require_currency(v_folio, p_currency);
    if p_kind = 'adjustment' then
        -- an adjustment (allowance or correction) may be negative
        perform internal.require_money('p_amount', abs(p_amount), v_folio.currency);
    else
        perform internal.require_money('p_amount', p_amount, v_folio.currency);
    end if;
    insert into core.folio_lines (hotel_id, folio_id, currency, kind, description, amount, business_date, posted_by, posted_at)
    values (v_folio.hotel_id, v_folio.id, v_folio.currency, p_kind::core.folio_line_kind,
            internal.require_text('p_description', p_description), p_amount,
            (select h.business_date from core.hotels h where h.id = v_folio.hotel_id), p_app_user, internal.now())
    returning id into v_id;
    return v_id;
end
$$;
comment on function api.post_charge(bigint, text, numeric, text, char, text) is
    'Posts a charge to a reservation''s folio in its currency: service, tax, cancellation / no-show / late check-out fee, or a signed adjustment. CURRENCY_MISMATCH, INVALID_ARGUMENT (amount <= 0 or finer than the currency''s minor units). Returns the line id.';

create function internal.authorise_payment(
    p_reservation_id      bigint,
    p_method              text,
    p_amount              numeric,
    p_processor_reference text default null,
    p_currency            char(3) default null,
    p_capture             boolean default false,
    p_app_user            text default null
) returns bigint
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_folio   core.folios;
    v_payment core.payments;
begin
    v_folio := internal.require_folio(p_reservation_id);
    if p_method is null or p_method not in (select unnest(enum_range(null::core.payment_method))::text) then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_method %L', p_method),
            'use card, bank_transfer, cash or paypal');
    end if;
    perform internal.require_currency(v_folio, p_currency);
    perform internal.require_money('p_amount', p_amount, v_folio.currency);
    if p_method <> 'cash' and (p_processor_reference is null or btrim(p_processor_reference) = '') then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_processor_reference is null',
            'pass the payment processor''s transaction reference');
    end if;
    perform internal.refuse_card_number('p_processor_reference', p_processor_reference);
    -- a retried call with the same processor reference answers with the same payment
    select * into v_payment from core.payments p
    where p.hotel_id = v_folio.hotel_id and p.processor_reference = btrim(p_processor_reference);
    if found then
        if v_payment.folio_id <> v_folio.id or v_payment.method::text <> p_method
           or v_payment.authorised_amount <> p_amount then
            perform internal.raise_error('IDEMPOTENCY_MISMATCH',
                format('processor reference %s is payment %s of another folio, method or amount', p_processor_reference, v_payment.id),
                'use a new processor reference for a new payment');
        end if;
        return v_payment.id;
    end if;
    perform internal.set_actor(p_app_user, null);
    insert into core.payments (hotel_id, folio_id, currency, method, status, authorised_amount, captured_amount,
                               processor_reference, created_by, created_at, updated_at)
    values (v_folio.hotel_id, v_folio.id, v_folio.currency, p_method::core.payment_method,
            case when coalesce(p_capture, false) then 'captured' else 'preauthorised' end::core.payment_status,
            p_amount, case when coalesce(p_capture, false) then p_amount else 0 end,
            nullif(btrim(p_processor_reference), ''), p_app_user, internal.now(), internal.now())
    returning * into v_payment;
    return v_payment.id;
end
$$;
comment on function internal.authorise_payment(bigint, text, numeric, text, char, boolean, text) is
    'The body of api.authorise_payment without its rights check (callers check them): Records an authorisation the processor granted on a reservation''s folio (card, bank_transfer, cash, paypal; amount in the folio currency); p_capture = true records a payment taken at once (cash at the desk). Only the processor reference is kept (a card number is refused). Idempotent per processor reference. Returns the payment id.';

create function api.authorise_payment(
    p_reservation_id      bigint,
    p_method              text,
    p_amount              numeric,
    p_processor_reference text default null,
    p_currency            char(3) default null,
    p_capture             boolean default false,
    p_app_user            text default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('billing.update');
    return internal.authorise_payment(p_reservation_id, p_method, p_amount, p_processor_reference, p_currency, p_capture, p_app_user);
end
$$;
comment on function api.authorise_payment(bigint, text, numeric, text, char, boolean, text) is
    'Records an authorisation the processor granted on a reservation''s folio (card, bank_transfer, cash, paypal; amount in the folio currency); p_capture = true records a payment taken at once (cash at the desk). Only the processor reference is kept (a card number is refused). Idempotent per processor reference. Returns the payment id.';

create function internal.capture_payment(
    p_payment_id bigint,
    p_amount     numeric default null,
    p_app_user   text default null
) returns core.payment_status
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_payment core.payments;
    v_amount  numeric;
begin
    v_payment := internal.require_payment(p_payment_id);
    if v_payment.status <> 'preauthorised' then
        perform internal.raise_error('INVALID_PAYMENT_STATE',
            format('payment %s is %s; only a preauthorised payment is captured', p_payment_id, v_payment.status),
            'authorise a new payment');
    end if;
    v_amount := internal.require_money('p_amount', coalesce(p_amount, v_payment.authorised_amount), v_payment.currency);
    if v_amount > v_payment.authorised_amount then
        perform internal.raise_error('AMOUNT_EXCEEDS_AUTHORISED',
            format('capture of %s %s on payment %s authorised for %s', v_amount, v_payment.currency, p_payment_id,
                   v_payment.authorised_amount),
            'capture at most the authorised amount, or authorise a new payment for the rest');
    end if;
    perform internal.set_actor(p_app_user, null);
    update core.payments p set status = 'captured', captured_amount = v_amount, updated_at = internal.now()
    where p.id = p_payment_id;
    return 'captured'::core.payment_status;
end
$$;
comment on function internal.capture_payment(bigint, numeric, text) is
    'The body of api.capture_payment without its rights check (callers check them): Captures a preauthorised payment for p_amount (default: the authorised amount; the rest of the hold is released) and posts it to the folio. AMOUNT_EXCEEDS_AUTHORISED, INVALID_PAYMENT_STATE.';

create function api.capture_payment(
    p_payment_id bigint,
    p_amount     numeric default null,
    p_app_user   text default null
) returns core.payment_status
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('billing.update');
    return internal.capture_payment(p_payment_id, p_amount, p_app_user);
end
$$;
comment on function api.capture_payment(bigint, numeric, text) is
    'Captures a preauthorised payment for p_amount (default: the authorised amount; the rest of the hold is released) and posts it to the folio. AMOUNT_EXCEEDS_AUTHORISED, INVALID_PAYMENT_STATE.';

create function internal.void_payment(p_payment_id bigint, p_app_user text default null) returns core.payment_status
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_payment core.payments;
begin
    v_payment := internal.require_payment(p_payment_id);
    if v_payment.status = 'voided' then
        return v_payment.status;  -- a retried void
    end if;
    if v_payment.status <> 'preauthorised' then
        perform internal.raise_error('INVALID_PAYMENT_STATE',
            format('payment %s is %s; only a preauthorised payment is voided', p_payment_id, v_payment.status),
            case when v_payment.status in ('captured', 'refunded') then 'refund a captured payment instead'
                 else 'nothing to void' end);
    end if;
    update core.payments p set status = 'voided', updated_at = internal.now() where p.id = p_payment_id;
    return 'voided'::core.payment_status;
end
$$;
comment on function internal.void_payment(bigint, text) is
    'The body of api.void_payment without its rights check (callers check them): Voids a preauthorised payment (the card hold is released; nothing reaches the folio). Idempotent; INVALID_PAYMENT_STATE after capture or failure.';

create function api.void_payment(p_payment_id bigint, p_app_user text default null) returns core.payment_status
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('billing.update');
    return internal.void_payment(p_payment_id, p_app_user);
end
$$;
comment on function api.void_payment(bigint, text) is
    'Voids a preauthorised payment (the card hold is released; nothing reaches the folio). Idempotent; INVALID_PAYMENT_STATE after capture or failure.';

create function api.refund_payment(
    p_payment_id bigint,
    p_amount     numeric default null,
    p_app_user   text default null
) returns core.payment_status
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_payment core.payments;
    v_amount  numeric;
begin
    perform internal.require_right('billing.update');
    v_payment := internal.require_payment(p_payment_id);
    if v_payment.status not in ('captured', 'refunded') then
        perform internal.raise_error('INVALID_PAYMENT_STATE',
            format('payment %s is %s; only a captured payment is refunded', p_payment_id, v_payment.status),
            case when v_payment.status = 'preauthorised' then 'void it instead' else 'nothing to refund' end);
    end if;
    v_amount := internal.require_money('p_amount',
                                       coalesce(p_amount, v_payment.captured_amount - v_payment.refunded_amount),
                                       v_payment.currency);
    if v_payment.refunded_amount + v_amount > v_payment.captured_amount then
        perform internal.raise_error('REFUND_EXCEEDS_CAPTURED',
            format('refund of %s %s on payment %s: %s captured, %s refunded already', v_amount, v_payment.currency,
                   p_payment_id, v_payment.captured_amount, v_payment.refunded_amount),
            format('refund at most %s', v_payment.captured_amount - v_payment.refunded_amount));
    end if;
    perform internal.set_actor(p_app_user, null);
    update core.payments p
    set status = 'refunded', refunded_amount = p.refunded_amount + v_amount, updated_at = internal.now()
    where p.id = p_payment_id;
    return 'refunded'::core.payment_status;
end
$$;
comment on function api.refund_payment(bigint, numeric, text) is
    'Refunds p_amount (default: all not yet refunded) of a captured payment, in one or several parts, and posts it to the folio. REFUND_EXCEEDS_CAPTURED, INVALID_PAYMENT_STATE.';

create function api.record_payment_failure(
    p_reservation_id      bigint,
    p_method              text,
    p_amount              numeric,
    p_processor_reference text,
    p_reason              text,
    p_app_user            text default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_folio core.folios;
    v_id    bigint;
begin
    perform internal.require_right('billing.update');
    v_folio := internal.require_folio(p_reservation_id);
    if p_method is null or p_method not in (select unnest(enum_range(null::core.payment_method))::text) then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_method %L', p_method),
            'use card, bank_transfer, cash or paypal');
    end if;
    perform internal.require_money('p_amount', p_amount, v_folio.currency);
    perform internal.refuse_card_number('p_processor_reference', p_processor_reference);
    if p_method <> 'cash' and (p_processor_reference is null or btrim(p_processor_reference) = '') then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_processor_reference is null',
            'pass the payment processor''s transaction reference');
    end if;
    insert into core.payments (hotel_id, folio_id, currency, method, status, authorised_amount, processor_reference,
                               failure_reason, created_by, created_at, updated_at)
    values (v_folio.hotel_id, v_folio.id, v_folio.currency, p_method::core.payment_method, 'failed', p_amount,
            nullif(btrim(p_processor_reference), ''), internal.require_text('p_reason', p_reason), p_app_user,
            internal.now(), internal.now())
    on conflict (hotel_id, processor_reference) do nothing
    returning id into v_id;
    if v_id is null then
        select p.id into v_id from core.payments p
        where p.hotel_id = v_folio.hotel_id and p.processor_reference = btrim(p_processor_reference);
    end if;
    return v_id;
end
$$;
comment on function api.record_payment_failure(bigint, text, numeric, text, text, text) is
    'Records a declined authorisation on a reservation''s folio as a failed payment (amount asked, processor reference, reason); nothing reaches the balance. Idempotent per processor reference. Returns the payment id.';

-- ---------------------------------------------------------------- night audit

create function api.run_night_audit(
    p_hotel_id      bigint,
    p_business_date date,
    p_app_user      text default null
) returns table (business_date date, room_nights_posted integer, no_shows integer, next_business_date date,
                 already_run boolean)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_hotel   core.hotels;
    v_audit   core.night_audits;
    v_posted  integer;
    v_res     record;
    v_fee     numeric;
    v_count   integer := 0;
begin
    perform internal.require_right('billing.update');
    perform internal.require_hotel(p_hotel_id);
    if p_business_date is null or not isfinite(p_business_date) then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_business_date is null', 'pass the business date to close');
    end if;
    -- one audit per hotel at a time; no key update, so bookings referencing the hotel go on
    select * into v_hotel from core.hotels h where h.id = p_hotel_id for no key update;

    -- the same date again: nothing changes, the first run's figures are answered
    select * into v_audit from core.night_audits a where a.hotel_id = p_hotel_id and a.business_date = p_business_date;
    if found then
        return query select v_audit.business_date, v_audit.room_nights_posted, v_audit.no_shows,
                            coalesce(v_hotel.business_date, p_business_date + 1), true;
        return;
    end if;
    if (v_hotel.business_date is not null and p_business_date <> v_hotel.business_date)
       or p_business_date > internal.hotel_today(p_hotel_id) then
        perform internal.raise_error('BUSINESS_DATE_MISMATCH',
            format('hotel %s: business date is %s, today is %s, audit asked for %s', v_hotel.code,
                   coalesce(v_hotel.business_date::text, 'not set'), internal.hotel_today(p_hotel_id), p_business_date),
            'audit the hotel''s business date, once the day has come');
    end if;
    perform internal.set_actor(p_app_user, null);

    -- room and tax for the night of every in-house stay, one statement
    v_posted := internal.post_room_nights(p_hotel_id, null, p_business_date, p_business_date + 1, p_business_date,
                                          p_app_user);

    -- confirmed bookings due by this date that never arrived become no-shows (the ledger's rule:
    -- the policy fee, nights freed); a booking with no guarantee (no authorisation on the booking
    -- or the folio) cannot be charged, so its fee is waived on the folio
    for v_res in
        select r.id, r.payment_authorisation is not null
                     or exists (select 1 from core.folios f join core.payments p on p.folio_id = f.id
                                where f.reservation_id = r.id and p.status in ('preauthorised', 'captured')) as guaranteed
        from core.reservations r
        where r.hotel_id = p_hotel_id and r.status = 'confirmed' and lower(r.stay) <= p_business_date
        order by r.id
    loop
        select m.fee_amount into v_fee from internal.mark_no_show(v_res.id, null) m;
        v_count := v_count + 1;
        if not v_res.guaranteed and v_fee > 0 then
            insert into core.folio_lines (hotel_id, folio_id, currency, kind, description, amount, business_date,
                                          posted_by, posted_at)
            select f.hotel_id, f.id, f.currency, 'adjustment', 'no-show fee waived: booking not guaranteed', -v_fee,
                   p_business_date, p_app_user, internal.now()
            from core.folios f where f.reservation_id = v_res.id;
        end if;
    end loop;

    insert into core.night_audits (hotel_id, business_date, room_nights_posted, no_shows, run_by, run_at)
    values (p_hotel_id, p_business_date, v_posted, v_count, p_app_user, internal.now());
    update core.hotels h set business_date = p_business_date + 1 where h.id = p_hotel_id;
    return query select p_business_date, v_posted, v_count, p_business_date + 1, false;
end
$$;
comment on function api.run_night_audit(bigint, date, text) is
    'Closes a hotel''s business date: posts room and tax for every in-house stay''s night (set-based), marks confirmed bookings due by that date that never arrived as no-shows (fee per policy; waived when not guaranteed), and rolls core.hotels.business_date to the next day. BUSINESS_DATE_MISMATCH for another date or a day not yet come; a second run for the same date changes nothing.';
