-- Conflicts on rooms judged like those on customers and reservations (seed 000, 競合解決システム:
-- entity_type room): a room's version, the history a stale room write is compared with, and the
-- housekeeping notes a front desk and its housekeepers both write.
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Invariants:
--   * a room's version moves by one exactly when its document changes (status, active, number,
--     floor, room type, housekeeping notes), whoever writes it (trigger _050_bump_version); a
--     write that changes nothing makes no version;
--   * every version after the first has one core.room_changes row with the fields that changed
--     (trigger _120_log_change), so the history of every room is known from version 1 on;
--   * a room conflict is recorded with its room's hotel (conflicts_hotel_entity_has_hotel).
-- Lock order: the room's row first, then its conflict rows.

-- migrate:up
alter table core.rooms
    add column version integer not null default 1 constraint rooms_version_positive check (version >= 1),
    add column housekeeping_notes text
        constraint rooms_housekeeping_notes_length check (length(housekeeping_notes) <= 2000);
comment on column core.rooms.version is
    'Optimistic lock (seed 000: version number): one more at every change of the room''s document (status, active, number, floor, room type, housekeeping notes), set by trigger; a write carrying an older version is judged by the conflict rules.';
comment on column core.rooms.housekeeping_notes is
    'Free notes of the front desk and housekeeping (a stain on the carpet, a guest''s request for the room); at most 2000 characters.';

create table core.room_changes (
    hotel_id    bigint not null,
    room_id     bigint not null,
    version     integer not null,
    system      text not null,
    changed_at  timestamptz not null,
    changes     jsonb not null,
    conflict_id bigint,
    constraint room_changes_pk primary key (hotel_id, room_id, version),
    constraint room_changes_room_fk foreign key (hotel_id, room_id)
        references core.rooms (hotel_id, id) on delete cascade,
    constraint room_changes_version_after_first check (version >= 2),
    constraint room_changes_changes_is_object check (jsonb_typeof(changes) = 'object')
);
comment on table core.room_changes is
    'One row per room version (2, 3, ...): the fields of its document that changed, each {"old": ..., "new": ...}, which system wrote it and when (the source system''s timestamp for a synchronised write). The conflict rules read it to know what a stale room write missed.';
comment on column core.room_changes.conflict_id is 'The conflict whose rules or resolution wrote this version, if any.';

-- a room conflict, like a reservation's, belongs to the room's hotel
alter table core.conflicts
    drop constraint conflicts_entity_type_known,
    drop constraint conflicts_reservation_has_hotel,
    add constraint conflicts_entity_type_known check (entity_type in ('customer', 'reservation', 'room')) not valid,
    add constraint conflicts_hotel_entity_has_hotel check ((entity_type in ('reservation', 'room')) = (hotel_id is not null)) not valid;
alter table core.conflicts validate constraint conflicts_entity_type_known;
alter table core.conflicts validate constraint conflicts_hotel_entity_has_hotel;

-- hotel scope, as every hotel-owned table (db/schema/rights.sql)
alter table core.room_changes enable row level security;
alter table core.room_changes force row level security;
create policy room_changes_in_hotel_scope on core.room_changes
    using (coalesce(hotel_id = any((select core.hotel_scope())::bigint[]), true));
alter table core.room_changes owner to hotelcore_owner;

-- migrate:down
delete from core.conflicts where entity_type = 'room';
alter table core.conflicts
    drop constraint conflicts_hotel_entity_has_hotel,
    drop constraint conflicts_entity_type_known,
    add constraint conflicts_entity_type_known check (entity_type in ('customer', 'reservation')),
    add constraint conflicts_reservation_has_hotel check ((entity_type = 'reservation') = (hotel_id is not null));
drop table if exists core.room_changes;
alter table core.rooms drop column if exists housekeeping_notes, drop column if exists version;
