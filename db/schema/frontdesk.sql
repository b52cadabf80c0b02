-- The front desk (seed 000's hotel-pms, seed 003's payments): room status and its log, room
-- blocks, room assignments, folios, folio lines, payments and the night audit journal.
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Layout and the rules other domains rely on:
--   core.rooms.status          housekeeping status (seed 000): clean, dirty, inspected, out of order,
--                              out of service; every change is written to core.room_status_log.
--   core.room_assignments      one row per use of a physical room for a range of nights: either a
--                              booked room line (reservation_room_id) or a room block (room_block_id).
--                              room_assignments_no_overlap makes two active uses of one room on one
--                              night impossible, so a block can never overlap a stay, whoever writes.
--   core.room_blocks           maintenance / out-of-order ranges of a room; while active they add 1
--                              to core.inventory.blocked of the room's type for each of their nights.
--   core.folios                one per reservation (opened by a trigger on core.reservations), in the
--                              reservation's currency.
--   core.folio_lines           the folio's ledger: charges (room nights, taxes, services, fees) are
--                              positive, payment captures negative, refunds positive, so
--                              balance = sum(amount) = charges - payments (api.folio_balances).
--   core.payments              authorisations with their lifecycle; only the processor's reference is
--                              kept, never a card number. Captures and refunds are posted to the folio
--                              by the trigger on core.payments.
--   core.night_audits          one row per hotel and business date audited (idempotency of the audit).

-- migrate:up

-- --------------------------------------------------------------------------- room status
create type core.room_status as enum ('clean', 'dirty', 'inspected', 'out_of_order', 'out_of_service');
comment on type core.room_status is
    'Housekeeping status of a room (seed 000): clean, dirty, inspected (checked by a supervisor), out of order (not sellable), out of service (sellable, not to be used now).';

alter table core.rooms
    add column status            core.room_status not null default 'clean',
    add column status_changed_at timestamptz not null default now();
comment on column core.rooms.status is 'Housekeeping status (front desk); changes are logged in core.room_status_log.';
comment on column core.rooms.status_changed_at is 'When status last changed (internal.now()).';

create table core.room_status_log (
    id          bigint generated always as identity primary key,
    hotel_id    bigint not null,
    room_id     bigint not null,
    from_status core.room_status not null,
    to_status   core.room_status not null,
    reason      text,
    app_user    text,
    db_user     text not null,
    changed_at  timestamptz not null,
    constraint room_status_log_room_fk foreign key (hotel_id, room_id)
        references core.rooms (hotel_id, id) on delete cascade,
    constraint room_status_log_is_a_change check (from_status <> to_status)
);
comment on table core.room_status_log is
    'Room operation log (seed 000 v2.1): every housekeeping status change with who (database role and application user), when, from, to and why.';
comment on column core.room_status_log.app_user is 'The application user who asked for the change (passed by the caller), if any.';
comment on column core.room_status_log.db_user is 'The database role of the session that made the change.';
create index room_status_log_room on core.room_status_log (hotel_id, room_id, changed_at);

-- --------------------------------------------------------------------------- room blocks
create type core.room_block_kind as enum ('maintenance', 'out_of_order', 'out_of_service');
comment on type core.room_block_kind is 'Why a room is blocked for a range of nights.';

