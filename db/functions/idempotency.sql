-- Idempotency records of the HTTP layer (seed 001): a request replayed with the same key and body
-- gets the first answer again; the same key with another body is refused.

-- ---------------------------------------------------------------------------- idempotency

create function internal.begin_idempotent(p_key text, p_fingerprint bytea)
returns table (idempotency_key_id bigint, replayed boolean, response_status integer, response_body bytea)
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_api_key_id bigint := internal.request_api_key_id();
    v_id         bigint;
    v_row        core.idempotency_keys;
begin
    if v_api_key_id is null then
        perform internal.raise_error('AUTHENTICATION_FAILED', 'no request context', 'call api.authenticate first');
    end if;
    if p_key is null or length(p_key) not between 1 and 255 then
        perform internal.raise_error('INVALID_ARGUMENT', 'Idempotency-Key must be 1 to 255 characters',
            'send a UUID per logical request');
    end if;
    if p_fingerprint is null or octet_length(p_fingerprint) <> 32 then
        perform internal.raise_error('INVALID_ARGUMENT', 'fingerprint must be a sha256', 'hash the request');
    end if;
    -- a record older than 24 h is forgotten: the key starts afresh
    delete from core.idempotency_keys k
    where k.api_key_id = v_api_key_id and k.key = p_key and k.status = 'completed'
      and k.created_at < internal.now() - interval '24 hours';
    -- the first request with the key records it; a concurrent one waits here for its commit
    insert into core.idempotency_keys (api_key_id, key, fingerprint, created_at)
    values (v_api_key_id, p_key, p_fingerprint, internal.now())
    on conflict on constraint idempotency_keys_key_unique do nothing
    returning id into v_id;
    if v_id is not null then
        return query select v_id, false, null::integer, null::bytea;
        return;
    end if;
    select k.* into v_row from core.idempotency_keys k where k.api_key_id = v_api_key_id and k.key = p_key;
    -- the same key with another request
    if v_row.fingerprint <> p_fingerprint then
        perform internal.raise_error('IDEMPOTENCY_MISMATCH',
            format('Idempotency-Key %L was first used at %s with another request', p_key, v_row.created_at),
            'use a new key for a new request');
    end if;
    -- the first request is still running
    if v_row.status = 'in_progress' then
        perform internal.raise_error('IDEMPOTENCY_IN_PROGRESS',
            format('Idempotency-Key %L: the first request started at %s is still running', p_key, v_row.created_at),
            'retry shortly: the first answer will be replayed');
    end if;
    return query select v_row.id, true, v_row.response_status, v_row.response_body;
end
$$;
comment on function internal.begin_idempotent(text, bytea) is
    'The body of api.begin_idempotent without its rights check (callers check them): starts a request under an Idempotency-Key of the calling API key: new -> recorded in_progress (replayed false); completed with the same fingerprint -> the stored answer (replayed true); another fingerprint -> IDEMPOTENCY_MISMATCH; still running -> IDEMPOTENCY_IN_PROGRESS. Records older than 24 h are forgotten.';

create function api.begin_idempotent(p_key text, p_fingerprint bytea)
returns table (idempotency_key_id bigint, replayed boolean, response_status integer, response_body bytea)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('reservation.create');
    return query select b.idempotency_key_id, b.replayed, b.response_status, b.response_body
                 from internal.begin_idempotent(p_key, p_fingerprint) b;
end
$$;
comment on function api.begin_idempotent(text, bytea) is
    'Starts a request under an Idempotency-Key of the calling API key: new -> recorded in_progress (replayed false); completed with the same fingerprint -> the stored answer (replayed true); another fingerprint -> IDEMPOTENCY_MISMATCH; still running -> IDEMPOTENCY_IN_PROGRESS. Records older than 24 h are forgotten.';

create function api.complete_idempotent(
    p_idempotency_key_id bigint,
    p_response_status    integer,
    p_response_body      bytea
) returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_api_key_id bigint := internal.request_api_key_id();
    v_record     core.idempotency_keys;
begin
    perform internal.require_right('reservation.create');
    if p_response_status is null or p_response_status not between 200 and 599 or p_response_body is null then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('response status %s (200 to 599) and a body are required',
                   coalesce(p_response_status::text, 'null')),
            'pass the HTTP status and the body to replay');
    end if;
    -- a record of the calling API key; outside a request only recovery (unrestricted) completes one
    select k.* into v_record from core.idempotency_keys k
    where k.id = p_idempotency_key_id
      and (k.api_key_id = v_api_key_id or (v_api_key_id is null and internal.caller_unrestricted()))
    for update;
    if v_record.id is null then
        perform internal.raise_error('IDEMPOTENCY_RECORD_NOT_FOUND',
            format('idempotency record %s', coalesce(p_idempotency_key_id::text, 'null')),
            'pass the id api.begin_idempotent returned to this API key');
    end if;
    if v_record.status <> 'in_progress' then
        return false;
    end if;
    -- "try again later" answers are not kept: the record goes, so a retry with the key runs anew
    if p_response_status = 503 then
        delete from core.idempotency_keys k where k.id = v_record.id;
        return true;
    end if;
    update core.idempotency_keys k
    set status = 'completed', response_status = p_response_status, response_body = p_response_body,
        completed_at = internal.now()
    where k.id = v_record.id;
    return true;
end
$$;
comment on function api.complete_idempotent(bigint, integer, bytea) is
    'Stores the answer of an in-progress idempotent request of the calling API key, to be replayed byte for byte; a 503 answer is not stored (the record is removed so the key may be retried). False when the record was not in progress; IDEMPOTENCY_RECORD_NOT_FOUND for another key''s record.';

create function api.purge_idempotency_keys(p_stale_after interval default interval '10 minutes')
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_count integer;
begin
    perform internal.require_right('maintenance.run');
    -- completed answers are kept 24 h; an in-progress record whose request died before its saga
    -- started (no saga points at it) is dropped after p_stale_after so the key can be retried
    delete from core.idempotency_keys k
    where (k.status = 'completed' and k.created_at < internal.now() - interval '24 hours')
       or (k.status = 'in_progress' and k.created_at < internal.now() - p_stale_after
           and not exists (select 1 from core.checkout_sagas s where s.idempotency_key_id = k.id));
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function api.purge_idempotency_keys(interval) is
    'Deletes idempotency records older than 24 h, and in-progress ones older than p_stale_after that no saga carries. Returns how many.';
