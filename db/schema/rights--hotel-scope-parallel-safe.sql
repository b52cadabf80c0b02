-- core.hotel_scope() is parallel safe: row-level security calls it in every policy, and a
-- function left parallel unsafe (the default) keeps every query on a hotel table, report views and
-- their refreshes included, out of parallel query. What it reads is the same in a parallel worker
-- as in its leader: core.login_hotels (a table, read in the leader's snapshot), session_user and
-- the role set (a worker takes the leader's user ids), and the settings role, hotelcore.system and
-- hotelcore.hotel_ids (a worker takes the leader's settings). tests/rights/test_rights_parallel.py
-- reads the scoped views and tables with parallel workers forced and checks every row is in scope.
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
alter function core.hotel_scope() parallel safe;

-- migrate:down
alter function core.hotel_scope() parallel unsafe;
