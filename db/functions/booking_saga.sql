-- The booking saga of the HTTP checkout (seed 001): hold, payment authorisation, confirmation,
-- capture, and compensation when a step fails. Each step that touches the ledger does it in the
-- same transaction as it records itself, so the saga row never disagrees with the ledger.

-- ---------------------------------------------------------------------------- checkout saga

create function internal.checkout_result(p_saga core.checkout_sagas) returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    -- seed 001's answer of a succeeded checkout (null before): the saga row and its booking
    select case when p_saga.status = 'succeeded' then jsonb_build_object(
        'bookingId', p_saga.reservation_id,
        'confirmationNumber', r.confirmation_code,
        'reservationId', p_saga.reservation_id,
        'checkoutId', p_saga.id,
        'status', r.status,
        'hotelId', p_saga.hotel_id, 'roomTypeId', p_saga.room_type_id, 'ratePlanId', p_saga.rate_plan_id,
        'checkIn', lower(p_saga.stay), 'checkOut', upper(p_saga.stay), 'rooms', p_saga.rooms,
        'customerId', p_saga.customer_id, 'amount', p_saga.amount, 'currency', p_saga.currency,
        'paymentAuthorisation', p_saga.authorisation_ref, 'paymentCapture', p_saga.capture_ref) end
    from (select) one
    left join core.reservations r on r.id = p_saga.reservation_id
$$;
comment on function internal.checkout_result(core.checkout_sagas) is
    'Seed 001''s answer of a succeeded checkout saga (bookingId, confirmationNumber, ...); null while it has not succeeded.';

create function internal.checkout_document(p_saga_id bigint) returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select jsonb_build_object(
        'checkoutId', s.id, 'status', s.status, 'step', s.step, 'attempt', s.attempt,
        'hotelId', s.hotel_id, 'roomTypeId', s.room_type_id, 'ratePlanId', s.rate_plan_id,
        'checkIn', lower(s.stay), 'checkOut', upper(s.stay), 'rooms', s.rooms, 'adults', s.adults,
        'children', s.children, 'customerId', s.customer_id, 'amount', s.amount, 'currency', s.currency,
        'holdId', s.hold_id, 'reservationId', s.reservation_id, 'paymentId', s.payment_id,
        'holdReleased', s.hold_released, 'authorisationVoided', s.authorisation_voided,
        'bookingCancelled', s.booking_cancelled, 'errorCode', s.error_code, 'errorDetail', s.error_detail,
        'createdAt', s.created_at, 'updatedAt', s.updated_at,
        'result', internal.checkout_result(s))
    from core.checkout_sagas s
    where s.id = p_saga_id
$$;
comment on function internal.checkout_document(bigint) is
    'A checkout saga as the API returns it; result holds seed 001''s answer (internal.checkout_result) once it succeeded.';

create function internal.checkout_of_attempt(p_saga_id bigint, p_attempt integer)
returns core.checkout_sagas
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_saga core.checkout_sagas;
begin
    select * into v_saga from core.checkout_sagas s where s.id = p_saga_id for update;
    -- a checkout belongs to who started it: another caller is told it does not exist
    if not found or not internal.in_request_scope(v_saga.hotel_id) or not internal.owned_by_caller(v_saga.owner) then
        perform internal.raise_error('RESERVATION_NOT_FOUND', format('checkout %s', p_saga_id), 'check the checkout id');
    end if;
    if p_attempt is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_attempt is null',
            'pass the attempt api.checkout_begin returned');
    end if;
    -- recovery took the saga over: its first runner must stop
    if v_saga.attempt <> p_attempt then
        perform internal.raise_error('CHECKOUT_TAKEN_OVER',
            format('checkout %s is at attempt %s, caller is attempt %s', p_saga_id, v_saga.attempt, p_attempt),
            'retry with the same Idempotency-Key to read the answer');
    end if;
    return v_saga;
end
$$;
comment on function internal.checkout_of_attempt(bigint, integer) is
    'Locks a saga of the caller (its owner, in its scope) run by the caller''s attempt; RESERVATION_NOT_FOUND, INVALID_ARGUMENT or CHECKOUT_TAKEN_OVER otherwise.';

