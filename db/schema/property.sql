-- The property: hotels, room types, rooms, rate plans, pricing rules, seasons, holidays,
-- length-of-stay discounts and cancellation policies (seeds 001 and 003).
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Layout (for anyone loading data set-based, e.g. the benchmark):
--   core.currencies            ISO code -> minor units (KRW/JPY 0, USD/EUR 2); money is rounded to it.
--   core.hotels                one row per hotel; time_zone drives "today", arrival days and deadlines.
--   core.room_types            (hotel_id, id) is the key other tables reference, so a row of another
--                              hotel can never be mixed in.
--   core.rooms                 physical rooms; inventory capacity = active rooms of the type.
--   core.cancellation_policies policy as data; core.rate_plans point to one.
--   core.rate_plans            price = nightly rack rate * price_multiplier + price_supplement.
--   core.seasons / core.holidays / core.pricing_rules
--                              the nightly rack rate of a room type is the base price, overridden by
--                              the highest-precedence matching rule: season > holiday > weekday/weekend
--                              (room-type rule beats hotel-wide rule). It is materialised in
--                              core.inventory.rack_rate by internal.refresh_rates (the api functions
--                              that change any input call it; after a set-based load call
--                              api.refresh_rates(hotel_id)).
--   core.length_of_stay_discounts  consecutive-night discount on the stay subtotal (seed 003).

-- migrate:up
create table core.currencies (
    code        char(3) primary key,
    minor_units smallint not null,
    constraint currencies_code_is_iso check (code ~ '^[A-Z]{3}$'),
    constraint currencies_minor_units_range check (minor_units between 0 and 4)
);
comment on table core.currencies is 'ISO 4217 currencies with their minor units: money is rounded to these (KRW and JPY have none).';
insert into core.currencies (code, minor_units) values
    ('KRW', 0), ('JPY', 0), ('USD', 2), ('EUR', 2), ('GBP', 2), ('CNY', 2), ('TWD', 0), ('THB', 2),
    ('SGD', 2), ('HKD', 2), ('AUD', 2), ('VND', 0);

create table core.hotels (
    id                 bigint generated always as identity primary key,
    code               text not null,
    name               text not null,
    city               text,
    country_code       char(2),
    time_zone          text not null,
    currency           char(3) not null references core.currencies (code) on delete restrict,
    check_in_time      time not null default '15:00',
    check_out_time     time not null default '10:00',
    tax_rate           numeric(6, 4) not null default 0,
    prices_include_tax boolean not null default false,
    max_stay_nights    integer not null default 30,
    hold_ttl_seconds   integer not null default 180,
    waitlist_offer_ttl_seconds integer not null default 1800,
    weekend_days       smallint[] not null default '{5,6}',
    business_date      date,
    holiday_country    text,
    active             boolean not null default true,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    constraint hotels_code_unique unique (code),
    constraint hotels_code_shape check (code ~ '^[A-Za-z0-9][A-Za-z0-9_-]*$'),
    constraint hotels_name_not_blank check (btrim(name) <> ''),
    constraint hotels_tax_rate_is_a_fraction check (tax_rate >= 0 and tax_rate < 1),
    constraint hotels_max_stay_positive check (max_stay_nights between 1 and 365),
    constraint hotels_hold_ttl_positive check (hold_ttl_seconds between 1 and 86400),
    constraint hotels_waitlist_offer_ttl_positive check (waitlist_offer_ttl_seconds between 1 and 604800),
    constraint hotels_weekend_days_are_iso check (weekend_days <@ '{1,2,3,4,5,6,7}'::smallint[])
);
comment on table core.hotels is 'Hotels (seed 003): own time zone, currency, check-in/out times, tax, maximum stay, hold TTL; weekend_days are ISO days of week of the nights priced as weekend.';
create index hotels_city on core.hotels (city);

