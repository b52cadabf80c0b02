-- External-PMS hotels keep no ledger here: an inventory night, a hold or a reservation of such a
-- hotel is refused whatever function or client writes it (the vendor's ledger is the only one;
-- the mirror lives in core.pms_inventory). The ledger functions refuse earlier with the same
-- error (internal.lock_inventory); these triggers are the rule's last line.

create function internal.tg_ledger__refuse_external() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.refuse_external_ledger(new.hotel_id);
    return new;
end
$$;
comment on function internal.tg_ledger__refuse_external() is
    'EXTERNAL_PMS_HOTEL for a ledger row (inventory night, hold, reservation) of a hotel kept by an external PMS.';

create trigger _050_refuse_external before insert on core.inventory
    for each row execute function internal.tg_ledger__refuse_external();
create trigger _050_refuse_external before insert on core.holds
    for each row execute function internal.tg_ledger__refuse_external();
create trigger _050_refuse_external before insert on core.reservations
    for each row execute function internal.tg_ledger__refuse_external();
