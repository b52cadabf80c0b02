-- Data rights per system: who the caller is, seed 000's responsibility matrix, and the
-- one check every api function makes against it.
--
-- Who is calling. Inside a SECURITY DEFINER function current_user is the owner, so the caller is
-- read from the `role` setting (what SET [LOCAL] ROLE chose) or, when no role was set, from
-- session_user (the login). Neither can be spoofed: SET ROLE (and set_config('role', ...)) only
-- accepts a role the login is a member of, and session_user changes only by SET SESSION
-- AUTHORIZATION, which needs a superuser. A custom setting is never used for rights: any SQL
-- client can set one. The HTTP layer's SET LOCAL ROLE hotelcore_<system> is what the database
-- trusts for a system's requests; the HTTP service itself acts as hotelcore_service for the
-- checkout saga, and then holds the rights of the system of the request's API key, as
-- api.authenticate recorded and signed it (core.request_identity).
--
-- No rights decision reads the call stack: an api function never calls another api function.
-- What two entry points share is an unchecked internal function, and each api function checks
-- its own caller, so a function granted by mistake is still refused by its own check.
--
-- Who may do everything: a superuser, hotelcore_owner and members of hotelcore_admin (migrations,
-- maintenance jobs, the test suite). Every other caller is checked against internal.rights().
-- Hotel scope is separate (core.hotel_scope, row-level security): an unrestricted caller is still
-- limited to the hotels of its login (core.login_hotels) and of the current request.

-- The checks below are PL/pgSQL, not SQL: a SQL function with a SET clause is never inlined and
-- is planned again at every call, and these run several times per api call.
create function internal.caller_role() returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    return case when pg_catalog.current_setting('role') = 'none' then session_user::text
                else pg_catalog.current_setting('role') end;
end
$$;
comment on function internal.caller_role() is
    'The role the caller acts as: the SET ROLE of the session or transaction, else the login (session_user). Unlike current_user it is not the owner inside SECURITY DEFINER functions.';

create function internal.caller_unrestricted() returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_role text := case when pg_catalog.current_setting('role') = 'none' then session_user::text
                        else pg_catalog.current_setting('role') end;
begin
    -- membership tests on the role cache, no query: a superuser is a member of every role
    return pg_catalog.pg_has_role(v_role, 'hotelcore_owner', 'MEMBER')
        or pg_catalog.pg_has_role(v_role, 'hotelcore_admin', 'MEMBER');
end
$$;
comment on function internal.caller_unrestricted() is
    'True for a superuser, hotelcore_owner or a member of hotelcore_admin: every right of the matrix (hotel scope still applies).';

-- A SQL function with a standard body: inlined into the query that reads it, so a check reads
-- the one row it asks for instead of the whole matrix built at every call.
create function internal.rights()
returns table (action text, data text, systems text[])
language sql
immutable
begin atomic
    -- seed 000, システム責任マトリックス: one row per (data, update or read) cell
    select v.action, v.data, v.systems from (values
        ('customer.read',         '顧客基本情報 read',           array['member', 'pms', 'saas']),
        ('customer.create',       '顧客基本情報 update',         array['member']),
        ('customer.update',       '顧客基本情報 update (all)',   array['member']),
        ('customer.update_basic', '顧客基本情報 update (氏名・電話・住所)', array['member', 'pms']),
        ('customer.conflicts',    '顧客基本情報 update (競合解決: the master''s owner)', array['member']),
        ('guest.find_or_create',  '顧客基本情報 update (guest profile of a booking)', array['member', 'pms']),
        ('preferences.read',      '配信設定・嗜好 read',         array['member', 'saas']),
        ('loyalty.read',          '会員ランク・ポイント read',   array['member', 'pms', 'saas']),
        ('loyalty.update',        '会員ランク・ポイント update', array['member']),
        ('reservation.read',      '予約情報 read',               array['member', 'pms', 'saas']),
        ('reservation.create',    '予約情報 update (新規予約)',  array['member', 'pms']),
        ('reservation.update',    '予約情報 update',             array['pms']),
        ('reservation.conflicts', '予約情報 update (競合解決: room conflicts)', array['pms']),
        ('stay.update',           'チェックイン/アウト update',  array['pms']),
        ('rooms.read',            '部屋在庫・状態 read',         array['member', 'pms']),
        ('rooms.update',          '部屋在庫・状態 update',       array['pms']),
        ('room.conflicts',        '部屋在庫・状態 update (競合解決: stale room writes)', array['pms']),
        ('feedback.create',       '注文・コンシェルジュ update (feedback)', array['saas', 'member']),
        ('services.update',       '注文・コンシェルジュ update (catalog, orders, concierge, facility bookings)', array['saas']),
        ('services.read',         '注文・コンシェルジュ read (orders for billing)', array['saas', 'pms']),
        ('feedback.read',         '注文・コンシェルジュ read (feedback summaries)', array['saas', 'pms']),
        ('billing.read',          '売上・請求 read',             array['pms', 'saas']),
        ('billing.update',        '売上・請求 update',           array['pms']),
        ('reports.read',          'report.* (BI)',               array['bi']),
        ('events.read',           'events of the data each system reads (pull consumers)', array['member', 'pms', 'saas']),
        ('webhooks.manage',       'chain administration (outbound webhooks)', array[]::text[]),
        ('request.context',       'API key authentication and request scope', array['member', 'pms', 'saas']),
        ('checkout.step',         'the checkout saga''s steps (the HTTP service, hotelcore_service)', array[]::text[]),
        ('hotel.create',          'chain administration',        array[]::text[]),
        ('api_keys.manage',       'chain administration',        array[]::text[]),
        ('maintenance.run',       'scheduled jobs',              array[]::text[])) as v(action, data, systems);
