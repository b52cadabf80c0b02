-- core.inventory_exception_flags() for the readers of report.inventory_exception_recount, which
-- recounts core.inventory_exceptions with it. A view calls functions as its reader: without
-- EXECUTE the reader gets "permission denied", and the planner inlines an SQL function only for a
-- caller allowed to run it. The function is a pure expression over the row it is given, so
-- granting it shows no data. Parallel safe for the same reason: left parallel unsafe (the
-- default), it keeps every query that names it, the audit view included, out of parallel query
-- (the planner judges the function before inlining it).
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
alter function core.inventory_exception_flags(core.inventory) parallel safe;
grant execute on function core.inventory_exception_flags(core.inventory)
    to hotelcore_member, hotelcore_pms, hotelcore_saas, hotelcore_bi, hotelcore_admin;

-- migrate:down
revoke execute on function core.inventory_exception_flags(core.inventory)
    from hotelcore_member, hotelcore_pms, hotelcore_saas, hotelcore_bi, hotelcore_admin;
alter function core.inventory_exception_flags(core.inventory) parallel unsafe;
