-- The hotel a guest profile was created for. A login limited to some hotels (core.hotel_scope) that
-- does not own the customer master (hotel-pms, hotel-saas) may change a customer only when the
-- customer has a reservation in one of its hotels or was created for one of them
-- (internal.require_customer_in_reach): the profile a front desk makes for a walk-in before booking.
-- Not named hotel_id: the customer master is chain-wide and not under row-level security.
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
alter table core.customers
    add column created_for_hotel_id bigint references core.hotels (id) on delete set null;
comment on column core.customers.created_for_hotel_id is
    'The hotel whose booking made this guest profile (api.find_or_create_guest with a hotel); null for members and profiles made chain-wide.';

-- migrate:down
alter table core.customers drop column if exists created_for_hotel_id;