end;
comment on function internal.rights() is
    'Seed 000''s responsibility matrix as actions: the systems (member, pms, saas, bi) that hold each one. Admin-only actions hold none. The one place the matrix is written.';

create function internal.caller_systems() returns text[]
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_role    text := internal.caller_role();
    v_request text;
    v_system  text;
    v_systems text[] := '{}';
begin
    -- the systems of the caller's group roles; the HTTP service (hotelcore_service, which is a
    -- member of none) acting for a request holds the rights of the request's system
    if pg_catalog.pg_has_role(v_role, 'hotelcore_service', 'MEMBER') then
        v_request := (core.request_identity()).system;
    end if;
    -- in the order of their names, by a loop of expressions (no query: every rights check of a
    -- request runs this)
    foreach v_system in array array['bi', 'member', 'pms', 'saas'] loop
        if pg_catalog.pg_has_role(v_role, 'hotelcore_' || v_system, 'MEMBER') or v_system = v_request then
            v_systems := v_systems || v_system;
        end if;
    end loop;
    return v_systems;
end
$$;
comment on function internal.caller_systems() is
    'The systems whose group role (hotelcore_member, _pms, _saas, _bi) the caller is a member of; for the HTTP service (hotelcore_service), the system of the request''s API key (none outside a request).';

create function internal.caller_is_service() returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    return pg_catalog.pg_has_role(internal.caller_role(), 'hotelcore_service', 'MEMBER')
        or internal.caller_unrestricted();
end
$$;
comment on function internal.caller_is_service() is
    'True for the HTTP service (a member of hotelcore_service, by SET ROLE or as its login) and for unrestricted callers (recovery, maintenance).';

create function internal.require_service(p_action text) returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if not internal.caller_is_service() then
        perform internal.raise_error('PERMISSION_DENIED',
            format('%s: role %s is not the HTTP service (hotelcore_service)', p_action, internal.caller_role()),
            'the checkout saga runs through the HTTP API (POST /api/booking/checkout)');
    end if;
end
$$;
comment on function internal.require_service(text) is
    'PERMISSION_DENIED unless the caller is the HTTP service or unrestricted: the checkout saga''s steps are not a client surface.';

create function internal.has_right(p_action text) returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if internal.caller_unrestricted() then
        return true;
    end if;
    return exists (select 1 from internal.rights() r
                   where r.action = p_action and r.systems && internal.caller_systems());
end
$$;
comment on function internal.has_right(text) is
    'True when the caller holds p_action of the matrix (internal.rights) or is unrestricted.';