create table core.room_types (
    id            bigint generated always as identity primary key,
    hotel_id      bigint not null references core.hotels (id) on delete cascade,
    code          text not null,
    name          text not null,
    description   text,
    max_occupancy integer not null,
    base_price    numeric(12, 2) not null,
    amenities     jsonb not null default '{}'::jsonb,
    size_sqm      numeric(6, 1),
    active        boolean not null default true,
    created_at    timestamptz not null default now(),
    constraint room_types_hotel_id_id_unique unique (hotel_id, id),
    constraint room_types_code_unique unique (hotel_id, code),
    constraint room_types_max_occupancy_positive check (max_occupancy between 1 and 20),
    constraint room_types_base_price_not_negative check (base_price >= 0),
    constraint room_types_amenities_is_object check (jsonb_typeof(amenities) = 'object'),
    constraint room_types_size_positive check (size_sqm is null or size_sqm > 0)
);
comment on table core.room_types is 'Room types of a hotel (seed 003): maximum occupancy, base price in the hotel currency, amenities, size.';

create table core.rooms (
    id           bigint generated always as identity primary key,
    hotel_id     bigint not null,
    room_type_id bigint not null,
    number       text not null,
    floor        integer,
    active       boolean not null default true,
    created_at   timestamptz not null default now(),
    constraint rooms_room_type_fk foreign key (hotel_id, room_type_id)
        references core.room_types (hotel_id, id) on delete restrict,
    constraint rooms_hotel_id_id_unique unique (hotel_id, id),
    constraint rooms_number_unique unique (hotel_id, number),
    constraint rooms_number_not_blank check (btrim(number) <> '')
);
comment on table core.rooms is 'Physical rooms (seed 003): number unique per hotel; inventory capacity counts the active rooms of a type.';
create index rooms_room_type on core.rooms (hotel_id, room_type_id) where active;

create table core.cancellation_policies (
    id                  bigint generated always as identity primary key,
    hotel_id            bigint not null references core.hotels (id) on delete cascade,
    code                text not null,
    name                text not null,
    non_refundable      boolean not null default false,
    free_until_days     integer,
    late_fee_kind       text not null default 'first_night',
    late_fee_percent    numeric(5, 2),
    no_show_fee_kind    text not null default 'first_night',
    no_show_fee_percent numeric(5, 2),
    constraint cancellation_policies_hotel_id_id_unique unique (hotel_id, id),
    constraint cancellation_policies_code_unique unique (hotel_id, code),
    constraint cancellation_policies_free_days_not_negative check (free_until_days is null or free_until_days >= 0),
    constraint cancellation_policies_late_fee_kind check (late_fee_kind in ('none', 'first_night', 'percent', 'full')),
    constraint cancellation_policies_no_show_fee_kind check (no_show_fee_kind in ('none', 'first_night', 'percent', 'full')),
    constraint cancellation_policies_late_percent_when_percent check (
        (late_fee_kind = 'percent') = (late_fee_percent is not null)
        and (late_fee_percent is null or late_fee_percent between 0 and 100)),
    constraint cancellation_policies_no_show_percent_when_percent check (
        (no_show_fee_kind = 'percent') = (no_show_fee_percent is not null)
        and (no_show_fee_percent is null or no_show_fee_percent between 0 and 100))
);
comment on table core.cancellation_policies is
    'Cancellation policy as data (seed 003): free until free_until_days before arrival (hotel time zone), then late_fee_kind; non_refundable charges the full amount at any time; no_show_fee_kind for no-shows.';

create table core.rate_plans (
    id                     bigint generated always as identity primary key,
    hotel_id               bigint not null,
    room_type_id           bigint not null,
    code                   text not null,
    name                   text not null,
    includes_breakfast     boolean not null default false,
    price_multiplier       numeric(6, 4) not null default 1,
    price_supplement       numeric(12, 2) not null default 0,
    cancellation_policy_id bigint,
    active                 boolean not null default true,
    created_at             timestamptz not null default now(),
    constraint rate_plans_room_type_fk foreign key (hotel_id, room_type_id)
        references core.room_types (hotel_id, id) on delete cascade,
    constraint rate_plans_policy_fk foreign key (hotel_id, cancellation_policy_id)
        references core.cancellation_policies (hotel_id, id) on delete restrict,
    constraint rate_plans_hotel_id_id_unique unique (hotel_id, id),
    constraint rate_plans_room_type_id_unique unique (hotel_id, room_type_id, id),
    constraint rate_plans_code_unique unique (hotel_id, room_type_id, code),
    constraint rate_plans_multiplier_positive check (price_multiplier > 0),
    constraint rate_plans_supplement_not_negative check (price_supplement >= 0)
);
comment on table core.rate_plans is
    'Rate plans per room type (flexible, non-refundable, with breakfast): nightly price = rack rate * price_multiplier + price_supplement; the cancellation policy applies to bookings on the plan.';

