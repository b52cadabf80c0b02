-- The customer history the conflict rules read (db/functions/conflicts.sql): every version of a
-- customer, however written (api functions, the rank trigger, merges), leaves one row in
-- core.customer_changes with the fields it changed.

create function internal.tg_customers__log_change() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    -- every version bump records which fields changed, from what to what
    insert into core.customer_changes (customer_id, version, system, changed_at, changes)
    select new.id, new.version, internal.change_system(), internal.now(),
           coalesce(jsonb_object_agg(n.key, jsonb_build_object('old', o.value, 'new', n.value)), '{}'::jsonb)
    from jsonb_each(to_jsonb(new) - array['id', 'version', 'created_at', 'updated_at']) n
    join jsonb_each(to_jsonb(old)) o on o.key = n.key
    where n.value is distinct from o.value
    on conflict (customer_id, version) do nothing;
    return null;
end
$$;
comment on function internal.tg_customers__log_change() is
    'After a customer''s version changes: one core.customer_changes row with each changed field''s old and new value, the caller''s system and the time.';

create trigger _100_log_change
    after update on core.customers
    for each row
    when (new.version is distinct from old.version)
    execute function internal.tg_customers__log_change();