create function internal.checkout_for_step(p_saga_id bigint, p_attempt integer, p_steps text[])
returns core.checkout_sagas
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_saga core.checkout_sagas := internal.checkout_of_attempt(p_saga_id, p_attempt);
begin
    -- steps happen in order, once
    if v_saga.status <> 'running' or v_saga.error_code is not null or not (v_saga.step = any (p_steps)) then
        perform internal.raise_error('INVALID_STATE_TRANSITION',
            format('checkout %s is %s at step %s; this step needs step %s', p_saga_id, v_saga.status, v_saga.step,
                   array_to_string(p_steps, ' or ')),
            'read the checkout (api.get_checkout) and run the step it is at');
    end if;
    return v_saga;
end
$$;
comment on function internal.checkout_for_step(bigint, integer, text[]) is
    'Locks a running saga of the caller''s attempt that is at one of p_steps; CHECKOUT_TAKEN_OVER or INVALID_STATE_TRANSITION otherwise.';

create function internal.checkout_log(p_saga core.checkout_sagas, p_step text, p_outcome text, p_detail jsonb)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    -- the row is kept with its saga: the saga's hotel (the foreign key names both), taken from the
    -- saga row the caller holds (locked or just written), so the saga is not read again
    insert into core.checkout_saga_steps (saga_id, hotel_id, attempt, step, outcome, detail, at)
    values (p_saga.id, p_saga.hotel_id, p_saga.attempt, p_step, p_outcome, coalesce(p_detail, '{}'::jsonb), internal.now())
$$;
comment on function internal.checkout_log(core.checkout_sagas, text, text, jsonb) is
    'Appends a row to the step log of the saga p_saga (its id, hotel and attempt).';

create function internal.checkout_begin(
    p_idempotency_key_id bigint,
    p_hotel_id           bigint,
    p_room_type_id       bigint,
    p_rate_plan_id       bigint,
    p_check_in           date,
    p_check_out          date,
    p_rooms              integer,
    p_adults             integer,
    p_children           integer,
    p_amount             numeric,
    p_currency           text,
    p_request            jsonb
) returns table (saga_id bigint, attempt integer, amount numeric, currency char(3), quote jsonb, saga core.checkout_sagas)
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
-- cached plans for every query of the step, the cheapest rate plan's search included (one hotel,
-- room type and stay: internal.stay_offers' generic plan reads the same few inventory rows; under
-- the default mode the plan cache planned that query again at every checkout of another stay)
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
declare
    v_guest       jsonb := coalesce(p_request -> 'guest', '{}'::jsonb);
    v_customer_id bigint;
    v_rate_plan   bigint := p_rate_plan_id;
    v_quote       jsonb;
    v_system      text := internal.request_system();
    v_saga        core.checkout_sagas;
