-- Operations: what the replication views need to read.
--
-- pg_stat_replication shows a standby's positions and lags only to members of
-- pg_read_all_stats; the report views run as their owner (hotelcore_owner), so the owner is
-- made a member. It reads statistics only (no data, no settings beyond what pg_settings shows).
-- migrate:up
grant pg_read_all_stats to hotelcore_owner;

-- migrate:down
-- another migrated database of the cluster may still rely on it (roles are cluster-wide)
select 1;
