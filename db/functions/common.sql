-- Helpers every domain uses: the movable clock.

create function internal.now() returns timestamptz
language sql
stable
-- parallel safe: pg_catalog.now() is the transaction's start, which parallel workers share, and
-- core.clock is a table; the report views that read the clock may then run in parallel
parallel safe
-- definer: views run their functions as the reader, who holds no right on core.clock
security definer
set search_path = pg_catalog, pg_temp
as $$
    select pg_catalog.now() + c.shift from core.clock c where c.id
$$;
comment on function internal.now() is
    'The time every rule reads: the transaction''s now() plus core.clock.shift (zero outside tests and the demo).';

create function internal.shift_clock(p_shift interval) returns timestamptz
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_shift is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_shift is null', 'pass an interval, e.g. ''0''');
    end if;
    update core.clock set shift = p_shift where id;
    return internal.now();
end
$$;
comment on function internal.shift_clock(interval) is
    'Moves the clock internal.now() reads to now() + p_shift. Owner only: for tests and the demo''s day-by-day simulation.';

-- Card data (PCI DSS): hotelcore never stores a card number. core.looks_like_card_number (a run of
-- 13-19 digits, spaces or dashes between them, passing the Luhn check) is the one test; this is the
-- one refusal, used by the api functions that take a reference and by the row triggers that guard
-- every free-text column (db/triggers/card_data.sql).
create function internal.refuse_card_number(p_field text, p_text text) returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if core.looks_like_card_number(p_text) then
        perform internal.raise_error('CARD_NUMBER_REFUSED', format('%s holds a card number', p_field),
            'never send card numbers: the payment gateway takes the card and returns a token or a reference');
    end if;
end
$$;
comment on function internal.refuse_card_number(text, text) is
    'CARD_NUMBER_REFUSED naming p_field when p_text holds a card number (core.looks_like_card_number); nothing otherwise.';
