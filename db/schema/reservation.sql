-- The reservation ledger (seeds 001 and 003): the inventory calendar, holds, reservations,
-- their room lines, cancellations and the waitlist.
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Layout and the rules other domains rely on:
--   core.inventory (hotel_id, room_type_id, night) -- one row per room type and night (seed 001).
--     capacity   = active rooms of the type (kept by the trigger on core.rooms),
--     blocked    = rooms taken out by room blocks (the front desk maintains it),
--     held       = hold lines of holds whose status is 'active' (expired ones included until
--                  api.expire_holds or a later booking reclaims them),
--     booked     = reservation_rooms lines whose status is pending/confirmed/checked_in/checked_out.
--     inventory_booked_within_capacity: blocked + held + booked <= capacity + overbooking_allowance,
--     so an oversold night cannot be stored whatever a function does.
--     What can be sold = capacity + overbooking_allowance - blocked - booked - live held, where
--     live held counts only holds with expires_at > internal.now(): an expired hold never counts as
--     taken, even before the sweep (see internal.availability and internal.reclaim_stale_holds).
--     Whoever changes a counter locks the rows first with internal.lock_inventory (order: room
--     type, then night), so concurrent writers never deadlock.
--     rack_rate is the nightly price of the room type after pricing rules (internal.refresh_rates).
--   core.holds / core.hold_lines -- 180 s holds (seed 001), one line per room; idempotent per client_key.
--   core.reservations / core.reservation_rooms -- one line per room booked, with guests and amount.
--   core.cancellations -- fee and refund per cancellation or no-show (seed 003).
--   core.waitlist_entries -- seed 003's waitlist; offers are holds.

-- migrate:up
create table core.inventory (
    hotel_id              bigint not null,
    room_type_id          bigint not null,
    night                 date not null,
    capacity              integer not null,
    blocked               integer not null default 0,
    held                  integer not null default 0,
    booked                integer not null default 0,
    overbooking_allowance integer not null default 0,
    stop_sell             boolean not null default false,
    min_stay              integer,
    max_stay              integer,
    closed_to_arrival     boolean not null default false,
    closed_to_departure   boolean not null default false,
    rack_rate             numeric(12, 2) not null default 0,
    rate_source           text not null default 'base',
    primary key (hotel_id, room_type_id, night),
    constraint inventory_room_type_fk foreign key (hotel_id, room_type_id)
        references core.room_types (hotel_id, id) on delete cascade,
    constraint inventory_counters_not_negative check (
        capacity >= 0 and blocked >= 0 and held >= 0 and booked >= 0 and overbooking_allowance >= 0),
    constraint inventory_booked_within_capacity check (blocked + held + booked <= capacity + overbooking_allowance),
    constraint inventory_stay_limits_positive check (
        (min_stay is null or min_stay >= 1) and (max_stay is null or max_stay >= 1)
        and (min_stay is null or max_stay is null or min_stay <= max_stay)),
    constraint inventory_rack_rate_not_negative check (rack_rate >= 0)
) with (fillfactor = 80);
comment on table core.inventory is
    'Sellable rooms per room type and night (seed 001): counters, restrictions, stop-sell, overbooking allowance and the nightly rack rate. The check inventory_booked_within_capacity makes an oversold night impossible.';
comment on column core.inventory.blocked is 'Rooms of the type taken out by room blocks on this night (maintained by the front desk).';
comment on column core.inventory.held is 'Rooms on holds with status active (expired ones too until reclaimed); see internal.availability for what is sellable.';
comment on column core.inventory.booked is 'Reservation room lines that occupy this night (status pending, confirmed, checked_in, checked_out).';
comment on column core.inventory.rack_rate is 'Nightly price of the room type after pricing rules, before rate plan, discounts and tax.';

create type core.hold_status as enum ('active', 'confirmed', 'released', 'expired');
comment on type core.hold_status is 'A hold is active until it is confirmed into a reservation, released, or expired.';

create table core.holds (
    id                bigint generated always as identity primary key,
    hotel_id          bigint not null references core.hotels (id) on delete cascade,
    customer_id       bigint references core.customers (id) on delete set null,
    client_key        text,
    request_hash      text,
    status            core.hold_status not null default 'active',
    currency          char(3) not null references core.currencies (code) on delete restrict,
    total_amount      numeric(14, 2) not null,
    quote             jsonb not null default '{}'::jsonb,
    waitlist_entry_id bigint,
    created_at        timestamptz not null,
    expires_at        timestamptz not null,
    ended_at          timestamptz,
    constraint holds_hotel_id_id_unique unique (hotel_id, id),
    constraint holds_client_key_unique unique (client_key),
    constraint holds_expiry_after_creation check (expires_at > created_at),
    constraint holds_total_not_negative check (total_amount >= 0),
    constraint holds_ended_when_not_active check ((status = 'active') = (ended_at is null))
);
comment on table core.holds is
    'Short holds on inventory (seed 001, 180 s by default) before payment; idempotent per client_key (request_hash detects a reused key with another request).';