begin
    -- the hotel is in the key's scope (another hotel's id reads as unknown)
    if p_hotel_id is null or not exists (select 1 from core.hotels h where h.id = p_hotel_id)
       or not internal.in_request_scope(p_hotel_id) then
        perform internal.raise_error('HOTEL_NOT_FOUND', format('hotelId %s', p_hotel_id), 'check the hotel id');
    end if;
    if p_amount is null or p_amount < 0 then
        perform internal.raise_error('INVALID_ARGUMENT', format('payment.amount %s', p_amount), 'pass the quoted total');
    end if;
    -- the saga answers its idempotency record: one of the calling API key's
    if p_idempotency_key_id is not null
       and not exists (select 1 from core.idempotency_keys k
                       where k.id = p_idempotency_key_id
                         and (k.api_key_id = internal.request_api_key_id()
                              or (internal.request_api_key_id() is null and internal.caller_unrestricted()))) then
        perform internal.raise_error('IDEMPOTENCY_RECORD_NOT_FOUND', format('idempotency record %s of this API key',
            p_idempotency_key_id), 'pass the id api.begin_idempotent returned');
    end if;
    -- the booker: an existing customer by e-mail / phone, else a guest profile
    v_customer_id := internal.find_or_create_guest(v_guest ->> 'given_name', v_guest ->> 'family_name',
        v_guest ->> 'email', v_guest ->> 'phone', p_hotel_id);
    -- no rate plan named: the cheapest bookable one of the room type
    if v_rate_plan is null then
        select a.rate_plan_id into v_rate_plan
        from internal.search_availability(p_hotel_id, p_check_in, p_check_out, p_adults, p_children, p_rooms, v_customer_id) a
        where a.room_type_id = p_room_type_id
        order by a.total, a.rate_plan_id
        limit 1;
        if v_rate_plan is null then
            perform internal.require_room_type(p_hotel_id, p_room_type_id);
            perform internal.raise_error('INVENTORY_UNAVAILABLE',
                format('room type %s has no bookable rate plan for [%s, %s) with %s room(s)', p_room_type_id,
                       p_check_in, p_check_out, p_rooms),
                'choose other dates or another room type');
        end if;
    end if;
    -- 1. inventory: every night open and sellable, at the price the guest was shown
    v_quote := internal.quote(p_hotel_id, p_room_type_id, v_rate_plan, p_check_in, p_check_out, p_adults, p_children,
                         p_rooms, v_customer_id);
    if not (v_quote ->> 'bookable')::boolean then
        perform internal.raise_error('INVENTORY_UNAVAILABLE',
            format('room type %s: %s room(s) left for [%s, %s), %s asked', p_room_type_id, v_quote ->> 'available_rooms',
                   p_check_in, p_check_out, p_rooms),
            'choose other dates or fewer rooms');
    end if;
    if upper(coalesce(p_currency, '')) <> v_quote ->> 'currency' then
        perform internal.raise_error('CURRENCY_MISMATCH',
            format('payment.currency %s, the hotel sells in %s', p_currency, v_quote ->> 'currency'), 'pay in the hotel''s currency');
    end if;
    if p_amount <> (v_quote ->> 'total')::numeric then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('payment.amount %s, the quoted total is %s', p_amount, v_quote ->> 'total'), 'quote again and pay the total');
    end if;
    insert into core.checkout_sagas (hotel_id, api_key_id, idempotency_key_id, room_type_id, rate_plan_id, stay, rooms,
        adults, children, origin, special_requests, request, currency, amount, step, customer_id, created_at, updated_at,
        owner)
    values (p_hotel_id, internal.request_api_key_id(), p_idempotency_key_id, p_room_type_id, v_rate_plan,
        daterange(p_check_in, p_check_out), p_rooms, p_adults, p_children,
        -- the caller's rights decide: hotel-member books only as origin member
        case when not internal.has_right('reservation.update') then 'member'
             when v_system = 'member' then 'member' when v_system = 'pms' then 'pms' else 'direct' end,
        p_request ->> 'special_requests', p_request - 'special_requests', v_quote ->> 'currency',
        (v_quote ->> 'total')::numeric, 'inventory_checked', v_customer_id, internal.now(), internal.now(),
        internal.request_owner())
    returning * into v_saga;
    perform internal.checkout_log(v_saga, 'inventory_checked', 'done', jsonb_build_object('quote', v_quote));
    return query select v_saga.id, v_saga.attempt, (v_quote ->> 'total')::numeric, (v_quote ->> 'currency')::char(3), v_quote,
                        v_saga;
end
$$;
comment on function internal.checkout_begin(bigint, bigint, bigint, bigint, date, date, integer, integer, integer, numeric, text, jsonb) is
    'The body of api.checkout_begin without its rights check (callers check them), also returning the quote the amount was checked against and the saga row written (for the hold of the same transaction): finds or creates the booker (p_request.guest), checks every night is sellable (INVENTORY_UNAVAILABLE), that the amount is the quoted total (INVALID_ARGUMENT naming it) in the hotel''s currency (CURRENCY_MISMATCH), and starts the saga. No rate plan: the cheapest bookable one.';

create function api.checkout_begin(
    p_idempotency_key_id bigint,
    p_hotel_id           bigint,
    p_room_type_id       bigint,
    p_rate_plan_id       bigint,
    p_check_in           date,
    p_check_out          date,
    p_rooms              integer,
    p_adults             integer,
    p_children           integer,
    p_amount             numeric,
    p_currency           text,
    p_request            jsonb
) returns table (saga_id bigint, attempt integer, amount numeric, currency char(3))
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    -- a saga step: the HTTP service's, for a system that may book (seed 000's matrix)
    perform internal.require_service('checkout_begin');
    perform internal.require_right('reservation.create');
    return query
    select b.saga_id, b.attempt, b.amount, b.currency
    from internal.checkout_begin(p_idempotency_key_id, p_hotel_id, p_room_type_id, p_rate_plan_id, p_check_in, p_check_out,
                                 p_rooms, p_adults, p_children, p_amount, p_currency, p_request) b;
end
$$;
comment on function api.checkout_begin(bigint, bigint, bigint, bigint, date, date, integer, integer, integer, numeric, text, jsonb) is
    'Checkout step 1 (seed 001): finds or creates the booker (p_request.guest), checks every night is sellable (INVENTORY_UNAVAILABLE), that the amount is the quoted total (INVALID_ARGUMENT naming it) in the hotel''s currency (CURRENCY_MISMATCH), and starts the saga. No rate plan: the cheapest bookable one.';

