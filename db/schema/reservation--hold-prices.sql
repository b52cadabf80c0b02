-- A hold's prices per room in typed columns: the subtotal, the length-of-stay and member
-- discounts and the tax its quote gave (the total per room is each hold line's amount). A
-- confirmation copies them onto the reservation; they were read back from the jsonb document
-- core.holds.quote, which is no longer written (kept, empty for new holds, until no deployed
-- release reads it).
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
alter table core.holds
    add column subtotal_per_room        numeric(14, 2),
    add column los_discount_per_room    numeric(14, 2),
    add column member_discount_per_room numeric(14, 2),
    add column tax_per_room             numeric(14, 2);
comment on column core.holds.subtotal_per_room is 'Price of one room for the stay before discounts and tax (the sum of its nightly prices).';
comment on column core.holds.los_discount_per_room is 'Length-of-stay discount of one room.';
comment on column core.holds.member_discount_per_room is 'Member-rank discount of one room (on the subtotal less the length-of-stay discount).';
comment on column core.holds.tax_per_room is 'Tax of one room (added, or included when the hotel''s prices include tax).';
comment on column core.holds.quote is
    'No longer written (empty for new holds): the prices are the typed *_per_room columns. Kept until no deployed release reads it.';

-- holds written before: their prices from the quote document they carried
update core.holds h
set subtotal_per_room        = coalesce((h.quote ->> 'subtotal')::numeric, 0),
    los_discount_per_room    = coalesce((h.quote ->> 'length_of_stay_discount')::numeric, 0),
    member_discount_per_room = coalesce((h.quote ->> 'member_discount')::numeric, 0),
    tax_per_room             = coalesce((h.quote ->> 'tax')::numeric, 0);

alter table core.holds add constraint holds_prices_per_room_present check (
    subtotal_per_room is not null and los_discount_per_room is not null
    and member_discount_per_room is not null and tax_per_room is not null) not valid;
alter table core.holds validate constraint holds_prices_per_room_present;

-- migrate:down
-- holds written since: the quote document again, from the typed columns
update core.holds h
set quote = jsonb_build_object('subtotal', h.subtotal_per_room, 'length_of_stay_discount', h.los_discount_per_room,
                               'member_discount', h.member_discount_per_room, 'tax', h.tax_per_room,
                               'total_per_room', (select l.amount from core.hold_lines l where l.hold_id = h.id
                                                  order by l.id limit 1))
where h.quote = '{}'::jsonb;
comment on column core.holds.quote is null;
alter table core.holds drop constraint if exists holds_prices_per_room_present;
alter table core.holds
    drop column if exists subtotal_per_room,
    drop column if exists los_discount_per_room,
    drop column if exists member_discount_per_room,
    drop column if exists tax_per_room;
