-- Conflicts kept where their entity lives, for a distributed PostgreSQL (Citus, docs/scale-out.md):
-- a customer conflict belongs to no hotel (the customer master is chain-wide), a reservation or
-- room conflict to its hotel. The one table core.conflicts becomes two, one surface:
--   core.customer_conflicts   chain-wide (entity customer): a reference table, no hotel_id;
--   core.hotel_conflicts      hotel-owned (entity reservation, room): distributed by hotel_id,
--                             key (hotel_id, id), like every hotel table;
--   core.conflicts            a view over both (the columns of the former table, hotel_id null for
--                             customers): what the functions, the report views and the tests read;
--                             its INSTEAD OF triggers (db/triggers/conflicts.sql) route a write to
--                             the table of its row, so a conflict is written in one place.
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Invariants:
--   * one id space: both tables take their ids from core.conflict_ids, so a conflict id names one
--     conflict (POST /conflicts/{id}/resolve) whichever table holds it;
--   * a customer conflict has no hotel, a reservation or room conflict its entity's hotel
--     (customer_conflicts_entity_is_customer, hotel_conflicts_entity_is_hotel_owned, hotel_id not null);
--   * the rules of a conflict's life (verdict, status, method, resolution, escalation, versions)
--     have one home, core.conflict_life_cycle_holds, which both tables' check calls.
-- Lock order: the entity's row first, then its conflict row (internal.lock_conflict).

-- migrate:up
create sequence core.conflict_ids as bigint;
comment on sequence core.conflict_ids is 'The ids of core.customer_conflicts and core.hotel_conflicts: one id space for POST /conflicts/{id}/resolve.';
select pg_catalog.setval('core.conflict_ids', coalesce((select max(f.id) from core.conflicts f), 0) + 1, false);

-- The rules of a conflict's life, one paragraph each, kept by the check of both tables. Plain SQL
-- with a standard body, so the planner inlines it into each table's check: no call per row. A rule
-- that is null (a column it reads is null) holds, as a check constraint of its own would.
create function core.conflict_life_cycle_holds(
    p_verdict            text,
    p_status             text,
    p_resolution_method  text,
    p_resolved_at        timestamptz,
    p_resolver           text,
    p_escalated          boolean,
    p_escalation_reasons text[],
    p_before             jsonb,
    p_theirs             jsonb,
    p_ours               jsonb,
    p_fields             jsonb
) returns boolean
language sql
immutable
parallel safe
return
    -- the verdict, status and resolution method are known words
    p_verdict in ('merged', 'needs_review')
    and p_status in ('open', 'resolved', 'dismissed')
    and p_resolution_method in ('manual', 'auto_merge', 'priority_based')
    -- a conflict is open exactly while it has no resolution time, resolver and method
    and (p_status = 'open') = (p_resolved_at is null)
    and (p_status = 'open') = (p_resolver is null)
    and (p_status = 'open') = (p_resolution_method is null)
    -- a merged conflict was resolved by the rules at detection
    and (p_verdict = 'needs_review' or p_status = 'resolved')
    -- an escalated conflict says why, and only an escalated one
    and p_escalated = (cardinality(p_escalation_reasons) > 0)
    -- the versions compared and the outcome per field are JSON objects
    and jsonb_typeof(p_before) = 'object' and jsonb_typeof(p_theirs) = 'object'
    and jsonb_typeof(p_ours) = 'object' and jsonb_typeof(p_fields) = 'object';
comment on function core.conflict_life_cycle_holds(text, text, text, timestamptz, text, boolean, text[], jsonb, jsonb, jsonb, jsonb) is
    'True unless a conflict row breaks a rule of its life: verdict, status and method known; open exactly while unresolved (no resolved_at, resolver, method); merged only when resolved; escalated exactly when it has reasons; before, theirs, ours and fields JSON objects. The check of core.customer_conflicts and core.hotel_conflicts.';
alter function core.conflict_life_cycle_holds(text, text, text, timestamptz, text, boolean, text[], jsonb, jsonb, jsonb, jsonb) owner to hotelcore_owner;
revoke execute on function core.conflict_life_cycle_holds(text, text, text, timestamptz, text, boolean, text[], jsonb, jsonb, jsonb, jsonb) from public;

