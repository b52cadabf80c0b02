-- Citus-ready keys, sixth step: validate what the previous revision added NOT VALID (the step
-- log's foreign key to its saga, and hotel_id present on the step log and the inbound PMS webhook
-- events), then make hotel_id NOT NULL on both (PostgreSQL proves it from the validated check,
-- without a second scan) and swap their primary keys onto the (id, hotel_id) indexes built
-- concurrently two revisions ago (a primary key's columns must be NOT NULL first).
-- migrate:up
alter table core.checkout_saga_steps validate constraint checkout_saga_steps_saga_id_fkey;
alter table core.checkout_saga_steps validate constraint checkout_saga_steps_hotel_id_not_null;
alter table core.checkout_saga_steps alter column hotel_id set not null;
alter table core.checkout_saga_steps drop constraint checkout_saga_steps_hotel_id_not_null;
alter table core.checkout_saga_steps drop constraint checkout_saga_steps_pkey,
    add constraint checkout_saga_steps_pkey primary key using index checkout_saga_steps_pkey_with_hotel;
alter table core.pms_webhook_events validate constraint pms_webhook_events_hotel_id_not_null;
alter table core.pms_webhook_events alter column hotel_id set not null;
alter table core.pms_webhook_events drop constraint pms_webhook_events_hotel_id_not_null;
alter table core.pms_webhook_events drop constraint pms_webhook_events_pkey,
    add constraint pms_webhook_events_pkey primary key using index pms_webhook_events_pkey_with_hotel;

-- migrate:down
-- a validated constraint cannot be made NOT VALID again: each is dropped and added back NOT VALID
alter table core.pms_webhook_events drop constraint pms_webhook_events_pkey,
    add constraint pms_webhook_events_pkey primary key (id);
alter table core.pms_webhook_events alter column hotel_id drop not null;
alter table core.pms_webhook_events add constraint pms_webhook_events_hotel_id_not_null
    check (hotel_id is not null) not valid;
alter table core.checkout_saga_steps drop constraint checkout_saga_steps_pkey,
    add constraint checkout_saga_steps_pkey primary key (id);
alter table core.checkout_saga_steps alter column hotel_id drop not null;
alter table core.checkout_saga_steps add constraint checkout_saga_steps_hotel_id_not_null
    check (hotel_id is not null) not valid;
alter table core.checkout_saga_steps drop constraint checkout_saga_steps_saga_id_fkey;
alter table core.checkout_saga_steps add constraint checkout_saga_steps_saga_id_fkey foreign key (saga_id, hotel_id)
    references core.checkout_sagas (id, hotel_id) on delete cascade not valid;
create unique index checkout_saga_steps_pkey_with_hotel on core.checkout_saga_steps (id, hotel_id);
create unique index pms_webhook_events_pkey_with_hotel on core.pms_webhook_events (id, hotel_id);
