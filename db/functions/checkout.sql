-- The HTTP layer's functions (seeds 000 and 001): API keys and the request context, idempotency
-- records, and the checkout saga's steps. Each saga step that touches the ledger does it in the
-- same transaction as it records itself, so the saga row never disagrees with the ledger.

-- ---------------------------------------------------------------------------- request context
-- Every reader below takes the request's identity from core.request_identity(): what
-- api.authenticate signed for this transaction, never a setting a client can write. PL/pgSQL,
-- not SQL: a SQL function with a SET clause is planned again at every call.

create function internal.request_system() returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    return (core.request_identity()).system;
end
$$;
comment on function internal.request_system() is
    'The client system of the current request (member, pms, saas), as api.authenticate recorded it for the transaction; null outside a request.';

create function internal.in_request_scope(p_hotel_id bigint) returns boolean
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    -- the login's hotels (core.login_hotels) intersected with the request's API key's
    select internal.hotel_visible(p_hotel_id)
$$;
comment on function internal.in_request_scope(bigint) is
    'True when p_hotel_id is in the caller''s hotel scope: the request''s API key''s hotels (every hotel outside a request), narrowed by the login''s (core.hotel_scope).';

create function internal.vouched_app_user(p_api_key_id bigint, p_given text) returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    -- as given, prefixed by who vouched for it: the API key of the request, else the login
    if p_api_key_id is not null then
        return 'key-' || p_api_key_id || coalesce(':' || nullif(p_given, ''), '');
    end if;
    return case when nullif(p_given, '') is not null then 'login-' || session_user::text || ':' || p_given end;
end
$$;
comment on function internal.vouched_app_user(bigint, text) is
    'An application user as given, prefixed by who vouched for it: key-<id>: for a request''s API key, login-<login>: outside a request (null when nobody was named).';

create function internal.request_app_user() returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_identity record := core.request_identity();
begin
    if v_identity.api_key_id is not null then
        return internal.vouched_app_user(v_identity.api_key_id, v_identity.app_user);
    end if;
    return internal.vouched_app_user(null, pg_catalog.current_setting('hotelcore.app_user', true));
end
$$;
comment on function internal.request_app_user() is
    'Who the current request acts for, for the logs: key-<id>:<user> inside a request (the user the API key''s caller named, X-App-User), login-<login>:<user> outside one (hotelcore.app_user as the SQL client set it), null when nobody was named outside a request.';

create function internal.request_api_key_id() returns bigint
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    return (core.request_identity()).api_key_id;
end
$$;
comment on function internal.request_api_key_id() is
    'The API key of the current request, as api.authenticate recorded it for the transaction; null outside a request.';

create function internal.request_owner() returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    return coalesce('key:' || (core.request_identity()).api_key_id, 'login:' || session_user::text);
end
$$;
comment on function internal.request_owner() is
    'Who owns what the caller starts (a hold, a checkout): key:<api key id> inside a request, login:<login> outside one.';

create function internal.owned_by_caller(p_owner text) returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_key bigint := internal.request_api_key_id();
begin
    -- the owner itself; outside a request an unrestricted caller (recovery, maintenance) sees all;
    -- a hold nobody owns (a waitlist offer, made for whoever books it) is seen by the hotel's callers
    return p_owner is null
        or p_owner = coalesce('key:' || v_key, 'login:' || session_user::text)
        or (v_key is null and internal.caller_unrestricted());
end
$$;
comment on function internal.owned_by_caller(text) is
    'True when p_owner (of a hold or a checkout) is the caller (internal.request_owner), the caller is unrestricted and outside a request, or nobody owns it (a waitlist offer''s hold).';

-- ---------------------------------------------------------------------------- API keys

create function internal.new_api_key(
    p_system     text,
    p_hotel_ids  bigint[],
    p_label      text,
    p_expires_at timestamptz,
    p_replaces   bigint
) returns table (api_key_id bigint, token text)
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_token text;
    v_id    bigint;
