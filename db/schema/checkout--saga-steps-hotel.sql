-- A checkout saga's step log carries its saga's hotel (internal.checkout_log writes it from the
-- saga row), so the log is sharded with its saga (docs/scale-out.md). Added nullable here: the
-- previous release's functions, still running while the next revisions build their indexes, do
-- not write it. The rows they wrote are filled from their sagas under the key swap's lock
-- (db/schema/scaleout--chain-wide-lookups.sql), and the column is NOT NULL after that
-- (db/schema/scaleout--validate-lookup-keys.sql).
-- migrate:up
alter table core.checkout_saga_steps add column hotel_id bigint;
comment on column core.checkout_saga_steps.hotel_id is 'The saga''s hotel (core.checkout_sagas.hotel_id): the log is kept with its saga.';
-- hotel scope, as every hotel-owned table (db/schema/rights.sql); a row the previous release
-- wrote without its hotel stays visible until it is filled
alter table core.checkout_saga_steps enable row level security;
alter table core.checkout_saga_steps force row level security;
create policy checkout_saga_steps_in_hotel_scope on core.checkout_saga_steps
    using (coalesce(hotel_id = any((select core.hotel_scope())::bigint[]), true));

-- migrate:down
drop policy checkout_saga_steps_in_hotel_scope on core.checkout_saga_steps;
alter table core.checkout_saga_steps no force row level security;
alter table core.checkout_saga_steps disable row level security;
alter table core.checkout_saga_steps drop column hotel_id;