create table core.customer_conflicts (
    id                 bigint not null default nextval('core.conflict_ids'),
    entity_type        text not null,
    entity_id          bigint not null,
    base_version       integer,
    entity_version     integer,
    before             jsonb not null,
    theirs             jsonb not null,
    ours               jsonb not null,
    theirs_system      text,
    theirs_at          timestamptz,
    ours_system        text not null,
    ours_at            timestamptz not null,
    fields             jsonb not null,
    verdict            text not null,
    rule               text not null,
    escalated          boolean not null default false,
    escalation_reasons text[] not null default '{}',
    suggestions        jsonb,
    status             text not null,
    detected_at        timestamptz not null,
    resolved_at        timestamptz,
    resolver           text,
    resolution_method  text,
    resolution_reason  text,
    resolved_data      jsonb,
    resolved_version   integer,
    constraint customer_conflicts_pkey primary key (id),
    constraint customer_conflicts_entity_is_customer check (entity_type = 'customer'),
    constraint customer_conflicts_life_cycle check (core.conflict_life_cycle_holds(
        verdict, status, resolution_method, resolved_at, resolver, escalated, escalation_reasons,
        before, theirs, ours, fields))
);
comment on table core.customer_conflicts is
    'Conflicts on customers (seed 000: the chain-wide customer master): a reference table of the distributed layout. Read and written through the view core.conflicts, whose comment says what each column holds.';
create index customer_conflicts_entity on core.customer_conflicts (entity_id, id);

create table core.hotel_conflicts (
    id                 bigint not null default nextval('core.conflict_ids'),
    entity_type        text not null,
    entity_id          bigint not null,
    hotel_id           bigint not null references core.hotels (id) on delete restrict,
    base_version       integer,
    entity_version     integer,
    before             jsonb not null,
    theirs             jsonb not null,
    ours               jsonb not null,
    theirs_system      text,
    theirs_at          timestamptz,
    ours_system        text not null,
    ours_at            timestamptz not null,
    fields             jsonb not null,
    verdict            text not null,
    rule               text not null,
    escalated          boolean not null default false,
    escalation_reasons text[] not null default '{}',
    suggestions        jsonb,
    status             text not null,
    detected_at        timestamptz not null,
    resolved_at        timestamptz,
    resolver           text,
    resolution_method  text,
    resolution_reason  text,
    resolved_data      jsonb,
    resolved_version   integer,
    constraint hotel_conflicts_pkey primary key (hotel_id, id),
    constraint hotel_conflicts_entity_is_hotel_owned check (entity_type in ('reservation', 'room')),
    constraint hotel_conflicts_life_cycle check (core.conflict_life_cycle_holds(
        verdict, status, resolution_method, resolved_at, resolver, escalated, escalation_reasons,
        before, theirs, ours, fields))
);
comment on table core.hotel_conflicts is
    'Conflicts on a hotel''s reservations and rooms: distributed by hotel_id with the hotel''s other rows. Read and written through the view core.conflicts, whose comment says what each column holds.';
-- a resolution names the conflict by id alone
create index hotel_conflicts_id on core.hotel_conflicts (id);
create index hotel_conflicts_entity on core.hotel_conflicts (hotel_id, entity_type, entity_id, id);

insert into core.customer_conflicts (id, entity_type, entity_id, base_version, entity_version, before, theirs, ours, theirs_system, theirs_at, ours_system, ours_at, fields, verdict, rule, escalated, escalation_reasons, suggestions, status, detected_at, resolved_at, resolver, resolution_method, resolution_reason, resolved_data, resolved_version)
select id, entity_type, entity_id, base_version, entity_version, before, theirs, ours, theirs_system, theirs_at, ours_system, ours_at, fields, verdict, rule, escalated, escalation_reasons, suggestions, status, detected_at, resolved_at, resolver, resolution_method, resolution_reason, resolved_data, resolved_version
from core.conflicts where hotel_id is null;
insert into core.hotel_conflicts (id, entity_type, entity_id, hotel_id, base_version, entity_version, before, theirs, ours, theirs_system, theirs_at, ours_system, ours_at, fields, verdict, rule, escalated, escalation_reasons, suggestions, status, detected_at, resolved_at, resolver, resolution_method, resolution_reason, resolved_data, resolved_version)
select id, entity_type, entity_id, hotel_id, base_version, entity_version, before, theirs, ours, theirs_system, theirs_at, ours_system, ours_at, fields, verdict, rule, escalated, escalation_reasons, suggestions, status, detected_at, resolved_at, resolver, resolution_method, resolution_reason, resolved_data, resolved_version
from core.conflicts where hotel_id is not null;