create function internal.checkout_hold(p_saga core.checkout_sagas, p_quote jsonb default null)
returns table (hold_id bigint, expires_at timestamptz)
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_hold record;
begin
    -- (steps happen in order, once: the caller locked the saga at step inventory_checked with
    -- internal.checkout_for_step, or wrote it so in this transaction with internal.checkout_begin)
    -- 2. hold the rooms (180 s, the hotel's hold TTL); the saga id is the hold's client key
    select * into v_hold
    from internal.create_hold(p_saga.hotel_id, p_saga.room_type_id, p_saga.rate_plan_id, lower(p_saga.stay), upper(p_saga.stay),
                         p_saga.rooms, p_saga.adults, p_saga.children, p_saga.customer_id, 'checkout-' || p_saga.id,
                         p_quote => p_quote) h;
    update core.checkout_sagas s set step = 'held', hold_id = v_hold.hold_id, updated_at = internal.now()
    where s.id = p_saga.id;
    perform internal.checkout_log(p_saga, 'held', 'done',
        jsonb_build_object('hold_id', v_hold.hold_id, 'expires_at', v_hold.expires_at));
    return query select v_hold.hold_id, v_hold.expires_at;
end
$$;
comment on function internal.checkout_hold(core.checkout_sagas, jsonb) is
    'The body of api.checkout_hold without its rights check (callers check them): holds the rooms of p_saga (a saga at step inventory_checked that the caller locked or wrote in this transaction) and records the hold on the saga. p_quote: the quote step 1 checked the amount against in this transaction, whose prices the hold keeps (null: the hold prices the stay).';

create function api.checkout_hold(p_saga_id bigint, p_attempt integer)
returns table (hold_id bigint, expires_at timestamptz)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_quote jsonb;
begin
    -- a saga step: the HTTP service's, for a system that may book (seed 000's matrix)
    perform internal.require_service('checkout_hold');
    perform internal.require_right('reservation.create');
    -- the quote step 1 checked the amount against, when step 1 ran in this transaction (its log
    -- row carries this transaction's instant; a later transaction starts later, and the saga's
    -- savepoints give its rows subtransaction ids, so xmin cannot tell): the hold keeps its
    -- prices instead of pricing the stay again
    select st.detail -> 'quote' into v_quote
    from core.checkout_saga_steps st
    where st.saga_id = p_saga_id and st.step = 'inventory_checked' and st.outcome = 'done'
      and st.at = internal.now()
    order by st.id desc
    limit 1;
    return query
    select h.hold_id, h.expires_at
    from internal.checkout_hold(internal.checkout_for_step(p_saga_id, p_attempt, array['inventory_checked']), v_quote) h;
end
$$;
comment on function api.checkout_hold(bigint, integer) is
    'Checkout step 2: holds the rooms for the hold TTL (180 s) and records the hold on the saga, in one transaction.';

create function internal.checkout_authorised(p_saga core.checkout_sagas, p_authorisation_ref text)
returns core.checkout_sagas
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_saga core.checkout_sagas := p_saga;
begin
    -- (steps happen in order, once: the caller locked the saga at step held with
    -- internal.checkout_for_step)
    if nullif(btrim(p_authorisation_ref), '') is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'authorisation reference is empty', 'pass the gateway''s authorisation id');
    end if;
    -- 3. the payment gateway pre-authorised the amount: the step is logged here and returned on
    -- the row, which the caller writes (with the confirmation, when it follows in the transaction)
    v_saga.step := 'authorised';
    v_saga.authorisation_ref := p_authorisation_ref;
    perform internal.checkout_log(v_saga, 'authorised', 'done', jsonb_build_object('authorisation_ref', p_authorisation_ref));
    return v_saga;
end
$$;
comment on function internal.checkout_authorised(core.checkout_sagas, text) is
    'Step 3 on a saga the caller locked at step held: checks the gateway''s pre-authorisation reference, logs the step and returns the saga row at step authorised with the reference, for the caller to write (api.checkout_authorised alone, internal.checkout_confirm with the confirmation).';

