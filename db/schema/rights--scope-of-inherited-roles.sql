-- Hotel scope of inherited roles: core.login_hotels rows of every role the login inherits apply,
-- not only those of the login and of its SET ROLE. A login created IN ROLE a regional group (with
-- rows) used the group's privileges without SET ROLE and so saw every hotel; now each role with
-- rows that the login (or the role it acts as) holds the privileges of narrows the scope, and the
-- scope is the intersection of them all. A NOINHERIT membership gives no privilege until SET ROLE,
-- and then that role's rows apply. SET ROLE therefore only ever narrows: the login's own inherited
-- roles keep applying whatever role it acts as.
--
-- Cheap on the booking path (row-level security evaluates it once per statement): with no login
-- limited, one probe of an empty table; otherwise the membership test runs once per role named in
-- core.login_hotels (pg_has_role answers from the backend's cached membership list) and the rows
-- of the roles that apply are read by the key. Still PARALLEL SAFE: a worker takes the leader's
-- session user, role setting and settings, and reads the leader's snapshot.
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
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

-- migrate:down
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