create index holds_active_expiry on core.holds (hotel_id, expires_at) where status = 'active';
create index holds_active_all on core.holds (expires_at) where status = 'active';

create table core.hold_lines (
    id           bigint generated always as identity primary key,
    hold_id      bigint not null references core.holds (id) on delete cascade,
    hotel_id     bigint not null,
    room_type_id bigint not null,
    rate_plan_id bigint not null,
    stay         daterange not null,
    adults       integer not null,
    children     integer not null default 0,
    amount       numeric(14, 2) not null,
    nightly      numeric(14, 2)[] not null,
    constraint hold_lines_rate_plan_fk foreign key (hotel_id, room_type_id, rate_plan_id)
        references core.rate_plans (hotel_id, room_type_id, id) on delete restrict,
    constraint hold_lines_stay_is_canonical check (not isempty(stay) and lower_inc(stay) and not upper_inc(stay)
                                                  and not lower_inf(stay) and not upper_inf(stay)),
    constraint hold_lines_guests check (adults >= 1 and children >= 0),
    constraint hold_lines_amount_not_negative check (amount >= 0)
);
comment on table core.hold_lines is 'One line per room held: room type, rate plan, stay, guests and quoted amount (nightly = per-night prices).';
create index hold_lines_hold on core.hold_lines (hold_id);
create index hold_lines_rate_plan on core.hold_lines (hotel_id, room_type_id, rate_plan_id);

create type core.reservation_status as enum ('pending', 'confirmed', 'checked_in', 'checked_out', 'cancelled', 'no_show');
comment on type core.reservation_status is
    'pending -> confirmed -> checked_in -> checked_out, plus cancelled (from pending/confirmed) and no_show (from confirmed).';
create type core.reservation_origin as enum ('member', 'pms', 'ota', 'direct');
comment on type core.reservation_origin is 'Where a booking came from (seed 000): member site, PMS, OTA or direct.';

