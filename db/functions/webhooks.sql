-- Outbound webhooks (Standard Webhooks): endpoints, fan-out of the event log into deliveries,
-- the dispatcher's lease and its attempts, replay. The tables and their rules are described in
-- db/schema/events--consumers-webhooks.sql.
--
-- Who does what: SQL decides what an endpoint receives (types, hotels, the rights of its system),
-- which delivery is due (lease, per-aggregate order), and what an answer means (2xx delivered,
-- 410 disables the endpoint, the last failure is a dead letter). The dispatcher
-- (pyapi/dispatch.py) signs and sends, and chooses the next retry's delay from its backoff
-- schedule. Every function here is chain administration or a scheduled job: hotelcore_admin only.
--
-- Signing secrets are stored sealed (internal.require_sealed): the caller makes a whsec_ secret
-- and seals it under the key outside the database (pyapi/vault.py, pyapi/dispatch.py), and only
-- the dispatcher, which holds that key, opens it to sign. No function here returns one in clear.

create function internal.webhook(p_webhook_id bigint) returns core.event_consumers
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_consumer core.event_consumers;
begin
    perform internal.require_right('webhooks.manage');
    select c.* into v_consumer from core.event_consumers c
    where c.id = p_webhook_id and c.kind = 'webhook' for update;
    if v_consumer.id is null then
        perform internal.raise_error('CONSUMER_NOT_FOUND', format('webhook %s', p_webhook_id),
            'hotelcore webhooks list shows the endpoints');
    end if;
    return v_consumer;
end
$$;
comment on function internal.webhook(bigint) is
    'Locks and returns webhook endpoint p_webhook_id (webhooks.manage: chain administration), or CONSUMER_NOT_FOUND.';

