-- Replication as SQL sees it: a replica's own replay lag, and the primary's standbys.
-- Both read the server they run on, so each answers where it makes sense: report.replication_lag
-- on a replica (on the primary it says in_recovery false and lag 0), report.replication_standbys
-- on the primary (no row on a replica or a server without standbys).

create view report.replication_lag with (security_invoker = false) as
select pg_catalog.pg_is_in_recovery() as in_recovery,
       pg_catalog.pg_last_wal_receive_lsn() as receive_lsn,
       pg_catalog.pg_last_wal_replay_lsn() as replay_lsn,
       coalesce(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_last_wal_receive_lsn(),
                                           pg_catalog.pg_last_wal_replay_lsn()), 0)::bigint as replay_lag_bytes,
       pg_catalog.pg_last_xact_replay_timestamp() as last_replayed_commit_at,
       (case
            when not pg_catalog.pg_is_in_recovery() then 0
            -- everything received is replayed: the replica is as fresh as what the primary sent
            when pg_catalog.pg_last_wal_receive_lsn() is null
                 or pg_catalog.pg_last_wal_receive_lsn() <= pg_catalog.pg_last_wal_replay_lsn() then 0
            -- no commit replayed since the replica started: nothing to measure from yet
            else coalesce(extract(epoch from pg_catalog.clock_timestamp()
                                             - pg_catalog.pg_last_xact_replay_timestamp()), 0)
        end)::numeric(14, 3) as replay_delay_seconds;
comment on view report.replication_lag is
    'How far this server''s replay is behind what it received (a read replica); one row. On a primary in_recovery is false and the lags are 0.';
comment on column report.replication_lag.in_recovery is 'True on a replica (a standby replaying WAL).';
comment on column report.replication_lag.receive_lsn is 'The last WAL position received from the primary (null on a primary).';
comment on column report.replication_lag.replay_lsn is 'The last WAL position replayed, i.e. visible to reads here (null on a primary).';
comment on column report.replication_lag.replay_lag_bytes is 'WAL bytes received and not replayed yet.';
comment on column report.replication_lag.last_replayed_commit_at is 'Commit time of the last transaction replayed here.';
comment on column report.replication_lag.replay_delay_seconds is
    'Seconds since the last replayed commit while WAL is waiting to be replayed; 0 when all received WAL is replayed.';

create view report.replication_standbys with (security_invoker = false) as
select r.application_name,
       r.client_addr,
       r.state,
       r.sync_state,
       r.sent_lsn,
       r.replay_lsn,
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.replay_lsn)::bigint as replay_lag_bytes,
       extract(epoch from r.replay_lag)::numeric(14, 3) as replay_lag_seconds,
       r.reply_time
from pg_catalog.pg_stat_replication r;
comment on view report.replication_standbys is
    'The primary''s streaming standbys (read replicas), one row each: state and how far each has replayed.';
comment on column report.replication_standbys.application_name is 'The standby''s application_name (hotelcore db replica names it).';
comment on column report.replication_standbys.client_addr is 'Address the standby connects from (null over a Unix socket).';
comment on column report.replication_standbys.state is 'startup, catchup or streaming.';
comment on column report.replication_standbys.sync_state is 'async, potential, sync or quorum.';
comment on column report.replication_standbys.sent_lsn is 'Last WAL position sent to the standby.';
comment on column report.replication_standbys.replay_lsn is 'Last WAL position the standby reports replayed.';
comment on column report.replication_standbys.replay_lag_bytes is 'WAL bytes written on the primary and not replayed on the standby yet.';
comment on column report.replication_standbys.replay_lag_seconds is
    'Time between a commit here and its replay there, as last measured (null when idle).';
comment on column report.replication_standbys.reply_time is 'When the standby last reported.';

create view report.replication_slots with (security_invoker = false) as
select s.slot_name,
       s.slot_type,
       s.active,
       s.restart_lsn,
       -- what the slot keeps from being recycled: the WAL from its restart point to now
       coalesce(pg_catalog.pg_wal_lsn_diff(
           case when pg_catalog.pg_is_in_recovery() then pg_catalog.pg_last_wal_replay_lsn()
                else pg_catalog.pg_current_wal_lsn() end,
           s.restart_lsn), 0)::bigint as retained_bytes,
       s.wal_status,
       s.safe_wal_size
from pg_catalog.pg_replication_slots s;
comment on view report.replication_slots is
    'Replication slots of this server (hotelcore db replica creates one physical slot per replica), one row each: whether a standby streams through it and how much WAL it keeps here.';
comment on column report.replication_slots.slot_name is 'The slot''s name (a replica''s primary_slot_name).';
comment on column report.replication_slots.slot_type is 'physical (a streaming replica) or logical.';
comment on column report.replication_slots.active is 'True while a standby streams through the slot.';
comment on column report.replication_slots.restart_lsn is 'Oldest WAL position the slot still needs; the server keeps WAL from here.';
comment on column report.replication_slots.retained_bytes is
    'WAL bytes kept for the slot (from restart_lsn to the current position): grows while its standby is away; drop the slot of a replica that is gone.';
comment on column report.replication_slots.wal_status is
    'reserved, extended, unreserved or lost (max_slot_wal_keep_size exceeded: the standby must be rebuilt).';
comment on column report.replication_slots.safe_wal_size is
    'Bytes that can still be written before the slot is at risk of losing WAL (null without max_slot_wal_keep_size).';