-- the replaceable objects reading the former table (functions taking its row type, the report
-- views) go with it and are created again over the view by the same migration
drop table core.conflicts cascade;

-- run as its owner, as the report views reading it do (a security-invoker view would check its
-- tables against the report reader, who holds no right on core); row-level security still keeps
-- the caller's hotel scope (forced on hotel_conflicts)
create view core.conflicts with (security_invoker = false) as
select id, entity_type, entity_id, null::bigint as hotel_id, base_version, entity_version, before, theirs, ours, theirs_system, theirs_at, ours_system, ours_at, fields, verdict, rule, escalated, escalation_reasons, suggestions, status, detected_at, resolved_at, resolver, resolution_method, resolution_reason, resolved_data, resolved_version
from core.customer_conflicts
union all
select id, entity_type, entity_id, hotel_id, base_version, entity_version, before, theirs, ours, theirs_system, theirs_at, ours_system, ours_at, fields, verdict, rule, escalated, escalation_reasons, suggestions, status, detected_at, resolved_at, resolver, resolution_method, resolution_reason, resolved_data, resolved_version
from core.hotel_conflicts;
-- what record_conflict leaves out takes the former table's defaults
alter view core.conflicts alter column id set default nextval('core.conflict_ids');
alter view core.conflicts alter column escalated set default false;
alter view core.conflicts alter column escalation_reasons set default '{}';
comment on view core.conflicts is
    'Conflicts between the systems'' writes (seed 000): the entity, its values before the stale write''s base (before), what newer writes made of them (theirs), what the stale write asked (ours), the outcome per field and the rule (disjoint_fields, pms_allowed_fields, later_timestamp_wins, earlier_booking_wins) or why a person must decide (needs_review), escalation (VIP, high-value or special-event-day booking), and the resolution: status, resolver, method, reason, timestamps. Customer conflicts (hotel_id null) are core.customer_conflicts, reservation and room conflicts core.hotel_conflicts; a write here goes to the table of its row.';