create table core.room_blocks (
    id           bigint generated always as identity primary key,
    hotel_id     bigint not null,
    room_id      bigint not null,
    room_type_id bigint not null,
    nights       daterange not null,
    kind         core.room_block_kind not null default 'maintenance',
    reason       text,
    active       boolean not null default true,
    created_by   text,
    created_at   timestamptz not null,
    released_at  timestamptz,
    released_from date,
    constraint room_blocks_room_fk foreign key (hotel_id, room_id)
        references core.rooms (hotel_id, id) on delete cascade,
    constraint room_blocks_room_type_fk foreign key (hotel_id, room_type_id)
        references core.room_types (hotel_id, id) on delete cascade,
    constraint room_blocks_hotel_id_id_unique unique (hotel_id, id),
    constraint room_blocks_nights_is_canonical check (not isempty(nights) and lower_inc(nights) and not upper_inc(nights)
                                                     and not lower_inf(nights) and not upper_inf(nights)),
    constraint room_blocks_released_when_inactive check (active = (released_at is null) and active = (released_from is null)),
    constraint room_blocks_released_within_nights check (released_from is null or released_from between lower(nights) and upper(nights)),
    constraint room_blocks_no_overlap exclude using gist (hotel_id with =, room_id with =, nights with &&) where (active)
);
comment on table core.room_blocks is
    'Maintenance / out-of-order ranges of a room [first night, last night + 1). Each night before released_from (all of them while active) adds 1 to core.inventory.blocked of room_type_id; while active a mirror row in core.room_assignments keeps stays off the room.';
comment on column core.room_blocks.released_from is 'Set on release: the first night given back to the calendar (nights before it, already past, stay counted as blocked).';

-- --------------------------------------------------------------------------- room assignments
create table core.room_assignments (
    id                  bigint generated always as identity primary key,
    hotel_id            bigint not null,
    room_id             bigint not null,
    reservation_room_id bigint,
    room_block_id       bigint,
    nights              daterange not null,
    active              boolean not null default true,
    assigned_by         text,
    assigned_at         timestamptz not null,
    released_at         timestamptz,
    constraint room_assignments_room_fk foreign key (hotel_id, room_id)
        references core.rooms (hotel_id, id) on delete restrict,
    constraint room_assignments_reservation_room_fk foreign key (hotel_id, reservation_room_id)
        references core.reservation_rooms (hotel_id, id) on delete cascade,
    constraint room_assignments_room_block_fk foreign key (hotel_id, room_block_id)
        references core.room_blocks (hotel_id, id) on delete cascade,
    constraint room_assignments_stay_or_block check (num_nonnulls(reservation_room_id, room_block_id) = 1),
    constraint room_assignments_nights_is_canonical check (not isempty(nights) and lower_inc(nights) and not upper_inc(nights)
                                                          and not lower_inf(nights) and not upper_inf(nights)),
    constraint room_assignments_released_when_inactive check (active = (released_at is null)),
    constraint room_assignments_no_overlap exclude using gist (hotel_id with =, room_id with =, nights with &&) where (active),
    constraint room_assignments_one_room_per_night exclude using gist (reservation_room_id with =, nights with &&)
        where (active and reservation_room_id is not null)
);
comment on table core.room_assignments is
    'Which physical room serves which nights [first, last + 1) of a booked room line, or of a room block. room_assignments_no_overlap: one active use per room and night (released, cancelled and no-show ones are inactive). A room move splits a line over two rows.';
create index room_assignments_reservation_room on core.room_assignments (reservation_room_id) where reservation_room_id is not null;
create index room_assignments_room_block on core.room_assignments (room_block_id) where room_block_id is not null;

-- --------------------------------------------------------------------------- folios
create table core.folios (
    id             bigint generated always as identity primary key,
    hotel_id       bigint not null,
    reservation_id bigint not null,
    currency       char(3) not null references core.currencies (code) on delete restrict,
    opened_at      timestamptz not null default now(),
    settled_at     timestamptz,
    constraint folios_reservation_fk foreign key (hotel_id, reservation_id)
        references core.reservations (hotel_id, id) on delete cascade,
    constraint folios_one_per_reservation unique (reservation_id),
    constraint folios_id_currency_unique unique (id, currency)
);
comment on table core.folios is
    'The guest account of a reservation, in its currency. settled_at is set when check-out found the balance at zero; later charges and refunds (a minibar found late, a deposit returned) still post to it.';

