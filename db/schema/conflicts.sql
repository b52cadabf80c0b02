-- Conflicts between the systems' writes (seed 000, 競合解決システム): a write based on a stale
-- version of a customer, or two systems' claims on one room for the same nights. hotelcore keeps
-- one master copy, so a conflict is never two diverging copies: it is a write the rules merged,
-- or one they kept out of the master and recorded here for a person to decide.
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Invariants:
--   * every version bump of a customer has one core.customer_changes row (trigger
--     _100_log_change), so the fields a stale write missed are always known;
--   * a conflict is open exactly while nobody resolved it (conflicts_resolution_complete);
--     a conflict the rules decided is recorded resolved, by 'system', at detection.
-- Lock order: the entity's row (customer or reservation) first, then its conflict rows.

-- migrate:up
-- levenshtein() for the "edit distance of half the length" rule (contrib, trusted extension)
create extension if not exists fuzzystrmatch with schema core;
-- its functions are the rules' helpers, not a client surface: no EXECUTE for PUBLIC
do $$
declare
    v_function regprocedure;
begin
    for v_function in
        select d.objid::regprocedure from pg_catalog.pg_depend d
        join pg_catalog.pg_extension e on e.oid = d.refobjid
        where e.extname = 'fuzzystrmatch' and d.classid = 'pg_catalog.pg_proc'::regclass and d.deptype = 'e'
    loop
        execute format('revoke execute on function %s from public', v_function);
    end loop;
end
$$;

create table core.conflict_settings (
    id                  boolean primary key default true,
    auto_window         interval not null default '5 minutes',
    large_change_ratio  numeric(4, 3) not null default 0.5,
    constraint conflict_settings_single_row check (id),
    constraint conflict_settings_window_not_negative check (auto_window >= interval '0'),
    constraint conflict_settings_ratio_is_a_fraction check (large_change_ratio > 0 and large_change_ratio <= 1)
);
comment on table core.conflict_settings is
    'Single row: how far apart two writes of one field may be for the later timestamp to win (seed 000: 5 minutes), and the share of change from the previous value that sends a field to manual review (seed 000: 50 %).';
insert into core.conflict_settings default values;

create table core.conflict_escalation_amounts (
    currency char(3) primary key,
    amount   numeric(14, 2) not null,
    constraint conflict_escalation_amounts_currency_is_iso check (currency ~ '^[A-Z]{3}$'),
    constraint conflict_escalation_amounts_amount_positive check (amount > 0)
);
comment on table core.conflict_escalation_amounts is
    'A reservation whose total reaches this amount in its currency is high-value: a conflict on it is escalated (seed 000: 高額予約の競合). A currency without a row has no high-value threshold.';
insert into core.conflict_escalation_amounts (currency, amount) values
    ('JPY', 300000), ('KRW', 3000000), ('USD', 2500), ('EUR', 2500), ('GBP', 2000), ('AUD', 3500),
    ('CAD', 3500), ('SGD', 3500), ('HKD', 20000), ('CNY', 18000), ('TWD', 80000), ('THB', 90000);

create table core.customer_changes (
    customer_id bigint not null references core.customers (id) on delete cascade,
    version     integer not null,
    system      text not null,
    changed_at  timestamptz not null,
    changes     jsonb not null,
    conflict_id bigint,
    constraint customer_changes_pk primary key (customer_id, version),
    constraint customer_changes_changes_is_object check (jsonb_typeof(changes) = 'object'),
    constraint customer_changes_version_after_first check (version >= 2)
);
comment on table core.customer_changes is
    'One row per customer version (2, 3, ...): the fields that changed, each {"old": ..., "new": ...}, which system wrote it and when (the source system''s timestamp for a synchronised write). The conflict rules read it to know what a stale write missed.';
comment on column core.customer_changes.conflict_id is 'The conflict whose rules or resolution wrote this version, if any.';

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
    constraint conflicts_entity_type_known check (entity_type in ('customer', 'reservation')),
    constraint conflicts_reservation_has_hotel check ((entity_type = 'reservation') = (hotel_id is not null)),
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
comment on table core.conflicts is
    'Conflicts between the systems'' writes (seed 000): the entity, its values before the stale write''s base (before), what newer writes made of them (theirs), what the stale write asked (ours), the outcome per field and the rule (disjoint_fields, pms_allowed_fields, later_timestamp_wins, earlier_booking_wins) or why a person must decide (needs_review), escalation (VIP or high-value booking), and the resolution: status, resolver, method, reason, timestamps.';
comment on column core.conflicts.fields is 'Per field of ours: {"outcome": applied | kept_theirs | agreed | review, "rule" or "reason"}.';
comment on column core.conflicts.resolver is '''system'' when the rules decided at detection, else the resolver_user_id given to api.resolve_conflict.';
comment on column core.conflicts.suggestions is 'Reservation conflicts: free rooms of the same room type, then of similar types, for the same nights.';
create index conflicts_entity on core.conflicts (entity_type, entity_id, id);
create index conflicts_hotel on core.conflicts (hotel_id) where hotel_id is not null;

-- hotel scope: a reservation conflict is seen in its hotel's scope; customer conflicts (no hotel:
-- the comparison is null) are chain-wide, like the customers
alter table core.conflicts enable row level security;
alter table core.conflicts force row level security;
create policy conflicts_in_hotel_scope on core.conflicts
    using (coalesce(hotel_id = any((select core.hotel_scope())::bigint[]), true));

-- migrate:down
drop table if exists core.conflicts;
drop table if exists core.customer_changes;
drop table if exists core.conflict_escalation_amounts;
drop table if exists core.conflict_settings;
drop extension if exists fuzzystrmatch;
