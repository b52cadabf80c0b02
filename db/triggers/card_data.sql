-- Card data (PCI DSS): no free-text column stores a card number. Every column a caller's text
-- reaches (special requests, the checkout saga's stored request and gateway references, reasons,
-- descriptions, review and feedback text, order notes, concierge requests, addresses, preferences) is checked on insert and on update by one row
-- trigger, whatever function writes it: CARD_NUMBER_REFUSED (internal.refuse_card_number) names the
-- table and column, and the statement writes nothing. core.payments.processor_reference keeps its
-- check constraint (db/schema/frontdesk.sql). Identifiers the client makes up (idempotency keys,
-- hold client keys) are not free text and are not checked: a numeric key could pass the Luhn test.
-- Cost: the trigger fires only when a text column holds a card number (core.looks_like_card_number
-- in its WHEN clause, so a clean row runs no trigger function) or a jsonb column is not null, and
-- on update only when the statement sets one of the columns.

create function internal.tg_refuse_card_numbers() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_row    jsonb := to_jsonb(new);
    v_old    jsonb := case when tg_op = 'UPDATE' then to_jsonb(old) end;
    v_column text;
begin
    -- the columns to check are the trigger's arguments; a jsonb column is checked as its JSON text,
    -- without the request id the API gave the request (an identifier, not text a caller wrote: a
    -- random hex id holds a Luhn-valid run of 13-19 digits about once in a few hundred). An update
    -- checks the columns it changes: the others were checked when they were written.
    foreach v_column in array tg_argv loop
        continue when v_old is not null and (v_row -> v_column) is not distinct from (v_old -> v_column);
        perform internal.refuse_card_number(
            format('%s.%s', tg_table_name, v_column),
            case when jsonb_typeof(v_row -> v_column) = 'object'
                 then ((v_row -> v_column) - 'request_id')::text
                 else v_row ->> v_column end);
    end loop;
    return new;
end
$$;
comment on function internal.tg_refuse_card_numbers() is
    'Row trigger: CARD_NUMBER_REFUSED when a column named in the trigger''s arguments holds a card number.';

do $$
declare
    v_guard record;
    v_tests text[];
begin
    for v_guard in
        select t.name, t.columns from (values
            ('reservations',        array['special_requests', 'payment_authorisation']),
            ('cancellations',       array['reason']),
            ('checkout_sagas',      array['special_requests', 'request', 'authorisation_ref', 'capture_ref', 'error_detail']),
            ('checkout_saga_steps', array['detail']),
            ('customers',           array['address_line1', 'address_line2', 'preferences']),
            ('room_status_log',     array['reason']),
            ('room_blocks',         array['reason']),
            ('payments',            array['failure_reason']),
            ('folio_lines',         array['description']),
            ('points_ledger',       array['reason']),
            ('rank_history',        array['reason']),
            ('reviews',             array['title', 'comment']),
            ('customer_merges',     array['reason']),
            ('service_items',       array['description']),
            ('service_orders',      array['notes', 'cancel_reason']),
            ('concierge_requests',  array['details', 'staff_notes']),
            ('feedback',            array['comment'])
        ) as t(name, columns)
    loop
        -- the WHEN clause: the card test itself on a text column; a jsonb column (checked as its
        -- JSON text, without the request id) goes to the trigger function whenever it is set
        v_tests := array(
            select case when a.atttypid = 'jsonb'::regtype then format('new.%I is not null', c.name)
                        else format('core.looks_like_card_number(new.%I)', c.name) end
            from unnest(v_guard.columns) with ordinality c(name, ord)
            join pg_catalog.pg_attribute a on a.attrelid = format('core.%I', v_guard.name)::regclass and a.attname = c.name
            order by c.ord);
        -- a trigger already guarding exactly these columns with these tests stays as it is (a deploy
        -- touches no trigger of a hot table it does not change)
        continue when exists (
            select 1 from pg_catalog.pg_trigger g
            where g.tgrelid = format('core.%I', v_guard.name)::regclass and g.tgname = '_050_refuse_card_numbers'
              and g.tgattr::int2[] = (select array_agg(a.attnum order by c.ord)
                                      from unnest(v_guard.columns) with ordinality c(name, ord)
                                      join pg_catalog.pg_attribute a
                                        on a.attrelid = g.tgrelid and a.attname = c.name)
              and (select bool_and(pg_catalog.strpos(pg_catalog.lower(pg_catalog.pg_get_triggerdef(g.oid)),
                                                     pg_catalog.lower(pg_catalog.replace(t, 'core.', ''))) > 0)
                   from unnest(v_tests) t));
        execute format(
            'create or replace trigger _050_refuse_card_numbers before insert or update of %s on core.%I for each row'
            ' when (%s) execute function internal.tg_refuse_card_numbers(%s)',
            (select string_agg(format('%I', c), ', ') from unnest(v_guard.columns) c),
            v_guard.name,
            array_to_string(v_tests, ' or '),
            (select string_agg(format('%L', c), ', ') from unnest(v_guard.columns) c));
    end loop;
end
$$;
