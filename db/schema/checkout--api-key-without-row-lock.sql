-- The API key a checkout saga or an idempotency record was written under is kept as its id,
-- without a foreign key. With the keys, every checkout took FOR KEY SHARE on its API key's one
-- core.api_keys row several times (the idempotency record's insert, the saga's insert, and each
-- update of a saga row its own transaction had written, in the saga's subtransactions too); the
-- clients of one system share a key, and concurrent share locks on one row are kept as
-- multixacts, a new member list for every lock taken.
-- What the keys guaranteed stays, in db/triggers/checkout.sql: a row names an API key that
-- exists when it is written (and the id is only ever the request's, from api.authenticate, which
-- read the key in the same transaction), and deleting a key deletes its idempotency records and
-- clears its sagas' api_key_id, as the keys' ON DELETE actions did.
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
alter table core.idempotency_keys drop constraint idempotency_keys_api_key_id_fkey;
alter table core.checkout_sagas drop constraint checkout_sagas_api_key_id_fkey;
comment on column core.idempotency_keys.api_key_id is
    'The API key of the request (no foreign key, so no row lock on the shared key row: db/triggers/checkout.sql keeps it existing and follows its deletion).';
comment on column core.checkout_sagas.api_key_id is
    'The API key of the request that started the checkout; null once the key is deleted (no foreign key: db/triggers/checkout.sql).';

-- migrate:down
comment on column core.idempotency_keys.api_key_id is null;
comment on column core.checkout_sagas.api_key_id is null;
alter table core.idempotency_keys add constraint idempotency_keys_api_key_id_fkey
    foreign key (api_key_id) references core.api_keys (id) on delete cascade;
alter table core.checkout_sagas add constraint checkout_sagas_api_key_id_fkey
    foreign key (api_key_id) references core.api_keys (id) on delete set null;
