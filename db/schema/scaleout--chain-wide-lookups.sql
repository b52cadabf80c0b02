-- Citus-ready keys, fifth step: the last keys of the hotel-owned tables that lacked hotel_id,
-- swapped onto the indexes the previous revision built concurrently (USING INDEX: a catalog
-- change), and the two chain-wide lookups as reference tables of their own.
--
-- A chain-wide unique key cannot live on a table sharded by hotel, so each becomes unique per
-- hotel on the sharded table plus a lookup table (a reference table, on every node) that holds
-- the chain-wide key and its hotel, kept in the same transaction by a trigger on the sharded
-- table (db/triggers/reservation.sql, db/triggers/external_pms.sql). The lookup's primary key is
-- where the chain-wide uniqueness is enforced; a read by the chain-wide key finds the hotel
-- there, then reads the hotel's row (one shard).
--   core.confirmation_codes     confirmation code -> hotel, reservation: a code is unique
--                               across the chain (a guest quotes it without naming the hotel).
--   core.pms_property_hotels    (vendor, vendor's property id) -> hotel: a vendor's webhook
--                               names its property, not our hotel.
--
-- The checkout saga's key is (id, hotel_id) and its step log's foreign key names the saga's
-- hotel (the step log's hotel_id came two revisions ago; the rows the previous release's
-- functions wrote since are filled here from their sagas). The inbound PMS webhook events are
-- once per (vendor, event id) per hotel: an event always names an imported property, so its hotel
-- (an event naming no property imported here is refused before it is stored); NOT NULL comes
-- with the next revision's validation.
--
-- Transactional on purpose: api.pms_apply_webhook names the webhook events' key in ON CONFLICT,
-- and the lookups' triggers must exist from the first row written after their backfill: the
-- runner replaces the functions and triggers in this revision's transaction.
-- migrate:up
-- Every lock taken up front, in the order the writers take them: a PMS webhook reads its
-- property, then writes its event; a checkout step locks its saga, then books (the
-- reservation), then logs the step. A writer that holds one of these tables never waits for one
-- that comes earlier, so this waits for the writers in flight and never deadlocks with them.
-- Bookings queue behind it while the lookups are filled (one read of the reservations).
lock table core.pms_properties, core.pms_webhook_events, core.checkout_sagas, core.reservations,
    core.checkout_saga_steps in access exclusive mode;

-- the checkout saga and its step log
update core.checkout_saga_steps st set hotel_id = s.hotel_id
from core.checkout_sagas s
where s.id = st.saga_id and st.hotel_id is null;
alter table core.checkout_saga_steps add constraint checkout_saga_steps_hotel_id_not_null
    check (hotel_id is not null) not valid;
alter table core.checkout_saga_steps drop constraint checkout_saga_steps_saga_id_fkey;
alter table core.checkout_sagas drop constraint checkout_sagas_pkey,
    add constraint checkout_sagas_pkey primary key using index checkout_sagas_pkey_with_hotel;
alter table core.checkout_saga_steps add constraint checkout_saga_steps_saga_id_fkey foreign key (saga_id, hotel_id)
    references core.checkout_sagas (id, hotel_id) on delete cascade not valid;

-- confirmation codes: unique per hotel on the reservations, chain-wide in the lookup
create table core.confirmation_codes (
    confirmation_code text primary key,
    hotel_id          bigint not null references core.hotels (id) on delete cascade,
    reservation_id    bigint not null
);
comment on table core.confirmation_codes is
    'Chain-wide lookup of confirmation codes (a reference table): each code once across the chain, with its hotel and reservation (a plain column: a reference table holds no foreign key to a sharded one). Kept by the trigger on core.reservations.';
comment on column core.confirmation_codes.reservation_id is 'The reservation (core.reservations.id) of the hotel that holds the code.';
create index confirmation_codes_hotel on core.confirmation_codes (hotel_id);
insert into core.confirmation_codes (confirmation_code, hotel_id, reservation_id)
select r.confirmation_code, r.hotel_id, r.id from core.reservations r;
alter table core.reservations drop constraint reservations_confirmation_code_unique,
    add constraint reservations_confirmation_code_unique unique using index reservations_confirmation_code_with_hotel;

-- a vendor's property: unique per hotel on the properties, chain-wide in the lookup
create table core.pms_property_hotels (
    vendor      text not null,
    property_id text not null,
    hotel_id    bigint not null unique references core.hotels (id) on delete cascade,
    primary key (vendor, property_id)
);
comment on table core.pms_property_hotels is
    'Chain-wide lookup of the vendors'' properties (a reference table): each (vendor, property id) imported once across the chain, with its hotel. Kept by the trigger on core.pms_properties; a webhook finds its hotel here.';
insert into core.pms_property_hotels (vendor, property_id, hotel_id)
select p.vendor, p.property_id, p.hotel_id from core.pms_properties p;
alter table core.pms_properties drop constraint pms_properties_vendor_property_unique,
    add constraint pms_properties_vendor_property_unique unique using index pms_properties_vendor_property_with_hotel;

-- hotel scope, as every table with hotel_id (db/schema/rights.sql): the chain-wide uniqueness
-- of the primary keys holds whatever a caller sees
alter table core.confirmation_codes enable row level security;
alter table core.confirmation_codes force row level security;
create policy confirmation_codes_in_hotel_scope on core.confirmation_codes
    using (coalesce(hotel_id = any((select core.hotel_scope())::bigint[]), true));
alter table core.pms_property_hotels enable row level security;
alter table core.pms_property_hotels force row level security;
create policy pms_property_hotels_in_hotel_scope on core.pms_property_hotels
    using (coalesce(hotel_id = any((select core.hotel_scope())::bigint[]), true));
alter table core.confirmation_codes owner to hotelcore_owner;
alter table core.pms_property_hotels owner to hotelcore_owner;

-- inbound PMS webhook events: once per vendor event per hotel
alter table core.pms_webhook_events add constraint pms_webhook_events_hotel_id_not_null
    check (hotel_id is not null) not valid;
alter table core.pms_webhook_events drop constraint pms_webhook_events_once,
    add constraint pms_webhook_events_once unique using index pms_webhook_events_once_with_hotel;

-- migrate:down
lock table core.pms_properties, core.pms_webhook_events, core.checkout_sagas, core.reservations,
    core.checkout_saga_steps in access exclusive mode;
alter table core.pms_webhook_events drop constraint pms_webhook_events_once,
    add constraint pms_webhook_events_once unique (vendor, event_id);
alter table core.pms_webhook_events drop constraint pms_webhook_events_hotel_id_not_null;
alter table core.pms_properties drop constraint pms_properties_vendor_property_unique,
    add constraint pms_properties_vendor_property_unique unique (vendor, property_id);
drop table core.pms_property_hotels;
alter table core.reservations drop constraint reservations_confirmation_code_unique,
    add constraint reservations_confirmation_code_unique unique (confirmation_code);
drop table core.confirmation_codes;
alter table core.checkout_saga_steps drop constraint checkout_saga_steps_saga_id_fkey;
alter table core.checkout_sagas drop constraint checkout_sagas_pkey,
    add constraint checkout_sagas_pkey primary key (id);
alter table core.checkout_saga_steps add constraint checkout_saga_steps_saga_id_fkey foreign key (saga_id)
    references core.checkout_sagas (id) on delete cascade;
alter table core.checkout_saga_steps drop constraint checkout_saga_steps_hotel_id_not_null;
create unique index pms_webhook_events_once_with_hotel on core.pms_webhook_events (vendor, event_id, hotel_id);
create unique index pms_properties_vendor_property_with_hotel on core.pms_properties (vendor, property_id, hotel_id);
create unique index reservations_confirmation_code_with_hotel on core.reservations (confirmation_code, hotel_id);
create unique index checkout_sagas_pkey_with_hotel on core.checkout_sagas (id, hotel_id);
