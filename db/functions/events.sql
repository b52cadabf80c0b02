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
    ('reservation.conflict_detected',    'reservation', 'core',   'A stale change of a reservation, or a claim of a room another stay holds on the same nights, was recorded as a conflict.'),
    ('reservation.conflict_escalated',   'reservation', 'core',   'A reservation conflict touches a VIP (Gold or Platinum), a high-value booking or a special event day: left open for a manager.'),
    ('reservation.conflict_resolved',    'reservation', 'core',   'A recorded reservation conflict was resolved or dismissed.'),
    ('checkin_checkout.checked_in',      'reservation', 'pms',    'The guest checked in: the stay''s guest services are enabled.'),
    ('checkin_checkout.checked_out',     'reservation', 'pms',    'The guest checked out: the folio is final.'),
    ('checkin_checkout.no_show',         'reservation', 'pms',    'The guest did not arrive.'),
    ('room.status_changed',              'room',        'pms',    'A room''s housekeeping or occupancy status changed.'),
    ('room.maintenance_updated',         'room',        'pms',    'A room went out of order or came back.'),
    ('room.conflict_detected',           'room',        'core',   'A room write based on a stale version was recorded as a conflict (merged, or open for review).'),
    ('room.conflict_resolved',           'room',        'core',   'A recorded room conflict was resolved or dismissed.'),
    -- hotel-saas (seed 000)
    ('service.ordered',                  'order',       'saas',   'A guest ordered a service.'),
    ('service.completed',                'order',       'saas',   'An order was delivered; its charges are on the folio.'),
    ('service.cancelled',                'order',       'saas',   'An order was cancelled.'),
    ('feedback.created',                 'feedback',    'saas',   'A guest gave feedback.'),
    ('feedback.updated',                 'feedback',    'saas',   'A guest changed their feedback.'),
    -- operations (seed 001: external PMS)
    ('pms_sync.stopped',                 'pms_property', 'core',  'An external-PMS hotel''s polling sync stopped after 5 consecutive failures; the manual trigger restarts it.');

create function internal.emit_events(
    p_types        text[],
    p_aggregate_id text,
    p_hotel_id     bigint,
    p_payload      jsonb
) returns text[]
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_kinds      integer;
    v_event_ids  text[];
    v_unknown    text;
    v_now        timestamptz := internal.now();
    v_api_key_id bigint := internal.request_api_key_id();
begin
    if p_aggregate_id is not null and p_payload is not null and jsonb_typeof(p_payload) = 'object' then
        -- one statement: the types read from the registry (every one registered, all of one
        -- aggregate kind: one stream; else nothing is written and the reason is raised below),
        -- the aggregate's stream row locked and advanced, its events inserted. The stream row's
        -- lock orders the aggregate's events as its changes were serialised; the order position
        -- never goes back, so readers see one aggregate's events in sequence order (the events
        -- of one call take the next sequence numbers in the order given)
        with kind as (
            select min(t.aggregate_kind) as aggregate_kind
            from unnest(p_types) p(name) left join core.event_types t on t.name = p.name
            having count(t.name) = cardinality(p_types) and count(distinct t.aggregate_kind) = 1
        ),
        stream as (
            insert into core.event_streams as s (aggregate_kind, aggregate_id, last_seq, last_order_xid)
            select k.aggregate_kind, p_aggregate_id, cardinality(p_types), pg_current_xact_id() from kind k
            on conflict (aggregate_kind, aggregate_id) do update
                set last_seq = s.last_seq + cardinality(p_types),
                    last_order_xid = greatest(s.last_order_xid, pg_current_xact_id())
            returning s.aggregate_kind, s.last_seq, s.last_order_xid
        ),
        written as (
            insert into core.events (type, aggregate_kind, aggregate_id, aggregate_seq, hotel_id, payload,
                                     occurred_at, order_xid, api_key_id)
            select e.type, s.aggregate_kind, p_aggregate_id, s.last_seq - cardinality(p_types) + e.n, p_hotel_id,
                   p_payload, v_now, s.last_order_xid, v_api_key_id
            from stream s cross join unnest(p_types) with ordinality as e(type, n)
            order by e.n
            returning event_id, aggregate_seq
        )
        select array_agg(w.event_id order by w.aggregate_seq) into v_event_ids from written w;
        if v_event_ids is not null then
            return v_event_ids;
        end if;
    end if;
    -- nothing written: why, in this order
    select min(p.name) filter (where t.name is null), count(distinct t.aggregate_kind)::integer
    into v_unknown, v_kinds
    from unnest(p_types) p(name) left join core.event_types t on t.name = p.name;
    if v_unknown is not null or array_position(p_types, null) is not null then
        perform internal.raise_error('INVALID_ARGUMENT', format('unknown event type %L', v_unknown),
            'add it to core.event_types in db/functions/events.sql');
    end if;
    if v_kinds <> 1 then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('event types %s: one call writes events of one aggregate kind', coalesce(p_types::text, 'null')),
            'write the events of each aggregate in its own call');
    end if;
    perform internal.raise_error('INVALID_ARGUMENT', 'an event needs an aggregate id and an object payload',
        'pass the id of the changed row and a jsonb object');
