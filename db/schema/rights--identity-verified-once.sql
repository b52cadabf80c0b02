-- The request's identity checked cheaply, and its hotel scope decided once per request.
--
-- Cost. core.hotel_scope() runs once per statement and table of every api call (row-level
-- security), core.request_identity() once per rights check and audited row: a checkout made about
-- 75 and 30 calls. Each checked the signature of hotelcore.request inside a query whose argument
-- the planner folded into a custom plan, so every call was planned again (about 75 to 170 us a
-- call). The signature is now checked by core.request_payload as PL/pgSQL expressions over the keys
-- read into variables (plans kept), and the scope is memoized for the transaction.
--
-- The scope memo. api.authenticate, having signed the identity, decides the request's hotel scope
-- once (core.remember_request_scope) and records it in the transaction setting
-- hotelcore.request_scope as '<tag>:<hotel ids, or * for every hotel>'. The tag is the request
-- signature's formula (core.request_mac_with: the two owner-only keys, the login, the
-- transaction's start) over the scope, the backend's process id and the exact signed identity
-- (core.request_scope_body). core.hotel_scope() returns the memo only when its tag matches; any
-- other value is ignored and the scope is computed as before. Why no client can forge or carry it:
--   - writing the setting (SET, set_config) gives a value whose tag the client cannot compute
--     without the keys, which only hotelcore_owner reads;
--   - a memo of another transaction (of this or another session) names another transaction start
--     and another signed identity; another session's also another process id;
--   - re-authenticating in the transaction (another key) replaces the identity, so the old memo no
--     longer matches (and api.authenticate writes a new one);
--   - no temporary object shadows anything: every name these functions use is schema-qualified,
--     and core.hotel_scope() pins search_path; nothing is read from pg_temp;
--   - nothing is trusted because of who called: the tag is checked in every call, SECURITY DEFINER
--     callers included, and it binds the login (session_user), never current_user.
-- Why a signed setting and not a table (temporary or keyed by process id): a setting is read in a
-- read-only transaction, on a standby and in parallel workers, and writes nothing. A parallel
-- worker has another process id, so it ignores the memo and computes the scope (still correct).
-- The memo is role-independent: it is written only when no role the login may act as (other than
-- the login itself) has core.login_hotels rows, so SET ROLE after api.authenticate (the HTTP
-- layer's hotelcore_<system> or hotelcore_service) cannot change the scope; otherwise none is
-- written and the scope is computed per statement. Login rows or memberships changed by another
-- transaction during a request apply from the next request, as the API key's hotels do.
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
create function core.request_tag_matches(p_value text, p_body text, p_inner_key bytea, p_outer_key bytea)
returns boolean
language sql
stable
parallel safe
as $$
    -- '<mac hex>:...' signed over p_body; compared through a second hash so the comparison's timing
    -- says nothing
    select pg_catalog.substr(p_value, 65, 1) = ':'
       and pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.left(p_value, 64), 'UTF8'))
         = pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.encode(
               core.request_mac_with(p_inner_key, p_outer_key, p_body), 'hex'), 'UTF8'))
$$;
comment on function core.request_tag_matches(text, text, bytea, bytea) is
    'True when p_value (''<mac hex>:...'') carries the signature of p_body for this login and this transaction (core.request_mac_with). Owner only.';
alter function core.request_tag_matches(text, text, bytea, bytea) owner to hotelcore_owner;
revoke all on function core.request_tag_matches(text, text, bytea, bytea) from public;

create or replace function core.request_signed(p_value text, p_inner_key bytea, p_outer_key bytea) returns boolean
language sql
stable
parallel safe
as $$
    select core.request_tag_matches(p_value, pg_catalog.substr(p_value, 66), p_inner_key, p_outer_key)
$$;

create function core.request_payload() returns text
language plpgsql
stable
parallel safe
as $$
declare
    v_value text := pg_catalog.current_setting('hotelcore.request', true);
    v_inner bytea;
    v_outer bytea;
