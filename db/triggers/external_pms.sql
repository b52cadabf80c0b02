-- External-PMS hotels keep no ledger here: an inventory night, a hold or a reservation of such a
-- hotel is refused whatever function or client writes it (the vendor's ledger is the only one;
-- the mirror lives in core.pms_inventory). The ledger functions refuse earlier with the same
-- error (internal.lock_inventory, internal.lock_and_reclaim); these triggers are the rule's last
-- line, and a confirmation's only one (its hold could not be placed in such a hotel).

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

-- A vendor's property is imported once across the chain (its webhooks name the property, not
-- our hotel): core.pms_property_hotels, a chain-wide lookup, holds each (vendor, property id)
-- once with its hotel, written in the property's transaction. A second import of a property
-- the chain holds fails on the lookup's primary key (23505); api.pms_import_property refuses it
-- earlier by name.
create function internal.tg_pms_properties__lookup() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    if tg_op in ('UPDATE', 'DELETE') then
        delete from core.pms_property_hotels l where l.hotel_id = old.hotel_id;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        insert into core.pms_property_hotels (vendor, property_id, hotel_id)
        values (new.vendor, new.property_id, new.hotel_id);
    end if;
    return null;
end
$$;
comment on function internal.tg_pms_properties__lookup() is
    'Keeps an external hotel''s (vendor, property id) in the chain-wide lookup core.pms_property_hotels (a property the chain holds already: 23505 on its primary key).';

create trigger _100_lookup
after insert or delete or update of vendor, property_id, hotel_id on core.pms_properties
for each row execute function internal.tg_pms_properties__lookup();