begin
    -- 256 random bits from two v4 UUIDs (gen_random_uuid uses the strong random source)
    v_token := 'hc_' || p_system || '_'
        || replace(pg_catalog.gen_random_uuid()::text, '-', '') || replace(pg_catalog.gen_random_uuid()::text, '-', '');
    insert into core.api_keys (system, label, key_prefix, key_hash, created_at, expires_at, replaces_id)
    values (p_system, coalesce(p_label, ''), left(v_token, length(p_system) + 12),
            pg_catalog.sha256(pg_catalog.convert_to(v_token, 'UTF8')), internal.now(), p_expires_at, p_replaces)
    returning id into v_id;
    insert into core.api_key_hotels (api_key_id, hotel_id)
    select v_id, x.id from (select distinct unnest(p_hotel_ids) as id) x;
    return query select v_id, v_token;
end
$$;
comment on function internal.new_api_key(text, bigint[], text, timestamptz, bigint) is
    'Stores a new API key (its sha256 only) with its hotels; returns its id and the token, shown once.';

create function api.issue_api_key(
    p_system     text,
    p_hotel_ids  bigint[],
    p_label      text default '',
    p_expires_at timestamptz default null
) returns table (api_key_id bigint, token text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_missing bigint;
begin
    perform internal.require_right('api_keys.manage');
    -- one of the seed's client systems
    if p_system is null or p_system not in ('member', 'pms', 'saas') then
        perform internal.raise_error('INVALID_ARGUMENT', format('system %L is not member, pms or saas', p_system),
            'pass member, pms or saas');
    end if;
    -- at least one hotel, each existing
    if p_hotel_ids is null or cardinality(p_hotel_ids) = 0 or array_position(p_hotel_ids, null) is not null then
        perform internal.raise_error('INVALID_ARGUMENT', 'hotel_ids is empty or holds a null',
            'pass the ids of the hotels the key may see');
    end if;
    select x.id into v_missing
    from unnest(p_hotel_ids) as x(id)
    where not exists (select 1 from core.hotels h where h.id = x.id)
    limit 1;
    if v_missing is not null then
        perform internal.raise_error('HOTEL_NOT_FOUND', format('hotel_id %s', v_missing), 'check the hotel ids');
    end if;
    -- an expiry lies ahead
    if p_expires_at is not null and (p_expires_at <= internal.now() or not isfinite(p_expires_at)) then
        perform internal.raise_error('INVALID_ARGUMENT', format('expires_at %s is not a future instant', p_expires_at),
            'pass a future instant, or null for a key that does not expire');
    end if;
    return query select * from internal.new_api_key(p_system, p_hotel_ids, p_label, p_expires_at, null);
end
$$;
comment on function api.issue_api_key(text, bigint[], text, timestamptz) is
    'Issues an API key for a client system (member, pms, saas) scoped to p_hotel_ids, valid until p_expires_at (null: no expiry). The token is returned once; only its sha256 is stored.';

create function api.rotate_api_key(
    p_api_key_id bigint,
    p_grace      interval default interval '1 day',
    p_expires_at timestamptz default null
) returns table (api_key_id bigint, token text, old_key_expires_at timestamptz)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_old     core.api_keys;
    v_until   timestamptz;
    v_new     record;
begin
    -- chain administration
    perform internal.require_right('api_keys.manage');
    if p_grace is null or p_grace < interval '0' or p_grace > interval '30 days' then
        perform internal.raise_error('INVALID_ARGUMENT', format('grace %s, expected 0 to 30 days', coalesce(p_grace::text, 'null')),
            'pass how long the old key keeps working, e.g. ''1 day''');
    end if;
    if p_expires_at is not null and (p_expires_at <= internal.now() or not isfinite(p_expires_at)) then
        perform internal.raise_error('INVALID_ARGUMENT', format('expires_at %s is not a future instant', p_expires_at),
            'pass a future instant, or null for a key that does not expire');
    end if;
    -- an active key: not revoked, not expired (one rotation at a time, under the row lock)
    select k.* into v_old from core.api_keys k
    where k.id = p_api_key_id and k.revoked_at is null and (k.expires_at is null or k.expires_at > internal.now())
    for update;
    if v_old.id is null then
        perform internal.raise_error('API_KEY_NOT_FOUND', format('api key %s', coalesce(p_api_key_id::text, 'null')),
            'list the keys (hotelcore apikey list) and rotate an active one');
    end if;
    -- the new key: same system, hotels and label; the old one keeps working for the grace period
    select * into v_new from internal.new_api_key(v_old.system,
        array(select h.hotel_id from core.api_key_hotels h where h.api_key_id = v_old.id), v_old.label,
        p_expires_at, v_old.id) n;
    v_until := least(coalesce(v_old.expires_at, 'infinity'), internal.now() + p_grace);
    if v_until <= v_old.created_at then
        -- no grace: the old key ends now (its expiry must stay after its creation)
        update core.api_keys k set revoked_at = internal.now() where k.id = v_old.id;
    else
        update core.api_keys k set expires_at = v_until where k.id = v_old.id;
    end if;
    return query select v_new.api_key_id, v_new.token, v_until;
end
$$;
comment on function api.rotate_api_key(bigint, interval, timestamptz) is
    'Rotation: issues a new key for the same system, hotels and label (valid until p_expires_at), and lets the old one work for p_grace more (at most until its own expiry). API_KEY_NOT_FOUND for an unknown, revoked or expired key.';

create function api.revoke_api_key(p_api_key_id bigint) returns boolean
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
    -- chain administration
    select internal.require_right('api_keys.manage');
    update core.api_keys set revoked_at = internal.now()
    where id = p_api_key_id and revoked_at is null
    returning true
$$;
comment on function api.revoke_api_key(bigint) is 'Revokes an API key: its token is refused from now on. True when it was active.';

create function api.list_api_keys()
returns table (api_key_id bigint, system text, label text, key_prefix text, hotel_ids bigint[], created_at timestamptz,
               expires_at timestamptz, last_used_at timestamptz, revoked_at timestamptz, replaces_id bigint,
               status text)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    -- chain administration
    perform internal.require_right('api_keys.manage');
    return query
    select k.id, k.system, k.label, k.key_prefix,
           array(select h.hotel_id from core.api_key_hotels h where h.api_key_id = k.id order by h.hotel_id),
           k.created_at, k.expires_at, k.last_used_at, k.revoked_at, k.replaces_id,
           case when k.revoked_at is not null then 'revoked'
                when k.expires_at <= internal.now() then 'expired'
                else 'active' end
    from core.api_keys k
    order by k.id;
end
$$;
comment on function api.list_api_keys() is
    'Every API key without its secret: system, label, token prefix, hotels, created, expiry, last use (to the minute), revocation, the key it replaced, and its status (active, expired, revoked).';

create function api.authenticate(
    p_token    text,
    p_systems  text[] default null,
    p_app_user text default null
) returns table (api_key_id bigint, system text, hotel_ids bigint[], db_role text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_key     core.api_keys;
    v_hotels  bigint[];
    v_role    text;
    v_payload text;
begin
    perform internal.require_right('request.context');
    -- a known, unrevoked, unexpired key
    select k.* into v_key
    from core.api_keys k
    where k.key_hash = pg_catalog.sha256(pg_catalog.convert_to(coalesce(p_token, ''), 'UTF8'))
      and k.revoked_at is null;
    if v_key.id is null then
        perform internal.raise_error('AUTHENTICATION_FAILED', 'the API key is unknown or revoked',
            'send X-API-Key (or Authorization: Bearer) with a key from hotelcore apikey create');
    end if;
    if v_key.expires_at <= internal.now() then
        perform internal.raise_error('AUTHENTICATION_FAILED', format('the API key expired at %s', v_key.expires_at),
            'use the key that replaced it, or ask for a new one (hotelcore apikey rotate)');
    end if;
    -- the endpoint belongs to one of p_systems (seed 000's responsibility matrix)
    if p_systems is not null and not (v_key.system = any (p_systems)) then
        perform internal.raise_error('PERMISSION_DENIED',
            format('system %s may not call this endpoint (it serves %s)', v_key.system, array_to_string(p_systems, ', ')),
            'use a key of the system that owns the endpoint');
    end if;
    -- the login must be able to act as the key's system: a request never runs with the login's own rights
    v_role := 'hotelcore_' || v_key.system;
    if not pg_catalog.pg_has_role(session_user, v_role, 'MEMBER') then
        perform internal.raise_error('SYSTEM_ROLE_NOT_GRANTED',
            format('login %s is not a member of %s', session_user, v_role),
            format('GRANT %s TO %s (the HTTP service''s login is a member of hotelcore_member, hotelcore_pms, hotelcore_saas and hotelcore_service)',
                   v_role, session_user));
    end if;
    select coalesce(array_agg(h.hotel_id order by h.hotel_id), '{}') into v_hotels
    from core.api_key_hotels h where h.api_key_id = v_key.id;
    -- the identity of the transaction, signed (core.request_identity reads it); transaction-scoped,
    -- so a pooled connection forgets it at commit or rollback
    v_payload := v_key.id || '/' || v_key.system || '/' || array_to_string(v_hotels, ',') || '/'
        || pg_catalog.encode(pg_catalog.convert_to(coalesce(left(p_app_user, 200), ''), 'UTF8'), 'hex');
    perform pg_catalog.set_config('hotelcore.request',
        pg_catalog.encode(core.request_mac(v_payload), 'hex') || ':' || v_payload, true);
    -- a label for the triggers and routes that pass it on (never used for rights)
    perform pg_catalog.set_config('hotelcore.app_user', internal.vouched_app_user(v_key.id, left(p_app_user, 200)), true);
    -- last use, to the minute: never waits for a concurrent request's lock, never written read-only
    if (v_key.last_used_at is null or v_key.last_used_at < internal.now() - interval '1 minute')
       and pg_catalog.current_setting('transaction_read_only') = 'off' then
        update core.api_keys k set last_used_at = internal.now()
        where k.id = (select l.id from core.api_keys l where l.id = v_key.id for no key update skip locked);
    end if;
    return query select v_key.id, v_key.system, v_hotels, v_role;
end
$$;
comment on function api.authenticate(text, text[], text) is
    'Checks an API key (AUTHENTICATION_FAILED when unknown, revoked or expired), that its system is one of p_systems (PERMISSION_DENIED) and that the login may act as that system (SYSTEM_ROLE_NOT_GRANTED), then records the request''s identity for the transaction (core.request_identity: API key, system, hotels, application user), signed so that no client can write it. db_role: the role to SET LOCAL ROLE to (hotelcore_<system>).';

create function api.assert_in_scope(p_entity text, p_id bigint) returns bigint
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_hotel_id bigint;
    v_error    text;
begin
    perform internal.require_right('request.context');
    -- the hotel an object belongs to; an id of another hotel is reported as not found, so a key
    -- learns nothing about hotels outside its scope
    case p_entity
        when 'hotel' then
            select h.id into v_hotel_id from core.hotels h where h.id = p_id;
            v_error := 'HOTEL_NOT_FOUND';
        when 'room_type' then
            select t.hotel_id into v_hotel_id from core.room_types t where t.id = p_id;
            v_error := 'ROOM_TYPE_NOT_FOUND';
        when 'room' then
            select r.hotel_id into v_hotel_id from core.rooms r where r.id = p_id;
            v_error := 'ROOM_NOT_FOUND';
        when 'reservation' then
            select r.hotel_id into v_hotel_id from core.reservations r where r.id = p_id;
            v_error := 'RESERVATION_NOT_FOUND';
        when 'hold' then
            -- a hold or a checkout is seen by its owner only
            select h.hotel_id into v_hotel_id from core.holds h where h.id = p_id and internal.owned_by_caller(h.owner);
            v_error := 'HOLD_NOT_FOUND';
        when 'checkout' then
            select s.hotel_id into v_hotel_id from core.checkout_sagas s
            where s.id = p_id and internal.owned_by_caller(s.owner);
            v_error := 'RESERVATION_NOT_FOUND';
        else
            perform internal.raise_error('INVALID_ARGUMENT', format('entity %L has no hotel scope', p_entity),
                'pass hotel, room_type, room, reservation, hold or checkout');
    end case;
    if v_hotel_id is null or not internal.in_request_scope(v_hotel_id) then
        perform internal.raise_error(v_error, format('%s_id %s', p_entity, p_id), 'check the id and the key''s hotel scope');
    end if;
    return v_hotel_id;
end
$$;
comment on function api.assert_in_scope(text, bigint) is
    'The hotel of an object (hotel, room_type, room, reservation, hold, checkout) when it is in the request''s hotel scope; otherwise its NOT_FOUND code, the same as for an id that does not exist.';

-- ---------------------------------------------------------------------------- idempotency

create function api.begin_idempotent(p_key text, p_fingerprint bytea)
returns table (idempotency_key_id bigint, replayed boolean, response_status integer, response_body bytea)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_api_key_id bigint := internal.request_api_key_id();
    v_id         bigint;
    v_row        core.idempotency_keys;
begin
    perform internal.require_right('reservation.create');
    if v_api_key_id is null then
        perform internal.raise_error('AUTHENTICATION_FAILED', 'no request context', 'call api.authenticate first');
    end if;
    if p_key is null or length(p_key) not between 1 and 255 then
        perform internal.raise_error('INVALID_ARGUMENT', 'Idempotency-Key must be 1 to 255 characters',
            'send a UUID per logical request');
    end if;
    if p_fingerprint is null or octet_length(p_fingerprint) <> 32 then
        perform internal.raise_error('INVALID_ARGUMENT', 'fingerprint must be a sha256', 'hash the request');
    end if;
    -- a record older than 24 h is forgotten: the key starts afresh
    delete from core.idempotency_keys k
    where k.api_key_id = v_api_key_id and k.key = p_key and k.status = 'completed'
      and k.created_at < internal.now() - interval '24 hours';
    -- the first request with the key records it; a concurrent one waits here for its commit
    insert into core.idempotency_keys (api_key_id, key, fingerprint, created_at)
    values (v_api_key_id, p_key, p_fingerprint, internal.now())
    on conflict on constraint idempotency_keys_key_unique do nothing
    returning id into v_id;
    if v_id is not null then
        return query select v_id, false, null::integer, null::bytea;
        return;
    end if;
    select k.* into v_row from core.idempotency_keys k where k.api_key_id = v_api_key_id and k.key = p_key;
    -- the same key with another request
    if v_row.fingerprint <> p_fingerprint then
        perform internal.raise_error('IDEMPOTENCY_MISMATCH',
            format('Idempotency-Key %L was first used at %s with another request', p_key, v_row.created_at),
            'use a new key for a new request');
    end if;
    -- the first request is still running
    if v_row.status = 'in_progress' then
        perform internal.raise_error('IDEMPOTENCY_IN_PROGRESS',
            format('Idempotency-Key %L: the first request started at %s is still running', p_key, v_row.created_at),
            'retry shortly: the first answer will be replayed');
    end if;
    return query select v_row.id, true, v_row.response_status, v_row.response_body;
end
$$;
comment on function api.begin_idempotent(text, bytea) is
    'Starts a request under an Idempotency-Key of the calling API key: new -> recorded in_progress (replayed false); completed with the same fingerprint -> the stored answer (replayed true); another fingerprint -> IDEMPOTENCY_MISMATCH; still running -> IDEMPOTENCY_IN_PROGRESS. Records older than 24 h are forgotten.';

create function api.complete_idempotent(
    p_idempotency_key_id bigint,
    p_response_status    integer,
    p_response_body      bytea
) returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_api_key_id bigint := internal.request_api_key_id();
    v_record     core.idempotency_keys;
begin
    perform internal.require_right('reservation.create');
    if p_response_status is null or p_response_status not between 200 and 599 or p_response_body is null then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('response status %s (200 to 599) and a body are required',
                   coalesce(p_response_status::text, 'null')),
            'pass the HTTP status and the body to replay');
    end if;
    -- a record of the calling API key; outside a request only recovery (unrestricted) completes one
    select k.* into v_record from core.idempotency_keys k
    where k.id = p_idempotency_key_id
      and (k.api_key_id = v_api_key_id or (v_api_key_id is null and internal.caller_unrestricted()))
    for update;
    if v_record.id is null then
        perform internal.raise_error('IDEMPOTENCY_RECORD_NOT_FOUND',
            format('idempotency record %s', coalesce(p_idempotency_key_id::text, 'null')),
            'pass the id api.begin_idempotent returned to this API key');
    end if;
    if v_record.status <> 'in_progress' then
        return false;
    end if;
    -- "try again later" answers are not kept: the record goes, so a retry with the key runs anew
    if p_response_status = 503 then
        delete from core.idempotency_keys k where k.id = v_record.id;
        return true;
    end if;
    update core.idempotency_keys k
    set status = 'completed', response_status = p_response_status, response_body = p_response_body,
        completed_at = internal.now()
    where k.id = v_record.id;
    return true;
end
$$;
comment on function api.complete_idempotent(bigint, integer, bytea) is
    'Stores the answer of an in-progress idempotent request of the calling API key, to be replayed byte for byte; a 503 answer is not stored (the record is removed so the key may be retried). False when the record was not in progress; IDEMPOTENCY_RECORD_NOT_FOUND for another key''s record.';

create function api.purge_idempotency_keys(p_stale_after interval default interval '10 minutes')
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_count integer;
begin
    perform internal.require_right('maintenance.run');
    -- completed answers are kept 24 h; an in-progress record whose request died before its saga
    -- started (no saga points at it) is dropped after p_stale_after so the key can be retried
    delete from core.idempotency_keys k
    where (k.status = 'completed' and k.created_at < internal.now() - interval '24 hours')
       or (k.status = 'in_progress' and k.created_at < internal.now() - p_stale_after
           and not exists (select 1 from core.checkout_sagas s where s.idempotency_key_id = k.id));
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function api.purge_idempotency_keys(interval) is
    'Deletes idempotency records older than 24 h, and in-progress ones older than p_stale_after that no saga carries. Returns how many.';

-- ---------------------------------------------------------------------------- checkout saga

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
        'result', case when s.status = 'succeeded' then jsonb_build_object(
            'bookingId', s.reservation_id,
            'confirmationNumber', r.confirmation_code,
            'reservationId', s.reservation_id,
            'checkoutId', s.id,
            'status', r.status,
            'hotelId', s.hotel_id, 'roomTypeId', s.room_type_id, 'ratePlanId', s.rate_plan_id,
            'checkIn', lower(s.stay), 'checkOut', upper(s.stay), 'rooms', s.rooms,
            'customerId', s.customer_id, 'amount', s.amount, 'currency', s.currency,
            'paymentAuthorisation', s.authorisation_ref, 'paymentCapture', s.capture_ref) end)
    from core.checkout_sagas s
    left join core.reservations r on r.id = s.reservation_id
    where s.id = p_saga_id
$$;
comment on function internal.checkout_document(bigint) is
    'A checkout saga as the API returns it; result holds seed 001''s answer (bookingId, confirmationNumber, ...) once it succeeded.';

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

create function internal.checkout_log(p_saga_id bigint, p_attempt integer, p_step text, p_outcome text, p_detail jsonb)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    insert into core.checkout_saga_steps (saga_id, attempt, step, outcome, detail, at)
    values (p_saga_id, p_attempt, p_step, p_outcome, coalesce(p_detail, '{}'::jsonb), internal.now())
$$;
comment on function internal.checkout_log(bigint, integer, text, text, jsonb) is 'Appends a row to the saga''s step log.';

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
#variable_conflict use_column
declare
    v_guest       jsonb := coalesce(p_request -> 'guest', '{}'::jsonb);
    v_customer_id bigint;
    v_rate_plan   bigint := p_rate_plan_id;
    v_quote       jsonb;
    v_system      text := internal.request_system();
    v_id          bigint;
begin
    -- a saga step: the HTTP service's, for a system that may book (seed 000's matrix)
    perform internal.require_service('checkout_begin');
    perform internal.require_right('reservation.create');
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
    returning id into v_id;
    perform internal.checkout_log(v_id, 1, 'inventory_checked', 'done', jsonb_build_object('quote', v_quote));
    return query select v_id, 1, (v_quote ->> 'total')::numeric, (v_quote ->> 'currency')::char(3);