create function api.checkout_authorised(p_saga_id bigint, p_attempt integer, p_authorisation_ref text)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_saga core.checkout_sagas;
begin
    -- a saga step: the HTTP service's, for a system that may book (seed 000's matrix)
    perform internal.require_service('checkout_authorised');
    perform internal.require_right('reservation.create');
    v_saga := internal.checkout_authorised(internal.checkout_for_step(p_saga_id, p_attempt, array['held']),
                                           p_authorisation_ref);
    update core.checkout_sagas s set step = v_saga.step, authorisation_ref = v_saga.authorisation_ref, updated_at = internal.now()
    where s.id = v_saga.id;
end
$$;
comment on function api.checkout_authorised(bigint, integer, text) is
    'Checkout step 3: records the gateway''s pre-authorisation of the amount on the saga.';

create function internal.checkout_confirm(p_saga core.checkout_sagas)
returns table (reservation_id bigint, confirmation_code text)
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_saga       core.checkout_sagas := p_saga;
    v_res        record;
    v_payment_id bigint;
begin
    -- (steps happen in order, once: the caller locked the saga at step authorised with
    -- internal.checkout_for_step, or at step held and authorised it in this transaction with
    -- internal.checkout_authorised; the authorisation is written here with the confirmation then)
    -- 4. the hold becomes a confirmed reservation carrying the authorisation, and the
    -- pre-authorisation is recorded on its folio, in the same transaction
    select * into v_res
    from internal.confirm_booking(v_saga.hold_id, v_saga.customer_id, v_saga.authorisation_ref, v_saga.origin,
                             v_saga.special_requests) c;
    v_payment_id := internal.authorise_payment(v_res.reservation_id, 'card', v_saga.amount, v_saga.authorisation_ref,
                                          v_saga.currency, false, internal.request_app_user());
    update core.checkout_sagas s
    set step = 'confirmed', authorisation_ref = v_saga.authorisation_ref, reservation_id = v_res.reservation_id,
        payment_id = v_payment_id, updated_at = internal.now()
    where s.id = v_saga.id;
    perform internal.checkout_log(v_saga, 'confirmed', 'done',
        jsonb_build_object('reservation_id', v_res.reservation_id, 'confirmation_code', v_res.confirmation_code));
    return query select v_res.reservation_id, v_res.confirmation_code;
end
$$;
comment on function internal.checkout_confirm(core.checkout_sagas) is
    'The body of api.checkout_confirm without its rights check (callers check them): confirms the hold of p_saga (a saga at step authorised the caller locked, or authorised in this transaction) into a reservation with the pre-authorisation reference and records both on the saga.';

create function api.checkout_confirm(p_saga_id bigint, p_attempt integer)
returns table (reservation_id bigint, confirmation_code text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
begin
    -- a saga step: the HTTP service's, for a system that may book (seed 000's matrix)
    perform internal.require_service('checkout_confirm');
    perform internal.require_right('reservation.create');
    return query
    select c.reservation_id, c.confirmation_code
    from internal.checkout_confirm(internal.checkout_for_step(p_saga_id, p_attempt, array['authorised'])) c;
end
$$;
comment on function api.checkout_confirm(bigint, integer) is
    'Checkout step 4: confirms the saga''s hold into a reservation with the pre-authorisation reference, in one transaction with the saga step.';

create function api.checkout_captured(p_saga_id bigint, p_attempt integer, p_capture_ref text)
returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_saga core.checkout_sagas;
begin
    -- a saga step: the HTTP service's, for a system that may book (seed 000's matrix)
    perform internal.require_service('checkout_captured');
    perform internal.require_right('reservation.create');
    v_saga := internal.checkout_for_step(p_saga_id, p_attempt, array['confirmed']);
    if nullif(btrim(p_capture_ref), '') is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'capture reference is empty', 'pass the gateway''s capture id');
    end if;
    -- 5. the payment was captured: the folio records it and the checkout succeeded
    perform internal.capture_payment(v_saga.payment_id, v_saga.amount, internal.request_app_user());
    update core.checkout_sagas s
    set step = 'captured', status = 'succeeded', capture_ref = p_capture_ref, updated_at = internal.now()
    where s.id = v_saga.id
    returning * into v_saga;
    perform internal.checkout_log(v_saga, 'captured', 'done', jsonb_build_object('capture_ref', p_capture_ref));
    return internal.checkout_result(v_saga);
end
$$;
comment on function api.checkout_captured(bigint, integer, text) is
    'Checkout step 5: records the capture; the saga succeeded. Returns seed 001''s answer (bookingId, confirmationNumber, ...).';

