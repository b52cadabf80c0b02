-- Who is calling (seed 000's systems): the request context every api function reads, and the
-- API keys the HTTP layer authenticates with. api.authenticate signs the request's identity for
-- the transaction; what a system may then do is rights.sql's.

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

create function internal.request_app_user_of(p_api_key_id bigint, p_app_user text) returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    -- inside a request (an API key): the user it named; outside one, the SQL client's label
    if p_api_key_id is not null then
        return internal.vouched_app_user(p_api_key_id, p_app_user);
    end if;
    return internal.vouched_app_user(null, pg_catalog.current_setting('hotelcore.app_user', true));
end
$$;
comment on function internal.request_app_user_of(bigint, text) is
    'internal.request_app_user for an identity already read (core.request_identity''s api_key_id and app_user).';

create function internal.request_app_user() returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_identity record := core.request_identity();
begin
    return internal.request_app_user_of(v_identity.api_key_id, v_identity.app_user);
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
    -- its hotel scope, decided once for the request (hotelcore.request_scope, tagged like it)
    perform core.remember_request_scope();
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
