-- Citus-ready keys, second step: validate the composite foreign keys the previous revision added
-- NOT VALID. VALIDATE CONSTRAINT scans under SHARE UPDATE EXCLUSIVE: bookings go on meanwhile.
-- migrate:up
alter table core.hold_lines validate constraint hold_lines_hold_fk;
alter table core.reservations validate constraint reservations_hold_fk;
alter table core.cancellations validate constraint cancellations_reservation_fk;
alter table core.cancellations validate constraint cancellations_policy_fk;
alter table core.waitlist_entries validate constraint waitlist_entries_offer_hold_fk;
alter table core.holds validate constraint holds_waitlist_entry_fk;
alter table core.checkout_sagas validate constraint checkout_sagas_hold_fk;
alter table core.checkout_sagas validate constraint checkout_sagas_reservation_fk;
alter table core.checkout_sagas validate constraint checkout_sagas_payment_fk;
alter table core.payments validate constraint payments_folio_fk;
alter table core.folio_lines validate constraint folio_lines_folio_fk;
alter table core.folio_lines validate constraint folio_lines_payment_fk;
alter table core.service_orders validate constraint service_orders_folio_fk;

-- migrate:down
-- a validated constraint cannot be made NOT VALID again: each is dropped and added back NOT VALID
alter table core.hold_lines drop constraint hold_lines_hold_fk;
alter table core.hold_lines add constraint hold_lines_hold_fk foreign key (hotel_id, hold_id)
    references core.holds (hotel_id, id) on delete cascade not valid;
alter table core.reservations drop constraint reservations_hold_fk;
alter table core.reservations add constraint reservations_hold_fk foreign key (hotel_id, hold_id)
    references core.holds (hotel_id, id) on delete set null (hold_id) not valid;
alter table core.cancellations drop constraint cancellations_reservation_fk;
alter table core.cancellations add constraint cancellations_reservation_fk foreign key (hotel_id, reservation_id)
    references core.reservations (hotel_id, id) on delete cascade not valid;
alter table core.cancellations drop constraint cancellations_policy_fk;
alter table core.cancellations add constraint cancellations_policy_fk foreign key (hotel_id, policy_id)
    references core.cancellation_policies (hotel_id, id) on delete set null (policy_id) not valid;
alter table core.waitlist_entries drop constraint waitlist_entries_offer_hold_fk;
alter table core.waitlist_entries add constraint waitlist_entries_offer_hold_fk foreign key (hotel_id, offer_hold_id)
    references core.holds (hotel_id, id) on delete set null (offer_hold_id) not valid;
alter table core.holds drop constraint holds_waitlist_entry_fk;
alter table core.holds add constraint holds_waitlist_entry_fk foreign key (hotel_id, waitlist_entry_id)
    references core.waitlist_entries (hotel_id, id) on delete set null (waitlist_entry_id) not valid;
alter table core.checkout_sagas drop constraint checkout_sagas_hold_fk;
alter table core.checkout_sagas add constraint checkout_sagas_hold_fk foreign key (hotel_id, hold_id)
    references core.holds (hotel_id, id) on delete set null (hold_id) not valid;
alter table core.checkout_sagas drop constraint checkout_sagas_reservation_fk;
alter table core.checkout_sagas add constraint checkout_sagas_reservation_fk foreign key (hotel_id, reservation_id)
    references core.reservations (hotel_id, id) on delete restrict not valid;
alter table core.checkout_sagas drop constraint checkout_sagas_payment_fk;
alter table core.checkout_sagas add constraint checkout_sagas_payment_fk foreign key (hotel_id, payment_id)
    references core.payments (hotel_id, id) on delete restrict not valid;
alter table core.payments drop constraint payments_folio_fk;
alter table core.payments add constraint payments_folio_fk foreign key (hotel_id, folio_id, currency)
    references core.folios (hotel_id, id, currency) on delete restrict not valid;
alter table core.folio_lines drop constraint folio_lines_folio_fk;
alter table core.folio_lines add constraint folio_lines_folio_fk foreign key (hotel_id, folio_id, currency)
    references core.folios (hotel_id, id, currency) on delete cascade not valid;
alter table core.folio_lines drop constraint folio_lines_payment_fk;
alter table core.folio_lines add constraint folio_lines_payment_fk foreign key (hotel_id, payment_id, folio_id)
    references core.payments (hotel_id, id, folio_id) on delete restrict not valid;
alter table core.service_orders drop constraint service_orders_folio_fk;
alter table core.service_orders add constraint service_orders_folio_fk foreign key (hotel_id, folio_id, currency)
    references core.folios (hotel_id, id, currency) on delete restrict not valid;
