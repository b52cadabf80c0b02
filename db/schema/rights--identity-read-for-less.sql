-- The request's identity and hotel scope read for less, the same checks made.
--
-- Cost. Every statement of an api call reads the hotel scope (row-level security), and every rights
-- check of the HTTP service the request's identity: a checkout makes about 75 and 25 such reads. With
-- a key of many hotels two parts of each read dominated: the hotel ids parsed from text by
-- string_to_array and an element-by-element cast (about 10 us for 100 hotels; the same ids read as one
-- array literal: about 5 us), and the scope memo's tag hashed over the whole signed identity (SHA-256
-- over some 700 bytes; the memo was tagged over the scope and the identity's text).
--
-- Now the hotel ids (of the memo, of the identity's payload) are read as an array literal, and the
-- memo's tag signs the scope, the backend and the identity's signature (the first 64 characters of
-- hotelcore.request) instead of the identity's whole text. Why that is as strong: the signature is
-- core.request_mac of the payload for this login and this transaction, and only api.authenticate
-- computes it; a memo whose tag matches was therefore written by api.authenticate's
-- core.remember_request_scope in this transaction, on this backend, for the identity of that
-- signature, and it answers that identity's scope. A client that keeps the signature and changes
-- the payload after it gets that same scope from the memo (nothing wider) and AUTHENTICATION_FAILED
-- from every reader of the identity (core.request_payload checks the whole text). Every other
-- property of rights--identity-verified-once.sql holds as written there (a memo written by hand,
-- of another transaction or session, signed with other keys, or of an earlier authentication in the
-- transaction is ignored).
--
-- The signed values are also cut by bytes. Both are '<64 hex digits>:<text>', so the text starts
-- after the first 65 characters: pg_catalog.right(v, -65) counts those 65 only, where
-- substr(v, 66) counted every character of the value, twice (a UTF-8 database counts characters one
-- by one): about a fifth of each scope read with a key of 100 hotels. strpos(v, ':') = 65 accepts
-- what substr(v, 65, 1) = ':' did: a tag is 64 hex digits, so a colon before it never matches.
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
create or replace function core.request_scope_body(p_scope text, p_request text) returns text
language sql
stable
parallel safe
as $$
    -- what the scope memo's tag signs: the scope, this backend, and the signed identity by its
    -- signature (the first 64 characters of hotelcore.request, which bind its payload, the login and
    -- the transaction): hashing the payload again would sign nothing more
    select 'scope/' || p_scope || '/' || pg_catalog.pg_backend_pid()::text || '/' || pg_catalog.left(p_request, 64)
$$;
comment on function core.request_scope_body(text, text) is
    'What the tag of the hotel scope memo (hotelcore.request_scope) signs: the scope, the backend''s process id and the signature of the request identity (its first 64 characters). Owner only.';

create or replace function core.request_tag_matches(p_value text, p_body text, p_inner_key bytea, p_outer_key bytea)
returns boolean
language sql
stable
parallel safe
as $$
    -- '<mac hex>:...' signed over p_body; compared through a second hash so the comparison's timing
    -- says nothing
    select pg_catalog.strpos(p_value, ':') = 65
       and pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.left(p_value, 64), 'UTF8'))
         = pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.encode(
               core.request_mac_with(p_inner_key, p_outer_key, p_body), 'hex'), 'UTF8'))
$$;

create or replace function core.request_signed(p_value text, p_inner_key bytea, p_outer_key bytea) returns boolean
language sql
stable
parallel safe
as $$
    select core.request_tag_matches(p_value, pg_catalog.right(p_value, -65), p_inner_key, p_outer_key)
$$;

create or replace function core.request_payload() returns text
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
        return pg_catalog.right(v_value, -65);
    end if;
    -- (a literal SQLSTATE: core depends on nothing in the replaceable schemas; HC502 is the
    -- registry's AUTHENTICATION_FAILED)
    raise exception using errcode = 'HC502', message = 'AUTHENTICATION_FAILED',
        detail = 'the request identity (hotelcore.request) was not recorded by api.authenticate in this transaction',
        hint = 'call api.authenticate in the transaction; the setting cannot be written or carried over';
end
$$;

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
    v_listed  text := pg_catalog.right(v_memo, -65);  -- the memo's scope: hotel ids, or *
    v_inner   bytea;
    v_outer   bytea;
    v_scope   bigint[];
    v_keyed   bigint[];
begin
    -- inside a request: the scope api.authenticate decided, when its memo's tag matches this
    -- login, transaction, backend and signed identity (any other value is ignored)
    if v_request <> '' and v_memo <> '' then
        select k.inner_key, k.outer_key into v_inner, v_outer from core.request_signing_keys k where k.id;
        if core.request_tag_matches(v_memo, core.request_scope_body(v_listed, v_request), v_inner, v_outer) then
            return case when v_listed = '*' then null else ('{' || v_listed || '}')::bigint[] end;
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
        v_keyed := ('{' || pg_catalog.split_part(core.request_payload(), '/', 3) || '}')::bigint[];
        v_scope := case when v_scope is null then v_keyed
                        else array(select unnest(v_scope) intersect select unnest(v_keyed)) end;
    end if;
    return v_scope;
end
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
    v_fields text[] := pg_catalog.string_to_array(core.request_payload(), '/');
begin
    -- only a payload api.authenticate signed is parsed (core.request_payload refuses any other)
    if v_fields is null then
        return;  -- no request: every field null
    end if;
    api_key_id := v_fields[1]::bigint;
    system := v_fields[2];
    hotel_ids := ('{' || v_fields[3] || '}')::bigint[];
    app_user := nullif(pg_catalog.convert_from(pg_catalog.decode(v_fields[4], 'hex'), 'UTF8'), '');
end
$$;

-- migrate:down
-- the signed values cut by characters, as rights--identity-verified-once.sql made them
create or replace function core.request_tag_matches(p_value text, p_body text, p_inner_key bytea, p_outer_key bytea)
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

create or replace function core.request_signed(p_value text, p_inner_key bytea, p_outer_key bytea) returns boolean
language sql
stable
parallel safe
as $$
    select core.request_tag_matches(p_value, pg_catalog.substr(p_value, 66), p_inner_key, p_outer_key)
$$;

create or replace function core.request_payload() returns text
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

-- the three functions as rights--identity-verified-once.sql made them
create or replace function core.request_scope_body(p_scope text, p_request text) returns text
language sql
stable
parallel safe
as $$
    -- what the scope memo's tag signs: the scope, this backend, the exact signed identity
    select 'scope/' || p_scope || '/' || pg_catalog.pg_backend_pid()::text || '/' || p_request
$$;
comment on function core.request_scope_body(text, text) is
    'What the tag of the hotel scope memo (hotelcore.request_scope) signs: the scope, the backend''s process id and the signed request identity. Owner only.';

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
