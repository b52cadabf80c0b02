-- The API key of a checkout saga and of an idempotency record, kept without a foreign key (so
-- without a row lock on the key's row, which every request of the key shares): the two things
-- the key's foreign keys guaranteed, by triggers.

create function internal.tg_api_key_exists() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    -- a row names an API key that exists (read, not locked: a key being deleted waits for this
    -- transaction in internal.tg_api_keys__forget, then forgets what it wrote)
    if not exists (select 1 from core.api_keys k where k.id = new.api_key_id) then
        raise exception using errcode = 'foreign_key_violation',
            message = format('%s.api_key_id %s names no API key', tg_table_name, new.api_key_id),
            detail = 'the API key of a request is the one api.authenticate read in the same transaction',
            constraint = tg_table_name || '_api_key_exists';
    end if;
    return null;
end
$$;
comment on function internal.tg_api_key_exists() is
    'Refuses (23503) a row whose api_key_id names no API key: the foreign key''s check, without its FOR KEY SHARE on the shared key row.';

create trigger _100_api_key_exists
after insert or update of api_key_id on core.idempotency_keys
for each row when (new.api_key_id is not null)
execute function internal.tg_api_key_exists();
comment on trigger _100_api_key_exists on core.idempotency_keys is
    'An idempotency record names an existing API key.';

create trigger _100_api_key_exists
after insert or update of api_key_id on core.checkout_sagas
for each row when (new.api_key_id is not null)
execute function internal.tg_api_key_exists();
comment on trigger _100_api_key_exists on core.checkout_sagas is
    'A checkout saga names an existing API key (or none, once its key was deleted).';

create function internal.tg_api_keys__forget() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    -- requests of the key still writing finish first, and none starts writing until this
    -- transaction ends (a later one then finds the key gone: internal.tg_api_key_exists)
    lock table core.idempotency_keys, core.checkout_sagas in share row exclusive mode;
    -- what the foreign keys' ON DELETE actions did: the records go, the sagas keep no key
    delete from core.idempotency_keys k where k.api_key_id = old.id;
    update core.checkout_sagas s set api_key_id = null where s.api_key_id = old.id;
    return old;
end
$$;
comment on function internal.tg_api_keys__forget() is
    'On deleting an API key: deletes its idempotency records and clears api_key_id on its checkout sagas, after the key''s writing requests finished.';

create trigger _100_forget
before delete on core.api_keys
for each row
execute function internal.tg_api_keys__forget();
comment on trigger _100_forget on core.api_keys is
    'Deleting an API key deletes its idempotency records and clears its sagas'' api_key_id (the ON DELETE actions of the foreign keys they no longer have).';