-- A human-friendly confirmation code: 8 Crockford base32 characters (no I, L, O, U) from a
-- bijective scramble of a sequence number, so codes are unique without a retry loop.
create sequence core.confirmation_code_seq as bigint;
create function core.confirmation_code(p_n bigint) returns text
language sql
immutable
strict
set search_path = pg_catalog, pg_temp
as $$
    select string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ',
                             ((((p_n * 2654435761) # 366894531) % 1099511627776) >> (5 * (7 - i)) & 31)::int + 1, 1), ''
                      order by i)
    from generate_series(0, 7) as i
$$;
comment on function core.confirmation_code(bigint) is
    'Eight Crockford base32 characters for a sequence number: odd multiplier and xor modulo 2^40 are bijective, so distinct numbers give distinct codes.';
revoke execute on function core.confirmation_code(bigint) from public;

create table core.reservations (
    id                    bigint generated always as identity primary key,
    hotel_id              bigint not null references core.hotels (id) on delete restrict,
    customer_id           bigint not null references core.customers (id) on delete restrict,
    confirmation_code     text not null default core.confirmation_code(nextval('core.confirmation_code_seq')),
    status                core.reservation_status not null default 'confirmed',
    origin                core.reservation_origin not null default 'direct',
    stay                  daterange not null,
    currency              char(3) not null references core.currencies (code) on delete restrict,
    subtotal_amount       numeric(14, 2) not null default 0,
    discount_amount       numeric(14, 2) not null default 0,
    tax_amount            numeric(14, 2) not null default 0,
    total_amount          numeric(14, 2) not null,
    hold_id               bigint references core.holds (id) on delete set null,
    payment_authorisation text,
    special_requests      text,
    version               integer not null default 1,
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    cancelled_at          timestamptz,
    constraint reservations_hotel_id_id_unique unique (hotel_id, id),
    constraint reservations_confirmation_code_unique unique (confirmation_code),
    constraint reservations_hold_unique unique (hold_id),
    constraint reservations_stay_is_canonical check (not isempty(stay) and lower_inc(stay) and not upper_inc(stay)
                                                    and not lower_inf(stay) and not upper_inf(stay)),
    constraint reservations_amounts_not_negative check (
        subtotal_amount >= 0 and discount_amount >= 0 and tax_amount >= 0 and total_amount >= 0),
    constraint reservations_version_positive check (version >= 1)
);
comment on table core.reservations is
    'Reservations (seeds 000, 001, 003): status machine, origin, confirmation code, stay, amounts in the hotel currency, version for optimistic locking.';
create index reservations_customer on core.reservations (customer_id);
create index reservations_hotel_arrival on core.reservations (hotel_id, (lower(stay)));

create table core.reservation_rooms (
    id             bigint generated always as identity primary key,
    reservation_id bigint not null,
    hotel_id       bigint not null,
    room_type_id   bigint not null,
    rate_plan_id   bigint not null,
    stay           daterange not null,
    adults         integer not null,
    children       integer not null default 0,
    status         core.reservation_status not null default 'confirmed',
    amount         numeric(14, 2) not null,
    nightly        numeric(14, 2)[] not null,
    created_at     timestamptz not null default now(),
    constraint reservation_rooms_reservation_fk foreign key (hotel_id, reservation_id)
        references core.reservations (hotel_id, id) on delete cascade,
    constraint reservation_rooms_rate_plan_fk foreign key (hotel_id, room_type_id, rate_plan_id)
        references core.rate_plans (hotel_id, room_type_id, id) on delete restrict,
    constraint reservation_rooms_hotel_id_id_unique unique (hotel_id, id),
    constraint reservation_rooms_stay_is_canonical check (not isempty(stay) and lower_inc(stay) and not upper_inc(stay)
                                                         and not lower_inf(stay) and not upper_inf(stay)),
    constraint reservation_rooms_guests check (adults >= 1 and children >= 0),
    constraint reservation_rooms_amount_not_negative check (amount >= 0)
);
comment on table core.reservation_rooms is
    'One line per room booked: room type, rate plan, stay, guest counts, amount (tax included) and the nightly prices.';
create index reservation_rooms_reservation on core.reservation_rooms (reservation_id);
create index reservation_rooms_room_type_stay on core.reservation_rooms using gist (hotel_id, room_type_id, stay);
create index reservation_rooms_rate_plan on core.reservation_rooms (hotel_id, room_type_id, rate_plan_id);

create table core.cancellations (
    id             bigint generated always as identity primary key,
    reservation_id bigint not null references core.reservations (id) on delete cascade,
    hotel_id       bigint not null references core.hotels (id) on delete cascade,
    kind           text not null default 'cancellation',
    reason         text,
    policy_id      bigint references core.cancellation_policies (id) on delete set null,
    currency       char(3) not null references core.currencies (code) on delete restrict,
    fee_amount     numeric(14, 2) not null,
    refund_amount  numeric(14, 2) not null,
    days_before_arrival integer not null,
    created_at     timestamptz not null,
    constraint cancellations_kind check (kind in ('cancellation', 'no_show')),
    constraint cancellations_one_per_reservation unique (reservation_id),
    constraint cancellations_amounts_not_negative check (fee_amount >= 0 and refund_amount >= 0)
);
comment on table core.cancellations is 'A cancellation or no-show with the fee the policy charged and the refund owed (seed 003).';
create index cancellations_hotel on core.cancellations (hotel_id, created_at);

create type core.waitlist_status as enum ('waiting', 'offered', 'booked', 'expired', 'cancelled');
comment on type core.waitlist_status is 'A waitlist entry waits, is offered a hold, is booked, expires or is cancelled.';

create table core.waitlist_entries (
    id            bigint generated always as identity primary key,
    hotel_id      bigint not null,
    room_type_id  bigint not null,
    rate_plan_id  bigint not null,
    customer_id   bigint not null references core.customers (id) on delete cascade,
    stay          daterange not null,
    rooms         integer not null default 1,
    adults        integer not null,
    children      integer not null default 0,
    status        core.waitlist_status not null default 'waiting',
    offer_hold_id bigint references core.holds (id) on delete set null,
    created_at    timestamptz not null,
    expires_at    timestamptz not null,
    offered_at    timestamptz,
    constraint waitlist_entries_rate_plan_fk foreign key (hotel_id, room_type_id, rate_plan_id)
        references core.rate_plans (hotel_id, room_type_id, id) on delete cascade,
    constraint waitlist_entries_stay_is_canonical check (not isempty(stay) and lower_inc(stay) and not upper_inc(stay)
                                                        and not lower_inf(stay) and not upper_inf(stay)),
    constraint waitlist_entries_rooms_positive check (rooms between 1 and 10),
    constraint waitlist_entries_guests check (adults >= 1 and children >= 0),
    constraint waitlist_entries_offer_when_offered check ((status = 'offered') <= (offer_hold_id is not null)),
    constraint waitlist_entries_expiry_after_creation check (expires_at > created_at)
);
comment on table core.waitlist_entries is
    'Waitlist (seed 003): who wants which room type and stay; when nights free up, entries are offered a hold in order (priority ranks first, then first come first served).';
create index waitlist_entries_waiting on core.waitlist_entries (hotel_id, room_type_id, created_at) where status = 'waiting';
create index waitlist_entries_customer on core.waitlist_entries (customer_id);
create index waitlist_entries_offer_hold on core.waitlist_entries (offer_hold_id) where offer_hold_id is not null;

alter table core.holds add constraint holds_waitlist_entry_fk foreign key (waitlist_entry_id)
    references core.waitlist_entries (id) on delete set null;

-- migrate:down
alter table if exists core.holds drop constraint if exists holds_waitlist_entry_fk;
drop table if exists core.waitlist_entries;
drop type if exists core.waitlist_status;
drop table if exists core.cancellations;
drop table if exists core.reservation_rooms;
drop table if exists core.reservations;
drop function if exists core.confirmation_code(bigint);
drop sequence if exists core.confirmation_code_seq;
drop type if exists core.reservation_origin;
drop type if exists core.reservation_status;
drop table if exists core.hold_lines;
drop table if exists core.holds;
drop type if exists core.hold_status;
drop table if exists core.inventory;
