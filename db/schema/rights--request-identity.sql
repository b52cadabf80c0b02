-- The request's identity, owners of holds and sagas, the HTTP service's role, API key lifetimes
-- and the audit trail's voucher.
--
-- Request identity. api.authenticate checks an API key and records who the transaction acts for
-- (API key, system, hotels, application user) in the transaction setting hotelcore.request,
-- signed with a key only hotelcore_owner can read (core.request_signing_keys). The signature
-- covers the identity, the login (session_user) and the transaction's start (now()), so a client
-- can neither write an identity nor carry one into another transaction or session: an unsigned,
-- altered or replayed value is refused (AUTHENTICATION_FAILED), and clearing the setting only
-- leaves the caller with its login's own rights. core.request_identity() reads it; core.hotel_scope()
-- reads the hotels with the same check (core.request_signed) in its own query.
-- Why a signed setting and not a row in an owner-only table: reads must go on while the database
-- is read-only (the HTTP layer's degraded mode), where no table can be written; parallel workers
-- inherit the leader's settings but not its backend id; and a GET request then writes nothing.
-- The MAC is an NMAC over SHA-256 with two independent 64-byte keys (sha256(outer || sha256(inner
-- || message))), compared through a second hash so the comparison's timing says nothing.
--
-- hotelcore_service: the HTTP service. Only it (and hotelcore_admin, for recovery) executes the
-- checkout saga's step functions; a client system's login cannot drive a saga by hand. The pool
-- login of `hotelcore serve` is a member of it, of the three system roles and of hotelcore_admin.
--
-- Owners. A hold and a checkout saga belong to who started them: 'key:<api key id>' inside a
-- request, 'login:<session_user>' outside one (core.holds.owner, core.checkout_sagas.owner);
-- another caller is answered as if the id did not exist. Client keys of holds are unique per
-- hotel and owner. Rows made before this file have no owner: only unrestricted callers see them.
--
-- API keys may expire (expires_at), record when they were last used (last_used_at, to the
-- minute), and be rotated: the new key names the key it replaces (replaces_id), whose expiry is
-- brought forward to the end of the grace period.
--
-- Audit: core.audit_log.api_key_id names the API key that made a change (null outside a request:
-- login_role names the login).
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
do $$
begin
    if not exists (select 1 from pg_catalog.pg_roles r where r.rolname = 'hotelcore_service') then
        begin
            create role hotelcore_service nologin;
        exception when duplicate_object or unique_violation then
            null;  -- another database's migration created it between the check and here
        end;
    end if;
end
$$;

create table core.request_signing_keys (
    id        boolean primary key default true,
    inner_key bytea not null,
    outer_key bytea not null,
    constraint request_signing_keys_one_row check (id),
    constraint request_signing_keys_keys_are_64_bytes check (octet_length(inner_key) = 64 and octet_length(outer_key) = 64)
);
comment on table core.request_signing_keys is
    'The two keys that sign the request identity api.authenticate records for a transaction (hotelcore.request). One row, readable by hotelcore_owner only; replace it to invalidate every identity in flight.';
-- 64 random bytes each: four v4 UUIDs (gen_random_uuid draws from the strong random source)
insert into core.request_signing_keys (inner_key, outer_key)
select (select string_agg(pg_catalog.decode(replace(pg_catalog.gen_random_uuid()::text, '-', ''), 'hex'), ''::bytea)
        from generate_series(1, 4)) as inner_key,
       (select string_agg(pg_catalog.decode(replace(pg_catalog.gen_random_uuid()::text, '-', ''), 'hex'), ''::bytea)
        from generate_series(1, 4)) as outer_key;

-- The functions below are neither SECURITY DEFINER nor carry a SET clause: either would cost a
-- context switch at every call, and core.hotel_scope() checks the identity for every statement of
-- a request (the two SQL ones are inlined into their callers' queries). Only hotelcore_owner
-- executes them (PUBLIC's right is revoked), from functions that run as the owner with
-- search_path pinned; every name in them is schema-qualified.
create function core.request_mac_with(p_inner_key bytea, p_outer_key bytea, p_payload text) returns bytea
language sql
stable
parallel safe
as $$
    -- bound to the login and to the transaction: its start instant in microseconds (no time zone
    -- or date style in the text, which the client could change)
    select pg_catalog.sha256(p_outer_key || pg_catalog.sha256(p_inner_key || pg_catalog.convert_to(
               p_payload || '/' || session_user::text || '/'
               || (extract(epoch from pg_catalog.now()) * 1000000)::bigint::text, 'UTF8')))
$$;
comment on function core.request_mac_with(bytea, bytea, text) is
    'The signature formula of a request identity (NMAC over SHA-256) for this login and this transaction. Owner only.';
revoke all on function core.request_mac_with(bytea, bytea, text) from public;

create function core.request_signed(p_value text, p_inner_key bytea, p_outer_key bytea) returns boolean
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
comment on function core.request_signed(text, bytea, bytea) is
    'True when a recorded request identity (hotelcore.request) carries the signature api.authenticate gave it in this transaction. Owner only.';
revoke all on function core.request_signed(text, bytea, bytea) from public;

create function core.request_mac(p_payload text) returns bytea
language sql
stable
parallel safe
as $$
    select core.request_mac_with(k.inner_key, k.outer_key, p_payload) from core.request_signing_keys k where k.id
$$;
comment on function core.request_mac(text) is
    'The signature of a request identity for this login and this transaction (api.authenticate signs with it). Owner only.';
revoke all on function core.request_mac(text) from public;

create function core.request_identity(
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
comment on function core.request_identity() is
    'Who the current transaction acts for, as api.authenticate recorded and signed it: API key, system, hotels, application user as given. All null outside a request; AUTHENTICATION_FAILED when the recorded identity is forged, altered or from another transaction. Owner only.';
revoke all on function core.request_identity() from public;

create or replace function core.hotel_scope() returns bigint[]
language plpgsql
stable
parallel safe
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_role    text := case when pg_catalog.current_setting('role') = 'none' then session_user::text
                           else pg_catalog.current_setting('role') end;
    v_request text := pg_catalog.current_setting('hotelcore.request', true);
    v_scope   bigint[];
    v_limit   bigint[];
    v_keyed   bigint[];
begin
    -- the login's hotels, then those of the role it acts as: each one with rows narrows the scope;
    -- inside a request, the API key's hotels from the identity api.authenticate signed (checked as
    -- core.request_identity checks it, whose refusal a bad signature gets). One statement for all
    -- three: row-level security evaluates this once per statement of every api call.
    select array_agg(l.hotel_id) filter (where l.role_name = session_user::text),
           array_agg(l.hotel_id) filter (where l.role_name = v_role),
           case when v_request <> '' then
               (select pg_catalog.string_to_array(pg_catalog.split_part(pg_catalog.substr(v_request, 66), '/', 3), ',')::bigint[]
                from core.request_signing_keys k
                where k.id and core.request_signed(v_request, k.inner_key, k.outer_key)) end
    into v_scope, v_limit, v_keyed
    from core.login_hotels l where l.role_name in (session_user::text, v_role);
    if v_request <> '' and v_keyed is null then
        perform core.request_identity();  -- raises AUTHENTICATION_FAILED: the one place that says why
    end if;
    if v_limit is not null then
        v_scope := case when v_scope is null then v_limit
                        else array(select unnest(v_scope) intersect select unnest(v_limit)) end;
    end if;
    if v_keyed is not null then
        v_scope := case when v_scope is null then v_keyed
                        else array(select unnest(v_scope) intersect select unnest(v_keyed)) end;
    end if;
    return v_scope;
end
$$;
comment on function core.hotel_scope() is
    'The hotel ids the caller may see: core.login_hotels of the login and of its SET ROLE, intersected with the hotels of the request''s API key (core.request_identity). Null: every hotel. Used by the row-level security policies; SECURITY DEFINER so that readers of report views need no right on core.login_hotels.';

alter table core.audit_log add column api_key_id bigint;
comment on column core.audit_log.api_key_id is
    'The API key of the request that made the change (null outside a request: login_role names the login). No foreign key: the trail outlives the keys.';
comment on column core.audit_log.app_user is
    'The application user as the caller gave it, prefixed by who vouched for it: key-<id>: inside a request, login-<login>: outside one.';

alter table core.api_keys add column expires_at timestamptz;
alter table core.api_keys add column last_used_at timestamptz;
alter table core.api_keys add column replaces_id bigint references core.api_keys (id) on delete set null;
alter table core.api_keys add constraint api_keys_expiry_after_creation check (expires_at > created_at);
create index api_keys_replaces on core.api_keys (replaces_id) where replaces_id is not null;
comment on column core.api_keys.expires_at is 'The key is refused from this instant on (AUTHENTICATION_FAILED); null: it never expires.';
comment on column core.api_keys.last_used_at is 'When the key last authenticated a request, to the minute (written at most once a minute, never waited for).';
comment on column core.api_keys.replaces_id is 'The key this one rotated out (its expiry is the end of the grace period).';

alter table core.holds add column owner text;
alter table core.holds drop constraint holds_client_key_unique_per_hotel;
alter table core.holds add constraint holds_client_key_unique_per_owner unique (hotel_id, owner, client_key);
comment on column core.holds.owner is
    'Who placed the hold: key:<api key id> (a request) or login:<login>. Only its owner (or an unrestricted caller outside a request) may see, confirm or release it.';

alter table core.checkout_sagas add column owner text;
comment on column core.checkout_sagas.owner is
    'Who started the checkout: key:<api key id> (a request) or login:<login>. Another caller is answered RESERVATION_NOT_FOUND; recovery acts on every saga.';

-- migrate:down
alter table core.checkout_sagas drop column if exists owner;
alter table core.holds drop constraint if exists holds_client_key_unique_per_owner;
alter table core.holds drop column if exists owner;
-- (fails if one hotel used the same client key for two owners meanwhile: purge those holds first)
alter table core.holds add constraint holds_client_key_unique_per_hotel unique (hotel_id, client_key);
drop index if exists core.api_keys_replaces;
alter table core.api_keys drop constraint if exists api_keys_expiry_after_creation;
alter table core.api_keys drop column if exists replaces_id;
alter table core.api_keys drop column if exists last_used_at;
alter table core.api_keys drop column if exists expires_at;
alter table core.audit_log drop column if exists api_key_id;
comment on column core.audit_log.app_user is null;
create or replace function core.hotel_scope() returns bigint[]
language plpgsql
stable
parallel safe
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_role    text := case when pg_catalog.current_setting('role') = 'none' then session_user::text
                           else pg_catalog.current_setting('role') end;
    v_scope   bigint[];
    v_limit   bigint[];
    v_request text;
begin
    -- the login's hotels, then those of the role it acts as: each one with rows narrows the scope
    -- (one read for both: row-level security evaluates this once per statement of every api call)
    select array_agg(l.hotel_id) filter (where l.role_name = session_user::text),
           array_agg(l.hotel_id) filter (where l.role_name = v_role)
    into v_scope, v_limit
    from core.login_hotels l where l.role_name in (session_user::text, v_role);
    if v_limit is not null then
        v_scope := case when v_scope is null then v_limit
                        else array(select unnest(v_scope) intersect select unnest(v_limit)) end;
    end if;
    -- inside a request (api.authenticate ran in this transaction): the API key's hotels
    if nullif(pg_catalog.current_setting('hotelcore.system', true), '') is not null then
        v_request := coalesce(pg_catalog.current_setting('hotelcore.hotel_ids', true), '');
        if v_request !~ '^[0-9]+(,[0-9]+)*$' then
            return '{}';  -- an empty or unreadable scope sees nothing
        end if;
        v_limit := pg_catalog.string_to_array(v_request, ',')::bigint[];
        v_scope := case when v_scope is null then v_limit
                        else array(select unnest(v_scope) intersect select unnest(v_limit)) end;
    end if;
    return v_scope;
end
$$;
comment on function core.hotel_scope() is
    'The hotel ids the caller may see: core.login_hotels of the login and of its SET ROLE, intersected with the request''s hotelcore.hotel_ids. Null: every hotel. Used by the row-level security policies; SECURITY DEFINER so that readers of report views need no right on core.login_hotels.';
drop function if exists core.request_identity();
drop function if exists core.request_mac(text);
drop function if exists core.request_signed(text, bytea, bytea);
drop function if exists core.request_mac_with(bytea, bytea, text);
drop table if exists core.request_signing_keys;
