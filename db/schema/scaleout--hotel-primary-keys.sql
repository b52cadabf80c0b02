-- Citus-ready keys, third step: the keys of the hotel-owned tables include hotel_id. Each is
-- swapped onto the index the previous revision built concurrently (USING INDEX: a catalog
-- change under a short lock, bounded by the runner's lock_timeout). The foreign keys that used
-- an id-only key now map hotel_id to hotel_id: NOT VALID, then validated (small tables). The unique
-- indexes that are not constraints (partial ones) give way to the ones built with hotel_id; the
-- facility-booking exclusion compares hotel_id too (rebuilt here: an exclusion constraint
-- cannot adopt an index).
--
-- Transactional on purpose: functions name these keys in ON CONFLICT (the previous release's
-- folio and night-charge inserts, a feedback score). The runner replaces the changed functions
-- in this revision's transaction: keys and functions naming them change in one commit.
--
-- What is left as it is, and why: docs/scale-out.md.
-- migrate:up
-- api.folio_balances groups by the folio's key: the view of the previous release names (id) and
-- so depends on folios_pkey; it is dropped here and created again, grouped by the new key, by
-- the replaceable objects' sync at the end of this transaction. Dropped before the tables are
-- locked: a reader of the view locks it before the folios.
drop view if exists api.folio_balances;
-- Every lock of this revision, taken up front in one statement and in the order a booking takes
-- them (create_hold then confirm_booking: room types, rate plans, the hold and its lines, the
-- length-of-stay discounts, a reclaimed offer's waitlist entry, the reservation, its folio, its
-- rooms and their assignment), then the tables a booking does not touch, parents before
-- children. A booking that holds one of these tables never waits for one that comes earlier, so
-- the swap waits for the bookings in flight and never deadlocks with them; the bookings that
-- arrive meanwhile queue behind it for the few catalog changes below. Taken table by table, the
-- locks lost every deadlock against continuous bookings (the runner's retries ran out).
lock table core.room_types, core.rate_plans, core.holds, core.hold_lines,
    core.length_of_stay_discounts, core.waitlist_entries, core.reservations, core.folios,
    core.reservation_rooms, core.room_assignments, core.rooms, core.pricing_rules, core.seasons,
    core.cancellation_policies, core.cancellations, core.payments, core.folio_lines,
    core.room_blocks, core.room_status_log, core.reviews, core.facilities, core.facility_bookings,
    core.feedback, core.feedback_scores, core.service_items, core.service_orders,
    core.service_order_lines, core.service_order_postings, core.concierge_requests,
    core.pms_checkouts, core.pms_checkout_steps, core.pms_sync_runs, core.pms_breaker_events
    in access exclusive mode;
alter table core.feedback_scores drop constraint feedback_scores_feedback_id_fkey;
alter table core.pms_checkout_steps drop constraint pms_checkout_steps_checkout_id_fkey;
alter table core.service_order_postings drop constraint service_order_postings_folio_line_id_fkey;
alter table core.service_order_postings drop constraint service_order_postings_order_line_id_fkey;
alter table core.service_order_postings drop constraint service_order_postings_reverses_line_id_fkey;
alter table core.cancellation_policies drop constraint cancellation_policies_pkey,
    add constraint cancellation_policies_pkey primary key using index cancellation_policies_pkey_with_hotel;
alter table core.cancellations drop constraint cancellations_pkey,
    add constraint cancellations_pkey primary key using index cancellations_pkey_with_hotel;
alter table core.cancellations drop constraint cancellations_one_per_reservation,
    add constraint cancellations_one_per_reservation unique using index cancellations_one_per_reservation_with_hotel;
alter table core.concierge_requests drop constraint concierge_requests_pkey,
    add constraint concierge_requests_pkey primary key using index concierge_requests_pkey_with_hotel;
alter table core.facilities drop constraint facilities_pkey,
    add constraint facilities_pkey primary key using index facilities_pkey_with_hotel;
alter table core.facility_bookings drop constraint facility_bookings_pkey,
    add constraint facility_bookings_pkey primary key using index facility_bookings_pkey_with_hotel;
alter table core.feedback drop constraint feedback_pkey,
    add constraint feedback_pkey primary key using index feedback_pkey_with_hotel;
alter table core.feedback_scores drop constraint feedback_scores_pkey,
    add constraint feedback_scores_pkey primary key using index feedback_scores_pkey_with_hotel;
alter table core.folio_lines drop constraint folio_lines_pkey,
    add constraint folio_lines_pkey primary key using index folio_lines_pkey_with_hotel;
alter table core.folios drop constraint folios_pkey,
    add constraint folios_pkey primary key using index folios_pkey_with_hotel;
alter table core.folios drop constraint folios_one_per_reservation,
    add constraint folios_one_per_reservation unique using index folios_one_per_reservation_with_hotel;
alter table core.hold_lines drop constraint hold_lines_pkey,
    add constraint hold_lines_pkey primary key using index hold_lines_pkey_with_hotel;
alter table core.holds drop constraint holds_pkey,
    add constraint holds_pkey primary key using index holds_pkey_with_hotel;
alter table core.length_of_stay_discounts drop constraint length_of_stay_discounts_pkey,
    add constraint length_of_stay_discounts_pkey primary key using index length_of_stay_discounts_pkey_with_hotel;
alter table core.payments drop constraint payments_pkey,
    add constraint payments_pkey primary key using index payments_pkey_with_hotel;
alter table core.pms_breaker_events drop constraint pms_breaker_events_pkey,
    add constraint pms_breaker_events_pkey primary key using index pms_breaker_events_pkey_with_hotel;
alter table core.pms_checkout_steps drop constraint pms_checkout_steps_pkey,
    add constraint pms_checkout_steps_pkey primary key using index pms_checkout_steps_pkey_with_hotel;
alter table core.pms_checkouts drop constraint pms_checkouts_pkey,
    add constraint pms_checkouts_pkey primary key using index pms_checkouts_pkey_with_hotel;
alter table core.pms_sync_runs drop constraint pms_sync_runs_pkey,
    add constraint pms_sync_runs_pkey primary key using index pms_sync_runs_pkey_with_hotel;
alter table core.pricing_rules drop constraint pricing_rules_pkey,
    add constraint pricing_rules_pkey primary key using index pricing_rules_pkey_with_hotel;
alter table core.rate_plans drop constraint rate_plans_pkey,
    add constraint rate_plans_pkey primary key using index rate_plans_pkey_with_hotel;
alter table core.reservation_rooms drop constraint reservation_rooms_pkey,
    add constraint reservation_rooms_pkey primary key using index reservation_rooms_pkey_with_hotel;
alter table core.reservations drop constraint reservations_pkey,
    add constraint reservations_pkey primary key using index reservations_pkey_with_hotel;
alter table core.reservations drop constraint reservations_hold_unique,
    add constraint reservations_hold_unique unique using index reservations_hold_unique_with_hotel;
alter table core.reviews drop constraint reviews_pkey,
    add constraint reviews_pkey primary key using index reviews_pkey_with_hotel;
alter table core.room_assignments drop constraint room_assignments_pkey,
    add constraint room_assignments_pkey primary key using index room_assignments_pkey_with_hotel;
alter table core.room_blocks drop constraint room_blocks_pkey,
    add constraint room_blocks_pkey primary key using index room_blocks_pkey_with_hotel;
alter table core.room_status_log drop constraint room_status_log_pkey,
    add constraint room_status_log_pkey primary key using index room_status_log_pkey_with_hotel;
alter table core.room_types drop constraint room_types_pkey,
    add constraint room_types_pkey primary key using index room_types_pkey_with_hotel;
alter table core.rooms drop constraint rooms_pkey,
    add constraint rooms_pkey primary key using index rooms_pkey_with_hotel;
alter table core.seasons drop constraint seasons_pkey,
    add constraint seasons_pkey primary key using index seasons_pkey_with_hotel;
alter table core.service_items drop constraint service_items_pkey,
    add constraint service_items_pkey primary key using index service_items_pkey_with_hotel;
alter table core.service_order_lines drop constraint service_order_lines_pkey,
    add constraint service_order_lines_pkey primary key using index service_order_lines_pkey_with_hotel;
alter table core.service_order_postings drop constraint service_order_postings_pkey,
    add constraint service_order_postings_pkey primary key using index service_order_postings_pkey_with_hotel;
alter table core.service_order_postings drop constraint service_order_postings_reversed_once,
    add constraint service_order_postings_reversed_once unique using index service_order_postings_reversed_once_with_hotel;
alter table core.service_orders drop constraint service_orders_pkey,
    add constraint service_orders_pkey primary key using index service_orders_pkey_with_hotel;
alter table core.waitlist_entries drop constraint waitlist_entries_pkey,
    add constraint waitlist_entries_pkey primary key using index waitlist_entries_pkey_with_hotel;
drop index core.feedback_one_per_order;
drop index core.feedback_one_per_stay;
drop index core.folio_lines_one_charge_per_night;
alter table core.feedback_scores add constraint feedback_scores_feedback_id_fkey foreign key (hotel_id, feedback_id)
    references core.feedback (hotel_id, id) on delete cascade not valid;
alter table core.pms_checkout_steps add constraint pms_checkout_steps_checkout_id_fkey foreign key (hotel_id, checkout_id)
    references core.pms_checkouts (hotel_id, id) on delete cascade not valid;
alter table core.service_order_postings add constraint service_order_postings_folio_line_id_fkey foreign key (hotel_id, folio_line_id)
    references core.folio_lines (hotel_id, id) on delete restrict not valid;
alter table core.service_order_postings add constraint service_order_postings_order_line_id_fkey foreign key (hotel_id, order_line_id)
    references core.service_order_lines (hotel_id, id) on delete restrict not valid;
alter table core.service_order_postings add constraint service_order_postings_reverses_line_id_fkey foreign key (hotel_id, reverses_line_id)
    references core.folio_lines (hotel_id, id) on delete restrict not valid;

alter table core.facility_bookings drop constraint facility_bookings_no_overlap,
    add constraint facility_bookings_no_overlap exclude using gist (hotel_id with =, facility_id with =, period with &&) where (active);

alter table core.feedback_scores validate constraint feedback_scores_feedback_id_fkey;
alter table core.pms_checkout_steps validate constraint pms_checkout_steps_checkout_id_fkey;
alter table core.service_order_postings validate constraint service_order_postings_folio_line_id_fkey;
alter table core.service_order_postings validate constraint service_order_postings_order_line_id_fkey;
alter table core.service_order_postings validate constraint service_order_postings_reverses_line_id_fkey;

-- migrate:down
drop view if exists api.folio_balances;
lock table core.room_types, core.rate_plans, core.holds, core.hold_lines,
    core.length_of_stay_discounts, core.waitlist_entries, core.reservations, core.folios,
    core.reservation_rooms, core.room_assignments, core.rooms, core.pricing_rules, core.seasons,
    core.cancellation_policies, core.cancellations, core.payments, core.folio_lines,
    core.room_blocks, core.room_status_log, core.reviews, core.facilities, core.facility_bookings,
    core.feedback, core.feedback_scores, core.service_items, core.service_orders,
    core.service_order_lines, core.service_order_postings, core.concierge_requests,
    core.pms_checkouts, core.pms_checkout_steps, core.pms_sync_runs, core.pms_breaker_events
    in access exclusive mode;
alter table core.facility_bookings drop constraint facility_bookings_no_overlap,
    add constraint facility_bookings_no_overlap exclude using gist (facility_id with =, period with &&) where (active);

alter table core.service_order_postings drop constraint service_order_postings_reverses_line_id_fkey;
alter table core.service_order_postings drop constraint service_order_postings_order_line_id_fkey;
alter table core.service_order_postings drop constraint service_order_postings_folio_line_id_fkey;
alter table core.pms_checkout_steps drop constraint pms_checkout_steps_checkout_id_fkey;
alter table core.feedback_scores drop constraint feedback_scores_feedback_id_fkey;
alter table core.cancellation_policies drop constraint cancellation_policies_pkey,
    add constraint cancellation_policies_pkey primary key (id);
alter table core.cancellations drop constraint cancellations_pkey,
    add constraint cancellations_pkey primary key (id);
alter table core.cancellations drop constraint cancellations_one_per_reservation,
    add constraint cancellations_one_per_reservation unique (reservation_id);
alter table core.concierge_requests drop constraint concierge_requests_pkey,
    add constraint concierge_requests_pkey primary key (id);
alter table core.facilities drop constraint facilities_pkey,
    add constraint facilities_pkey primary key (id);
alter table core.facility_bookings drop constraint facility_bookings_pkey,
    add constraint facility_bookings_pkey primary key (id);
alter table core.feedback drop constraint feedback_pkey,
    add constraint feedback_pkey primary key (id);
alter table core.feedback_scores drop constraint feedback_scores_pkey,
    add constraint feedback_scores_pkey primary key (feedback_id, aspect);
alter table core.folio_lines drop constraint folio_lines_pkey,
    add constraint folio_lines_pkey primary key (id);
alter table core.folios drop constraint folios_pkey, add constraint folios_pkey primary key (id);
alter table core.folios drop constraint folios_one_per_reservation,
    add constraint folios_one_per_reservation unique (reservation_id);
alter table core.hold_lines drop constraint hold_lines_pkey,
    add constraint hold_lines_pkey primary key (id);
alter table core.holds drop constraint holds_pkey, add constraint holds_pkey primary key (id);
alter table core.length_of_stay_discounts drop constraint length_of_stay_discounts_pkey,
    add constraint length_of_stay_discounts_pkey primary key (id);
alter table core.payments drop constraint payments_pkey,
    add constraint payments_pkey primary key (id);
alter table core.pms_breaker_events drop constraint pms_breaker_events_pkey,
    add constraint pms_breaker_events_pkey primary key (id);
alter table core.pms_checkout_steps drop constraint pms_checkout_steps_pkey,
    add constraint pms_checkout_steps_pkey primary key (id);
alter table core.pms_checkouts drop constraint pms_checkouts_pkey,
    add constraint pms_checkouts_pkey primary key (id);
alter table core.pms_sync_runs drop constraint pms_sync_runs_pkey,
    add constraint pms_sync_runs_pkey primary key (id);
alter table core.pricing_rules drop constraint pricing_rules_pkey,
    add constraint pricing_rules_pkey primary key (id);
alter table core.rate_plans drop constraint rate_plans_pkey,
    add constraint rate_plans_pkey primary key (id);
alter table core.reservation_rooms drop constraint reservation_rooms_pkey,
    add constraint reservation_rooms_pkey primary key (id);
alter table core.reservations drop constraint reservations_pkey,
    add constraint reservations_pkey primary key (id);
alter table core.reservations drop constraint reservations_hold_unique,
    add constraint reservations_hold_unique unique (hold_id);
alter table core.reviews drop constraint reviews_pkey, add constraint reviews_pkey primary key (id);
alter table core.room_assignments drop constraint room_assignments_pkey,
    add constraint room_assignments_pkey primary key (id);
alter table core.room_blocks drop constraint room_blocks_pkey,
    add constraint room_blocks_pkey primary key (id);
alter table core.room_status_log drop constraint room_status_log_pkey,
    add constraint room_status_log_pkey primary key (id);
alter table core.room_types drop constraint room_types_pkey,
    add constraint room_types_pkey primary key (id);
alter table core.rooms drop constraint rooms_pkey, add constraint rooms_pkey primary key (id);
alter table core.seasons drop constraint seasons_pkey, add constraint seasons_pkey primary key (id);
alter table core.service_items drop constraint service_items_pkey,
    add constraint service_items_pkey primary key (id);
alter table core.service_order_lines drop constraint service_order_lines_pkey,
    add constraint service_order_lines_pkey primary key (id);
alter table core.service_order_postings drop constraint service_order_postings_pkey,
    add constraint service_order_postings_pkey primary key (folio_line_id);
alter table core.service_order_postings drop constraint service_order_postings_reversed_once,
    add constraint service_order_postings_reversed_once unique (reverses_line_id);
alter table core.service_orders drop constraint service_orders_pkey,
    add constraint service_orders_pkey primary key (id);
alter table core.waitlist_entries drop constraint waitlist_entries_pkey,
    add constraint waitlist_entries_pkey primary key (id);
create unique index feedback_one_per_order on core.feedback (order_id) where order_id is not null;
create unique index feedback_one_per_stay
    on core.feedback (reservation_id)
    where order_id is null;
create unique index folio_lines_one_charge_per_night
    on core.folio_lines (folio_id, reservation_room_id, night, kind)
    where night is not null and kind in ('room_night', 'tax');
alter table core.feedback_scores add constraint feedback_scores_feedback_id_fkey foreign key (feedback_id)
    references core.feedback(id) on delete cascade;
alter table core.pms_checkout_steps add constraint pms_checkout_steps_checkout_id_fkey foreign key (checkout_id)
    references core.pms_checkouts(id) on delete cascade;
alter table core.service_order_postings add constraint service_order_postings_folio_line_id_fkey foreign key (folio_line_id)
    references core.folio_lines(id) on delete restrict;
alter table core.service_order_postings add constraint service_order_postings_order_line_id_fkey foreign key (order_line_id)
    references core.service_order_lines(id) on delete restrict;
alter table core.service_order_postings add constraint service_order_postings_reverses_line_id_fkey foreign key (reverses_line_id)
    references core.folio_lines(id) on delete restrict;

-- the previous revision's indexes, which the keys had adopted
create unique index cancellation_policies_pkey_with_hotel on core.cancellation_policies (id, hotel_id);
create unique index cancellations_pkey_with_hotel on core.cancellations (id, hotel_id);
create unique index cancellations_one_per_reservation_with_hotel on core.cancellations (reservation_id, hotel_id);
create unique index concierge_requests_pkey_with_hotel on core.concierge_requests (id, hotel_id);
create unique index facilities_pkey_with_hotel on core.facilities (id, hotel_id);
create unique index facility_bookings_pkey_with_hotel on core.facility_bookings (id, hotel_id);
create unique index feedback_pkey_with_hotel on core.feedback (id, hotel_id);
create unique index feedback_scores_pkey_with_hotel on core.feedback_scores (feedback_id, aspect, hotel_id);
create unique index folio_lines_pkey_with_hotel on core.folio_lines (id, hotel_id);
create unique index folios_pkey_with_hotel on core.folios (id, hotel_id);
create unique index folios_one_per_reservation_with_hotel on core.folios (reservation_id, hotel_id);
create unique index hold_lines_pkey_with_hotel on core.hold_lines (id, hotel_id);
create unique index holds_pkey_with_hotel on core.holds (id, hotel_id);
create unique index length_of_stay_discounts_pkey_with_hotel on core.length_of_stay_discounts (id, hotel_id);
create unique index payments_pkey_with_hotel on core.payments (id, hotel_id);
create unique index pms_breaker_events_pkey_with_hotel on core.pms_breaker_events (id, hotel_id);
create unique index pms_checkout_steps_pkey_with_hotel on core.pms_checkout_steps (id, hotel_id);
create unique index pms_checkouts_pkey_with_hotel on core.pms_checkouts (id, hotel_id);
create unique index pms_sync_runs_pkey_with_hotel on core.pms_sync_runs (id, hotel_id);
create unique index pricing_rules_pkey_with_hotel on core.pricing_rules (id, hotel_id);
create unique index rate_plans_pkey_with_hotel on core.rate_plans (id, hotel_id);
create unique index reservation_rooms_pkey_with_hotel on core.reservation_rooms (id, hotel_id);
create unique index reservations_pkey_with_hotel on core.reservations (id, hotel_id);
create unique index reservations_hold_unique_with_hotel on core.reservations (hold_id, hotel_id);
create unique index reviews_pkey_with_hotel on core.reviews (id, hotel_id);
create unique index room_assignments_pkey_with_hotel on core.room_assignments (id, hotel_id);
create unique index room_blocks_pkey_with_hotel on core.room_blocks (id, hotel_id);
create unique index room_status_log_pkey_with_hotel on core.room_status_log (id, hotel_id);
create unique index room_types_pkey_with_hotel on core.room_types (id, hotel_id);
create unique index rooms_pkey_with_hotel on core.rooms (id, hotel_id);
create unique index seasons_pkey_with_hotel on core.seasons (id, hotel_id);
create unique index service_items_pkey_with_hotel on core.service_items (id, hotel_id);
create unique index service_order_lines_pkey_with_hotel on core.service_order_lines (id, hotel_id);
create unique index service_order_postings_pkey_with_hotel on core.service_order_postings (folio_line_id, hotel_id);
create unique index service_order_postings_reversed_once_with_hotel on core.service_order_postings (reverses_line_id, hotel_id);
create unique index service_orders_pkey_with_hotel on core.service_orders (id, hotel_id);
create unique index waitlist_entries_pkey_with_hotel on core.waitlist_entries (id, hotel_id);
