-- Loyalty (seed 000's hotel-member points, seed 003's ranks and reviews): settings, the points
-- ledger and its balances, rank history, notifications, reviews and the customer-merge audit.
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up

-- One row of programme settings, read by the loyalty functions.
create table core.loyalty_settings (
    id                    boolean primary key default true,
    points_expiry_months  integer not null default 24,
    default_phone_country char(2) not null default 'JP',
    updated_at            timestamptz not null default now(),
    constraint loyalty_settings_single_row check (id),
    constraint loyalty_settings_expiry_months_in_range check (points_expiry_months between 1 and 120),
    constraint loyalty_settings_default_phone_country_shape check (default_phone_country ~ '^[A-Z]{2}$')
);
insert into core.loyalty_settings default values;
comment on table core.loyalty_settings is 'Single row: months after which earned points expire (oldest first), and the country assumed for national phone numbers when neither the call nor the hotel names one.';

-- Points earned per unit of the stay's currency (KRW and JPY have no minor unit, so their rate is small).
create table core.points_earn_rates (
    currency        char(3) primary key,
    points_per_unit numeric(12, 6) not null,
    constraint points_earn_rates_currency_shape check (currency ~ '^[A-Z]{3}$'),
    constraint points_earn_rates_rate_is_positive check (points_per_unit > 0)
);
insert into core.points_earn_rates (currency, points_per_unit)
values ('JPY', 0.01), ('KRW', 0.001), ('USD', 1), ('EUR', 1);
comment on table core.points_earn_rates is 'Points per unit of a stay''s total in its currency: 1 point per 100 JPY, per 1000 KRW, per 1 USD or EUR. A stay earns floor(total_amount * points_per_unit).';

-- The balance a customer can spend. The check is the rule "balance never negative": no
-- function, however written, can commit a negative balance.
create table core.points_accounts (
    customer_id bigint primary key references core.customers (id) on delete cascade,
    balance     integer not null default 0,
    updated_at  timestamptz not null default now(),
    constraint points_balance_not_negative check (balance >= 0)
);
comment on table core.points_accounts is 'One row per customer who ever held points: the spendable balance, always equal to the sum of the customer''s points_ledger entries, updated in the same transaction as each entry.';

-- Every movement of points. A positive entry is also a lot: `remaining` is what redeems,
-- negative adjustments and expiry have not yet consumed (oldest expiry first).
create table core.points_ledger (
    id                bigint generated always as identity primary key,
    customer_id       bigint not null references core.customers (id) on delete restrict,
    kind              text not null,
    points            integer not null,
    balance_after     integer not null,
    remaining         integer,
    expires_at        timestamptz,
    reservation_id    bigint references core.reservations (id) on delete restrict,
    lot_id            bigint references core.points_ledger (id) on delete restrict,
    reason            text,
    moved_from        bigint references core.customers (id) on delete restrict,
    created_at        timestamptz not null,
    constraint points_ledger_kind_known check (kind in ('earn', 'redeem', 'adjust', 'expire', 'merge')),
    constraint points_ledger_points_not_zero check (points <> 0),
    constraint points_ledger_sign_matches_kind check (
        (kind = 'earn' and points > 0) or (kind in ('redeem', 'expire') and points < 0) or kind in ('adjust', 'merge')),
    constraint points_ledger_balance_after_not_negative check (balance_after >= 0),
    constraint points_ledger_lot_for_credits_only check (
        (points > 0) = (remaining is not null) and (points > 0) = (expires_at is not null)),
    constraint points_ledger_remaining_within_lot check (remaining is null or remaining between 0 and points),
    constraint points_ledger_adjust_has_reason check (kind <> 'adjust' or btrim(coalesce(reason, '')) <> ''),
    constraint points_ledger_earn_for_a_reservation check (kind <> 'earn' or reservation_id is not null),
    constraint points_ledger_expire_names_its_lot check ((kind = 'expire') = (lot_id is not null)),
    constraint points_ledger_merge_credit_names_its_origin check ((kind = 'merge' and points > 0) = (moved_from is not null))
);
comment on table core.points_ledger is 'Points ledger (seed 000), append-only but for remaining: earn (once per reservation), redeem, adjust (with reason), expire, merge (lots moved between merged profiles). Credits are lots consumed oldest-expiry first; sum(points) per customer = points_accounts.balance.';
comment on column core.points_ledger.remaining is 'For a credit (points > 0): the part of the lot not yet redeemed, adjusted away or expired. Null for debits.';
comment on column core.points_ledger.lot_id is 'For an expire entry: the credit (lot) whose remaining points expired.';
comment on column core.points_ledger.moved_from is 'For a merge credit: the duplicate customer whose open lot (same expiry) api.merge_customers moved here.';
create index points_ledger_customer on core.points_ledger (customer_id, id);
create index points_ledger_open_lots on core.points_ledger (customer_id, expires_at, id) where remaining > 0;
create index points_ledger_due_lots on core.points_ledger (expires_at) where remaining > 0;
create unique index points_ledger_earn_once_per_reservation on core.points_ledger (reservation_id) where kind = 'earn';
create index points_ledger_reservation on core.points_ledger (reservation_id) where reservation_id is not null;

