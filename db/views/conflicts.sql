-- The consistency monitor (seed 000, データ整合性監視): each metric computed from the database,
-- next to the seed's target. Views run as their owner (readers hold no right on core); row-level
-- security keeps a reader's hotels for reservation conflicts (customer data is chain-wide).
--   customer data consistency   customers without an open conflict / customers   target 99.99 %
--   point balance accuracy      balances equal to their ledger's sum / balances  target 100 %
--   rank correctness            ranks equal to the rank rule applied to stays    target 100 %
--   reservation sync            consumers whose oldest unread event is within 10 s  target 100 %
--                               (events not yet read per consumer and their delay: the event
--                               log's report.event_consumer_lag, read here, not recomputed)

create view report.conflicts_open with (security_invoker = false) as
select f.id as conflict_id, f.entity_type, f.entity_id, f.hotel_id, f.rule, f.verdict,
       f.escalated, f.escalation_reasons, f.ours_system, f.theirs_system,
       (select coalesce(array_agg(k order by k), '{}') from jsonb_object_keys(f.fields) k) as fields,
       f.before, f.theirs, f.ours, f.suggestions, f.detected_at,
       internal.now() - f.detected_at as age
from core.conflicts f
where f.status = 'open';
comment on view report.conflicts_open is
    'Conflicts waiting for a person (seed 000: 手動解決), oldest first when sorted by detected_at: the rule or reason, the fields, before / theirs / ours, escalation and room suggestions. Grain: conflict.';
comment on column report.conflicts_open.conflict_id is 'The id to resolve (POST /conflicts/{conflict_id}/resolve).';
comment on column report.conflicts_open.entity_type is 'customer or reservation.';
comment on column report.conflicts_open.entity_id is 'The customer or reservation id.';
comment on column report.conflicts_open.hotel_id is 'The reservation''s hotel; null for customers (chain-wide).';
comment on column report.conflicts_open.rule is 'Why a person must decide: critical_field_clash, money_field, large_change, changed_by_both_beyond_window, history_unavailable, earlier_booking_wins (escalated), room_blocked, ...';
comment on column report.conflicts_open.verdict is 'needs_review.';
comment on column report.conflicts_open.escalated is 'True for a VIP (Gold or Platinum) or high-value booking.';
comment on column report.conflicts_open.escalation_reasons is 'vip / high_value, with the booking named.';
comment on column report.conflicts_open.ours_system is 'The system whose write was kept out (member, pms).';
comment on column report.conflicts_open.theirs_system is 'The system of the newer write (or the other booking''s origin).';
comment on column report.conflicts_open.fields is 'The fields of the stale write.';
comment on column report.conflicts_open.before is 'Their values at the stale write''s base version.';
comment on column report.conflicts_open.theirs is 'What the newer writes made of them (for a room: the stay holding it).';
comment on column report.conflicts_open.ours is 'What the stale write asked.';
comment on column report.conflicts_open.suggestions is 'Free rooms of the same or similar types (room conflicts).';
comment on column report.conflicts_open.detected_at is 'When it was recorded.';
comment on column report.conflicts_open.age is 'How long it has waited (clock of internal.now()).';

create view report.customer_data_consistency with (security_invoker = false) as
with open as (
    select f.entity_id, min(f.detected_at) as oldest
    from core.conflicts f
    where f.entity_type = 'customer' and f.status = 'open'
    group by f.entity_id
), customers as (
    select count(*)::integer as n from core.customers c where c.merged_into is null
)
select k.n as customers,
       (select count(*) from open)::integer as customers_in_conflict,
       (select count(*) from core.conflicts f where f.entity_type = 'customer' and f.status = 'open')::integer
           as open_conflicts,
       round(1 - (select count(*) from open)::numeric / nullif(k.n, 0), 6) as consistency_rate,
       0.9999::numeric as target_rate,
       coalesce(1 - (select count(*) from open)::numeric / nullif(k.n, 0), 1) >= 0.9999 as meets_target,
       (select min(o.oldest) from open o) as oldest_open_at,
       internal.now() - (select min(o.oldest) from open o) as oldest_open_age
from customers k;
comment on view report.customer_data_consistency is
    'Seed 000 customer_data_consistency: the share of (unmerged) customers with no open conflict, i.e. whose master copy every system agrees on, against the 99.99 % target; open conflicts and the age of the oldest. One row.';
comment on column report.customer_data_consistency.customers is 'Unmerged customers.';
comment on column report.customer_data_consistency.customers_in_conflict is 'Customers with at least one open conflict.';
comment on column report.customer_data_consistency.open_conflicts is 'Open customer conflicts.';
comment on column report.customer_data_consistency.consistency_rate is '1 - customers_in_conflict / customers, 6 decimals (null without customers).';
comment on column report.customer_data_consistency.target_rate is 'Seed 000''s target: 0.9999.';
comment on column report.customer_data_consistency.meets_target is 'consistency_rate >= target_rate (true without customers).';
comment on column report.customer_data_consistency.oldest_open_at is 'When the oldest open customer conflict was recorded.';
comment on column report.customer_data_consistency.oldest_open_age is 'How long it has waited.';

create view report.point_balance_accuracy with (security_invoker = false) as
with recount as (
    select a.customer_id, a.balance,
           coalesce((select sum(l.points) from core.points_ledger l where l.customer_id = a.customer_id), 0) as ledger_sum
    from core.points_accounts a
)
select count(*)::integer as accounts,
       count(*) filter (where r.balance = r.ledger_sum)::integer as accurate_accounts,
       round(count(*) filter (where r.balance = r.ledger_sum)::numeric / nullif(count(*), 0), 6) as accuracy_rate,
       1::numeric as target_rate,
       count(*) filter (where r.balance <> r.ledger_sum) = 0 as meets_target,
       coalesce(sum(abs(r.balance - r.ledger_sum)), 0)::bigint as points_drifted,
       (select count(distinct l.customer_id) from core.points_ledger l
        where not exists (select 1 from core.points_accounts a where a.customer_id = l.customer_id))::integer
           as ledgers_without_account
from recount r;
comment on view report.point_balance_accuracy is
    'Seed 000 point_balance_accuracy: the share of points balances equal to the sum of their ledger entries, against the 100 % target (points carry money''s value). One row.';
comment on column report.point_balance_accuracy.accounts is 'Points accounts (customers who ever held points).';
comment on column report.point_balance_accuracy.accurate_accounts is 'Accounts whose balance equals the sum of their ledger.';
comment on column report.point_balance_accuracy.accuracy_rate is 'accurate_accounts / accounts, 6 decimals (null without accounts).';
comment on column report.point_balance_accuracy.target_rate is 'Seed 000''s target: 1 (100 %).';
comment on column report.point_balance_accuracy.meets_target is 'No account differs from its ledger, and (see the next column) no ledger lacks its account.';
comment on column report.point_balance_accuracy.points_drifted is 'Sum over accounts of |balance - ledger sum|.';
comment on column report.point_balance_accuracy.ledgers_without_account is 'Customers with ledger entries but no account row (a balance nobody can read).';

create view report.rank_correctness with (security_invoker = false) as
with judged as (
    select c.id, c.rank_code, c.rank_manual, c.qualifying_stays,
           internal.rank_for_stays(c.qualifying_stays) as earned,
           m.level
    from core.customers c
    inner join core.membership_ranks m on c.rank_code = m.code
    where c.merged_into is null
), checked as (
    -- the rule: the rank its stays earn; a rank set by hand may be above it, never below
    select j.*, (j.rank_code = j.earned or (j.rank_manual and j.level >= e.level)) as correct
    from judged j inner join core.membership_ranks e on j.earned = e.code
)
select count(*)::integer as customers,
       count(*) filter (where c.correct)::integer as correct_ranks,
       round(count(*) filter (where c.correct)::numeric / nullif(count(*), 0), 6) as correctness_rate,
       1::numeric as target_rate,
       count(*) filter (where not c.correct) = 0 as meets_target,
       count(*) filter (where c.rank_manual)::integer as manual_ranks
from checked c;
comment on view report.rank_correctness is
    'Rank correctness: the share of (unmerged) customers whose rank is the rank rule applied to their qualifying stays (a manual rank may be higher, never lower), against 100 %. One row.';
comment on column report.rank_correctness.customers is 'Unmerged customers.';
comment on column report.rank_correctness.correct_ranks is 'Customers whose rank follows the rule.';
comment on column report.rank_correctness.correctness_rate is 'correct_ranks / customers, 6 decimals.';
comment on column report.rank_correctness.target_rate is 'The target: 1 (100 %).';
comment on column report.rank_correctness.meets_target is 'No customer''s rank breaks the rule.';
comment on column report.rank_correctness.manual_ranks is 'Customers whose rank was set by hand.';

create view report.consistency_monitor with (security_invoker = false) as
select 'customer_data_consistency'::text as metric, d.consistency_rate as value, d.target_rate as target,
       d.meets_target, format('%s open conflicts on %s of %s customers; oldest waiting %s',
                              d.open_conflicts, d.customers_in_conflict, d.customers,
                              coalesce(justify_interval(date_trunc('second', d.oldest_open_age))::text, '-')) as detail
from report.customer_data_consistency d
union all
select 'point_balance_accuracy' as metric, p.accuracy_rate as value, p.target_rate as target,
       p.meets_target and p.ledgers_without_account = 0 as meets_target,
       format('%s of %s balances equal their ledger; %s points drifted', p.accurate_accounts, p.accounts,
              p.points_drifted) as detail
from report.point_balance_accuracy p
union all
select 'rank_correctness' as metric, r.correctness_rate as value, r.target_rate as target, r.meets_target,
       format('%s of %s ranks follow the rule (%s set by hand)', r.correct_ranks, r.customers,
              r.manual_ranks) as detail
from report.rank_correctness r
union all
-- seed 000's reservation_consistency: every system has read the changes within 10 s (disabled
-- consumers read nothing and are left out; no consumer is nothing behind)
select 'reservation_sync' as metric,
       round(coalesce(count(*) filter (where l.meets_target)::numeric / nullif(count(*), 0), 1), 6) as value,
       1::numeric as target,
       bool_and(l.meets_target) is not false as meets_target,
       format('%s of %s consumers within 10 s; %s events unread; longest delay %s s%s',
              count(*) filter (where l.meets_target), count(*), coalesce(sum(l.unread), 0),
              coalesce(max(l.lag_seconds), 0),
              coalesce(' (' || (array_agg(l.consumer order by l.lag_seconds desc, l.consumer asc))[1] || ')', '')) as detail
from report.event_consumer_lag l
where not l.disabled;
comment on view report.consistency_monitor is
    'Seed 000''s data consistency monitor in one table: each metric with its value, target and whether it is met. Grain: metric.';
comment on column report.consistency_monitor.metric is 'customer_data_consistency, point_balance_accuracy, rank_correctness, reservation_sync (seed 000: reservation_consistency, 10 s).';
comment on column report.consistency_monitor.value is 'The measured rate (0..1).';
comment on column report.consistency_monitor.target is 'The seed''s target rate.';
comment on column report.consistency_monitor.meets_target is 'value >= target (and, for points, no ledger without account).';
comment on column report.consistency_monitor.detail is 'What the rate was computed from.';
