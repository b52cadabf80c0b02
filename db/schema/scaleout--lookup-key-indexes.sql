-- Citus-ready keys, fourth step: the unique indexes of the keys that still lacked hotel_id, built
-- while bookings go on; the next revision (db/schema/scaleout--chain-wide-lookups.sql) swaps the
-- constraints onto them:
--   * the checkout saga's primary key (id, hotel_id), which its step log's foreign key names,
--     and the step log's own (id, hotel_id) (its hotel_id column came in the previous revision);
--   * a confirmation code unique per hotel, and a vendor's property unique per hotel (chain-wide
--     uniqueness moves to the reference lookup tables of the next revision);
--   * the inbound PMS webhook events' id and once-per-vendor-event keys, per hotel.
-- Same guarantee as before on one server: each old key's columns plus hotel_id.
--
-- Applied outside a transaction (the revision says TRANSACTION = False): CREATE INDEX
-- CONCURRENTLY builds each index without blocking writes; IF NOT EXISTS lets a failed deploy run
-- again (an index a failed build left invalid is dropped and rebuilt by the runner).
-- migrate:up
create unique index concurrently if not exists checkout_sagas_pkey_with_hotel
    on core.checkout_sagas (id, hotel_id);
create unique index concurrently if not exists checkout_saga_steps_pkey_with_hotel
    on core.checkout_saga_steps (id, hotel_id);
create unique index concurrently if not exists reservations_confirmation_code_with_hotel
    on core.reservations (confirmation_code, hotel_id);
create unique index concurrently if not exists pms_properties_vendor_property_with_hotel
    on core.pms_properties (vendor, property_id, hotel_id);
create unique index concurrently if not exists pms_webhook_events_pkey_with_hotel
    on core.pms_webhook_events (id, hotel_id);
create unique index concurrently if not exists pms_webhook_events_once_with_hotel
    on core.pms_webhook_events (vendor, event_id, hotel_id);

-- migrate:down
drop index concurrently if exists core.pms_webhook_events_once_with_hotel;
drop index concurrently if exists core.pms_webhook_events_pkey_with_hotel;
drop index concurrently if exists core.pms_properties_vendor_property_with_hotel;
drop index concurrently if exists core.reservations_confirmation_code_with_hotel;
drop index concurrently if exists core.checkout_saga_steps_pkey_with_hotel;
drop index concurrently if exists core.checkout_sagas_pkey_with_hotel;