end
$$;
comment on function api.checkout_begin(bigint, bigint, bigint, bigint, date, date, integer, integer, integer, numeric, text, jsonb) is
    'Checkout step 1 (seed 001): finds or creates the booker (p_request.guest), checks every night is sellable (INVENTORY_UNAVAILABLE), that the amount is the quoted total (INVALID_ARGUMENT naming it) in the hotel''s currency (CURRENCY_MISMATCH), and starts the saga. No rate plan: the cheapest bookable one.';

create function api.checkout_hold(p_saga_id bigint, p_attempt integer)
returns table (hold_id bigint, expires_at timestamptz)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_saga  core.checkout_sagas;
    v_hold  record;
    v_quote jsonb;
begin
    -- a saga step: the HTTP service's, for a system that may book (seed 000's matrix)
    perform internal.require_service('checkout_hold');
    perform internal.require_right('reservation.create');
    v_saga := internal.checkout_for_step(p_saga_id, p_attempt, array['inventory_checked']);
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
    -- 2. hold the rooms (180 s, the hotel's hold TTL); the saga id is the hold's client key
    select * into v_hold
    from internal.create_hold(v_saga.hotel_id, v_saga.room_type_id, v_saga.rate_plan_id, lower(v_saga.stay), upper(v_saga.stay),
                         v_saga.rooms, v_saga.adults, v_saga.children, v_saga.customer_id, 'checkout-' || v_saga.id,
                         p_quote => v_quote) h;
    update core.checkout_sagas s set step = 'held', hold_id = v_hold.hold_id, updated_at = internal.now()
    where s.id = p_saga_id;
    perform internal.checkout_log(p_saga_id, p_attempt, 'held', 'done',
        jsonb_build_object('hold_id', v_hold.hold_id, 'expires_at', v_hold.expires_at));
    return query select v_hold.hold_id, v_hold.expires_at;
end
$$;
comment on function api.checkout_hold(bigint, integer) is
    'Checkout step 2: holds the rooms for the hold TTL (180 s) and records the hold on the saga, in one transaction.';

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
    v_saga := internal.checkout_for_step(p_saga_id, p_attempt, array['held']);
    if nullif(btrim(p_authorisation_ref), '') is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'authorisation reference is empty', 'pass the gateway''s authorisation id');
    end if;
    -- 3. the payment gateway pre-authorised the amount
    update core.checkout_sagas s set step = 'authorised', authorisation_ref = p_authorisation_ref, updated_at = internal.now()
    where s.id = v_saga.id;
    perform internal.checkout_log(p_saga_id, p_attempt, 'authorised', 'done',
        jsonb_build_object('authorisation_ref', p_authorisation_ref));