create table core.seasons (
    id       bigint generated always as identity primary key,
    hotel_id bigint not null references core.hotels (id) on delete cascade,
    code     text not null,
    name     text not null,
    during   daterange not null,
    constraint seasons_hotel_id_id_unique unique (hotel_id, id),
    constraint seasons_code_unique unique (hotel_id, code),
    constraint seasons_during_is_canonical check (not isempty(during) and lower_inc(during) and not upper_inc(during)
                                                 and not lower_inf(during) and not upper_inf(during)),
    constraint seasons_no_overlap exclude using gist (hotel_id with =, during with &&)
);
comment on table core.seasons is 'Season date ranges of a hotel [first night, last night + 1); they never overlap, so one season prices a night.';

create table core.holidays (
    hotel_id bigint not null references core.hotels (id) on delete cascade,
    day      date not null,
    name     text not null,
    primary key (hotel_id, day)
);
comment on table core.holidays is 'The holiday calendar of a hotel: nights priced by holiday rules (national holidays are loaded from Python with the holidays library via api.add_holidays).';

create type core.pricing_rule_kind as enum ('weekday', 'weekend', 'holiday', 'season');
comment on type core.pricing_rule_kind is 'Pricing rule kinds in increasing precedence: a season rule beats a holiday rule beats a weekday/weekend rule.';

create table core.pricing_rules (
    id           bigint generated always as identity primary key,
    hotel_id     bigint not null references core.hotels (id) on delete cascade,
    room_type_id bigint,
    kind         core.pricing_rule_kind not null,
    season_id    bigint,
    multiplier   numeric(6, 4),
    fixed_price  numeric(12, 2),
    active       boolean not null default true,
    created_at   timestamptz not null default now(),
    constraint pricing_rules_room_type_fk foreign key (hotel_id, room_type_id)
        references core.room_types (hotel_id, id) on delete cascade,
    constraint pricing_rules_season_fk foreign key (hotel_id, season_id)
        references core.seasons (hotel_id, id) on delete cascade,
    constraint pricing_rules_multiplier_xor_fixed check (num_nonnulls(multiplier, fixed_price) = 1),
    constraint pricing_rules_multiplier_positive check (multiplier is null or multiplier > 0),
    constraint pricing_rules_fixed_price_not_negative check (fixed_price is null or fixed_price >= 0),
    constraint pricing_rules_season_iff_season_kind check ((kind = 'season') = (season_id is not null))
);
comment on table core.pricing_rules is
    'Nightly price rules (seed 003): weekday, weekend, holiday or season; a multiplier of the base price or a fixed price. Null room_type_id = every room type of the hotel.';
create unique index pricing_rules_one_per_target on core.pricing_rules
    (hotel_id, coalesce(room_type_id, 0), kind, coalesce(season_id, 0)) where active;

create table core.length_of_stay_discounts (
    id            bigint generated always as identity primary key,
    hotel_id      bigint not null references core.hotels (id) on delete cascade,
    room_type_id  bigint,
    min_nights    integer not null,
    discount_rate numeric(5, 4) not null,
    constraint length_of_stay_discounts_room_type_fk foreign key (hotel_id, room_type_id)
        references core.room_types (hotel_id, id) on delete cascade,
    constraint length_of_stay_discounts_min_nights check (min_nights >= 2),
    constraint length_of_stay_discounts_rate_is_a_fraction check (discount_rate > 0 and discount_rate < 1)
);
comment on table core.length_of_stay_discounts is
    'Consecutive-night discounts (seed 003): the largest min_nights not above the stay length applies to the subtotal; a room-type row beats a hotel-wide one.';
create unique index length_of_stay_discounts_unique on core.length_of_stay_discounts
    (hotel_id, coalesce(room_type_id, 0), min_nights);

-- migrate:down
drop table if exists core.length_of_stay_discounts;
drop table if exists core.pricing_rules;
drop type if exists core.pricing_rule_kind;
drop table if exists core.holidays;
drop table if exists core.seasons;
drop table if exists core.rate_plans;
drop table if exists core.cancellation_policies;
drop table if exists core.rooms;
drop table if exists core.room_types;
drop table if exists core.hotels;
drop table if exists core.currencies;