-- ---------------------------------------------------------------------------- one call per transaction
-- The saga's first two transactions as one call each (the steps' internal bodies, called in order
-- after one rights check): a transaction is then BEGIN, api.authenticate, one call and COMMIT.

create function api.checkout_start(
    p_idempotency_key    text,
    p_fingerprint        bytea,
    p_hotel_id           bigint,
    p_room_type_id       bigint,
    p_rate_plan_id       bigint,
    p_check_in           date,
    p_check_out          date,
    p_rooms              integer,
    p_adults             integer,
    p_children           integer,
    p_amount             numeric,
    p_currency           text,
    p_request            jsonb,
    p_idempotency_key_id bigint default null,
    p_hold               boolean default true
) returns table (idempotency_key_id bigint, replayed boolean, response_status integer, response_body bytea,
                 saga_id bigint, attempt integer, amount numeric, currency char(3), held boolean,
                 refused_step text, refused_sqlstate text, refused_message text, refused_detail text,
                 refused_hint text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_key_id   bigint := p_idempotency_key_id;
    v_replayed boolean := false;
    v_status   integer;
    v_body     bytea;
    v_saga     record;
    v_state    text;
    v_message  text;
    v_detail   text;
    v_hint     text;
begin
    -- a saga step: the HTTP service's, for a system that may book (seed 000's matrix)
    perform internal.require_service('checkout_start');
    perform internal.require_right('reservation.create');
    if p_idempotency_key is not null and p_idempotency_key_id is not null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_idempotency_key and p_idempotency_key_id are both given',
            'pass the Idempotency-Key to record it here, or the id of a record started before');
    end if;
    -- the idempotency record first: a retry gets the stored answer, the same key with another
    -- request IDEMPOTENCY_MISMATCH, one still running IDEMPOTENCY_IN_PROGRESS (raised)
    if p_idempotency_key is not null then
        select b.idempotency_key_id, b.replayed, b.response_status, b.response_body
        into v_key_id, v_replayed, v_status, v_body
        from internal.begin_idempotent(p_idempotency_key, p_fingerprint) b;
        if v_replayed then
            return query select v_key_id, true, v_status, v_body, null::bigint, null::integer, null::numeric,
                                null::char(3), false, null::text, null::text, null::text, null::text, null::text;
            return;
        end if;
    end if;
    -- 1. the inventory check and the saga row. Without a record a refusal is raised (nothing is
    -- written); with one the refusal is answered as data, the record kept, so that the caller stores
    -- the refusal's answer on it in this transaction (a conflict to retry is raised either way)
    if v_key_id is null then
        select * into v_saga
        from internal.checkout_begin(null, p_hotel_id, p_room_type_id, p_rate_plan_id, p_check_in, p_check_out, p_rooms,
                                     p_adults, p_children, p_amount, p_currency, p_request) b;
    else
        begin
            select * into v_saga
            from internal.checkout_begin(v_key_id, p_hotel_id, p_room_type_id, p_rate_plan_id, p_check_in, p_check_out,
                                         p_rooms, p_adults, p_children, p_amount, p_currency, p_request) b;
        exception
            when serialization_failure or deadlock_detected then
                raise;
            when others then
                get stacked diagnostics v_state = returned_sqlstate, v_message = message_text,
                                        v_detail = pg_exception_detail, v_hint = pg_exception_hint;
                return query select v_key_id, false, null::integer, null::bytea, null::bigint, null::integer,
                                    null::numeric, null::char(3), false, 'begin', v_state, v_message,
                                    nullif(v_detail, ''), nullif(v_hint, '');
                return;
        end;
    end if;
    if not coalesce(p_hold, true) then
        return query select v_key_id, false, null::integer, null::bytea, v_saga.saga_id, v_saga.attempt, v_saga.amount,
                            v_saga.currency, false, null::text, null::text, null::text, null::text, null::text;
        return;
    end if;
    -- 2. the hold, at the prices of the quote just checked; a refused hold keeps the saga row (the
    -- inventory was checked) for the caller to compensate, and is answered as data
    begin
        perform internal.checkout_hold(v_saga.saga, v_saga.quote);
    exception
        when serialization_failure or deadlock_detected then
            raise;
        when others then
            get stacked diagnostics v_state = returned_sqlstate, v_message = message_text,
                                    v_detail = pg_exception_detail, v_hint = pg_exception_hint;
            return query select v_key_id, false, null::integer, null::bytea, v_saga.saga_id, v_saga.attempt,
                                v_saga.amount, v_saga.currency, false, 'hold', v_state, v_message,
                                nullif(v_detail, ''), nullif(v_hint, '');
            return;
    end;
    return query select v_key_id, false, null::integer, null::bytea, v_saga.saga_id, v_saga.attempt, v_saga.amount,
                        v_saga.currency, true, null::text, null::text, null::text, null::text, null::text;