create type core.folio_line_kind as enum (
    'room_night', 'tax', 'service', 'cancellation_fee', 'no_show_fee', 'late_checkout_fee', 'adjustment',
    'payment', 'refund');
comment on type core.folio_line_kind is
    'Charges (room_night, tax, service, cancellation_fee, no_show_fee, late_checkout_fee, adjustment) and the movements of payments (payment = a capture, refund).';

create type core.payment_method as enum ('card', 'bank_transfer', 'cash', 'paypal');
comment on type core.payment_method is 'Payment methods (seed 003).';

create type core.payment_status as enum ('preauthorised', 'captured', 'voided', 'refunded', 'failed');
comment on type core.payment_status is
    'preauthorised -> captured -> refunded (partly or wholly), preauthorised -> voided; failed records a declined authorisation.';

-- A card number (PAN) must never be stored: 13 to 19 digits, spaces or dashes between them,
-- passing the Luhn check. Processor references are letters and digits that fail this test.
create function core.looks_like_card_number(p_text text) returns boolean
language sql
immutable
strict
set search_path = pg_catalog, pg_temp
as $$
    select exists (
        select 1
        from regexp_matches(p_text, '[0-9](?:[ -]?[0-9]){12,18}', 'g') as m(run),
             lateral (select regexp_replace(m.run[1], '[^0-9]', '', 'g') as digits) d
        where (select sum(case when i % 2 = 0
                               then (substr(reverse(d.digits), i, 1)::int * 2) % 9
                                    + case when substr(reverse(d.digits), i, 1) = '9' then 9 else 0 end
                               else substr(reverse(d.digits), i, 1)::int end)
               from generate_series(1, length(d.digits)) as i) % 10 = 0
    )
$$;
revoke execute on function core.looks_like_card_number(text) from public;
comment on function core.looks_like_card_number(text) is
    'True when p_text holds a run of 13-19 digits (spaces or dashes allowed) that passes the Luhn check: a card number, which payments must never store.';

create table core.payments (
    id                  bigint generated always as identity primary key,
    hotel_id            bigint not null,
    folio_id            bigint not null,
    currency            char(3) not null,
    method              core.payment_method not null,
    status              core.payment_status not null,
    authorised_amount   numeric(14, 2) not null,
    captured_amount     numeric(14, 2) not null default 0,
    refunded_amount     numeric(14, 2) not null default 0,
    processor_reference text,
    failure_reason      text,
    created_by          text,
    created_at          timestamptz not null,
    updated_at          timestamptz not null,
    constraint payments_folio_fk foreign key (folio_id, currency)
        references core.folios (id, currency) on delete restrict,
    constraint payments_hotel_fk foreign key (hotel_id) references core.hotels (id) on delete restrict,
    constraint payments_id_folio_unique unique (id, folio_id),
    constraint payments_processor_reference_unique unique (hotel_id, processor_reference),
    constraint payments_authorised_positive check (authorised_amount > 0),
    constraint payments_captured_within_authorised check (captured_amount >= 0 and captured_amount <= authorised_amount),
    constraint payments_refunded_within_captured check (refunded_amount >= 0 and refunded_amount <= captured_amount),
    constraint payments_status_matches_amounts check (case status
        when 'preauthorised' then captured_amount = 0
        when 'voided'        then captured_amount = 0
        when 'failed'        then captured_amount = 0
        when 'captured'      then captured_amount > 0 and refunded_amount = 0
        when 'refunded'      then refunded_amount > 0
    end),
    constraint payments_reference_unless_cash check (method = 'cash' or processor_reference is not null),
    constraint payments_reference_is_not_a_card_number check (not core.looks_like_card_number(processor_reference)),
    constraint payments_failure_reason_when_failed check ((status = 'failed') = (failure_reason is not null))
);
comment on table core.payments is
    'Payments on a folio (seed 003): method, lifecycle and amounts in the folio currency; captured <= authorised, refunded <= captured. Only the processor''s transaction reference is stored, never a card number. For a failed payment authorised_amount is the amount the declined authorisation asked for.';