create function internal.require_right(p_action text, p_detail text default null) returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_systems text[];
begin
    if not exists (select 1 from internal.rights() r where r.action = p_action) then
        perform internal.raise_error('INTERNAL_ERROR', format('unknown action %L', p_action), null);
    end if;
    if internal.has_right(p_action) then
        return;
    end if;
    v_systems := internal.caller_systems();
    perform internal.raise_error('PERMISSION_DENIED',
        format('%s: role %s (system %s) may not %s', p_action, internal.caller_role(),
               coalesce(nullif(array_to_string(v_systems, ', '), ''), 'none'),
               coalesce(p_detail, p_action)),
        format('held by: %s', coalesce(nullif((select array_to_string(r.systems, ', ') from internal.rights() r
                                               where r.action = p_action), ''), 'hotelcore_admin only')));
end
$$;
comment on function internal.require_right(text, text) is
    'Raises PERMISSION_DENIED (DETAIL: the action, the caller''s role and system, and p_detail such as the field) unless the caller holds p_action.';

create function internal.require_origin(p_origin text) returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    -- seed 000: hotel-member creates reservations only as origin member; later changes are the PMS's
    perform internal.require_right('reservation.create');
    if p_origin is distinct from 'member' and not internal.has_right('reservation.update') then
        perform internal.raise_error('PERMISSION_DENIED',
            format('reservation.create: origin %s is not member (role %s)', coalesce(p_origin, 'null'), internal.caller_role()),
            'hotel-member books with origin member');
    end if;
end
$$;
comment on function internal.require_origin(text) is
    'A new reservation: reservation.create, and origin member unless the caller also holds reservation.update (the PMS).';

create function internal.customer_basic_fields() returns text[]
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    select array['given_name', 'family_name', 'given_name_reading', 'family_name_reading', 'phone', 'phone_country',
                 'postal_code', 'address_line1', 'address_line2', 'city', 'region', 'country_code']
$$;
comment on function internal.customer_basic_fields() is
    'The customer fields hotel-pms may change (seed 000: 氏名・電話・住所 — name and its reading, phone, address).';

create function internal.require_customer_changes(p_changes jsonb) returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_key text;
begin
    if internal.has_right('customer.update') then
        return;
    end if;
    perform internal.require_right('customer.update_basic');
    select k into v_key from jsonb_object_keys(p_changes) k
    where not (k = any (internal.customer_basic_fields())) order by k limit 1;
    if v_key is not null then
        perform internal.raise_error('PERMISSION_DENIED',
            format('customer.update: field %s (role %s may change name, phone and address only)', v_key, internal.caller_role()),
            'change it through hotel-member');
    end if;
end
$$;
comment on function internal.require_customer_changes(jsonb) is
    'PERMISSION_DENIED naming the first field of p_changes the caller may not change: hotel-member changes every field, hotel-pms the basic ones.';

-- The customer master is chain-wide for hotel-member (and unrestricted callers): it changes any
-- customer. A login limited to some hotels without that right (hotel-pms, hotel-saas) reads any
-- customer (a front desk looks up an arriving member) but changes only a customer with a
-- reservation in one of its hotels, whatever its status, or a guest profile created for one of them.
create function internal.customer_in_reach(p_customer_id bigint) returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_scope bigint[] := core.hotel_scope();
begin
    if v_scope is null or internal.has_right('customer.update') then
        return true;
    end if;
    return exists (select 1 from core.customers c
                   where c.id = p_customer_id and c.created_for_hotel_id = any (v_scope))
        or exists (select 1 from core.reservations r
                   where r.customer_id = p_customer_id and r.hotel_id = any (v_scope));
end
$$;
comment on function internal.customer_in_reach(bigint) is
    'True when the caller may change this customer: it sees every hotel, or holds customer.update (hotel-member), or the customer has a reservation in its hotels or was created for one of them.';

create function internal.require_customer_in_reach(p_customer_id bigint, p_action text) returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if not internal.customer_in_reach(p_customer_id) then
        perform internal.raise_error('PERMISSION_DENIED',
            format('%s: customer %s has no reservation in hotels %s and was not created there (role %s)', p_action,
                   p_customer_id, array_to_string(core.hotel_scope(), ', '), internal.caller_role()),
            'a login limited to some hotels changes the guests of those hotels; hotel-member changes the customer master');
    end if;