create function api.add_webhook(
    p_url           text,
    p_event_types   text[],
    p_secret_sealed text,
    p_hotel_ids     bigint[] default null,
    p_system        text default 'admin',
    p_description   text default null
) returns table (webhook_id bigint, name text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_id bigint;
begin
    perform internal.require_right('webhooks.manage');
    perform internal.check_event_patterns(p_event_types);
    perform internal.require_sealed('p_secret_sealed', p_secret_sealed);
    if p_url is null or p_url !~ '^https?://[^\s/]+' or length(p_url) > 2000 then
        perform internal.raise_error('INVALID_ARGUMENT', format('url %L', left(p_url, 100)),
            'an http:// or https:// URL of at most 2000 characters');
    end if;
    if p_system is null or p_system not in ('member', 'pms', 'saas', 'admin') then
        perform internal.raise_error('INVALID_ARGUMENT', format('system %L', left(p_system, 20)),
            'member, pms or saas (their rights filter the events), or admin (every field)');
    end if;
    if p_hotel_ids is not null and (cardinality(p_hotel_ids) = 0 or array_position(p_hotel_ids, null) is not null
                                    or exists (select 1 from unnest(p_hotel_ids) h
                                               where not exists (select 1 from core.hotels x where x.id = h))) then
        perform internal.raise_error('HOTEL_NOT_FOUND', format('hotels %s', array_to_string(p_hotel_ids, ', ', 'null')),
            'pass existing hotel ids, or none for every hotel');
    end if;
    if p_description is not null and length(p_description) > 500 then
        perform internal.raise_error('INVALID_ARGUMENT', 'description longer than 500 characters', 'shorten it');
    end if;
    v_id := nextval(pg_get_serial_sequence('core.event_consumers', 'id'));
    insert into core.event_consumers (id, name, kind, system, event_types, hotel_ids, cursor_order_xid)
    overriding system value
    values (v_id, 'webhook-' || v_id, 'webhook', p_system, p_event_types,
            (select array_agg(distinct h order by h) from unnest(p_hotel_ids) h), internal.start_position());
    insert into core.webhook_endpoints (consumer_id, url, secret, description)
    values (v_id, p_url, p_secret_sealed, p_description);
    return query select v_id, 'webhook-' || v_id;
end
$$;
comment on function api.add_webhook(text, text[], text, bigint[], text, text) is
    'Registers a webhook endpoint for the event types p_event_types (''reservation.*''), limited to p_hotel_ids (null: every hotel), filtered by the rights of p_system (admin: every field), signing with the whsec_ secret the caller made and sealed (p_secret_sealed, a fernet: token; never in clear: INVALID_ARGUMENT). It receives the events after those readable now (at least once: those a running transaction still hides come too). Returns its id and name.';

create function api.list_webhooks()
returns table (
    webhook_id            bigint,
    name                  text,
    url                   text,
    system                text,
    event_types           text[],
    hotel_ids             bigint[],
    description           text,
    disabled_at           timestamptz,
    disabled_reason       text,
    previous_secret_until timestamptz,
    pending               bigint,
    delivered             bigint,
    dead                  bigint
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('webhooks.manage');
    return query
    select c.id, c.name, w.url, c.system, c.event_types, c.hotel_ids, w.description, c.disabled_at,
           c.disabled_reason, w.previous_secret_until,
           count(d.id) filter (where d.status = 'pending'),
           count(d.id) filter (where d.status = 'delivered'),
           count(d.id) filter (where d.status = 'dead')
    from core.event_consumers c
    join core.webhook_endpoints w on w.consumer_id = c.id
    left join core.webhook_deliveries d on d.consumer_id = c.id
    group by c.id, w.consumer_id
    order by c.id;
end
$$;
comment on function api.list_webhooks() is
    'Every webhook endpoint with its filter, state, rotation window and delivery counts (never its secret).';

create function api.disable_webhook(p_webhook_id bigint, p_reason text default null) returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_consumer core.event_consumers := internal.webhook(p_webhook_id);
begin
    if p_reason is not null and (btrim(p_reason) = '' or length(p_reason) > 500) then
        perform internal.raise_error('INVALID_ARGUMENT', 'reason empty or longer than 500 characters', 'say why in a few words');
    end if;
    update core.event_consumers c
    set disabled_at = clock_timestamp(), disabled_reason = coalesce(p_reason, 'disabled by an operator')
    where c.id = v_consumer.id and c.disabled_at is null;
    return found;
end
$$;
comment on function api.disable_webhook(bigint, text) is
    'Stops deliveries to a webhook endpoint: its cursor waits, and api.enable_webhook sends what it missed (the events the retention still keeps). True when it was enabled.';

create function api.enable_webhook(p_webhook_id bigint) returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_consumer core.event_consumers := internal.webhook(p_webhook_id);
begin
    update core.event_consumers c set disabled_at = null, disabled_reason = null
    where c.id = v_consumer.id and c.disabled_at is not null;
    return found;
end
$$;
comment on function api.enable_webhook(bigint) is
    'Resumes deliveries to a disabled webhook endpoint (after a 410 or api.disable_webhook): pending deliveries and the events since its cursor go out in order. True when it was disabled.';

create function api.rotate_webhook_secret(
    p_webhook_id    bigint,
    p_secret_sealed text,
    p_overlap       interval default '24 hours'
) returns timestamptz
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_consumer core.event_consumers := internal.webhook(p_webhook_id);
    v_until    timestamptz := clock_timestamp() + p_overlap;
begin
    perform internal.require_sealed('p_secret_sealed', p_secret_sealed);
    if p_overlap is null or p_overlap < interval '0' or p_overlap > interval '30 days' then
        perform internal.raise_error('INVALID_ARGUMENT', format('overlap %s', p_overlap), 'between 0 and 30 days');
    end if;
    update core.webhook_endpoints w
    set previous_secret = case when p_overlap > interval '0' then w.secret end,
        previous_secret_until = case when p_overlap > interval '0' then v_until end,
        secret = p_secret_sealed
    where w.consumer_id = v_consumer.id;
    return case when p_overlap > interval '0' then v_until end;
end
$$;
comment on function api.rotate_webhook_secret(bigint, text, interval) is
    'Gives a webhook endpoint the new whsec_ secret the caller made and sealed (p_secret_sealed, a fernet: token; never in clear: INVALID_ARGUMENT). Until the time returned (now + p_overlap, default 24 h; null for none) every delivery carries both signatures, space-separated, so the receiver can switch over.';

create function api.webhook_sealed_secrets()
returns table (webhook_id bigint, secret_sealed text, previous_secret_sealed text)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    -- sealed tokens only (the tables' checks): the key that opens them is outside the database;
    -- the key rotation is chain-wide
    perform internal.require_right('webhooks.manage');
    perform internal.require_unrestricted_scope('webhook_sealed_secrets');
    return query select w.consumer_id, w.secret, w.previous_secret from core.webhook_endpoints w order by w.consumer_id;
end
$$;
comment on function api.webhook_sealed_secrets() is
    'Every webhook endpoint''s signing secrets as stored: sealed (fernet: tokens only the key outside the database opens), for sealing them again under a newer key (hotelcore pms rotate-keys).';

create function api.reseal_webhook_secrets(
    p_webhook_id             bigint,
    p_secret_sealed          text,
    p_previous_secret_sealed text,
    p_was_secret             text,
    p_was_previous_secret    text
) returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_consumer core.event_consumers := internal.webhook(p_webhook_id);
begin
    -- the same secrets sealed again under a newer key, only while the stored ones are still
    -- p_was_*: a rotation of the secret in between wins (false); the key rotation is chain-wide
    perform internal.require_unrestricted_scope('reseal_webhook_secrets');
    perform internal.require_sealed('p_secret_sealed', p_secret_sealed);
    if p_previous_secret_sealed is not null then
        perform internal.require_sealed('p_previous_secret_sealed', p_previous_secret_sealed);
    end if;
    update core.webhook_endpoints w
    set secret = p_secret_sealed, previous_secret = p_previous_secret_sealed
    where w.consumer_id = v_consumer.id and w.secret = p_was_secret
      and w.previous_secret is not distinct from p_was_previous_secret;
    return found;
end
$$;
comment on function api.reseal_webhook_secrets(bigint, text, text, text, text) is
    'Stores a webhook endpoint''s signing secrets sealed again under a newer key (p_*_sealed, fernet: tokens), only while the stored ones are still p_was_secret and p_was_previous_secret (false otherwise). Admin (the key rotation).';

create function api.replay_webhook(
    p_webhook_id bigint,
    p_event_id   text default null,
    p_from       timestamptz default null,
    p_until      timestamptz default null
) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_consumer core.event_consumers := internal.webhook(p_webhook_id);
    v_count    integer;
begin
    if (p_event_id is null) = (p_from is null and p_until is null) or (p_event_id is null and (p_from is null or p_until is null)) then
        perform internal.raise_error('INVALID_ARGUMENT', 'replay needs an event id, or a time range p_from and p_until',
            'pass p_event_id, or p_from and p_until');
    end if;
    if p_from is not null and (p_until <= p_from or p_until - p_from > interval '400 days') then
        perform internal.raise_error('INVALID_ARGUMENT', format('range [%s, %s)', p_from, p_until),
            'p_until after p_from, at most 400 days apart');
    end if;
    if p_event_id is not null and not exists (select 1 from core.events e where e.event_id = p_event_id) then
        perform internal.raise_error('EVENT_NOT_FOUND', format('event %L', left(p_event_id, 100)),
            'report.webhook_delivery_log lists the events sent');
    end if;
    -- the events the endpoint was given or would be given (its filter, already fanned out), again:
    -- a new delivery each, same webhook-id, behind the aggregate's pending ones
    insert into core.webhook_deliveries (consumer_id, event_pk, aggregate_kind, aggregate_id, aggregate_seq, replay_of)
    select v_consumer.id, e.id, e.aggregate_kind, e.aggregate_id, e.aggregate_seq,
           (select d.id from core.webhook_deliveries d where d.consumer_id = v_consumer.id and d.event_pk = e.id
            and d.replay_of is null)
    from core.events e
    where (e.event_id = p_event_id or e.occurred_at >= p_from and e.occurred_at < p_until)
      and (e.order_xid, e.id) <= (v_consumer.cursor_order_xid, v_consumer.cursor_id)
      and internal.event_type_wanted(e.type, v_consumer.event_types)
      and (v_consumer.hotel_ids is null or e.hotel_id is null or e.hotel_id = any (v_consumer.hotel_ids))
      and internal.event_payload_for(e.type, e.payload, v_consumer.system) is not null;
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function api.replay_webhook(bigint, text, timestamptz, timestamptz) is
    'Sends again, to a webhook endpoint, one event (p_event_id) or those that occurred in [p_from, p_until) and that it was sent (its filter): a new delivery each with the same webhook-id, in aggregate order. Returns how many.';

-- ------------------------------------------------------------------ the dispatcher's side
create function api.fanout_webhook_events(p_limit integer default 1000) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_consumer core.event_consumers;
    v_event    core.events;
    v_count    integer := 0;
begin
    perform internal.require_right('maintenance.run');
    perform internal.require_unrestricted_scope('fanout_webhook_events');
    if p_limit is null or p_limit not between 1 and 100000 then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_limit %s', p_limit), 'between 1 and 100000');
    end if;
    -- each endpoint's cursor under its row lock: another dispatcher fans out the other endpoints
    for v_consumer in
        select c.* from core.event_consumers c where c.kind = 'webhook' and c.disabled_at is null
        order by c.id for update skip locked
    loop
        for v_event in select e.* from internal.events_after(v_consumer.cursor_order_xid, v_consumer.cursor_id, p_limit) e loop
            v_consumer.cursor_order_xid := v_event.order_xid;
            v_consumer.cursor_id := v_event.id;
            if internal.event_type_wanted(v_event.type, v_consumer.event_types)
               and (v_consumer.hotel_ids is null or v_event.hotel_id is null or v_event.hotel_id = any (v_consumer.hotel_ids))
               and internal.event_payload_for(v_event.type, v_event.payload, v_consumer.system) is not null then
                insert into core.webhook_deliveries (consumer_id, event_pk, aggregate_kind, aggregate_id, aggregate_seq)
                values (v_consumer.id, v_event.id, v_event.aggregate_kind, v_event.aggregate_id, v_event.aggregate_seq);
                v_count := v_count + 1;
            end if;
        end loop;
        update core.event_consumers c
        set cursor_order_xid = v_consumer.cursor_order_xid, cursor_id = v_consumer.cursor_id, cursor_moved_at = clock_timestamp()
        where c.id = v_consumer.id and (c.cursor_order_xid, c.cursor_id) < (v_consumer.cursor_order_xid, v_consumer.cursor_id);
    end loop;
    return v_count;
end
$$;
comment on function api.fanout_webhook_events(integer) is
    'Turns the events committed since each enabled webhook endpoint''s cursor (at most p_limit per endpoint) into pending deliveries of the ones it wants and may see, and moves its cursor; endpoints another dispatcher is fanning out are skipped. Returns the deliveries created.';

create function api.claim_webhook_deliveries(
    p_dispatcher text,
    p_limit      integer default 10,
    p_lease      interval default '30 seconds'
) returns table (
    delivery_id bigint,
    attempt     integer,
    url         text,
    secrets     text[],
    message_id  text,
    event_type  text,
    body        text
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('maintenance.run');
    perform internal.require_unrestricted_scope('claim_webhook_deliveries');
    if p_dispatcher is null or btrim(p_dispatcher) = '' or length(p_dispatcher) > 200 then
        perform internal.raise_error('INVALID_ARGUMENT', 'dispatcher name empty or longer than 200', 'e.g. host:pid');
    end if;
    if p_limit is null or p_limit not between 1 and 1000 then
        perform internal.raise_error('INVALID_ARGUMENT', format('p_limit %s', p_limit), 'between 1 and 1000');
    end if;
    if p_lease is null or p_lease < interval '1 second' or p_lease > interval '1 hour' then
        perform internal.raise_error('INVALID_ARGUMENT', format('lease %s', p_lease), 'between 1 second and 1 hour');
    end if;
    -- due, not leased by a live dispatcher (SKIP LOCKED: not being claimed right now either), and
    -- the first pending one of its aggregate at its endpoint: per-aggregate order
    return query
    with due as (
        select d.id
        from core.webhook_deliveries d
        join core.event_consumers c on c.id = d.consumer_id and c.disabled_at is null
        where d.status = 'pending' and d.next_attempt_at <= clock_timestamp()
          and (d.lease_until is null or d.lease_until < clock_timestamp())
          and not exists (select 1 from core.webhook_deliveries p
                          where p.consumer_id = d.consumer_id and p.status = 'pending'
                            and p.aggregate_kind = d.aggregate_kind and p.aggregate_id = d.aggregate_id
                            and (p.aggregate_seq, p.id) < (d.aggregate_seq, d.id))
        order by d.next_attempt_at, d.id
        limit p_limit
        for update of d skip locked
    ), leased as (
        update core.webhook_deliveries d
        set lease_until = clock_timestamp() + p_lease, leased_by = p_dispatcher, attempts = d.attempts + 1
        from due where d.id = due.id
        returning d.*
    )
    select l.id, l.attempts, w.url,
           array_remove(array[w.secret, case when w.previous_secret_until > clock_timestamp() then w.previous_secret end], null),
           e.event_id, e.type,
           jsonb_build_object('type', e.type, 'timestamp', e.occurred_at,
                              'data', internal.event_document(e, internal.event_payload_for(e.type, e.payload, c.system)))::text
    from leased l
    join core.events e on e.id = l.event_pk
    join core.event_consumers c on c.id = l.consumer_id
    join core.webhook_endpoints w on w.consumer_id = l.consumer_id
    order by l.next_attempt_at, l.id;
end
$$;
comment on function api.claim_webhook_deliveries(text, integer, interval) is
    'Leases up to p_limit due deliveries to dispatcher p_dispatcher for p_lease (FOR UPDATE SKIP LOCKED: concurrent dispatchers take different rows), at most the first pending one per aggregate and endpoint, and returns what to send: URL, the secrets to sign with, sealed (two during a rotation; the dispatcher opens them with its key outside the database), the webhook-id (the event id) and the body.';

create function api.record_webhook_attempt(
    p_delivery_id bigint,
    p_dispatcher  text,
    p_started_at  timestamptz,
    p_latency_ms  numeric,
    p_status_code integer default null,
    p_error       text default null,
    p_retry_in    interval default null
) returns text
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_delivery core.webhook_deliveries;
    v_status   text;
begin
    perform internal.require_right('maintenance.run');
    if p_status_code is null and (p_error is null or btrim(p_error) = '') then
        perform internal.raise_error('INVALID_ARGUMENT', 'an attempt has a status code or an error', 'pass one');
    end if;
    if p_status_code is not null and p_status_code not between 100 and 599 then
        perform internal.raise_error('INVALID_ARGUMENT', format('status code %s', p_status_code), 'an HTTP status 100-599');
    end if;
    if p_latency_ms is null or p_latency_ms < 0 or p_latency_ms > 3600000 or p_latency_ms = 'NaN' then
        perform internal.raise_error('INVALID_ARGUMENT', format('latency %s ms', p_latency_ms), 'milliseconds, 0 to one hour');
    end if;
    if p_started_at is null or p_started_at not between clock_timestamp() - interval '1 day' and clock_timestamp() + interval '1 minute' then
        perform internal.raise_error('INVALID_ARGUMENT', format('started_at %s', p_started_at), 'when the request was sent');
    end if;
    if p_retry_in is not null and (p_retry_in < interval '0' or p_retry_in > interval '7 days') then
        perform internal.raise_error('INVALID_ARGUMENT', format('retry in %s', p_retry_in), 'between 0 and 7 days');
    end if;
    select d.* into v_delivery from core.webhook_deliveries d where d.id = p_delivery_id for update;
    if v_delivery.id is null then
        perform internal.raise_error('INVALID_ARGUMENT', format('delivery %s', p_delivery_id), 'a delivery_id api.claim_webhook_deliveries returned');
    end if;
    -- the attempt is kept with its delivery (and its event): the delivery's aggregate
    insert into core.webhook_attempts (delivery_id, aggregate_id, attempt, started_at, latency_ms, status_code, error, dispatcher)
    values (v_delivery.id, v_delivery.aggregate_id, greatest(v_delivery.attempts, 1), p_started_at, p_latency_ms, p_status_code,
            left(p_error, 1000), p_dispatcher);
    -- only the lease holder decides; a dispatcher whose lease ran out (another one took over) logs only
    if v_delivery.status <> 'pending' or v_delivery.leased_by is distinct from p_dispatcher then
        return v_delivery.status;
    end if;
    v_status := case when p_status_code between 200 and 299 then 'delivered'
                     -- 410 Gone: the receiver is gone for good; the endpoint is disabled
                     when p_status_code = 410 then 'dead'
                     when p_retry_in is null then 'dead'
                     else 'pending' end;
    update core.webhook_deliveries d
    set status = v_status,
        next_attempt_at = case when v_status = 'pending' then clock_timestamp() + p_retry_in else d.next_attempt_at end,
        lease_until = null, leased_by = null,
        finished_at = case when v_status <> 'pending' then clock_timestamp() end,
        last_status = p_status_code, last_error = left(p_error, 1000)
    where d.id = v_delivery.id;
    if p_status_code = 410 then
        update core.event_consumers c
        set disabled_at = clock_timestamp(), disabled_reason = format('the endpoint answered 410 Gone (delivery %s)', v_delivery.id)
        where c.id = v_delivery.consumer_id and c.disabled_at is null;
    end if;
    return v_status;
end
$$;
comment on function api.record_webhook_attempt(bigint, text, timestamptz, numeric, integer, text, interval) is
    'Logs an attempt of a leased delivery and decides what it means: 2xx delivered; 410 dead and the endpoint disabled; otherwise pending again in p_retry_in (the dispatcher''s backoff, or Retry-After), or a dead letter when p_retry_in is null (no attempt left). Returns the delivery''s status.';