end
$$;
comment on function api.checkout_authorised(bigint, integer, text) is
    'Checkout step 3: records the gateway''s pre-authorisation of the amount on the saga.';

create function api.checkout_confirm(p_saga_id bigint, p_attempt integer)
returns table (reservation_id bigint, confirmation_code text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v_saga       core.checkout_sagas;
    v_res        record;
    v_payment_id bigint;
begin
    -- a saga step: the HTTP service's, for a system that may book (seed 000's matrix)
    perform internal.require_service('checkout_confirm');
    perform internal.require_right('reservation.create');
    v_saga := internal.checkout_for_step(p_saga_id, p_attempt, array['authorised']);
    -- 4. the hold becomes a confirmed reservation carrying the authorisation, and the
    -- pre-authorisation is recorded on its folio, in the same transaction
    select * into v_res
    from internal.confirm_booking(v_saga.hold_id, v_saga.customer_id, v_saga.authorisation_ref, v_saga.origin,
                             v_saga.special_requests) c;
    v_payment_id := internal.authorise_payment(v_res.reservation_id, 'card', v_saga.amount, v_saga.authorisation_ref,
                                          v_saga.currency, false, internal.request_app_user());
    update core.checkout_sagas s
    set step = 'confirmed', reservation_id = v_res.reservation_id, payment_id = v_payment_id, updated_at = internal.now()
    where s.id = p_saga_id;
    perform internal.checkout_log(p_saga_id, p_attempt, 'confirmed', 'done',
        jsonb_build_object('reservation_id', v_res.reservation_id, 'confirmation_code', v_res.confirmation_code));
    return query select v_res.reservation_id, v_res.confirmation_code;
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
    where s.id = v_saga.id;
    perform internal.checkout_log(p_saga_id, p_attempt, 'captured', 'done', jsonb_build_object('capture_ref', p_capture_ref));
    return internal.checkout_document(p_saga_id) -> 'result';
