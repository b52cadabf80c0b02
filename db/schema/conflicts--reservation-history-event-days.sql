-- Conflicts on reservations judged like those on customers (seed 000, 競合解決システム): the
-- history a stale reservation write is compared with, and the special event days whose
-- conflicts are escalated (seed 000: 特別イベント日の競合).
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Invariants:
--   * every version of a reservation written after this revision has one core.reservation_changes
--     row with what the conflict rules compare (its document) and the fields that changed since
--     the version before (trigger _120_log_change); a reservation older than this revision has
--     rows from its next version on (a write based on an earlier version is reviewed: its
--     history is unknown);
--   * a special event day is one night of one hotel (primary key), named.

-- migrate:up
create table core.reservation_changes (
    hotel_id       bigint not null,
    reservation_id bigint not null,
    version        integer not null,
    system         text not null,
    changed_at     timestamptz not null,
    document       jsonb not null,
    changes        jsonb not null,
    conflict_id    bigint,
    constraint reservation_changes_pk primary key (hotel_id, reservation_id, version),
    constraint reservation_changes_reservation_fk foreign key (hotel_id, reservation_id)
        references core.reservations (hotel_id, id) on delete cascade,
    constraint reservation_changes_version_positive check (version >= 1),
    constraint reservation_changes_are_objects check (jsonb_typeof(document) = 'object' and jsonb_typeof(changes) = 'object')
);
comment on table core.reservation_changes is
    'One row per reservation version: its document as the conflict rules read it (stay, room type, rate plan, guests, requests, total) and the fields that changed since the version before, each {"old": ..., "new": ...}; which system wrote it and when. The conflict rules read it to know what a stale write missed.';
comment on column core.reservation_changes.document is 'The reservation at this version: internal.reservation_document().';
comment on column core.reservation_changes.changes is 'Fields of the document that differ from the version before ({} for the first version, or a change outside the document such as the status).';
comment on column core.reservation_changes.conflict_id is 'The conflict whose rules wrote this version, if any.';

create table core.special_event_days (
    hotel_id   bigint not null references core.hotels (id) on delete cascade,
    day        date not null,
    name       text not null,
    created_by text not null,
    created_at timestamptz not null,
    constraint special_event_days_pk primary key (hotel_id, day),
    constraint special_event_days_name_not_blank check (btrim(name) <> '' and length(name) <= 200)
);
comment on table core.special_event_days is
    'A hotel''s special event days (seed 000: 特別イベント日 — a festival, a concert, a convention in town): a conflict on a reservation with a night on one is escalated like a VIP or high-value one. Written by hotel-pms and admin through api.set_special_event_days.';
comment on column core.special_event_days.day is 'The night (hotel-local date a stay sleeps).';
comment on column core.special_event_days.name is 'What happens that day, named in the escalation reason.';
comment on column core.special_event_days.created_by is 'The system (pms, core for admin) and application user that wrote it.';

-- hotel scope, as every hotel-owned table (db/schema/rights.sql)
alter table core.reservation_changes enable row level security;
alter table core.reservation_changes force row level security;
create policy reservation_changes_in_hotel_scope on core.reservation_changes
    using (coalesce(hotel_id = any((select core.hotel_scope())::bigint[]), true));
alter table core.special_event_days enable row level security;
alter table core.special_event_days force row level security;
create policy special_event_days_in_hotel_scope on core.special_event_days
    using (coalesce(hotel_id = any((select core.hotel_scope())::bigint[]), true));

alter table core.reservation_changes owner to hotelcore_owner;
alter table core.special_event_days owner to hotelcore_owner;

-- migrate:down
drop table if exists core.special_event_days;
drop table if exists core.reservation_changes;
