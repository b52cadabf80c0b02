-- Citus-ready keys, first step (pyapi/citus.py checks the rules): every foreign key between two
-- hotel-owned tables maps hotel_id to hotel_id, so both rows live on the same shard; the
-- chain-wide ledgers (points, ranks) no longer reference a hotel-owned table; the one-room-per-
-- night exclusion compares hotel_id too. Same guarantees as before for a single server: ids are
-- unique, so (hotel_id, id) finds the same row, and the composite key also proves both rows
-- belong to the same hotel.
--
-- The composite foreign keys are added NOT VALID (new rows are checked at once, without a scan
-- under lock); the next revision validates them (db/schema/scaleout--validate-foreign-keys.sql).
-- The unique keys they point at are built here, under the lock squawk warns about: documented in
-- the revision (LINT_EXCEPTIONS).
-- migrate:up
alter table core.folios add constraint folios_hotel_id_id_currency_unique unique (hotel_id, id, currency);
alter table core.payments add constraint payments_hotel_id_id_unique unique (hotel_id, id);
alter table core.payments add constraint payments_hotel_id_id_folio_unique unique (hotel_id, id, folio_id);
alter table core.waitlist_entries add constraint waitlist_entries_hotel_id_id_unique unique (hotel_id, id);
alter table core.checkout_sagas add constraint checkout_sagas_hotel_id_id_unique unique (hotel_id, id);

alter table core.hold_lines drop constraint hold_lines_hold_id_fkey;
alter table core.hold_lines add constraint hold_lines_hold_fk foreign key (hotel_id, hold_id)
    references core.holds (hotel_id, id) on delete cascade not valid;
alter table core.reservations drop constraint reservations_hold_id_fkey;
alter table core.reservations add constraint reservations_hold_fk foreign key (hotel_id, hold_id)
    references core.holds (hotel_id, id) on delete set null (hold_id) not valid;
alter table core.cancellations drop constraint cancellations_reservation_id_fkey;
alter table core.cancellations add constraint cancellations_reservation_fk foreign key (hotel_id, reservation_id)
    references core.reservations (hotel_id, id) on delete cascade not valid;
alter table core.cancellations drop constraint cancellations_policy_id_fkey;
alter table core.cancellations add constraint cancellations_policy_fk foreign key (hotel_id, policy_id)
    references core.cancellation_policies (hotel_id, id) on delete set null (policy_id) not valid;
alter table core.waitlist_entries drop constraint waitlist_entries_offer_hold_id_fkey;
alter table core.waitlist_entries add constraint waitlist_entries_offer_hold_fk foreign key (hotel_id, offer_hold_id)
    references core.holds (hotel_id, id) on delete set null (offer_hold_id) not valid;
alter table core.holds drop constraint holds_waitlist_entry_fk;
alter table core.holds add constraint holds_waitlist_entry_fk foreign key (hotel_id, waitlist_entry_id)
    references core.waitlist_entries (hotel_id, id) on delete set null (waitlist_entry_id) not valid;
alter table core.checkout_sagas drop constraint checkout_sagas_hold_id_fkey;
alter table core.checkout_sagas add constraint checkout_sagas_hold_fk foreign key (hotel_id, hold_id)
    references core.holds (hotel_id, id) on delete set null (hold_id) not valid;
alter table core.checkout_sagas drop constraint checkout_sagas_reservation_id_fkey;
alter table core.checkout_sagas add constraint checkout_sagas_reservation_fk foreign key (hotel_id, reservation_id)
    references core.reservations (hotel_id, id) on delete restrict not valid;
alter table core.checkout_sagas drop constraint checkout_sagas_payment_id_fkey;
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

-- the unique keys the old foreign keys needed, now covered by the hotel_id ones above
alter table core.folios drop constraint folios_id_currency_unique;
alter table core.payments drop constraint payments_id_folio_unique;

-- a reservation room line has one room a night, within its hotel's shard
alter table core.room_assignments add constraint room_assignments_one_room_per_night_in_hotel
    exclude using gist (hotel_id with =, reservation_room_id with =, nights with &&)
    where (active and reservation_room_id is not null);
alter table core.room_assignments drop constraint room_assignments_one_room_per_night;

-- chain-wide ledgers keep the reservation they came from as a plain column: a reference table
-- cannot reference a sharded one. The loyalty functions write it from the reservation they lock.
alter table core.points_ledger drop constraint points_ledger_reservation_id_fkey;
alter table core.rank_history drop constraint rank_history_reservation_id_fkey;
comment on column core.points_ledger.reservation_id is
    'The stay the row came from (earn), or null: a plain reference (the ledger is chain-wide, reservations are per hotel).';