begin
    if v_value is null or v_value = '' then
        return null;  -- no request
    end if;
    -- the keys into variables, the signature as an expression: both plans are kept
    select k.inner_key, k.outer_key into v_inner, v_outer from core.request_signing_keys k where k.id;
    if core.request_signed(v_value, v_inner, v_outer) then
        return pg_catalog.substr(v_value, 66);
    end if;
    -- (a literal SQLSTATE: core depends on nothing in the replaceable schemas; HC502 is the
    -- registry's AUTHENTICATION_FAILED)
    raise exception using errcode = 'HC502', message = 'AUTHENTICATION_FAILED',
        detail = 'the request identity (hotelcore.request) was not recorded by api.authenticate in this transaction',
        hint = 'call api.authenticate in the transaction; the setting cannot be written or carried over';
end
$$;
comment on function core.request_payload() is
    'The payload of the request identity api.authenticate signed in this transaction (''<api key id>/<system>/<hotel ids>/<application user hex>''); null outside a request; AUTHENTICATION_FAILED when it is forged, altered or from another transaction. Owner only.';
alter function core.request_payload() owner to hotelcore_owner;
revoke all on function core.request_payload() from public;

create or replace function core.request_identity(
    out api_key_id bigint,
    out system     text,
    out hotel_ids  bigint[],
    out app_user   text
)
language plpgsql
stable
parallel safe
as $$
declare
    v_fields text[] := pg_catalog.string_to_array(core.request_payload(), '/');
begin
    -- only a payload api.authenticate signed is parsed (core.request_payload refuses any other)
    if v_fields is null then
        return;  -- no request: every field null
    end if;
    api_key_id := v_fields[1]::bigint;
    system := v_fields[2];
    hotel_ids := pg_catalog.string_to_array(v_fields[3], ',')::bigint[];
    app_user := nullif(pg_catalog.convert_from(pg_catalog.decode(v_fields[4], 'hex'), 'UTF8'), '');
end
$$;

create function core.request_scope_body(p_scope text, p_request text) returns text
language sql
stable
parallel safe
as $$
    -- what the scope memo's tag signs: the scope, this backend, the exact signed identity
    select 'scope/' || p_scope || '/' || pg_catalog.pg_backend_pid()::text || '/' || p_request
$$;
comment on function core.request_scope_body(text, text) is
    'What the tag of the hotel scope memo (hotelcore.request_scope) signs: the scope, the backend''s process id and the signed request identity. Owner only.';
alter function core.request_scope_body(text, text) owner to hotelcore_owner;
revoke all on function core.request_scope_body(text, text) from public;

create or replace function core.hotel_scope() returns bigint[]
language plpgsql
stable
parallel safe
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_role    text := pg_catalog.current_setting('role');
    v_request text := pg_catalog.current_setting('hotelcore.request', true);
    v_memo    text := pg_catalog.current_setting('hotelcore.request_scope', true);
    v_inner   bytea;
    v_outer   bytea;
    v_scope   bigint[];
    v_keyed   bigint[];
begin
    -- inside a request: the scope api.authenticate decided, when its memo's tag matches this
    -- login, transaction, backend and signed identity (any other value is ignored)
    if v_request <> '' and v_memo <> '' then
        select k.inner_key, k.outer_key into v_inner, v_outer from core.request_signing_keys k where k.id;
        if core.request_tag_matches(v_memo, core.request_scope_body(pg_catalog.substr(v_memo, 66), v_request),
                                    v_inner, v_outer) then
            return case when pg_catalog.substr(v_memo, 66) = '*' then null
                        else pg_catalog.string_to_array(pg_catalog.substr(v_memo, 66), ',')::bigint[] end;
        end if;
    end if;
    -- every role with rows that the login or its SET ROLE inherits (itself included): the hotels
    -- every one of them lists (login_hotels' key is (role_name, hotel_id): one row per role). A
    -- superuser holds every role's privileges: only its own rows (and its SET ROLE's) apply. The
    -- membership test runs once per role named in the table, not per row; an empty table (no login
    -- limited) costs one probe.
    if exists (select 1 from core.login_hotels) then
        with actors as (
            select a.oid, a.rolsuper from pg_catalog.pg_roles a
            where a.rolname = session_user or a.rolname = nullif(v_role, 'none')
        ),
        limited as (
            select array_agg(r.rolname::text) as names
            from (select distinct l.role_name from core.login_hotels l) n
            join pg_catalog.pg_roles r on r.rolname = n.role_name
            where exists (select 1 from actors a
                          where case when a.rolsuper then a.oid = r.oid
                                     else pg_catalog.pg_has_role(a.oid, r.oid, 'USAGE') end)
        )
        select case when m.names is null then null
                    else array(select l.hotel_id from core.login_hotels l
                               where l.role_name = any (m.names)
                               group by l.hotel_id
                               having count(*) = cardinality(m.names)
                               order by l.hotel_id) end
        into v_scope
        from limited m;
    end if;
    -- inside a request: the API key's hotels from the identity api.authenticate signed
    -- (core.request_payload refuses any other: AUTHENTICATION_FAILED)
    if v_request <> '' then
        v_keyed := pg_catalog.string_to_array(pg_catalog.split_part(core.request_payload(), '/', 3), ',')::bigint[];
        v_scope := case when v_scope is null then v_keyed
                        else array(select unnest(v_scope) intersect select unnest(v_keyed)) end;
    end if;
    return v_scope;
end
$$;
comment on function core.hotel_scope() is
    'The hotel ids the caller may see: the intersection of the core.login_hotels rows of every role the login, or the role it SET ROLE to, inherits (itself included), intersected with the hotels of the request''s API key (core.request_identity); inside a request, the scope api.authenticate decided (hotelcore.request_scope, taken only when its tag matches). Null: every hotel. Used by the row-level security policies; SECURITY DEFINER so that readers of report views need no right on core.login_hotels.';

create function core.remember_request_scope() returns void
language plpgsql
volatile
as $$
declare
    v_request text := pg_catalog.current_setting('hotelcore.request', true);
    v_scope   text;
    v_inner   bytea;
    v_outer   bytea;
begin
    -- the previous memo goes first: the scope below is computed, never read from it
    perform pg_catalog.set_config('hotelcore.request_scope', '', true);
    if v_request is null or v_request = '' then
        return;
    end if;
    -- role-independent only when no role the login may act as (but the login) has rows: then no
    -- SET ROLE can narrow the scope. Otherwise no memo: the scope is decided per statement.
    if exists (select 1 from core.login_hotels l
               join pg_catalog.pg_roles r on r.rolname = l.role_name
               where l.role_name <> session_user::text
                 and pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER')) then
        return;
    end if;
    v_scope := coalesce(pg_catalog.array_to_string(core.hotel_scope(), ','), '*');
    select k.inner_key, k.outer_key into v_inner, v_outer from core.request_signing_keys k where k.id;
    perform pg_catalog.set_config('hotelcore.request_scope',
        pg_catalog.encode(core.request_mac_with(v_inner, v_outer, core.request_scope_body(v_scope, v_request)), 'hex')
        || ':' || v_scope, true);
end
$$;
comment on function core.remember_request_scope() is
    'Records the hotel scope of the request api.authenticate just signed in hotelcore.request_scope, tagged for this login, transaction, backend and identity, when no SET ROLE can change it (no role the login may act as has core.login_hotels rows). Owner only.';
alter function core.remember_request_scope() owner to hotelcore_owner;
revoke all on function core.remember_request_scope() from public;

-- migrate:down
drop function if exists core.remember_request_scope();
-- core.hotel_scope, core.request_identity and core.request_signed as they were before this file
create or replace function core.hotel_scope() returns bigint[]
language plpgsql
stable
parallel safe
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_role    text := pg_catalog.current_setting('role');
    v_request text := pg_catalog.current_setting('hotelcore.request', true);
    v_scope   bigint[];
    v_keyed   bigint[];
begin
    -- every role with rows that the login or its SET ROLE inherits (itself included): the hotels
    -- every one of them lists (login_hotels' key is (role_name, hotel_id): one row per role). A
    -- superuser holds every role's privileges: only its own rows (and its SET ROLE's) apply. The
    -- membership test runs once per role named in the table, not per row; an empty table (no login
    -- limited) costs one probe.
    if exists (select 1 from core.login_hotels) then
        with actors as (
            select a.oid, a.rolsuper from pg_catalog.pg_roles a
            where a.rolname = session_user or a.rolname = nullif(v_role, 'none')
        ),
        limited as (
            select array_agg(r.rolname::text) as names
            from (select distinct l.role_name from core.login_hotels l) n
            join pg_catalog.pg_roles r on r.rolname = n.role_name
            where exists (select 1 from actors a
                          where case when a.rolsuper then a.oid = r.oid
                                     else pg_catalog.pg_has_role(a.oid, r.oid, 'USAGE') end)
        )
        select case when m.names is null then null
                    else array(select l.hotel_id from core.login_hotels l
                               where l.role_name = any (m.names)
                               group by l.hotel_id
                               having count(*) = cardinality(m.names)
                               order by l.hotel_id) end
        into v_scope
        from limited m;
    end if;
    -- inside a request: the API key's hotels from the identity api.authenticate signed (checked as
    -- core.request_identity checks it, whose refusal a bad signature gets)
    if v_request <> '' then
        select pg_catalog.string_to_array(pg_catalog.split_part(pg_catalog.substr(v_request, 66), '/', 3), ',')::bigint[]
        into v_keyed
        from core.request_signing_keys k
        where k.id and core.request_signed(v_request, k.inner_key, k.outer_key);
        if v_keyed is null then
            perform core.request_identity();  -- raises AUTHENTICATION_FAILED: the one place that says why
        end if;
        v_scope := case when v_scope is null then v_keyed
                        else array(select unnest(v_scope) intersect select unnest(v_keyed)) end;
    end if;
    return v_scope;
end
$$;
comment on function core.hotel_scope() is
    'The hotel ids the caller may see: the intersection of the core.login_hotels rows of every role the login, or the role it SET ROLE to, inherits (itself included), intersected with the hotels of the request''s API key (core.request_identity). Null: every hotel. Used by the row-level security policies; SECURITY DEFINER so that readers of report views need no right on core.login_hotels.';
create or replace function core.request_signed(p_value text, p_inner_key bytea, p_outer_key bytea) returns boolean
language sql
stable
parallel safe
as $$
    -- '<mac hex>:<payload>'; compared through a second hash so the comparison's timing says nothing
    select pg_catalog.substr(p_value, 65, 1) = ':'
       and pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.left(p_value, 64), 'UTF8'))
         = pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.encode(
               core.request_mac_with(p_inner_key, p_outer_key, pg_catalog.substr(p_value, 66)), 'hex'), 'UTF8'))