end
$$;
comment on function internal.emit_events(text[], text, bigint, jsonb) is
    'Writes events of registered types of one aggregate in the current transaction, in the order given, with one payload, and returns their event ids (evt_...). The aggregate''s next sequence numbers and order position are taken under its stream row''s lock: the one way an event is written.';

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
begin
    return (internal.emit_events(array[p_type], p_aggregate_id, p_hotel_id, p_payload))[1];
end
$$;
comment on function internal.emit_event(text, text, bigint, jsonb) is
    'Writes one event of a registered type for an aggregate in the current transaction and returns its event id (evt_...): internal.emit_events of one type.';

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

-- ------------------------------------------------------------------ NOTIFY
-- Writers wake waiting consumers at commit (channel hotelcore_events); consumers also poll now
-- and then, so a lost notification only delays. PostgreSQL serialises the commits of every
-- transaction that sent a NOTIFY (one lock, held through the commit's WAL flush): if every
-- booking notified, concurrent bookings would commit one at a time. So of the transactions
-- committing at the same moment one notifies (it holds a transaction-level advisory lock; the
-- others' try fails and they skip it, never waiting): the consumer it wakes reads what has
-- committed by then, the next notification or the poll brings the rest. The trigger is deferred
-- to commit, so the lock is held only while committing.
create function internal.tg_events__notify()
returns trigger
language plpgsql
volatile
-- deferred to commit: before PostgreSQL 17 it runs as the role active at COMMIT (a client
-- system's role after SET LOCAL ROLE), which cannot read core
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if pg_try_advisory_xact_lock('core.events'::regclass::oid::integer, 0) then
        perform pg_notify('hotelcore_events', '');
    end if;
    return null;
end
$$;
comment on function internal.tg_events__notify() is
    'NOTIFY hotelcore_events at commit, by one of the transactions committing at the same moment (a try of a transaction-level advisory lock; the others skip it without waiting).';

-- ------------------------------------------------------------------ what a consumer may see
create function internal.event_type_wanted(p_type text, p_patterns text[]) returns boolean
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select exists (select 1 from unnest(p_patterns) q
                   where q = '*' or q = p_type
                      or (right(q, 2) = '.*' and split_part(p_type, '.', 1) = left(q, -2)))
$$;
comment on function internal.event_type_wanted(text, text[]) is
    'True when p_type matches one of p_patterns: an exact name, a prefix pattern (''reservation.*'') or ''*''.';

create function internal.check_event_patterns(p_patterns text[]) returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_pattern text;
begin
    if p_patterns is null or cardinality(p_patterns) = 0 or array_position(p_patterns, null) is not null then
        perform internal.raise_error('INVALID_ARGUMENT', 'event types: a non-empty list without nulls is needed',
            'e.g. {reservation.*} or {customer.created,customer.updated}; * for every type');
    end if;
    foreach v_pattern in array p_patterns loop
        if not exists (select 1 from core.event_types t where internal.event_type_wanted(t.name, array[v_pattern])) then
            perform internal.raise_error('EVENT_TYPE_UNKNOWN', format('event type %L matches no registered type', left(v_pattern, 100)),
                'see core.event_types: customer.*, reservation.*, checkin_checkout.*, room.*, service.*, feedback.*');
        end if;
    end loop;
end
$$;
comment on function internal.check_event_patterns(text[]) is
    'EVENT_TYPE_UNKNOWN unless every pattern matches a registered event type; INVALID_ARGUMENT for an empty list.';

create function internal.system_holds(p_system text, p_action text) returns boolean
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select p_system = 'admin'
        or exists (select 1 from internal.rights() r where r.action = p_action and p_system = any (r.systems))
$$;
comment on function internal.system_holds(text, text) is
    'True when system p_system (member, pms, saas; admin holds everything) holds p_action of seed 000''s matrix (internal.rights).';

create function internal.event_payload_for(p_type text, p_payload jsonb, p_system text) returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_kind    text := split_part(p_type, '.', 1);
    v_payload jsonb := p_payload;
    v_hidden  text[];
begin
    if p_system = 'admin' then
        return v_payload;
    end if;
    -- the data an event is about must be readable by the system (seed 000's matrix): room state
    -- (hotel-saas may not read it), orders and feedback (hotel-saas and hotel-pms), the rest by everyone
    if not internal.system_holds(p_system, case v_kind
            when 'customer' then 'customer.read'
            when 'room' then 'rooms.read'
            when 'service' then 'services.read'
            when 'feedback' then 'feedback.read'
            else 'reservation.read' end) then
        return null;
    end if;
    -- 配信設定・嗜好: preferences and marketing consent only for member and saas; an update that
    -- changed nothing else is not news for the others
    if v_kind = 'customer' and not internal.system_holds(p_system, 'preferences.read') then
        v_hidden := internal.customer_private_fields();
        v_payload := v_payload - v_hidden;
        if v_payload ? 'changes' then
            v_payload := jsonb_set(v_payload, '{changes}', (v_payload -> 'changes') - v_hidden);
        end if;
        if v_payload ? 'changed_fields' then
            v_payload := jsonb_set(v_payload, '{changed_fields}', coalesce(
                (select jsonb_agg(f order by o) from jsonb_array_elements_text(v_payload -> 'changed_fields') with ordinality as x(f, o)
                 where not (f = any (v_hidden))), '[]'::jsonb));
            if jsonb_array_length(v_payload -> 'changed_fields') = 0 then
                return null;
            end if;
        end if;
    end if;
    -- 部屋在庫・状態: room counts and room numbers of a stay only for systems that read rooms
    if not internal.system_holds(p_system, 'rooms.read') then
        v_payload := v_payload - array['rooms', 'room_numbers'];
    end if;
    -- 売上・請求: the folio only for systems that read billing
    if not internal.system_holds(p_system, 'billing.read') then
        v_payload := v_payload - 'folio';
    end if;
    return v_payload;
end
$$;
comment on function internal.event_payload_for(text, jsonb, text) is
    'The payload of an event as system p_system may see it (seed 000''s matrix, the same rules as the roles), or null when the system may not see the event: no room.* for hotel-saas, no preferences or marketing consent for hotel-pms, no room counts for hotel-saas, no folio without billing.read.';

create function internal.event_document(p_event core.events, p_payload jsonb) returns jsonb
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    select jsonb_build_object(
        'event_id', p_event.event_id, 'type', p_event.type,
        'aggregate', jsonb_build_object('kind', p_event.aggregate_kind, 'id', p_event.aggregate_id,
                                        'seq', p_event.aggregate_seq),
        'hotel_id', p_event.hotel_id, 'occurred_at', p_event.occurred_at,
        'schema_version', p_event.schema_version, 'data', p_payload)
$$;
comment on function internal.event_document(core.events, jsonb) is
    'An event as consumers receive it: id, type, aggregate (kind, id, seq), hotel, occurred_at, schema version and the payload the consumer may see.';

create function internal.start_position() returns xid8
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    -- every event sorting below the snapshot's xmin committed before now: a new consumer starts after them
    select pg_snapshot_xmin(pg_current_snapshot())
$$;
comment on function internal.start_position() is
    'The order_xid a new consumer starts from: events below it committed before it subscribed.';

-- ------------------------------------------------------------------ pull consumers
create function internal.pull_consumer(p_consumer text) returns core.event_consumers
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_consumer core.event_consumers;
    v_scope    bigint[] := core.hotel_scope();
begin
    perform internal.require_right('events.read');
    select c.* into v_consumer from core.event_consumers c where c.name = p_consumer for update;
    -- a consumer reads with its system's rights: only a caller acting as that system (role
    -- membership, which no client can SET itself into) or an unrestricted one may read it
    if v_consumer.id is null
       or not (internal.caller_unrestricted() or v_consumer.system = any (internal.caller_systems())) then
        perform internal.raise_error('CONSUMER_NOT_FOUND', format('consumer %L', left(p_consumer, 100)),
            'the three systems read hotel-member, hotel-pms and hotel-saas; api.subscribe_events creates others');
    end if;
    if v_consumer.kind <> 'pull' then
        perform internal.raise_error('CONSUMER_KIND_MISMATCH', format('%s is a webhook endpoint', v_consumer.name),
            'webhook endpoints are sent to by the dispatcher (hotelcore dispatch)');
    end if;
    if v_consumer.disabled_at is not null then
        perform internal.raise_error('CONSUMER_DISABLED', format('%s: %s', v_consumer.name, v_consumer.disabled_reason),
            'subscribe again to enable it');
    end if;
    -- the caller must see every hotel the consumer is limited to, or its cursor would pass events
    -- the caller cannot see
    if v_scope is not null and (v_consumer.hotel_ids is null or not (v_consumer.hotel_ids <@ v_scope)) then
        perform internal.raise_error('PERMISSION_DENIED',
            format('events.read: consumer %s covers hotels %s, the caller sees %s', v_consumer.name,
                   coalesce(array_to_string(v_consumer.hotel_ids, ', '), 'all'), array_to_string(v_scope, ', ')),
            'read it with a key or login that sees those hotels');
    end if;
    return v_consumer;
end
$$;
comment on function internal.pull_consumer(text) is
    'Locks and returns the pull consumer p_consumer the caller may read: its system is one of the caller''s (or the caller is unrestricted) and the caller sees its hotels.';

create function api.subscribe_events(
    p_consumer    text,
    p_event_types text[] default array['*'],
    p_system      text default null
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_systems  text[] := internal.caller_systems();
    v_system   text := p_system;
    v_consumer core.event_consumers;
begin
    perform internal.require_right('events.read');
    perform internal.check_event_patterns(p_event_types);
    if p_consumer is null or p_consumer !~ '^[a-z0-9][a-z0-9_.:-]{0,99}$' then
        perform internal.raise_error('INVALID_ARGUMENT', format('consumer name %L', left(p_consumer, 100)),
            'lower-case letters, digits, _ . : - (at most 100)');
    end if;
    -- the system whose rights the consumer reads with: the caller's own
    if v_system is null then
        if cardinality(v_systems) <> 1 then
            perform internal.raise_error('INVALID_ARGUMENT', 'p_system is needed: the caller acts for several systems or none',
                'pass member, pms or saas');
        end if;
        v_system := v_systems[1];
    elsif not (v_system = any (v_systems) or internal.caller_unrestricted()) or v_system not in ('member', 'pms', 'saas') then
        perform internal.raise_error('PERMISSION_DENIED', format('events.read: the caller does not act as system %L', left(v_system, 20)),
            'subscribe as one of your own systems');
    end if;
    select c.* into v_consumer from core.event_consumers c where c.name = p_consumer for update;
    if v_consumer.id is null then
        insert into core.event_consumers (name, kind, system, event_types, hotel_ids, cursor_order_xid)
        values (p_consumer, 'pull', v_system, p_event_types, core.hotel_scope(), internal.start_position())
        returning * into v_consumer;
    else
        perform internal.pull_consumer(p_consumer);
        if v_consumer.system <> v_system then
            perform internal.raise_error('PERMISSION_DENIED', format('events.read: consumer %s reads as %s', p_consumer, v_consumer.system),
                'choose another consumer name');
        end if;
        update core.event_consumers c set event_types = p_event_types, disabled_at = null, disabled_reason = null
        where c.id = v_consumer.id returning * into v_consumer;
    end if;
    return jsonb_build_object('consumer', v_consumer.name, 'system', v_consumer.system,
                              'event_types', v_consumer.event_types, 'hotel_ids', v_consumer.hotel_ids);
end
$$;
comment on function api.subscribe_events(text, text[], text) is
    'Creates (or changes the wanted types of) pull consumer p_consumer, reading with the caller''s system''s rights and hotel scope; a new one starts after the events readable when it subscribes (at least once: those a running transaction still hides come too). The systems'' own consumers hotel-member, hotel-pms and hotel-saas exist from the start.';

create function api.read_events(
    p_consumer text,
    p_limit    integer default 100
) returns table (
    event_id       text,
    type           text,
    aggregate_kind text,
    aggregate_id   text,
    aggregate_seq  bigint,
    hotel_id       bigint,
    occurred_at    timestamptz,
    schema_version smallint,
    payload        jsonb
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_consumer core.event_consumers;
    v_event    core.events;
    v_payload  jsonb;
    v_found    integer := 0;
    v_skip_to  core.events;
    v_scanned  integer;
    v_rounds   integer := 0;
begin
    if p_limit is null or p_limit not between 1 and 10000 then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_limit %s', p_limit), 'between 1 and 10000');
    end if;
    v_consumer := internal.pull_consumer(p_consumer);
    -- at least once: the events after the acknowledged position, in the log's safe reading order
    -- (so per aggregate in sequence order); the cursor moves only by api.ack_events, except over a
    -- leading run of events this consumer does not want, which it will never be given
    loop
        v_scanned := 0;
        for v_event in
            select e.* from internal.events_after(v_consumer.cursor_order_xid, v_consumer.cursor_id, 1000) e
        loop
            v_scanned := v_scanned + 1;
            v_consumer.cursor_order_xid := v_event.order_xid;
            v_consumer.cursor_id := v_event.id;
            v_payload := case when internal.event_type_wanted(v_event.type, v_consumer.event_types)
                               and (v_consumer.hotel_ids is null or v_event.hotel_id is null
                                    or v_event.hotel_id = any (v_consumer.hotel_ids))
                              then internal.event_payload_for(v_event.type, v_event.payload, v_consumer.system) end;
            if v_payload is null then
                if v_found = 0 then
                    v_skip_to := v_event;
                end if;
                continue;
            end if;
            v_found := v_found + 1;
            return query select v_event.event_id, v_event.type, v_event.aggregate_kind, v_event.aggregate_id,
                                v_event.aggregate_seq, v_event.hotel_id, v_event.occurred_at,
                                v_event.schema_version, v_payload;
            exit when v_found >= p_limit;
        end loop;
        -- a bounded scan per call (20,000 events): a consumer wanting rare types moves on next call
        v_rounds := v_rounds + 1;
        exit when v_found >= p_limit or v_scanned < 1000 or v_rounds >= 20;
    end loop;
    if v_skip_to.id is not null then
        update core.event_consumers c
        set cursor_order_xid = v_skip_to.order_xid, cursor_id = v_skip_to.id, cursor_moved_at = clock_timestamp()
        where c.id = v_consumer.id and (c.cursor_order_xid, c.cursor_id) < (v_skip_to.order_xid, v_skip_to.id);
    end if;
end
$$;
comment on function api.read_events(text, integer) is
    'The next p_limit events for pull consumer p_consumer after its acknowledged position, as its system may see them (seed 000''s matrix; its hotels only), in the log''s safe order (per aggregate in sequence order). At least once: the same events come again until api.ack_events. LISTEN hotelcore_events to wait for new ones.';

create function api.ack_events(
    p_consumer text,
    p_up_to    text
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_consumer core.event_consumers;
    v_event    core.events;
begin
    v_consumer := internal.pull_consumer(p_consumer);
    select e.* into v_event from core.events e where e.event_id = p_up_to;
    -- an event the consumer could have been given: readable (below the snapshot's xmin) and in scope
    if v_event.id is null or v_event.order_xid >= pg_snapshot_xmin(pg_current_snapshot()) then
        perform internal.raise_error('EVENT_NOT_FOUND', format('event %L', left(p_up_to, 100)),
            'acknowledge an event_id api.read_events returned');
    end if;
    update core.event_consumers c
    set cursor_order_xid = v_event.order_xid, cursor_id = v_event.id, cursor_moved_at = clock_timestamp()
    where c.id = v_consumer.id and (c.cursor_order_xid, c.cursor_id) < (v_event.order_xid, v_event.id);
    return jsonb_build_object('consumer', v_consumer.name, 'acknowledged', v_event.event_id, 'moved', found);
end
$$;
comment on function api.ack_events(text, text) is
    'Acknowledges every event of pull consumer p_consumer up to and including event p_up_to (an event_id api.read_events returned): they are not read again. Acknowledging an older event changes nothing.';

-- ------------------------------------------------------------------ retention
create function api.purge_events(p_batch integer default null) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_settings core.event_settings;
    v_floor    core.event_consumers;
    v_deleted  integer;
begin
    perform internal.require_right('maintenance.run');
    perform internal.require_unrestricted_scope('purge_events');
    if p_batch is not null and p_batch not between 1 and 100000 then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_batch %s', p_batch), 'between 1 and 100000');
    end if;
    select s.* into v_settings from core.event_settings s where s.id;
    -- delivered: every enabled consumer's cursor is past it and no delivery of it is pending
    select c.* into v_floor from core.event_consumers c where c.disabled_at is null
    order by c.cursor_order_xid, c.cursor_id limit 1;
    -- one batch per call (one short transaction): old rows only, which no writer touches
    with doomed as (
        select e.id from core.events e
        where e.recorded_at < clock_timestamp() - v_settings.retention
          and (v_floor.id is null or (e.order_xid, e.id) <= (v_floor.cursor_order_xid, v_floor.cursor_id))
          and not exists (select 1 from core.webhook_deliveries d
                          join core.event_consumers c on c.id = d.consumer_id and c.disabled_at is null
                          where d.event_pk = e.id and d.status = 'pending')
        -- oldest first along the primary key: the old rows lead it, no index on recorded_at needed
        order by e.id
        limit coalesce(p_batch, v_settings.purge_batch)
        for update skip locked
    )
    delete from core.events e using doomed where e.id = doomed.id;
    get diagnostics v_deleted = row_count;
    return v_deleted;
end
$$;
comment on function api.purge_events(integer) is
    'Deletes one batch (p_batch, default core.event_settings.purge_batch) of events older than the retention (default 30 days) that every enabled consumer has passed and no enabled webhook endpoint''s delivery still waits for, with their delivery log; returns how many. Call until it returns 0: each batch is its own short transaction and never blocks writers.';