comment on column core.rank_history.reservation_id is
    'The check-out that changed the rank, or null: a plain reference (rank history is chain-wide, reservations are per hotel).';

-- migrate:down
alter table core.room_assignments add constraint room_assignments_one_room_per_night
    exclude using gist (reservation_room_id with =, nights with &&) where (active and reservation_room_id is not null);
alter table core.room_assignments drop constraint room_assignments_one_room_per_night_in_hotel;
alter table core.rank_history add constraint rank_history_reservation_id_fkey foreign key (reservation_id)
    references core.reservations (id) on delete set null;
alter table core.points_ledger add constraint points_ledger_reservation_id_fkey foreign key (reservation_id)
    references core.reservations (id) on delete restrict;
comment on column core.points_ledger.reservation_id is null;
comment on column core.rank_history.reservation_id is null;
alter table core.payments add constraint payments_id_folio_unique unique (id, folio_id);
alter table core.folios add constraint folios_id_currency_unique unique (id, currency);
alter table core.service_orders drop constraint service_orders_folio_fk;
alter table core.service_orders add constraint service_orders_folio_fk foreign key (folio_id, currency)
    references core.folios (id, currency) on delete restrict;
alter table core.folio_lines drop constraint folio_lines_payment_fk;
alter table core.folio_lines add constraint folio_lines_payment_fk foreign key (payment_id, folio_id)
    references core.payments (id, folio_id) on delete restrict;
alter table core.folio_lines drop constraint folio_lines_folio_fk;
alter table core.folio_lines add constraint folio_lines_folio_fk foreign key (folio_id, currency)
    references core.folios (id, currency) on delete cascade;
alter table core.payments drop constraint payments_folio_fk;
alter table core.payments add constraint payments_folio_fk foreign key (folio_id, currency)
    references core.folios (id, currency) on delete restrict;
alter table core.checkout_sagas drop constraint checkout_sagas_payment_fk;
alter table core.checkout_sagas add constraint checkout_sagas_payment_id_fkey foreign key (payment_id)
    references core.payments (id) on delete restrict;
alter table core.checkout_sagas drop constraint checkout_sagas_reservation_fk;
alter table core.checkout_sagas add constraint checkout_sagas_reservation_id_fkey foreign key (reservation_id)
    references core.reservations (id) on delete restrict;
alter table core.checkout_sagas drop constraint checkout_sagas_hold_fk;
alter table core.checkout_sagas add constraint checkout_sagas_hold_id_fkey foreign key (hold_id)
    references core.holds (id) on delete set null;
alter table core.holds drop constraint holds_waitlist_entry_fk;
alter table core.holds add constraint holds_waitlist_entry_fk foreign key (waitlist_entry_id)
    references core.waitlist_entries (id) on delete set null;
alter table core.waitlist_entries drop constraint waitlist_entries_offer_hold_fk;
alter table core.waitlist_entries add constraint waitlist_entries_offer_hold_id_fkey foreign key (offer_hold_id)
    references core.holds (id) on delete set null;
alter table core.cancellations drop constraint cancellations_policy_fk;
alter table core.cancellations add constraint cancellations_policy_id_fkey foreign key (policy_id)
    references core.cancellation_policies (id) on delete set null;
alter table core.cancellations drop constraint cancellations_reservation_fk;
alter table core.cancellations add constraint cancellations_reservation_id_fkey foreign key (reservation_id)
    references core.reservations (id) on delete cascade;
alter table core.reservations drop constraint reservations_hold_fk;
alter table core.reservations add constraint reservations_hold_id_fkey foreign key (hold_id)
    references core.holds (id) on delete set null;
alter table core.hold_lines drop constraint hold_lines_hold_fk;
alter table core.hold_lines add constraint hold_lines_hold_id_fkey foreign key (hold_id)
    references core.holds (id) on delete cascade;
alter table core.checkout_sagas drop constraint checkout_sagas_hotel_id_id_unique;
alter table core.waitlist_entries drop constraint waitlist_entries_hotel_id_id_unique;
alter table core.payments drop constraint payments_hotel_id_id_folio_unique;
alter table core.payments drop constraint payments_hotel_id_id_unique;
alter table core.folios drop constraint folios_hotel_id_id_currency_unique;
