-- The audit trail: every insert, update and delete of a customer, a reservation or a room is
-- recorded in core.audit_log with the role the caller acted as, its login, the API key of the
-- request and the application user, prefixed by who vouched for it. Numbered 900 so that it runs
-- after the other row triggers and records the row as they left it.

-- Who made a change, as the audit trail records it: the role acted as, the login, the application
-- user as given, prefixed by who vouched for it (the key, else the login:
-- internal.request_app_user), and the API key of the request (the request's identity read once).
create function internal.audit_actor(
    out db_role    text,
    out login_role text,
    out app_user   text,
    out api_key_id bigint
)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_identity record := core.request_identity();
begin
    db_role := internal.caller_role();
    login_role := session_user::text;
    app_user := internal.request_app_user_of(v_identity.api_key_id, v_identity.app_user);
    api_key_id := v_identity.api_key_id;
end
$$;
comment on function internal.audit_actor() is
    'Who made a change, for core.audit_log: the role acted as, the login, the vouched application user and the request''s API key.';

create function internal.audit_change(
    p_entity   text,
    p_op       text,
    p_old      jsonb,
    p_new      jsonb
) returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_changed  text[] := '{}';
begin
    -- PL/pgSQL, not SQL: it runs once per changed row and keeps its plans (a SQL function with a
    -- SET clause is planned again at every call)
    if p_op = 'UPDATE' then
        select coalesce(array_agg(n.key order by n.key), '{}') into v_changed
        from jsonb_each(p_new) n
        where n.key not in ('updated_at', 'version') and n.value is distinct from p_old -> n.key;
        if cardinality(v_changed) = 0 then
            return;  -- nothing but updated_at/version changed: not recorded
        end if;
    end if;
    insert into core.audit_log (at, entity, entity_id, hotel_id, action, changed, db_role, login_role, app_user,
                                api_key_id)
    select internal.now(), p_entity, (coalesce(p_new, p_old) ->> 'id')::bigint,
           (coalesce(p_new, p_old) ->> 'hotel_id')::bigint, pg_catalog.lower(p_op), v_changed,
           a.db_role, a.login_role, a.app_user, a.api_key_id
    from internal.audit_actor() a;
end
$$;
comment on function internal.audit_change(text, text, jsonb, jsonb) is
    'Appends one core.audit_log row for a change of p_entity (an update that changed nothing but updated_at/version is not recorded).';

create function internal.tg_customers__audit() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    -- an insert records the row's keys only (internal.audit_change reads no other field of it)
    perform internal.audit_change('customer', tg_op,
        case when tg_op <> 'INSERT' then to_jsonb(old) end,
        case when tg_op = 'INSERT' then jsonb_build_object('id', new.id)
             when tg_op <> 'DELETE' then to_jsonb(new) end);
    return null;
end
$$;
comment on function internal.tg_customers__audit() is 'Records a customer change in core.audit_log.';

create trigger _900_audit
after insert or update or delete on core.customers
for each row execute function internal.tg_customers__audit();

-- A new reservation's audit row is written with its other records, one statement per insert
-- statement (internal.tg_reservations__new_records, db/triggers/reservation.sql); an update or a
-- delete is recorded here.
create function internal.tg_reservations__audit() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.audit_change('reservation', tg_op, to_jsonb(old),
        case when tg_op <> 'DELETE' then to_jsonb(new) end);
    return null;
end
$$;
comment on function internal.tg_reservations__audit() is 'Records a reservation''s update or delete in core.audit_log.';

create trigger _900_audit
after update or delete on core.reservations
for each row execute function internal.tg_reservations__audit();

create function internal.tg_rooms__audit() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    -- an insert records the row's keys only (internal.audit_change reads no other field of it)
    perform internal.audit_change('room', tg_op,
        case when tg_op <> 'INSERT' then to_jsonb(old) end,
        case when tg_op = 'INSERT' then jsonb_build_object('id', new.id, 'hotel_id', new.hotel_id)
             when tg_op <> 'DELETE' then to_jsonb(new) end);
    return null;
end
$$;
comment on function internal.tg_rooms__audit() is 'Records a room change in core.audit_log.';

create trigger _900_audit
after insert or update or delete on core.rooms
for each row execute function internal.tg_rooms__audit();