end
$$;
comment on function api.checkout_start(text, bytea, bigint, bigint, bigint, date, date, integer, integer, integer, numeric, text, jsonb, bigint, boolean) is
    'Checkout steps 0-2 in one call (the saga''s first transaction): the Idempotency-Key record (as api.begin_idempotent; a completed one answers replayed with its stored answer), the inventory check and saga row (as api.checkout_begin) and the hold at the prices just checked (as api.checkout_hold; p_hold false stops before it). A refusal of step 1 raises without a record, and with one is returned (refused_step begin, its SQLSTATE, message, DETAIL and HINT) with the record kept for its answer; a refused hold is returned the same way (refused_step hold) with the saga row kept for compensation. Conflicts to retry are raised.';

create function api.checkout_confirm_authorised(p_saga_id bigint, p_attempt integer, p_authorisation_ref text)
returns table (reservation_id bigint, confirmation_code text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_saga core.checkout_sagas;
begin
    -- a saga step: the HTTP service's, for a system that may book (seed 000's matrix)
    perform internal.require_service('checkout_confirm_authorised');
    perform internal.require_right('reservation.create');
    -- steps 3 and 4 in one transaction, the saga row written once (at step confirmed, with the
    -- authorisation); a refusal names its step in its error context (internal.checkout_for_step or
    -- internal.checkout_authorised: the authorisation; internal.checkout_confirm: the confirmation)
    v_saga := internal.checkout_authorised(internal.checkout_for_step(p_saga_id, p_attempt, array['held']),
                                           p_authorisation_ref);
    return query select c.reservation_id, c.confirmation_code from internal.checkout_confirm(v_saga) c;
end
$$;
comment on function api.checkout_confirm_authorised(bigint, integer, text) is
    'Checkout steps 3 and 4 in one call (the saga''s second transaction): records the pre-authorisation (as api.checkout_authorised), then confirms the hold into a reservation (as api.checkout_confirm). A refusal is raised, its error context naming the step that refused.';

create function api.checkout_compensate(
    p_saga_id              bigint,
    p_attempt              integer,
    p_error_code           text,
    p_error_detail         text,
    p_authorisation_voided boolean
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_saga core.checkout_sagas;
begin
    -- a saga step: the HTTP service's, for a system that may book (seed 000's matrix)
    perform internal.require_service('checkout_compensate');
    perform internal.require_right('reservation.create');
    v_saga := internal.checkout_of_attempt(p_saga_id, p_attempt);
    if v_saga.status <> 'running' then
        return internal.checkout_document(p_saga_id);
    end if;
    if p_error_code is null or not exists (select 1 from core.error_codes e where e.name = p_error_code) then
        perform internal.raise_error('INVALID_ARGUMENT', format('error code %L is not registered', p_error_code),
            'pass a name from api.error_codes, e.g. PAYMENT_PREAUTH_FAILED');
    end if;
    -- the folio's pre-authorisation is voided with the gateway's one
    if v_saga.payment_id is not null and coalesce(p_authorisation_voided, false)
       and exists (select 1 from core.payments p where p.id = v_saga.payment_id and p.status = 'preauthorised') then
        perform internal.void_payment(v_saga.payment_id, internal.request_app_user());
    end if;
    -- a booking made by the saga and not paid is cancelled
    if v_saga.reservation_id is not null and not v_saga.booking_cancelled
       and exists (select 1 from core.reservations r where r.id = v_saga.reservation_id and r.status in ('pending', 'confirmed')) then
        perform internal.cancel_reservation(v_saga.reservation_id, null, format('checkout %s failed: %s', p_saga_id, p_error_code));
        v_saga.booking_cancelled := true;
        perform internal.checkout_log(v_saga, 'confirmed', 'compensated', '{}'::jsonb);
    end if;
    -- a hold still active is released (an expired one gives its rooms back by itself)
    if v_saga.hold_id is not null and not v_saga.hold_released
       and exists (select 1 from core.holds h where h.id = v_saga.hold_id and h.status = 'active') then
        perform internal.release_hold(v_saga.hold_id);
        perform internal.checkout_log(v_saga, 'held', 'compensated', '{}'::jsonb);
    end if;
    v_saga.hold_released := v_saga.hold_id is not null;
    if coalesce(p_authorisation_voided, false) and not v_saga.authorisation_voided then
        v_saga.authorisation_voided := true;
        perform internal.checkout_log(v_saga, 'authorised', 'compensated', '{}'::jsonb);
    end if;
    -- failed once every compensation is done; a void still owed keeps it running for recovery
    update core.checkout_sagas s
    set error_code = coalesce(s.error_code, p_error_code),
        error_detail = coalesce(s.error_detail, left(p_error_detail, 1000)),
        booking_cancelled = v_saga.booking_cancelled,
        hold_released = v_saga.hold_released,
        authorisation_voided = v_saga.authorisation_voided,
        status = case when coalesce(p_authorisation_voided, false) then 'failed' else 'running' end,
        step = case when coalesce(p_authorisation_voided, false) then 'compensated' else s.step end,
        updated_at = internal.now()
    where s.id = p_saga_id;
    perform internal.checkout_log(v_saga, v_saga.step, 'failed',
        jsonb_build_object('error_code', p_error_code, 'detail', p_error_detail));
    return internal.checkout_document(p_saga_id);
