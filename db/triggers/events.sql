-- Events written by the changes themselves (seed 000's event base): row triggers on the core
-- tables publish every change of a customer, a reservation, a stay or a room through
-- internal.emit_event, in the transaction of the change, whichever api function made it. Each
-- trigger has a WHEN clause, so a write that changes nothing a consumer cares about runs none.
--
--   core.customers        insert -> customer.created; a change of a published field ->
--                         customer.updated naming changed_fields (rank and stay counters are not
--                         published fields: their changes have events of their own)
--   core.rank_history     a rank change, recorded there -> customer.rank_changed
--   core.points_ledger    every entry -> customer.points_changed with the balance after it
--   core.reservations     insert -> reservation.created (+ reservation.confirmed when booked
--                         confirmed); a status change -> reservation.confirmed|cancelled,
--                         checkin_checkout.checked_in|checked_out|no_show; another change ->
--                         reservation.updated. Deferred to commit (constraint triggers), so the
--                         payload shows the stay's room lines and rooms as the transaction left
--                         them, and one reservation's events keep the order of its changes.
--   core.room_assignments a room given to, or taken from, a stay -> reservation.updated
--   core.room_status_log  every housekeeping status change -> room.status_changed
--   core.room_blocks      a block placed, released or changed -> room.maintenance_updated
-- The check-out event carries the final folio (charges, payments, balance, settled_at): check-out
-- settles the folio and publishes it in one transaction.

-- ---------------------------------------------------------------- customers
create function internal.customer_published_fields() returns text[]
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    select array['given_name', 'family_name', 'given_name_reading', 'family_name_reading', 'email', 'phone_e164',
                 'postal_code', 'address_line1', 'address_line2', 'city', 'region', 'country_code', 'language',
                 'is_member', 'member_since', 'marketing_consent', 'preferences', 'merged_into']
$$;
comment on function internal.customer_published_fields() is
    'The customer fields customer.created carries and customer.updated reports changes of.';

create function internal.tg_customers__publish()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_new     jsonb := to_jsonb(new);
    v_old     jsonb;
    v_fields  text[] := internal.customer_published_fields();
    v_changed text[];
begin
    if tg_op = 'INSERT' then
        perform internal.emit_event('customer.created', new.id::text, null,
            jsonb_build_object('customer_id', new.id, 'version', new.version, 'rank_code', new.rank_code)
            || (select jsonb_object_agg(f, v_new -> f) from unnest(v_fields) f));
        return null;
    end if;
    v_old := to_jsonb(old);
    v_changed := array(select f from unnest(v_fields) with ordinality as x(f, o)
                       where v_old -> f is distinct from v_new -> f order by o);
    perform internal.emit_event('customer.updated', new.id::text, null,
        jsonb_build_object('customer_id', new.id, 'version', new.version, 'changed_fields', to_jsonb(v_changed),
                           'changes', (select jsonb_object_agg(f, v_new -> f) from unnest(v_changed) f)));
    return null;
end
$$;
comment on function internal.tg_customers__publish() is
    'customer.created with the published fields; customer.updated with changed_fields and their new values.';

create trigger _900_publish_created
after insert on core.customers
for each row execute function internal.tg_customers__publish();
comment on trigger _900_publish_created on core.customers is 'Events: customer.created (internal.tg_customers__publish).';

create trigger _900_publish_updated
after update on core.customers
for each row
when ((old.given_name, old.family_name, old.given_name_reading, old.family_name_reading, old.email, old.phone_e164,
       old.postal_code, old.address_line1, old.address_line2, old.city, old.region, old.country_code, old.language,
       old.is_member, old.member_since, old.marketing_consent, old.preferences, old.merged_into)
      is distinct from
      (new.given_name, new.family_name, new.given_name_reading, new.family_name_reading, new.email, new.phone_e164,
       new.postal_code, new.address_line1, new.address_line2, new.city, new.region, new.country_code, new.language,
       new.is_member, new.member_since, new.marketing_consent, new.preferences, new.merged_into))
execute function internal.tg_customers__publish();
comment on trigger _900_publish_updated on core.customers is
    'Events: customer.updated when a published field changed (the WHEN clause lists internal.customer_published_fields()).';

create function internal.tg_rank_history__publish()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.emit_event('customer.rank_changed', new.customer_id::text, null,
        jsonb_build_object('customer_id', new.customer_id, 'from_rank', new.from_rank, 'to_rank', new.to_rank,
                           'source', new.source, 'reason', new.reason, 'reservation_id', new.reservation_id,
                           'qualifying_stays', new.qualifying_stays, 'changed_at', new.changed_at));
    return null;
end
$$;
comment on function internal.tg_rank_history__publish() is 'customer.rank_changed for every recorded rank change.';

create trigger _900_publish
after insert on core.rank_history
for each row execute function internal.tg_rank_history__publish();
comment on trigger _900_publish on core.rank_history is 'Events: a recorded rank change is published (internal.tg_rank_history__publish).';

create function internal.tg_points_ledger__publish()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.emit_event('customer.points_changed', new.customer_id::text, null,
        jsonb_build_object('customer_id', new.customer_id, 'entry_id', new.id, 'kind', new.kind, 'points', new.points,
                           'balance', new.balance_after, 'reservation_id', new.reservation_id, 'reason', new.reason));
    return null;
end
$$;
comment on function internal.tg_points_ledger__publish() is 'customer.points_changed for every points entry, with the balance after it.';

create trigger _900_publish
after insert on core.points_ledger
for each row execute function internal.tg_points_ledger__publish();
comment on trigger _900_publish on core.points_ledger is 'Events: customer.points_changed (internal.tg_points_ledger__publish).';

-- ---------------------------------------------------------------- reservations and stays
create function internal.reservation_event_payload(p_reservation_id bigint) returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select jsonb_build_object(
        'reservation_id', r.id, 'confirmation_code', r.confirmation_code, 'customer_id', r.customer_id,
        'status', r.status, 'origin', r.origin, 'check_in', lower(r.stay), 'check_out', upper(r.stay),
        'currency', r.currency, 'total_amount', r.total_amount, 'version', r.version,
        'rooms', s.rooms, 'room_numbers', s.room_numbers)
    from core.reservations r
    -- the stay's room lines and the rooms assigned to them, read once for both fields
    cross join lateral (
        select count(distinct l.id) as rooms,
               coalesce(jsonb_agg(distinct m.number) filter (where m.number is not null), '[]'::jsonb) as room_numbers
        from core.reservation_rooms l
        left join core.room_assignments a on a.hotel_id = l.hotel_id and a.reservation_room_id = l.id and a.active
        left join core.rooms m on m.hotel_id = a.hotel_id and m.id = a.room_id
        where l.reservation_id = r.id) s
    where r.id = p_reservation_id
$$;
comment on function internal.reservation_event_payload(bigint) is
    'A reservation as its events carry it (seed 000''s fields): ids, status, origin, stay, amount, version, the number of rooms and the room numbers assigned.';

create function internal.tg_reservations__publish()
returns trigger
language plpgsql
volatile
-- deferred to commit: before PostgreSQL 17 it runs as the role active at COMMIT (a client
-- system's role after SET LOCAL ROLE), which cannot read core
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_payload jsonb := internal.reservation_event_payload(new.id);
begin
    if v_payload is null then
        return null;  -- deleted later in the same transaction
    end if;
    if tg_op = 'INSERT' then
        -- a booking confirmed at once: both events in one write of its stream
        perform internal.emit_events(case when new.status = 'confirmed'
                                          then array['reservation.created', 'reservation.confirmed']
                                          else array['reservation.created'] end,
                                     new.id::text, new.hotel_id, v_payload);
    elsif old.status is distinct from new.status then
        if new.status = 'checked_out' then
            -- the folio check-out settled, as final (charges, payments and balance have one home:
            -- api.folio_balances)
            v_payload := v_payload || jsonb_build_object('folio', (
                select jsonb_build_object('folio_id', f.folio_id, 'currency', f.currency, 'charges', f.charges,
                                          'payments', f.payments, 'balance', f.balance, 'settled_at', f.settled_at)
                from api.folio_balances f
                where f.reservation_id = new.id and f.hotel_id = new.hotel_id));
        end if;
        perform internal.emit_event(case new.status
                when 'confirmed' then 'reservation.confirmed'
                when 'cancelled' then 'reservation.cancelled'
                when 'checked_in' then 'checkin_checkout.checked_in'
                when 'checked_out' then 'checkin_checkout.checked_out'
                when 'no_show' then 'checkin_checkout.no_show'
                else 'reservation.updated' end,
            new.id::text, new.hotel_id, v_payload || jsonb_build_object('previous_status', old.status));
    else
        perform internal.emit_event('reservation.updated', new.id::text, new.hotel_id,
            v_payload || jsonb_build_object('changed_fields', to_jsonb(array_remove(array[
                case when old.stay is distinct from new.stay then 'stay' end,
                case when old.total_amount is distinct from new.total_amount then 'total_amount' end,
                case when old.customer_id is distinct from new.customer_id then 'customer_id' end,
                case when old.special_requests is distinct from new.special_requests then 'special_requests' end,
                case when old.payment_authorisation is distinct from new.payment_authorisation then 'payment_authorisation' end],
                null))));
    end if;
    return null;
end
$$;
comment on function internal.tg_reservations__publish() is
    'reservation.created (+ confirmed), the event of a status change (checked_out with the final folio), or reservation.updated with changed_fields.';

create constraint trigger _900_publish_created
after insert on core.reservations
deferrable initially deferred
for each row execute function internal.tg_reservations__publish();
comment on trigger _900_publish_created on core.reservations is
    'Events: reservation.created at commit, with its room lines (internal.tg_reservations__publish).';

create constraint trigger _900_publish_updated
after update on core.reservations
deferrable initially deferred
for each row
when (old.status is distinct from new.status
      or (old.stay, old.total_amount, old.customer_id, old.special_requests, old.payment_authorisation)
         is distinct from (new.stay, new.total_amount, new.customer_id, new.special_requests, new.payment_authorisation))
execute function internal.tg_reservations__publish();
comment on trigger _900_publish_updated on core.reservations is
    'Events: status changes and reservation.updated at commit (internal.tg_reservations__publish).';

create function internal.tg_room_assignments__publish()
returns trigger
language plpgsql
volatile
-- deferred to commit: before PostgreSQL 17 it runs as the role active at COMMIT (a client
-- system's role after SET LOCAL ROLE), which cannot read core
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_reservation_id bigint;
    v_payload        jsonb;
begin
    select l.reservation_id into v_reservation_id from core.reservation_rooms l where l.id = new.reservation_room_id;
    -- a change of the reservation row in this same transaction (check-in, check-out, a
    -- cancellation) publishes its own event, whose payload has the room numbers already
    if v_reservation_id is null
       or exists (select 1 from core.reservations r where r.id = v_reservation_id
                  and (r.status not in ('pending', 'confirmed', 'checked_in')
                       or r.xmin = (pg_current_xact_id()::text::bigint % 4294967296)::text::xid)) then
        return null;
    end if;
    v_payload := internal.reservation_event_payload(v_reservation_id);
    perform internal.emit_event('reservation.updated', v_reservation_id::text, new.hotel_id,
        v_payload || jsonb_build_object('changed_fields', jsonb_build_array('room_numbers')));
    return null;
end
$$;
comment on function internal.tg_room_assignments__publish() is
    'reservation.updated (changed_fields room_numbers) when a room is assigned to a stay, moved or taken back.';

create constraint trigger _900_publish
after insert or update on core.room_assignments
deferrable initially deferred
for each row
when (new.reservation_room_id is not null)
execute function internal.tg_room_assignments__publish();
comment on trigger _900_publish on core.room_assignments is
    'Events: the stay''s room numbers changed (internal.tg_room_assignments__publish), at commit.';

-- ---------------------------------------------------------------- rooms
create function internal.tg_room_status_log__publish()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.emit_event('room.status_changed', new.room_id::text, new.hotel_id,
        jsonb_build_object('room_id', new.room_id, 'hotel_id', new.hotel_id,
                           'number', (select m.number from core.rooms m where m.id = new.room_id),
                           'from_status', new.from_status, 'to_status', new.to_status, 'reason', new.reason,
                           'app_user', new.app_user, 'changed_at', new.changed_at));
    return null;
end
$$;
comment on function internal.tg_room_status_log__publish() is 'room.status_changed for every logged housekeeping status change: the front desk sees it as it happens.';

create trigger _900_publish
after insert on core.room_status_log
for each row execute function internal.tg_room_status_log__publish();
comment on trigger _900_publish on core.room_status_log is 'Events: room.status_changed (internal.tg_room_status_log__publish).';

create function internal.tg_room_blocks__publish()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.emit_event('room.maintenance_updated', new.room_id::text, new.hotel_id,
        jsonb_build_object('room_id', new.room_id, 'hotel_id', new.hotel_id, 'block_id', new.id,
                           'number', (select m.number from core.rooms m where m.id = new.room_id),
                           'kind', new.kind, 'first_night', lower(new.nights), 'until', upper(new.nights),
                           'active', new.active, 'released_from', new.released_from, 'reason', new.reason));
    return null;
end
$$;
comment on function internal.tg_room_blocks__publish() is 'room.maintenance_updated when a room block is placed, released or changed.';

create trigger _900_publish_placed
after insert on core.room_blocks
for each row execute function internal.tg_room_blocks__publish();
comment on trigger _900_publish_placed on core.room_blocks is 'Events: room.maintenance_updated for a new block (internal.tg_room_blocks__publish).';

create trigger _900_publish_changed
after update on core.room_blocks
for each row
when ((old.active, old.nights, old.kind) is distinct from (new.active, new.nights, new.kind))
execute function internal.tg_room_blocks__publish();
comment on trigger _900_publish_changed on core.room_blocks is
    'Events: room.maintenance_updated when a block is released or changed (internal.tg_room_blocks__publish).';

-- ---------------------------------------------------------------- wake-up
-- Every write of events advances its aggregate's stream row in the same statement
-- (internal.emit_events), so a transaction that wrote events wrote a stream row: the wake-up
-- fires once per write (a booking's created and confirmed events: once), not once per event.
create constraint trigger _900_notify
after insert or update on core.event_streams
deferrable initially deferred
for each row execute function internal.tg_events__notify();
comment on trigger _900_notify on core.event_streams is
    'NOTIFY hotelcore_events at commit of a transaction that wrote events, coalesced across concurrent commits (internal.tg_events__notify).';