-- Rank changes (seed 003), by stays, by hand (seed 000's PUT /customers/{id}/rank) or by a merge.
create table core.rank_history (
    id               bigint generated always as identity primary key,
    customer_id      bigint not null references core.customers (id) on delete cascade,
    from_rank        text not null references core.membership_ranks (code) on delete restrict,
    to_rank          text not null references core.membership_ranks (code) on delete restrict,
    source           text not null,
    reason           text,
    reservation_id   bigint references core.reservations (id) on delete set null,
    qualifying_stays integer not null,
    changed_at       timestamptz not null,
    constraint rank_history_source_known check (source in ('stays', 'manual', 'merge')),
    constraint rank_history_manual_has_reason check (source <> 'manual' or btrim(coalesce(reason, '')) <> ''),
    constraint rank_history_is_a_change check (from_rank <> to_rank)
);
comment on table core.rank_history is 'Every membership rank change with its source (stays, manual, merge), reason and the stay count at the time.';
create index rank_history_customer on core.rank_history (customer_id, id);
create index rank_history_reservation on core.rank_history (reservation_id) where reservation_id is not null;

-- Outbox of messages to customers (seed 003's "notify on rank up"); a sender marks sent_at.
create table core.notifications (
    id          bigint generated always as identity primary key,
    customer_id bigint not null references core.customers (id) on delete cascade,
    kind        text not null,
    payload     jsonb not null default '{}'::jsonb,
    created_at  timestamptz not null,
    sent_at     timestamptz,
    constraint notifications_kind_shape check (kind ~ '^[a-z][a-z_.]*$'),
    constraint notifications_payload_is_object check (jsonb_typeof(payload) = 'object')
);
comment on table core.notifications is 'Notifications to send to customers (rank changed, ...); rows with sent_at null are pending.';
create index notifications_pending on core.notifications (created_at) where sent_at is null;
create index notifications_customer on core.notifications (customer_id, id);

-- Reviews (seed 003): only of a checked-out stay, one per reservation, ratings 1 to 5.
create table core.reviews (
    id                 bigint generated always as identity primary key,
    reservation_id     bigint not null,
    hotel_id           bigint not null references core.hotels (id) on delete restrict,
    room_type_id       bigint not null,
    customer_id        bigint not null references core.customers (id) on delete restrict,
    overall_rating     smallint not null,
    cleanliness_rating smallint,
    service_rating     smallint,
    location_rating    smallint,
    facilities_rating  smallint,
    value_rating       smallint,
    title              text,
    comment            text,
    created_at         timestamptz not null,
    constraint reviews_reservation_fk foreign key (hotel_id, reservation_id)
        references core.reservations (hotel_id, id) on delete restrict,
    constraint reviews_room_type_fk foreign key (hotel_id, room_type_id)
        references core.room_types (hotel_id, id) on delete restrict,
    constraint reviews_one_per_reservation unique (hotel_id, reservation_id),
    constraint reviews_ratings_one_to_five check (
        overall_rating between 1 and 5
        and coalesce(cleanliness_rating, 1) between 1 and 5 and coalesce(service_rating, 1) between 1 and 5
        and coalesce(location_rating, 1) between 1 and 5 and coalesce(facilities_rating, 1) between 1 and 5
        and coalesce(value_rating, 1) between 1 and 5),
    constraint reviews_title_length check (length(title) <= 200),
    constraint reviews_comment_length check (length(comment) <= 5000)
);
comment on table core.reviews is 'Guest reviews (seed 003): one per checked-out reservation, overall and aspect ratings (cleanliness, service, location, facilities, value) 1 to 5, title and comment.';
create index reviews_hotel_room_type on core.reviews (hotel_id, room_type_id);
create index reviews_customer on core.reviews (customer_id);

-- The audit trail of api.merge_customers.
create table core.customer_merges (
    id                   bigint generated always as identity primary key,
    kept_customer_id     bigint not null references core.customers (id) on delete restrict,
    merged_customer_id   bigint not null references core.customers (id) on delete restrict,
    reason               text,
    moved                jsonb not null,
    merged_at            timestamptz not null,
    constraint customer_merges_merged_once unique (merged_customer_id),
    constraint customer_merges_not_into_self check (kept_customer_id <> merged_customer_id)
);
comment on table core.customer_merges is 'One row per merge: which profile was kept, which was merged into it, and what moved (reservations, points, reviews, stays).';
create index customer_merges_kept on core.customer_merges (kept_customer_id);

-- migrate:down
drop table if exists core.customer_merges;
drop table if exists core.reviews;
drop table if exists core.notifications;
drop table if exists core.rank_history;
drop table if exists core.points_ledger;
drop table if exists core.points_accounts;
drop table if exists core.points_earn_rates;
drop table if exists core.loyalty_settings;
