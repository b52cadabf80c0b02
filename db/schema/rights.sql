-- Hotel scope and audit (issue 7). The roles themselves are in db/schema/roles.sql.
--
-- Hotel scope: a login may be limited to some hotels (core.login_hotels); a request served by
-- the HTTP layer is limited to its API key's hotels (transaction setting hotelcore.hotel_ids,
-- written by api.authenticate). core.hotel_scope() intersects both: the setting can only narrow
-- what the login may see, so a SQL client that sets it gains nothing. Every core table that
-- belongs to a hotel has FORCE ROW LEVEL SECURITY with a policy keeping the rows of the scope.
-- Project objects are owned by hotelcore_owner (db/views/grants.sql), a non-superuser, so the
-- policies bind SECURITY DEFINER functions and the report views as well: an id of another hotel
-- is simply not found. Superusers bypass row-level security, which is why no project object is
-- owned by one. A hotel table added by a later schema file adds its policy the same way
-- (tests/test_catalog.py checks every core table with a hotel_id column).
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
create table core.login_hotels (
    role_name text not null,
    hotel_id  bigint not null references core.hotels (id) on delete cascade,
    primary key (role_name, hotel_id),
    constraint login_hotels_role_name_not_blank check (btrim(role_name) <> '')
);
comment on table core.login_hotels is 'Hotels a login role (or a group role it acts as) is limited to: a regional office, one property''s front desk. A role with no row sees every hotel. Roles are cluster-wide, so rows name them (text), not their oid.';

create table core.audit_log (
    id         bigint generated always as identity primary key,
    at         timestamptz not null default pg_catalog.clock_timestamp(),
    entity     text not null,
    entity_id  bigint not null,
    hotel_id   bigint,
    action     text not null,
    changed    text[] not null default '{}',
    db_role    text not null,
    login_role text not null,
    app_user   text,
    constraint audit_log_entity_known check (entity in ('customer', 'reservation', 'room')),
    constraint audit_log_action_known check (action in ('insert', 'update', 'delete'))
);
comment on table core.audit_log is 'Who changed which customer, reservation or room and when: db_role is the role the caller acted as (SET ROLE or login), login_role the session user, app_user the application user the request passed (hotelcore.app_user). No foreign keys: the trail outlives the rows.';
comment on column core.audit_log.changed is 'Columns whose value changed (update); empty for insert and delete.';
create index audit_log_entity on core.audit_log (entity, entity_id, at);

create function core.hotel_scope() returns bigint[]
language plpgsql
stable
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
revoke all on function core.hotel_scope() from public;

-- every table that belongs to a hotel keeps the rows of the caller's scope, for its owner too
do $$
declare
    v_table text;
begin
    for v_table in
        select c.relname from pg_catalog.pg_class c
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attname = 'hotel_id' and not a.attisdropped
        where n.nspname = 'core' and c.relkind = 'r'
          and c.relname not in ('login_hotels', 'audit_log', 'api_key_hotels')
        order by c.relname
    loop
        execute format('alter table core.%I enable row level security', v_table);
        execute format('alter table core.%I force row level security', v_table);
        execute format('create policy %I on core.%I using (coalesce(hotel_id = any((select core.hotel_scope())::bigint[]), true))',
                       v_table || '_in_hotel_scope', v_table);
    end loop;
end
$$;
alter table core.hotels enable row level security;
alter table core.hotels force row level security;
create policy hotels_in_hotel_scope on core.hotels using (coalesce(id = any((select core.hotel_scope())::bigint[]), true));

-- migrate:down
do $$
declare
    v_table text;
begin
    for v_table in
        select c.relname from pg_catalog.pg_class c
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        join pg_catalog.pg_policy p on p.polrelid = c.oid and p.polname = c.relname || '_in_hotel_scope'
        where n.nspname = 'core'
    loop
        execute format('drop policy %I on core.%I', v_table || '_in_hotel_scope', v_table);
        execute format('alter table core.%I no force row level security', v_table);
        execute format('alter table core.%I disable row level security', v_table);
    end loop;
end
$$;
drop function if exists core.hotel_scope();
drop table if exists core.audit_log;
drop table if exists core.login_hotels;
-- the objects that stay go back to the migrating role (db/views/grants.sql handed them over)
do $$
declare
    v_object record;
begin
    alter schema core owner to current_user;
    for v_object in
        select format('%s core.%I', case c.relkind when 'v' then 'view' when 'm' then 'materialized view'
                                                   when 'S' then 'sequence' else 'table' end, c.relname) as name
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'core' and c.relkind in ('r', 'p', 'v', 'm', 'S')
          and not exists (select 1 from pg_catalog.pg_depend d
                          where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i'))
          and c.relowner <> (select r.oid from pg_catalog.pg_roles r where r.rolname = current_user)
    loop
        execute format('alter %s owner to current_user', v_object.name);
    end loop;
    for v_object in
        select format('function %s', p.oid::regprocedure) as name
        from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'core'
          and p.proowner <> (select r.oid from pg_catalog.pg_roles r where r.rolname = current_user)
    loop
        execute format('alter %s owner to current_user', v_object.name);
    end loop;
end
$$;
