-- Citus-ready keys, second step (tools/hotelcore_tools/citus.py checks the rules): the unique
-- indexes of the hotel-owned tables' new keys, built while bookings go on. Each primary key and
-- each one-per-X unique key that lacked hotel_id gets an index on the same columns plus hotel_id
-- (hotel_id last, so a lookup by id or by reservation alone still finds its row through it);
-- the next revision (db/schema/scaleout--hotel-primary-keys.sql) swaps the constraints onto them.
-- Same guarantee as before on one server: ids are unique, so (id, hotel_id) is unique too, and a
-- reservation belongs to one hotel, so one folio per (reservation_id, hotel_id) is one per
-- reservation.
--
-- Applied outside a transaction (the revision says TRANSACTION = False): CREATE INDEX
-- CONCURRENTLY builds each index without blocking writes; IF NOT EXISTS lets a failed deploy run
-- again (an index a failed build left invalid is dropped and rebuilt by the runner).
-- migrate:up
create unique index concurrently if not exists cancellation_policies_pkey_with_hotel
    on core.cancellation_policies (id, hotel_id);
create unique index concurrently if not exists cancellations_pkey_with_hotel
    on core.cancellations (id, hotel_id);
create unique index concurrently if not exists cancellations_one_per_reservation_with_hotel
    on core.cancellations (reservation_id, hotel_id);
create unique index concurrently if not exists concierge_requests_pkey_with_hotel
    on core.concierge_requests (id, hotel_id);
create unique index concurrently if not exists facilities_pkey_with_hotel
    on core.facilities (id, hotel_id);
create unique index concurrently if not exists facility_bookings_pkey_with_hotel
    on core.facility_bookings (id, hotel_id);
create unique index concurrently if not exists feedback_pkey_with_hotel
    on core.feedback (id, hotel_id);
create unique index concurrently if not exists feedback_scores_pkey_with_hotel
    on core.feedback_scores (feedback_id, aspect, hotel_id);
create unique index concurrently if not exists folio_lines_pkey_with_hotel
    on core.folio_lines (id, hotel_id);
create unique index concurrently if not exists folios_pkey_with_hotel on core.folios (id, hotel_id);
create unique index concurrently if not exists folios_one_per_reservation_with_hotel
    on core.folios (reservation_id, hotel_id);
create unique index concurrently if not exists hold_lines_pkey_with_hotel
    on core.hold_lines (id, hotel_id);
create unique index concurrently if not exists holds_pkey_with_hotel on core.holds (id, hotel_id);
create unique index concurrently if not exists length_of_stay_discounts_pkey_with_hotel
    on core.length_of_stay_discounts (id, hotel_id);
create unique index concurrently if not exists payments_pkey_with_hotel
    on core.payments (id, hotel_id);
create unique index concurrently if not exists pms_breaker_events_pkey_with_hotel
    on core.pms_breaker_events (id, hotel_id);
create unique index concurrently if not exists pms_checkout_steps_pkey_with_hotel
    on core.pms_checkout_steps (id, hotel_id);
create unique index concurrently if not exists pms_checkouts_pkey_with_hotel
    on core.pms_checkouts (id, hotel_id);
create unique index concurrently if not exists pms_sync_runs_pkey_with_hotel
    on core.pms_sync_runs (id, hotel_id);
create unique index concurrently if not exists pricing_rules_pkey_with_hotel
    on core.pricing_rules (id, hotel_id);
create unique index concurrently if not exists rate_plans_pkey_with_hotel
    on core.rate_plans (id, hotel_id);
create unique index concurrently if not exists reservation_rooms_pkey_with_hotel
    on core.reservation_rooms (id, hotel_id);
create unique index concurrently if not exists reservations_pkey_with_hotel
    on core.reservations (id, hotel_id);
create unique index concurrently if not exists reservations_hold_unique_with_hotel
    on core.reservations (hold_id, hotel_id);
create unique index concurrently if not exists reviews_pkey_with_hotel
    on core.reviews (id, hotel_id);
create unique index concurrently if not exists room_assignments_pkey_with_hotel
    on core.room_assignments (id, hotel_id);
create unique index concurrently if not exists room_blocks_pkey_with_hotel
    on core.room_blocks (id, hotel_id);
create unique index concurrently if not exists room_status_log_pkey_with_hotel
    on core.room_status_log (id, hotel_id);
create unique index concurrently if not exists room_types_pkey_with_hotel
    on core.room_types (id, hotel_id);
