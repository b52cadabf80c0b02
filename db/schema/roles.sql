-- Database roles of seed 000's systems (issue 7). Roles belong to the cluster, not to one
-- database: every database migrated on a server shares them, so the up section creates each one
-- only when it is missing (a concurrent migration of another database may create it first) and
-- the down section drops none of them — another database may still use them, and a role that
-- owns objects elsewhere cannot be dropped anyway. Remove them by hand (DROP ROLE) once no
-- database of the cluster is migrated.
--
--   hotelcore_owner   NOLOGIN; owns every project object (db/views/grants.sql hands them over),
--                     so SECURITY DEFINER functions run as a non-superuser subject to row-level
--                     security (FORCE ROW LEVEL SECURITY, db/schema/rights.sql).
--   hotelcore_member  hotel-member: customer master, points and ranks, new reservations.
--   hotelcore_pms     hotel-pms: reservations, check-in/out, rooms and inventory, billing.
--   hotelcore_saas    hotel-saas: orders and concierge; reads customers, reservations, sales.
--   hotelcore_bi      reads report.* only.
--   hotelcore_admin   runs everything (key issuance, maintenance jobs); not hotel-scoped by role.
-- Login roles are members of one group (CREATE ROLE x LOGIN IN ROLE hotelcore_pms). The HTTP
-- layer's pool login is the exception: a member of hotelcore_member, _pms and _saas (it runs
-- SET LOCAL ROLE to the request's system, api.authenticate names it) and of hotelcore_admin (the
-- checkout saga's recovery jobs run without a request). Limit a login to some hotels with rows in
-- core.login_hotels (db/schema/rights.sql).
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
do $$
declare
    v_role text;
begin
    foreach v_role in array array['hotelcore_owner', 'hotelcore_member', 'hotelcore_pms',
                                  'hotelcore_saas', 'hotelcore_bi', 'hotelcore_admin'] loop
        if not exists (select 1 from pg_catalog.pg_roles r where r.rolname = v_role) then
            begin
                execute format('create role %I nologin', v_role);
            exception when duplicate_object or unique_violation then
                null;  -- another database's migration created it between the check and here
            end;
        end if;
    end loop;
end
$$;

-- migrate:down
-- Nothing: the roles are shared by every database of the cluster (see the header).