comment on column core.conflicts.fields is 'Per field of ours: {"outcome": applied | kept_theirs | agreed | review, "rule" or "reason"}.';
comment on column core.conflicts.resolver is '''system'' when the rules decided at detection, else the resolver_user_id given to api.resolve_conflict.';
comment on column core.conflicts.suggestions is 'Reservation conflicts: free rooms of the same room type, then of similar types, for the same nights.';
comment on column core.conflicts.hotel_id is 'The reservation''s or room''s hotel; null for a customer conflict (chain-wide).';

-- hotel scope, as every hotel-owned table; customer conflicts are chain-wide, like the customers
alter table core.hotel_conflicts enable row level security;
alter table core.hotel_conflicts force row level security;
create policy hotel_conflicts_in_hotel_scope on core.hotel_conflicts
    using (coalesce(hotel_id = any((select core.hotel_scope())::bigint[]), true));

alter sequence core.conflict_ids owner to hotelcore_owner;
alter table core.customer_conflicts owner to hotelcore_owner;
alter table core.hotel_conflicts owner to hotelcore_owner;
alter view core.conflicts owner to hotelcore_owner;

-- migrate:down
drop view if exists core.conflicts cascade;
create table core.conflicts (
    id                 bigint generated always as identity primary key,
    entity_type        text not null,
    entity_id          bigint not null,
    hotel_id           bigint references core.hotels (id) on delete restrict,
    base_version       integer,
    entity_version     integer,
    before             jsonb not null,
    theirs             jsonb not null,
    ours               jsonb not null,
    theirs_system      text,
    theirs_at          timestamptz,
    ours_system        text not null,
    ours_at            timestamptz not null,
    fields             jsonb not null,
    verdict            text not null,
    rule               text not null,
    escalated          boolean not null default false,
    escalation_reasons text[] not null default '{}',
    suggestions        jsonb,
    status             text not null,
    detected_at        timestamptz not null,
    resolved_at        timestamptz,
    resolver           text,
    resolution_method  text,
    resolution_reason  text,
    resolved_data      jsonb,
    resolved_version   integer,
    constraint conflicts_entity_type_known check (entity_type in ('customer', 'reservation', 'room')),
    constraint conflicts_hotel_entity_has_hotel check ((entity_type in ('reservation', 'room')) = (hotel_id is not null)),
    constraint conflicts_verdict_known check (verdict in ('merged', 'needs_review')),
    constraint conflicts_status_known check (status in ('open', 'resolved', 'dismissed')),
    constraint conflicts_method_known check (resolution_method in ('manual', 'auto_merge', 'priority_based')),
    constraint conflicts_resolution_complete check (
        (status = 'open') = (resolved_at is null)
        and (status = 'open') = (resolver is null)
        and (status = 'open') = (resolution_method is null)),
    constraint conflicts_merged_is_resolved check (verdict = 'needs_review' or status = 'resolved'),
    constraint conflicts_escalation_has_reason check (escalated = (cardinality(escalation_reasons) > 0)),
    constraint conflicts_versions_are_objects check (jsonb_typeof(before) = 'object' and jsonb_typeof(theirs) = 'object'
        and jsonb_typeof(ours) = 'object' and jsonb_typeof(fields) = 'object')
);
-- the former table's comments, as revision 0014 wrote them
comment on table core.conflicts is
    'Conflicts between the systems'' writes (seed 000): the entity, its values before the stale write''s base (before), what newer writes made of them (theirs), what the stale write asked (ours), the outcome per field and the rule (disjoint_fields, pms_allowed_fields, later_timestamp_wins, earlier_booking_wins) or why a person must decide (needs_review), escalation (VIP or high-value booking), and the resolution: status, resolver, method, reason, timestamps.';
comment on column core.conflicts.fields is 'Per field of ours: {"outcome": applied | kept_theirs | agreed | review, "rule" or "reason"}.';
comment on column core.conflicts.resolver is '''system'' when the rules decided at detection, else the resolver_user_id given to api.resolve_conflict.';
comment on column core.conflicts.suggestions is 'Reservation conflicts: free rooms of the same room type, then of similar types, for the same nights.';
create index conflicts_entity on core.conflicts (entity_type, entity_id, id);
create index conflicts_hotel on core.conflicts (hotel_id) where hotel_id is not null;
insert into core.conflicts (id, entity_type, entity_id, hotel_id, base_version, entity_version, before, theirs, ours, theirs_system, theirs_at, ours_system, ours_at, fields, verdict, rule, escalated, escalation_reasons, suggestions, status, detected_at, resolved_at, resolver, resolution_method, resolution_reason, resolved_data, resolved_version)
overriding system value
select id, entity_type, entity_id, hotel_id, base_version, entity_version, before, theirs, ours, theirs_system, theirs_at, ours_system, ours_at, fields, verdict, rule, escalated, escalation_reasons, suggestions, status, detected_at, resolved_at, resolver, resolution_method, resolution_reason, resolved_data, resolved_version
from (select id, entity_type, entity_id, null::bigint as hotel_id, base_version, entity_version, before, theirs, ours, theirs_system, theirs_at, ours_system, ours_at, fields, verdict, rule, escalated, escalation_reasons, suggestions, status, detected_at, resolved_at, resolver, resolution_method, resolution_reason, resolved_data, resolved_version from core.customer_conflicts
      union all
      select id, entity_type, entity_id, hotel_id, base_version, entity_version, before, theirs, ours, theirs_system, theirs_at, ours_system, ours_at, fields, verdict, rule, escalated, escalation_reasons, suggestions, status, detected_at, resolved_at, resolver, resolution_method, resolution_reason, resolved_data, resolved_version from core.hotel_conflicts) f
order by id;
select pg_catalog.setval(pg_catalog.pg_get_serial_sequence('core.conflicts', 'id'),
                         coalesce((select max(f.id) from core.conflicts f), 0) + 1, false);
alter table core.conflicts enable row level security;
alter table core.conflicts force row level security;
create policy conflicts_in_hotel_scope on core.conflicts
    using (coalesce(hotel_id = any((select core.hotel_scope())::bigint[]), true));
alter table core.conflicts owner to hotelcore_owner;
drop table if exists core.hotel_conflicts;
drop table if exists core.customer_conflicts;
drop sequence if exists core.conflict_ids;
drop function if exists core.conflict_life_cycle_holds(text, text, text, timestamptz, text, boolean, text[], jsonb, jsonb, jsonb, jsonb);
