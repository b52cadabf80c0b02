-- The customer master (seed 000's hotel-member) and membership ranks (seed 003).
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
create table core.membership_ranks (
    code             text primary key,
    name             text not null,
    level            integer not null,
    min_stays        integer not null,
    discount_rate    numeric(5, 4) not null default 0,
    priority_booking boolean not null default false,
    late_checkout    boolean not null default false,
    late_checkout_until time,
    constraint membership_ranks_level_unique unique (level),
    constraint membership_ranks_min_stays_unique unique (min_stays),
    constraint membership_ranks_min_stays_not_negative check (min_stays >= 0),
    constraint membership_ranks_discount_is_a_fraction check (discount_rate >= 0 and discount_rate < 1)
);
comment on table core.membership_ranks is 'Membership ranks by qualifying stays (seed 003): discount, priority booking, late check-out.';

insert into core.membership_ranks (code, name, level, min_stays, discount_rate, priority_booking, late_checkout, late_checkout_until)
values ('bronze',   'Bronze',   0,  0, 0.00, false, false, null),
       ('silver',   'Silver',   1,  5, 0.05, false, false, null),
       ('gold',     'Gold',     2, 15, 0.10, true,  false, null),
       ('platinum', 'Platinum', 3, 30, 0.15, true,  true,  '14:00');

create table core.customers (
    id                  bigint generated always as identity primary key,
    given_name          text not null,
    family_name         text not null,
    given_name_reading  text,
    family_name_reading text,
    email               text,
    phone_e164          text,
    postal_code         text,
    address_line1       text,
    address_line2       text,
    city                text,
    region              text,
    country_code        char(2),
    language            text not null default 'en',
    is_member           boolean not null default false,
    member_since        date,
    rank_code           text not null default 'bronze' references core.membership_ranks (code) on delete restrict,
    rank_manual         boolean not null default false,
    qualifying_stays    integer not null default 0,
    marketing_consent   boolean not null default false,
    preferences         jsonb not null default '{}'::jsonb,
    merged_into         bigint references core.customers (id) on delete restrict,
    version             integer not null default 1,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint customers_names_not_blank check (btrim(given_name) <> '' and btrim(family_name) <> ''),
    constraint customers_email_shape check (email is null or email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    constraint customers_phone_is_e164 check (phone_e164 is null or phone_e164 ~ '^\+[1-9][0-9]{6,14}$'),
    constraint customers_qualifying_stays_not_negative check (qualifying_stays >= 0),
    constraint customers_member_since_for_members check (is_member or member_since is null),
    constraint customers_not_merged_into_self check (merged_into is distinct from id),
    constraint customers_preferences_is_object check (jsonb_typeof(preferences) = 'object')
);
comment on table core.customers is 'Customer master (seed 000): members and guests who booked without joining.';
create unique index customers_email_unique on core.customers (lower(email)) where email is not null and merged_into is null;
create index customers_rank_code on core.customers (rank_code);
create index customers_phone_e164 on core.customers (phone_e164) where phone_e164 is not null and merged_into is null;
comment on column core.customers.rank_manual is 'True when rank_code was set by hand (api.set_customer_rank): stays may raise it, a reversed stay never lowers it.';
comment on column core.customers.qualifying_stays is 'Checked-out stays counted by the rank trigger (+1 on check-out, -1 when reversed).';
comment on column core.customers.merged_into is 'Set when this profile was merged into another (api.merge_customers); the row stays for the audit trail.';
create index customers_merged_into on core.customers (merged_into) where merged_into is not null;

-- migrate:down
drop table if exists core.customers;
drop table if exists core.membership_ranks;