create index payments_folio on core.payments (folio_id);

create table core.folio_lines (
    id                  bigint generated always as identity primary key,
    hotel_id            bigint not null,
    folio_id            bigint not null,
    currency            char(3) not null,
    kind                core.folio_line_kind not null,
    description         text not null,
    amount              numeric(14, 2) not null,
    reservation_room_id bigint,
    night               date,
    payment_id          bigint,
    business_date       date,
    posted_by           text,
    posted_at           timestamptz not null,
    constraint folio_lines_folio_fk foreign key (folio_id, currency)
        references core.folios (id, currency) on delete cascade,
    constraint folio_lines_reservation_room_fk foreign key (hotel_id, reservation_room_id)
        references core.reservation_rooms (hotel_id, id) on delete cascade,
    constraint folio_lines_payment_fk foreign key (payment_id, folio_id)
        references core.payments (id, folio_id) on delete restrict,
    constraint folio_lines_amount_sign check (case kind
        when 'adjustment' then amount <> 0
        when 'payment'    then amount < 0
        else amount > 0
    end),
    constraint folio_lines_payment_iff_payment_kind check ((kind in ('payment', 'refund')) = (payment_id is not null)),
    constraint folio_lines_night_for_room_nights check ((kind = 'room_night') <= (night is not null and reservation_room_id is not null))
);
comment on table core.folio_lines is
    'The folio''s ledger in the folio currency: charges positive, payment captures negative, refunds positive; balance = sum(amount). A room night (and its tax) is posted once per room line and night.';
create unique index folio_lines_one_charge_per_night on core.folio_lines (folio_id, reservation_room_id, night, kind)
    where night is not null and kind in ('room_night', 'tax');
create index folio_lines_folio on core.folio_lines (folio_id);
create index folio_lines_payment on core.folio_lines (payment_id) where payment_id is not null;

-- A hotel may charge late check-out (after check_out_time on the departure day) to guests whose
-- membership rank does not include it; null charges nothing.
alter table core.hotels add column late_checkout_fee numeric(12, 2);
alter table core.hotels add constraint hotels_late_checkout_fee_not_negative check (late_checkout_fee >= 0);
comment on column core.hotels.late_checkout_fee is
    'Fee posted at check-out after check_out_time (or after the rank''s late_checkout_until) on the departure day; null = none.';

-- --------------------------------------------------------------------------- night audit
create table core.night_audits (
    hotel_id           bigint not null references core.hotels (id) on delete cascade,
    business_date      date not null,
    room_nights_posted integer not null,
    no_shows           integer not null,
    run_by             text,
    run_at             timestamptz not null,
    primary key (hotel_id, business_date)
);
comment on table core.night_audits is
    'One row per hotel and business date audited: what the audit posted. A second run for the same date finds the row and changes nothing.';

-- Folios for reservations that existed before this revision (new ones are opened by trigger).
insert into core.folios (hotel_id, reservation_id, currency)
select r.hotel_id, r.id, r.currency from core.reservations r;

-- migrate:down
drop table if exists core.night_audits;
alter table if exists core.hotels drop constraint if exists hotels_late_checkout_fee_not_negative;
alter table if exists core.hotels drop column if exists late_checkout_fee;
drop table if exists core.folio_lines;
drop table if exists core.payments;
drop function if exists core.looks_like_card_number(text);
drop type if exists core.payment_status;
drop type if exists core.payment_method;
drop type if exists core.folio_line_kind;
drop table if exists core.folios;
drop table if exists core.room_assignments;
drop table if exists core.room_blocks;
drop type if exists core.room_block_kind;
drop table if exists core.room_status_log;
alter table if exists core.rooms drop column if exists status_changed_at;
alter table if exists core.rooms drop column if exists status;
drop type if exists core.room_status;
