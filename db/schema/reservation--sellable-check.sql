-- The night's check spells no formula of its own: inventory_booked_within_capacity now asks
-- core.inventory_sellable (sellable >= 0), the one definition of the rooms a night can still sell.
-- Same rows pass as before (the function is the released check's inequality rearranged), and
-- the planner inlines the function into the check, so a write evaluates the same expression.
--
-- Applied outside a transaction (the revision says TRANSACTION = False): the first statement
-- swaps the check under a brief lock, NOT VALID (new rows are checked at once); the second
-- validates the rows already there under SHARE UPDATE EXCLUSIVE, while bookings go on. Each
-- statement can run again after a failure part way.
-- migrate:up
alter table core.inventory
    drop constraint if exists inventory_booked_within_capacity,
    add constraint inventory_booked_within_capacity check (core.inventory_sellable(inventory) >= 0) not valid;
alter table core.inventory validate constraint inventory_booked_within_capacity;

-- migrate:down
alter table core.inventory
    drop constraint if exists inventory_booked_within_capacity,
    add constraint inventory_booked_within_capacity
        check (blocked + held + booked <= capacity + overbooking_allowance) not valid;
alter table core.inventory validate constraint inventory_booked_within_capacity;