end
$$;
comment on function api.checkout_captured(bigint, integer, text) is
    'Checkout step 5: records the capture; the saga succeeded. Returns seed 001''s answer (bookingId, confirmationNumber, ...).';

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
        perform internal.checkout_log(p_saga_id, p_attempt, 'confirmed', 'compensated', '{}'::jsonb);
    end if;
    -- a hold still active is released (an expired one gives its rooms back by itself)
    if v_saga.hold_id is not null and not v_saga.hold_released
       and exists (select 1 from core.holds h where h.id = v_saga.hold_id and h.status = 'active') then
        perform internal.release_hold(v_saga.hold_id);
        perform internal.checkout_log(p_saga_id, p_attempt, 'held', 'compensated', '{}'::jsonb);
    end if;
    v_saga.hold_released := v_saga.hold_id is not null;
    if coalesce(p_authorisation_voided, false) and not v_saga.authorisation_voided then
        v_saga.authorisation_voided := true;
        perform internal.checkout_log(p_saga_id, p_attempt, 'authorised', 'compensated', '{}'::jsonb);
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
    perform internal.checkout_log(p_saga_id, p_attempt, v_saga.step, 'failed',
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

-- ---------------------------------------------------------------------------- HTTP read models and composites
-- Small api functions the HTTP routes need that are one call each: listing reservations, a
-- booking without payment, the PMS's limited customer update (seed 000).

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

create function api.update_customer_basic(
    p_customer_id      bigint,
    p_expected_version integer,
    p_changes          jsonb
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_allowed constant text[] := array['given_name', 'family_name', 'phone', 'phone_country', 'postal_code',
        'address_line1', 'address_line2', 'city', 'region', 'country_code'];
    v_key     text;
begin
    perform internal.require_right('customer.update_basic');
    if p_changes is null or jsonb_typeof(p_changes) <> 'object' then
        perform internal.raise_error('INVALID_ARGUMENT', 'changes must be a JSON object', 'e.g. {"city": "Osaka"}');
    end if;
    -- seed 000: the PMS may change names, phone and address only
    select k into v_key from jsonb_object_keys(p_changes) k where not (k = any (v_allowed)) limit 1;
    if v_key is not null then
        perform internal.raise_error('PERMISSION_DENIED', format('field %s is not a basic field the PMS may change', v_key),
            'change it through hotel-member');
    end if;
    return internal.update_customer(p_customer_id, p_expected_version, p_changes);
end
$$;
comment on function api.update_customer_basic(bigint, integer, jsonb) is
    'The PMS''s limited customer update (seed 000 PUT /customers/{id}/basic): names, phone and address only (PERMISSION_DENIED for any other field), then as api.update_customer.';

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
                   'status_changed_at', r.status_changed_at,
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
    'The rooms of a hotel (seed 000 GET /rooms) in the request''s hotel scope: number, floor, type, housekeeping status and whether a stay or block uses it tonight.';
