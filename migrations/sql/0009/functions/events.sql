-- The event log's registry and the one way an event is written (see db/schema/events.sql for
-- why events are read in (order_xid, id) order below the reader's snapshot xmin).
-- Adding an event name: one line below, then `make revision m="..."`. Names are never reused.

delete from core.event_types;
insert into core.event_types (name, aggregate_kind, publisher, meaning) values
    -- hotel-member (seed 000)
    ('customer.created',                 'customer',    'member', 'A customer joined the master.'),
    ('customer.updated',                 'customer',    'member', 'Customer fields changed; the payload names them (changed_fields).'),
    ('customer.rank_changed',            'customer',    'member', 'A customer moved to another membership rank.'),
    ('customer.points_changed',          'customer',    'member', 'A customer''s points balance changed.'),
    ('customer.conflict_detected',       'customer',    'core',   'A write based on a stale version was recorded as a conflict.'),
    ('customer.conflict_resolved',       'customer',    'core',   'A recorded conflict was resolved or dismissed.'),
    -- hotel-pms (seed 000)
    ('reservation.created',              'reservation', 'pms',    'A reservation was booked.'),
    ('reservation.updated',              'reservation', 'pms',    'A reservation''s stay, guests or details changed.'),
    ('reservation.confirmed',            'reservation', 'pms',    'A reservation was confirmed.'),
    ('reservation.cancelled',            'reservation', 'pms',    'A reservation was cancelled.'),
    ('reservation.conflict_detected',    'reservation', 'core',   'A claim of a room another stay holds on the same nights was recorded as a conflict.'),
    ('reservation.conflict_escalated',   'reservation', 'core',   'A room conflict touches a VIP (Gold or Platinum) or high-value booking: left open for a manager.'),
    ('reservation.conflict_resolved',    'reservation', 'core',   'A recorded room conflict was resolved or dismissed.'),
    ('checkin_checkout.checked_in',      'reservation', 'pms',    'The guest checked in: the stay''s guest services are enabled.'),
    ('checkin_checkout.checked_out',     'reservation', 'pms',    'The guest checked out: the folio is final.'),
    ('checkin_checkout.no_show',         'reservation', 'pms',    'The guest did not arrive.'),
    ('room.status_changed',              'room',        'pms',    'A room''s housekeeping or occupancy status changed.'),
    ('room.maintenance_updated',         'room',        'pms',    'A room went out of order or came back.'),
    -- hotel-saas (seed 000)
    ('service.ordered',                  'order',       'saas',   'A guest ordered a service.'),
    ('service.completed',                'order',       'saas',   'An order was delivered; its charges are on the folio.'),
    ('service.cancelled',                'order',       'saas',   'An order was cancelled.'),
    ('feedback.created',                 'feedback',    'saas',   'A guest gave feedback.'),
    ('feedback.updated',                 'feedback',    'saas',   'A guest changed their feedback.');

create function internal.emit_event(
    p_type         text,
    p_aggregate_id text,
    p_hotel_id     bigint,
    p_payload      jsonb
) returns text
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_kind      text;
    v_seq       bigint;
    v_order_xid xid8;
    v_event_id  text;
begin
    select t.aggregate_kind into v_kind from core.event_types t where t.name = p_type;
    if v_kind is null then
        perform internal.raise_error('INVALID_ARGUMENT', format('unknown event type %L', p_type),
            'add it to core.event_types in db/functions/events.sql');
    end if;
    if p_aggregate_id is null or p_payload is null or jsonb_typeof(p_payload) <> 'object' then
        perform internal.raise_error('INVALID_ARGUMENT', 'an event needs an aggregate id and an object payload',
            'pass the id of the changed row and a jsonb object');
    end if;
    -- the aggregate's row lock orders its events as its changes were serialised; the order
    -- position never goes back, so readers see one aggregate's events in sequence order
    insert into core.event_streams as s (aggregate_kind, aggregate_id, last_seq, last_order_xid)
    values (v_kind, p_aggregate_id, 1, pg_current_xact_id())
    on conflict (aggregate_kind, aggregate_id) do update
        set last_seq = s.last_seq + 1,
            last_order_xid = greatest(s.last_order_xid, pg_current_xact_id())
    returning s.last_seq, s.last_order_xid into v_seq, v_order_xid;

    insert into core.events (type, aggregate_kind, aggregate_id, aggregate_seq, hotel_id, payload,
                             occurred_at, order_xid, api_key_id)
    values (p_type, v_kind, p_aggregate_id, v_seq, p_hotel_id, p_payload,
            internal.now(), v_order_xid, internal.request_api_key_id())
    returning event_id into v_event_id;
    return v_event_id;
end
$$;
comment on function internal.emit_event(text, text, bigint, jsonb) is
    'Writes one event of a registered type for an aggregate in the current transaction and returns its event id (evt_...). The aggregate''s next sequence number and order position are taken under its stream row''s lock.';

create function internal.events_after(
    p_order_xid xid8,
    p_id        bigint,
    p_limit     integer
) returns setof core.events
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    -- only below the snapshot's xmin: every transaction that could still add a row sorting
    -- before these has ended (see db/schema/events.sql)
    select e.*
    from core.events e
    where (e.order_xid, e.id) > (coalesce(p_order_xid, '0'::xid8), coalesce(p_id, 0))
      and e.order_xid < pg_snapshot_xmin(pg_current_snapshot())
    order by e.order_xid, e.id
    limit p_limit
$$;
comment on function internal.events_after(xid8, bigint, integer) is
    'The next p_limit events after reading position (p_order_xid, p_id) that no running transaction can precede: the one safe way to walk the event log.';
