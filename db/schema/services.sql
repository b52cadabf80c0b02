-- Guest services (seed 000's hotel-saas): the service catalog per hotel, orders and their lines,
-- the folio postings of delivered orders, concierge requests, facilities and their bookings,
-- and guest feedback.
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Layout and the rules other domains rely on:
--   core.service_items            the catalog: category, price in the hotel's currency with the
--                                 hotel's tax treatment (core.hotels.prices_include_tax, tax_rate),
--                                 availability hours in the hotel's time zone, stock where it
--                                 applies. service_items_stock_not_negative keeps stock >= 0
--                                 whatever the function; orders take stock under the item's row lock.
--   core.service_orders           one order of an in-house stay: ordered -> accepted -> delivered, or
--                                 cancelled (from ordered or accepted; a delivered order cancelled
--                                 has its charges reversed). Idempotent per (hotel, client_key).
--   core.service_order_lines      quantity and the price at order time (net, tax, gross).
--   core.service_order_postings   the folio lines an order posted: its charges when delivered, the
--                                 credit lines reversing them when a delivered order is cancelled.
--                                 Folio lines are never deleted.
--   core.concierge_requests       a guest's request (type, time wanted, room), its status, staff
--                                 notes and who handled it.
--   core.facilities               spa treatment rooms, meeting rooms, activities: capacity (guests
--                                 per booking), slot length and opening hours in hotel time.
--   core.facility_bookings        facility_bookings_no_overlap: two active bookings of one facility
--                                 never overlap, over a tstzrange that is never null, empty,
--                                 unbounded or closed at its end.
--   core.feedback / core.feedback_scores
--                                 a guest's feedback after an order or a stay: one score (1-5) per
--                                 aspect and a comment; one feedback per order and one per stay.
-- Lock order (no deadlock): reservation row, then service items in id order (or the facility row),
-- then the order row.

-- migrate:up

-- --------------------------------------------------------------------------- catalog
create type core.service_category as enum (
    'room_service', 'minibar', 'spa', 'laundry', 'activity', 'transport', 'dining', 'concierge', 'other');
comment on type core.service_category is
    'What a catalog item is: room service, minibar, spa, laundry, activity, transport, dining, concierge, other.';

create table core.service_items (
    id              bigint generated always as identity primary key,
    hotel_id        bigint not null references core.hotels (id) on delete cascade,
    category        core.service_category not null,
    code            text not null,
    name            text not null,
    description     text,
    price           numeric(12, 2) not null,
    available_from  time,
    available_until time,
    stock           integer,
    active          boolean not null default true,
    created_at      timestamptz not null,
    updated_at      timestamptz not null,
    constraint service_items_hotel_id_id_unique unique (hotel_id, id),
    constraint service_items_code_unique unique (hotel_id, code),
    constraint service_items_code_shape check (code ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$'),
    constraint service_items_name_not_blank check (btrim(name) <> '' and length(name) <= 200),
    constraint service_items_description_length check (length(description) <= 2000),
    constraint service_items_price_not_negative check (price >= 0),
    constraint service_items_stock_not_negative check (stock >= 0),
    constraint service_items_hours_both_or_none check ((available_from is null) = (available_until is null)),
    constraint service_items_hours_not_empty check (available_from <> available_until)
);
comment on table core.service_items is
    'The hotel''s service catalog (hotel-saas): price in the hotel''s currency, with tax included or added as the hotel''s prices_include_tax says; available_from/until in the hotel''s local time (until < from: open over midnight; null: all day); stock null = not counted.';
comment on column core.service_items.stock is 'Units left to order (minibar bottles, tickets); null when the item is not counted. Never negative (service_items_stock_not_negative).';

-- --------------------------------------------------------------------------- orders
create type core.service_order_status as enum ('ordered', 'accepted', 'delivered', 'cancelled');
comment on type core.service_order_status is
    'ordered -> accepted -> delivered; ordered or accepted -> cancelled (nothing charged); delivered -> cancelled reverses the charges with credit lines.';

create table core.service_orders (
    id             bigint generated always as identity primary key,
    hotel_id       bigint not null,
    reservation_id bigint not null,
    customer_id    bigint not null references core.customers (id) on delete restrict,
    folio_id       bigint not null,
    room_id        bigint,
    currency       char(3) not null,
    status         core.service_order_status not null default 'ordered',
    client_key     text not null,
    fingerprint    text not null,
    net_amount     numeric(14, 2) not null,
    tax_amount     numeric(14, 2) not null,
    total_amount   numeric(14, 2) not null,
    notes          text,
    ordered_at     timestamptz not null,
    accepted_at    timestamptz,
    delivered_at   timestamptz,
    cancelled_at   timestamptz,
    cancel_reason  text,
    reversed       boolean not null default false,
    updated_by     text,
    constraint service_orders_hotel_id_id_unique unique (hotel_id, id),
    constraint service_orders_reservation_fk foreign key (hotel_id, reservation_id)
        references core.reservations (hotel_id, id) on delete restrict,
    constraint service_orders_folio_fk foreign key (folio_id, currency)
        references core.folios (id, currency) on delete restrict,
    constraint service_orders_room_fk foreign key (hotel_id, room_id)
        references core.rooms (hotel_id, id) on delete restrict,
    constraint service_orders_client_key_unique unique (hotel_id, client_key),
    constraint service_orders_client_key_shape check (length(client_key) between 1 and 200 and btrim(client_key) = client_key),
    constraint service_orders_amounts_add_up check (net_amount >= 0 and tax_amount >= 0 and total_amount = net_amount + tax_amount),
    constraint service_orders_notes_length check (length(notes) <= 1000),
    constraint service_orders_times_match_status check (
        (accepted_at is null or accepted_at >= ordered_at)
        and (delivered_at is null or accepted_at is not null and delivered_at >= accepted_at)
        and (status <> 'accepted' or accepted_at is not null and delivered_at is null and cancelled_at is null)
        and (status <> 'delivered' or delivered_at is not null and cancelled_at is null)
        and (status <> 'ordered' or accepted_at is null and delivered_at is null and cancelled_at is null)
        and ((status = 'cancelled') = (cancelled_at is not null))),
    constraint service_orders_reversed_only_if_delivered check (not reversed or status = 'cancelled' and delivered_at is not null)
);
comment on table core.service_orders is
    'Guest service orders of an in-house stay (seed 000''s hotel-saas): totals at order time in the folio''s currency, the status machine''s timestamps, idempotent per (hotel, client_key); reversed marks a delivered order whose charges were credited back.';
comment on column core.service_orders.fingerprint is 'Hash of what was asked (reservation, items, quantities, notes): a client key used again with another request is IDEMPOTENCY_MISMATCH.';
comment on column core.service_orders.room_id is 'The room the stay occupied when the order was taken (delivery address).';
create index service_orders_customer on core.service_orders (customer_id, ordered_at);
create index service_orders_reservation on core.service_orders (reservation_id);
create index service_orders_hotel_delivered on core.service_orders (hotel_id, delivered_at) where delivered_at is not null;

create table core.service_order_lines (
    id              bigint generated always as identity primary key,
    hotel_id        bigint not null,
    order_id        bigint not null,
    service_item_id bigint not null,
    category        core.service_category not null,
    name            text not null,
    quantity        integer not null,
    unit_price      numeric(12, 2) not null,
    net_amount      numeric(14, 2) not null,
    tax_amount      numeric(14, 2) not null,
    amount          numeric(14, 2) not null,
    constraint service_order_lines_order_fk foreign key (hotel_id, order_id)
        references core.service_orders (hotel_id, id) on delete cascade,
    constraint service_order_lines_item_fk foreign key (hotel_id, service_item_id)
        references core.service_items (hotel_id, id) on delete restrict,
    constraint service_order_lines_quantity_range check (quantity between 1 and 100),
    constraint service_order_lines_amounts_add_up check (unit_price >= 0 and net_amount >= 0 and tax_amount >= 0
                                                         and amount = net_amount + tax_amount)
);
comment on table core.service_order_lines is
    'The lines of an order: item, its category and name, quantity and the price at order time split into net and tax (the hotel''s tax treatment).';
create index service_order_lines_order on core.service_order_lines (order_id);
create index service_order_lines_item on core.service_order_lines (service_item_id);

create table core.service_order_postings (
    folio_line_id   bigint primary key references core.folio_lines (id) on delete restrict,
    hotel_id        bigint not null,
    order_id        bigint not null,
    order_line_id   bigint references core.service_order_lines (id) on delete restrict,
    reverses_line_id bigint references core.folio_lines (id) on delete restrict,
    constraint service_order_postings_order_fk foreign key (hotel_id, order_id)
        references core.service_orders (hotel_id, id) on delete restrict,
    constraint service_order_postings_reversed_once unique (reverses_line_id)
);
comment on table core.service_order_postings is
    'Which folio lines an order posted: its service and tax charges at delivery (reverses_line_id null), and the credit lines reversing them (reverses_line_id = the charge) when a delivered order is cancelled; each charge is reversed at most once.';
create index service_order_postings_order on core.service_order_postings (order_id);

-- --------------------------------------------------------------------------- concierge
create type core.concierge_request_type as enum (
    'restaurant_booking', 'taxi', 'airport_transfer', 'wake_up_call', 'luggage', 'tour', 'tickets',
    'housekeeping', 'amenity', 'other');
comment on type core.concierge_request_type is 'What a concierge request asks for.';

create type core.concierge_request_status as enum ('open', 'in_progress', 'done', 'cancelled');
comment on type core.concierge_request_status is 'open -> in_progress -> done; open or in_progress -> cancelled.';

create table core.concierge_requests (
    id             bigint generated always as identity primary key,
    hotel_id       bigint not null,
    reservation_id bigint not null,
    customer_id    bigint not null references core.customers (id) on delete restrict,
    room_id        bigint,
    request_type   core.concierge_request_type not null,
    requested_for  timestamptz,
    details        text,
    status         core.concierge_request_status not null default 'open',
    staff_notes    text,
    handled_by     text,
    created_at     timestamptz not null,
    updated_at     timestamptz not null,
    constraint concierge_requests_hotel_id_id_unique unique (hotel_id, id),
    constraint concierge_requests_reservation_fk foreign key (hotel_id, reservation_id)
        references core.reservations (hotel_id, id) on delete restrict,
    constraint concierge_requests_room_fk foreign key (hotel_id, room_id)
        references core.rooms (hotel_id, id) on delete restrict,
    constraint concierge_requests_details_length check (length(details) <= 2000),
    constraint concierge_requests_staff_notes_length check (length(staff_notes) <= 4000),
    constraint concierge_requests_handled_when_worked check (status = 'open' or handled_by is not null)
);
comment on table core.concierge_requests is
    'Concierge requests (seed 000''s hotel-saas): type, the time wanted, guest, room, status, staff notes and who handled it.';
create index concierge_requests_open on core.concierge_requests (hotel_id, requested_for) where status in ('open', 'in_progress');

-- --------------------------------------------------------------------------- facilities
create type core.facility_kind as enum ('spa_room', 'meeting_room', 'activity', 'fitness', 'pool', 'other');
comment on type core.facility_kind is 'What a bookable facility is.';

create table core.facilities (
    id           bigint generated always as identity primary key,
    hotel_id     bigint not null references core.hotels (id) on delete cascade,
    code         text not null,
    name         text not null,
    kind         core.facility_kind not null,
    capacity     integer not null,
    slot_minutes integer not null default 60,
    opens_at     time not null default '07:00',
    closes_at    time not null default '22:00',
    active       boolean not null default true,
    created_at   timestamptz not null,
    constraint facilities_hotel_id_id_unique unique (hotel_id, id),
    constraint facilities_code_unique unique (hotel_id, code),
    constraint facilities_code_shape check (code ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$'),
    constraint facilities_name_not_blank check (btrim(name) <> '' and length(name) <= 200),
    constraint facilities_capacity_positive check (capacity between 1 and 1000),
    constraint facilities_slot_minutes_range check (slot_minutes between 5 and 1440),
    constraint facilities_opens_before_closes check (opens_at < closes_at)
);
comment on table core.facilities is
    'Bookable facilities (spa treatment rooms, meeting rooms, activities): capacity = guests one booking may bring, bookings in whole slots of slot_minutes between opens_at and closes_at, hotel local time.';

create table core.facility_bookings (
    id             bigint generated always as identity primary key,
    hotel_id       bigint not null,
    facility_id    bigint not null,
    reservation_id bigint not null,
    customer_id    bigint not null references core.customers (id) on delete restrict,
    period         tstzrange not null,
    guests         integer not null,
    active         boolean not null default true,
    booked_by      text,
    created_at     timestamptz not null,
    cancelled_at   timestamptz,
    constraint facility_bookings_hotel_id_id_unique unique (hotel_id, id),
    constraint facility_bookings_facility_fk foreign key (hotel_id, facility_id)
        references core.facilities (hotel_id, id) on delete restrict,
    constraint facility_bookings_reservation_fk foreign key (hotel_id, reservation_id)
        references core.reservations (hotel_id, id) on delete restrict,
    constraint facility_bookings_period_is_canonical check (not isempty(period) and lower_inc(period) and not upper_inc(period)
                                                           and not lower_inf(period) and not upper_inf(period)),
    constraint facility_bookings_guests_positive check (guests between 1 and 1000),
    constraint facility_bookings_cancelled_when_inactive check (active = (cancelled_at is null)),
    constraint facility_bookings_no_overlap exclude using gist (facility_id with =, period with &&) where (active)
);
comment on table core.facility_bookings is
    'Bookings of a facility by an in-house stay: [start, end) instants. facility_bookings_no_overlap: two active bookings of one facility never overlap; the period is never empty, unbounded or closed at its end.';
create index facility_bookings_reservation on core.facility_bookings (reservation_id);

-- --------------------------------------------------------------------------- feedback
create type core.feedback_aspect as enum (
    'overall', 'food', 'service', 'timeliness', 'cleanliness', 'comfort', 'staff', 'facilities', 'value');
comment on type core.feedback_aspect is 'What a feedback score rates.';

create table core.feedback (
    id             bigint generated always as identity primary key,
    hotel_id       bigint not null,
    customer_id    bigint not null references core.customers (id) on delete restrict,
    reservation_id bigint not null,
    order_id       bigint,
    comment        text,
    created_at     timestamptz not null,
    updated_at     timestamptz not null,
    constraint feedback_hotel_id_id_unique unique (hotel_id, id),
    constraint feedback_reservation_fk foreign key (hotel_id, reservation_id)
        references core.reservations (hotel_id, id) on delete restrict,
    constraint feedback_order_fk foreign key (hotel_id, order_id)
        references core.service_orders (hotel_id, id) on delete restrict,
    constraint feedback_comment_length check (length(comment) <= 5000)
);
comment on table core.feedback is
    'A guest''s feedback after a delivered order (order_id) or on a stay (order_id null): one per order and one per stay; the scores are in core.feedback_scores.';
create unique index feedback_one_per_order on core.feedback (order_id) where order_id is not null;
create unique index feedback_one_per_stay on core.feedback (reservation_id) where order_id is null;
create index feedback_customer on core.feedback (customer_id);

create table core.feedback_scores (
    feedback_id bigint not null references core.feedback (id) on delete cascade,
    hotel_id    bigint not null,
    aspect      core.feedback_aspect not null,
    score       smallint not null,
    primary key (feedback_id, aspect),
    constraint feedback_scores_one_to_five check (score between 1 and 5)
);
comment on table core.feedback_scores is 'One score from 1 to 5 per aspect of a feedback.';

-- every table above belongs to a hotel: it keeps the rows of the caller's scope (db/schema/rights.sql)
do $$
declare
    v_table text;
begin
    foreach v_table in array array['service_items', 'service_orders', 'service_order_lines', 'service_order_postings',
                                   'concierge_requests', 'facilities', 'facility_bookings', 'feedback',
                                   'feedback_scores'] loop
        execute format('alter table core.%I enable row level security', v_table);
        execute format('alter table core.%I force row level security', v_table);
        execute format('create policy %I on core.%I using (coalesce(hotel_id = any((select core.hotel_scope())::bigint[]), true))',
                       v_table || '_in_hotel_scope', v_table);
    end loop;
end
$$;

-- migrate:down
drop table if exists core.feedback_scores;
drop table if exists core.feedback;
drop type if exists core.feedback_aspect;
drop table if exists core.facility_bookings;
drop table if exists core.facilities;
drop type if exists core.facility_kind;
drop table if exists core.concierge_requests;
drop type if exists core.concierge_request_status;
drop type if exists core.concierge_request_type;
drop table if exists core.service_order_postings;
drop table if exists core.service_order_lines;
drop table if exists core.service_orders;
drop type if exists core.service_order_status;
drop table if exists core.service_items;
drop type if exists core.service_category;
