-- Hold client keys are unique per hotel, not across the chain: two hotels (or two channels
-- booking them) may pick the same key without one request being refused for the other's hold,
-- and a caller scoped to one hotel can no longer learn that a key was used in another.
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
alter table core.holds drop constraint holds_client_key_unique;
alter table core.holds add constraint holds_client_key_unique_per_hotel unique (hotel_id, client_key);

-- migrate:down
-- (fails if two hotels used the same key meanwhile: those holds must be purged first)
alter table core.holds drop constraint if exists holds_client_key_unique_per_hotel;
alter table core.holds add constraint holds_client_key_unique unique (client_key);
