-- A span of nights is canonical: the room blocks' and room assignments' nights and the seasons'
-- dates are checked by core.nights_are_canonical, as every stay is (schema/reservation--stay-canonical-once.sql),
-- instead of spelling its formula again; each check keeps its name. Same rows pass as before (the
-- function's body is the checks' formula), and each check calls it.
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Applied outside a transaction (the revision says TRANSACTION = False), one table at a time:
-- the check swapped NOT VALID under a brief lock (new rows are checked at once), then the rows
-- already there validated under SHARE UPDATE EXCLUSIVE while writes go on. Each statement can
-- run again after a failure part way.
-- migrate:up
alter table core.seasons
    drop constraint if exists seasons_during_is_canonical,
    add constraint seasons_during_is_canonical check (core.nights_are_canonical(during)) not valid;
alter table core.seasons validate constraint seasons_during_is_canonical;
alter table core.room_blocks
    drop constraint if exists room_blocks_nights_is_canonical,
    add constraint room_blocks_nights_is_canonical check (core.nights_are_canonical(nights)) not valid;
alter table core.room_blocks validate constraint room_blocks_nights_is_canonical;
alter table core.room_assignments
    drop constraint if exists room_assignments_nights_is_canonical,
    add constraint room_assignments_nights_is_canonical check (core.nights_are_canonical(nights)) not valid;
alter table core.room_assignments validate constraint room_assignments_nights_is_canonical;

-- migrate:down
-- the released checks, as revision 0002 wrote them
alter table core.seasons
    drop constraint if exists seasons_during_is_canonical,
    add constraint seasons_during_is_canonical check (not isempty(during) and lower_inc(during) and not upper_inc(during)
        and not lower_inf(during) and not upper_inf(during)) not valid;
alter table core.seasons validate constraint seasons_during_is_canonical;
alter table core.room_blocks
    drop constraint if exists room_blocks_nights_is_canonical,
    add constraint room_blocks_nights_is_canonical check (not isempty(nights) and lower_inc(nights) and not upper_inc(nights)
        and not lower_inf(nights) and not upper_inf(nights)) not valid;
alter table core.room_blocks validate constraint room_blocks_nights_is_canonical;
alter table core.room_assignments
    drop constraint if exists room_assignments_nights_is_canonical,
    add constraint room_assignments_nights_is_canonical check (not isempty(nights) and lower_inc(nights) and not upper_inc(nights)
        and not lower_inf(nights) and not upper_inf(nights)) not valid;
alter table core.room_assignments validate constraint room_assignments_nights_is_canonical;