create unique index concurrently if not exists rooms_pkey_with_hotel on core.rooms (id, hotel_id);
create unique index concurrently if not exists seasons_pkey_with_hotel
    on core.seasons (id, hotel_id);
create unique index concurrently if not exists service_items_pkey_with_hotel
    on core.service_items (id, hotel_id);
create unique index concurrently if not exists service_order_lines_pkey_with_hotel
    on core.service_order_lines (id, hotel_id);
create unique index concurrently if not exists service_order_postings_pkey_with_hotel
    on core.service_order_postings (folio_line_id, hotel_id);
create unique index concurrently if not exists service_order_postings_reversed_once_with_hotel
    on core.service_order_postings (reverses_line_id, hotel_id);
create unique index concurrently if not exists service_orders_pkey_with_hotel
    on core.service_orders (id, hotel_id);
create unique index concurrently if not exists waitlist_entries_pkey_with_hotel
    on core.waitlist_entries (id, hotel_id);
create unique index concurrently if not exists feedback_one_per_order_with_hotel
    on core.feedback (order_id, hotel_id)
    where order_id is not null;
create unique index concurrently if not exists feedback_one_per_stay_with_hotel
    on core.feedback (reservation_id, hotel_id)
    where order_id is null;
create unique index concurrently if not exists folio_lines_one_charge_per_night_with_hotel
    on core.folio_lines (folio_id, reservation_room_id, night, kind, hotel_id)
    where night is not null and kind in ('room_night', 'tax');

-- migrate:down
drop index concurrently if exists core.cancellation_policies_pkey_with_hotel;
drop index concurrently if exists core.cancellations_pkey_with_hotel;
drop index concurrently if exists core.cancellations_one_per_reservation_with_hotel;
drop index concurrently if exists core.concierge_requests_pkey_with_hotel;
drop index concurrently if exists core.facilities_pkey_with_hotel;
drop index concurrently if exists core.facility_bookings_pkey_with_hotel;
drop index concurrently if exists core.feedback_pkey_with_hotel;
drop index concurrently if exists core.feedback_scores_pkey_with_hotel;
drop index concurrently if exists core.folio_lines_pkey_with_hotel;
drop index concurrently if exists core.folios_pkey_with_hotel;
drop index concurrently if exists core.folios_one_per_reservation_with_hotel;
drop index concurrently if exists core.hold_lines_pkey_with_hotel;
drop index concurrently if exists core.holds_pkey_with_hotel;
drop index concurrently if exists core.length_of_stay_discounts_pkey_with_hotel;
drop index concurrently if exists core.payments_pkey_with_hotel;
drop index concurrently if exists core.pms_breaker_events_pkey_with_hotel;
drop index concurrently if exists core.pms_checkout_steps_pkey_with_hotel;
drop index concurrently if exists core.pms_checkouts_pkey_with_hotel;
drop index concurrently if exists core.pms_sync_runs_pkey_with_hotel;
drop index concurrently if exists core.pricing_rules_pkey_with_hotel;
drop index concurrently if exists core.rate_plans_pkey_with_hotel;
drop index concurrently if exists core.reservation_rooms_pkey_with_hotel;
drop index concurrently if exists core.reservations_pkey_with_hotel;
drop index concurrently if exists core.reservations_hold_unique_with_hotel;
drop index concurrently if exists core.reviews_pkey_with_hotel;
drop index concurrently if exists core.room_assignments_pkey_with_hotel;
drop index concurrently if exists core.room_blocks_pkey_with_hotel;
drop index concurrently if exists core.room_status_log_pkey_with_hotel;
drop index concurrently if exists core.room_types_pkey_with_hotel;
drop index concurrently if exists core.rooms_pkey_with_hotel;
drop index concurrently if exists core.seasons_pkey_with_hotel;
drop index concurrently if exists core.service_items_pkey_with_hotel;
drop index concurrently if exists core.service_order_lines_pkey_with_hotel;
drop index concurrently if exists core.service_order_postings_pkey_with_hotel;
drop index concurrently if exists core.service_order_postings_reversed_once_with_hotel;
drop index concurrently if exists core.service_orders_pkey_with_hotel;
drop index concurrently if exists core.waitlist_entries_pkey_with_hotel;
drop index concurrently if exists core.feedback_one_per_order_with_hotel;
drop index concurrently if exists core.feedback_one_per_stay_with_hotel;
drop index concurrently if exists core.folio_lines_one_charge_per_night_with_hotel;