end
$$;
comment on function internal.require_customer_in_reach(bigint, text) is
    'PERMISSION_DENIED unless internal.customer_in_reach: a hotel-scoped PMS or saas login changes only the customers of its hotels.';

-- How long a hold a caller may ask for (api.create_hold's p_ttl_seconds): a hold takes rooms off
-- sale. hotel-member holds for a guest going through its checkout (15 minutes cover a payment page
-- and a 3-D Secure challenge); the PMS holds for a phone or group enquiry (up to a day, as the
-- hotel's own hold TTL). The hotel's default TTL (180 s) applies when none is asked for.
create function internal.hold_ttl_limit() returns integer
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    return case when internal.has_right('reservation.update') then 86400 else 900 end;
end
$$;
comment on function internal.hold_ttl_limit() is
    'The longest hold TTL (seconds) the caller may ask for: 900 for hotel-member, 86400 for hotel-pms and unrestricted callers.';

create function internal.hotel_visible(p_hotel_id bigint) returns boolean
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(p_hotel_id = any (core.hotel_scope()), p_hotel_id is not null)
$$;
comment on function internal.hotel_visible(bigint) is
    'True when p_hotel_id is in the caller''s hotel scope (core.hotel_scope: the login''s hotels and the request''s).';

create function internal.require_unrestricted_scope(p_action text) returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if core.hotel_scope() is not null then
        perform internal.raise_error('PERMISSION_DENIED',
            format('%s works on every hotel; the caller is limited to hotels %s', p_action,
                   array_to_string(core.hotel_scope(), ', ')),
            'run it from a login without a hotel scope');
    end if;
end
$$;
comment on function internal.require_unrestricted_scope(text) is
    'PERMISSION_DENIED unless the caller sees every hotel (a chain-wide job must not run on a scoped subset).';

-- ---------------------------------------------------------------------------- client timeouts
-- A client's slow query or forgotten open transaction must not hold locks on the ledger: every
-- login of a client system gets a statement_timeout and an idle_in_transaction_session_timeout.
-- API systems (member, pms, saas) call functions that answer in milliseconds; BI tools run long
-- reads, so their limits are longer. Unrestricted logins (superusers, hotelcore_admin members: the
-- migrations, the scheduled jobs, the HTTP layer's pool) get none.
--
-- How they reach a session. PostgreSQL applies ALTER ROLE ... SET settings of the login only (not
-- of the groups it is a member of), so the group roles cannot carry them:
--   PostgreSQL 17+: a login event trigger (hotelcore_client_timeouts) sets them at each login;
--   PostgreSQL 15-16: each migration writes them on every client login as its own role settings
--     (internal.apply_client_timeouts; run `select internal.apply_client_timeouts()` as a
--     superuser after creating a login).
-- Overridable: a value set for the login (ALTER ROLE <login> [IN DATABASE ...] SET), in the
-- connection's options (-c statement_timeout=...) or by SET in the session wins; a value set for
-- the whole database (ALTER DATABASE) does not, as a role setting would not in PostgreSQL.

create function internal.client_timeouts()
returns table (system text, statement_timeout text, idle_in_transaction_session_timeout text)
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    values ('member', '10s',   '15s'),
           ('pms',    '10s',   '15s'),
           ('saas',   '10s',   '15s'),
           ('bi',     '10min', '5min')
$$;
comment on function internal.client_timeouts() is
    'Default statement_timeout and idle_in_transaction_session_timeout of the logins of each client system (API systems short, BI long). The one place they are written.';

create function internal.login_timeouts(p_login oid)
returns table (setting text, value text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    -- a login of several systems gets the longest limit of each; none for unrestricted logins
    select s.setting, (array_agg(s.value order by s.value::interval desc))[1]
    from (select 'statement_timeout' as setting, t.statement_timeout as value, t.system
          from internal.client_timeouts() t
          union all
          select 'idle_in_transaction_session_timeout', t.idle_in_transaction_session_timeout, t.system
          from internal.client_timeouts() t) s
    join pg_catalog.pg_roles l on l.oid = p_login
    where pg_catalog.pg_has_role(p_login, 'hotelcore_' || s.system, 'MEMBER')
      and not l.rolsuper
      and not pg_catalog.pg_has_role(p_login, 'hotelcore_admin', 'MEMBER')
      and not pg_catalog.pg_has_role(p_login, 'hotelcore_owner', 'MEMBER')
    group by s.setting
$$;
comment on function internal.login_timeouts(oid) is
    'The timeouts a login gets from its client systems (internal.client_timeouts; the longest of each when it belongs to several); none for a superuser or a member of hotelcore_admin or hotelcore_owner.';

-- PostgreSQL 17+: at each login, the session gets its systems' timeouts unless the login, the
-- database or the connection set them. It must never refuse a login: any error is only a warning.
create function internal.tg_login_client_timeouts() returns event_trigger
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_timeout record;
begin
    for v_timeout in
        select t.setting, t.value from internal.login_timeouts((select r.oid from pg_catalog.pg_roles r
                                                                 where r.rolname = session_user)) t
        join pg_catalog.pg_settings g on g.name = t.setting
        where g.source in ('default', 'configuration file', 'environment variable', 'database')
    loop
        perform pg_catalog.set_config(v_timeout.setting, v_timeout.value, false);
    end loop;
exception when others then
    raise warning 'hotelcore: client timeouts not applied: %', sqlerrm;
end
$$;
comment on function internal.tg_login_client_timeouts() is
    'Login event trigger (PostgreSQL 17+): sets the session''s statement_timeout and idle_in_transaction_session_timeout to its client systems'' defaults unless the login, its database or the connection set them.';

-- PostgreSQL 15-16: the timeouts written on each client login that has none of its own.
create function internal.apply_client_timeouts() returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_login record;
    v_count integer := 0;
begin
    for v_login in
        select l.oid, l.rolname, t.setting, t.value
        from pg_catalog.pg_roles l
        cross join lateral internal.login_timeouts(l.oid) t
        where l.rolcanlogin
        order by l.rolname, t.setting
    loop
        -- Logins and their settings belong to the cluster: another session (a migration of
        -- another database, an administrator) may write or drop this login meanwhile. Each try
        -- looks again (a statement sees what other sessions committed before it), so a value the
        -- login has of its own, written meanwhile too, stands; a write that met another session's
        -- write of the same login waited for it, and tries again.
        for v_try in 1..3 loop
            exit when exists (select 1 from pg_catalog.pg_db_role_setting d
                              where d.setrole = v_login.oid and d.setdatabase = 0
                                and exists (select 1 from unnest(d.setconfig) c where c like v_login.setting || '=%'));
            begin
                execute format('alter role %I set %I = %L', v_login.rolname, v_login.setting, v_login.value);
                v_count := v_count + 1;
                exit;
            exception
                when insufficient_privilege then
                    raise notice 'hotelcore: no right to set % of login %; set it by hand', v_login.setting, v_login.rolname;
                    exit;
                when undefined_object then
                    exit;  -- dropped meanwhile
                when unique_violation then
                    null;  -- its first settings written meanwhile: try again
                when internal_error then
                    if sqlerrm <> 'tuple concurrently updated' then
                        raise;
                    end if;  -- its settings changed meanwhile: try again
            end;
        end loop;
    end loop;
    return v_count;
end
$$;
comment on function internal.apply_client_timeouts() is
    'Writes the client timeouts (internal.login_timeouts) as role settings of every client login that has none of its own; returns how many it wrote. Run by each migration on PostgreSQL 15-16 (no login event triggers) and by a superuser after creating a login there.';

do $$
begin
    if current_setting('server_version_num')::integer >= 170000 then
        if exists (select 1 from pg_catalog.pg_event_trigger where evtname = 'hotelcore_client_timeouts') then
            null;  -- kept from an earlier deploy (it goes with internal.tg_login_client_timeouts)
        elsif (select rolsuper from pg_catalog.pg_roles where rolname = current_user) then
            create event trigger hotelcore_client_timeouts on login
                execute function internal.tg_login_client_timeouts();
        else
            raise notice 'hotelcore: a superuser creates the login event trigger hotelcore_client_timeouts';
        end if;
    else
        perform internal.apply_client_timeouts();
    end if;
end
$$;
