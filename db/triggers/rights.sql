-- The audit trail: every insert, update and delete of a customer, a reservation or a room is
-- recorded in core.audit_log with the role the caller acted as, its login, the API key of the
-- request and the application user, prefixed by who vouched for it. Numbered 900 so that it runs
-- after the other row triggers and records the row as they left it.

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
    v_identity record;
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
    -- who: the role acted as, the login, the API key of the request, and the application user as
    -- given, prefixed by who vouched for it (the key, else the login: internal.request_app_user)
    -- (the request's identity read once for both)
    v_identity := core.request_identity();
    insert into core.audit_log (at, entity, entity_id, hotel_id, action, changed, db_role, login_role, app_user,
                                api_key_id)
    values (internal.now(), p_entity, (coalesce(p_new, p_old) ->> 'id')::bigint,
            (coalesce(p_new, p_old) ->> 'hotel_id')::bigint, pg_catalog.lower(p_op), v_changed,
            internal.caller_role(), session_user::text,
            internal.request_app_user_of(v_identity.api_key_id, v_identity.app_user), v_identity.api_key_id);
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

create function internal.tg_reservations__audit() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    -- an insert records the row's keys only (internal.audit_change reads no other field of it)
    perform internal.audit_change('reservation', tg_op,
        case when tg_op <> 'INSERT' then to_jsonb(old) end,
        case when tg_op = 'INSERT' then jsonb_build_object('id', new.id, 'hotel_id', new.hotel_id)
             when tg_op <> 'DELETE' then to_jsonb(new) end);
    return null;
end
$$;
comment on function internal.tg_reservations__audit() is 'Records a reservation change in core.audit_log.';

create trigger _900_audit
after insert or update or delete on core.reservations
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