end
$$;
comment on function api.checkout_compensate(bigint, integer, text, text, boolean) is
    'Compensates a failed checkout in one transaction: cancels the booking it made, releases its hold, records the void of the pre-authorisation (done by the caller at the gateway). The saga ends failed with p_error_code; while a void is still owed it stays running for recovery.';

create function api.claim_stalled_checkouts(p_stale_after interval default interval '2 minutes', p_limit integer default 100)
returns table (saga_id bigint, attempt integer, status text, step text, error_code text, error_detail text,
               authorisation_ref text, amount numeric, currency char(3), reservation_id bigint,
               idempotency_key_id bigint, request jsonb)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
begin
    -- recovery: the HTTP service's job, run without a request (seed 000's matrix: maintenance)
    perform internal.require_service('claim_stalled_checkouts');
    perform internal.require_right('maintenance.run');
    if p_stale_after is null or p_stale_after < interval '0' then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('p_stale_after = %s, expected zero or more', coalesce(p_stale_after::text, 'null')),
            'pass an interval such as ''2 minutes''');
    end if;
    perform internal.require_count('p_limit', p_limit, 1, 100000);
    -- running sagas untouched for p_stale_after (their runner died), and finished ones whose
    -- idempotency record was never completed; each claimed one moves to the next attempt, so
    -- the first runner's later steps are refused
    return query
    with stalled as (
        select s.id from core.checkout_sagas s
        where s.updated_at <= internal.now() - p_stale_after
          and (s.status = 'running'
               or exists (select 1 from core.idempotency_keys k
                          where k.id = s.idempotency_key_id and k.status = 'in_progress'))
        order by s.updated_at
        limit p_limit
        for update skip locked
    )
    update core.checkout_sagas s
    set attempt = s.attempt + 1, updated_at = internal.now()
    from stalled
    where s.id = stalled.id
    returning s.id, s.attempt, s.status, s.step, s.error_code, s.error_detail, s.authorisation_ref, s.amount, s.currency,
              s.reservation_id, s.idempotency_key_id, s.request;
end
$$;
comment on function api.claim_stalled_checkouts(interval, integer) is
    'Recovery job: takes over the checkout sagas stopped between steps for p_stale_after (and finished ones whose idempotency answer was never stored), raising their attempt so the first runner can no longer act.';

create function api.get_checkout(p_saga_id bigint) returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_doc jsonb;
begin
    perform internal.require_right('reservation.create');
    v_doc := internal.checkout_document(p_saga_id);
    -- a checkout is seen by who started it only
    if v_doc is null or not internal.in_request_scope((v_doc ->> 'hotelId')::bigint)
       or not exists (select 1 from core.checkout_sagas s where s.id = p_saga_id and internal.owned_by_caller(s.owner)) then
        perform internal.raise_error('RESERVATION_NOT_FOUND', format('checkout %s', p_saga_id), 'check the checkout id');
    end if;
    return v_doc;
end
$$;
comment on function api.get_checkout(bigint) is 'A checkout saga: status, last step, what it holds (hold, booking), and seed 001''s answer once it succeeded.';