$$;
create or replace function core.request_identity(
    out api_key_id bigint,
    out system     text,
    out hotel_ids  bigint[],
    out app_user   text
)
language plpgsql
stable
parallel safe
as $$
declare
    v_value  text := pg_catalog.current_setting('hotelcore.request', true);
    v_fields text[];
begin
    if v_value is null or v_value = '' then
        return;  -- no request: every field null
    end if;
    -- '<mac hex>:<api key id>/<system>/<hotel ids>/<application user, hex of its UTF-8>': the
    -- signature is checked first, on the text as given; only a payload api.authenticate wrote is
    -- then parsed
    select pg_catalog.string_to_array(pg_catalog.substr(v_value, 66), '/') into v_fields
    from core.request_signing_keys k
    where k.id and core.request_signed(v_value, k.inner_key, k.outer_key);
    if v_fields is null then
        -- (a literal SQLSTATE: core depends on nothing in the replaceable schemas; HC502 is the
        -- registry's AUTHENTICATION_FAILED)
        raise exception using errcode = 'HC502', message = 'AUTHENTICATION_FAILED',
            detail = 'the request identity (hotelcore.request) was not recorded by api.authenticate in this transaction',
            hint = 'call api.authenticate in the transaction; the setting cannot be written or carried over';
    end if;
    api_key_id := v_fields[1]::bigint;
    system := v_fields[2];
    hotel_ids := pg_catalog.string_to_array(v_fields[3], ',')::bigint[];
    app_user := nullif(pg_catalog.convert_from(pg_catalog.decode(v_fields[4], 'hex'), 'UTF8'), '');
end
$$;
drop function if exists core.request_scope_body(text, text);
drop function if exists core.request_payload();
drop function if exists core.request_tag_matches(text, text, bytea, bytea);
