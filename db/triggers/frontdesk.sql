-- Front-desk triggers: the room operation log, payments posted to
-- the folio, fees of cancellations and no-shows posted to the folio, and room assignments
-- released when their room line is cancelled, marked no-show or moved to other dates.

-- ---------------------------------------------------------------- room status log (seed 000 v2.1)

create function internal.tg_rooms__log_status()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    -- who: the role the caller runs as (SET ROLE survives security definer; current_user inside
    -- an api function would be its owner), plus the application user the api function was given
    insert into core.room_status_log (hotel_id, room_id, from_status, to_status, reason, app_user, db_user, changed_at)
    values (new.hotel_id, new.id, old.status, new.status,
            nullif(current_setting('hotelcore.status_reason', true), ''),
            nullif(current_setting('hotelcore.app_user', true), ''),
            coalesce(nullif(current_setting('role'), 'none'), session_user::text),
            internal.now());
    return null;
end
$$;
comment on function internal.tg_rooms__log_status() is
    'Writes every housekeeping status change of a room to core.room_status_log: from, to, why and the application user (set by internal.change_room_status), the database role, when.';

create trigger _100_log_status
after update of status on core.rooms
for each row
when (old.status is distinct from new.status)
execute function internal.tg_rooms__log_status();
comment on trigger _100_log_status on core.rooms is
    'Front desk: the room operation log (internal.tg_rooms__log_status).';

-- ---------------------------------------------------------------- one folio per reservation

-- Every reservation has a folio in its currency: opened with the reservation's other records by
-- internal.tg_reservations__new_records (db/triggers/reservation.sql), one statement per insert.

-- ---------------------------------------------------------------- payments post to the folio

create function internal.tg_payments__post_to_folio()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_captured numeric := new.captured_amount - case when tg_op = 'UPDATE' then old.captured_amount else 0 end;
    v_refunded numeric := new.refunded_amount - case when tg_op = 'UPDATE' then old.refunded_amount else 0 end;
    v_user     text := nullif(current_setting('hotelcore.app_user', true), '');
begin
    if v_captured < 0 or v_refunded < 0 then
        perform internal.raise_error('INVALID_PAYMENT_STATE',
            format('payment %s: captured or refunded amount cannot go down', new.id),
            'a capture is undone by a refund');
    end if;
    if v_captured > 0 then
        insert into core.folio_lines (hotel_id, folio_id, currency, kind, description, amount, payment_id, posted_by, posted_at)
        values (new.hotel_id, new.folio_id, new.currency, 'payment',
                format('%s payment %s', new.method, coalesce(new.processor_reference, '#' || new.id)),
                -v_captured, new.id, v_user, internal.now());
    end if;
    if v_refunded > 0 then
        insert into core.folio_lines (hotel_id, folio_id, currency, kind, description, amount, payment_id, posted_by, posted_at)
        values (new.hotel_id, new.folio_id, new.currency, 'refund',
                format('refund of %s payment %s', new.method, coalesce(new.processor_reference, '#' || new.id)),
                v_refunded, new.id, v_user, internal.now());
    end if;
    return null;
end
$$;
comment on function internal.tg_payments__post_to_folio() is
    'Posts each capture (negative) and refund (positive) of a payment to its folio, so the folio balance is the sum of its lines.';

-- fired only when an amount it posts changed (an authorisation or a status change posts nothing)
create trigger _100_post_to_folio
after update of captured_amount, refunded_amount on core.payments
for each row
when (new.captured_amount is distinct from old.captured_amount or new.refunded_amount is distinct from old.refunded_amount)
execute function internal.tg_payments__post_to_folio();
comment on trigger _100_post_to_folio on core.payments is
    'Front desk: captures and refunds become folio lines (internal.tg_payments__post_to_folio).';

create trigger _100_post_to_folio_on_insert
after insert on core.payments
for each row
when (new.captured_amount > 0 or new.refunded_amount > 0)
execute function internal.tg_payments__post_to_folio();
comment on trigger _100_post_to_folio_on_insert on core.payments is
    'Front desk: a payment recorded already captured or refunded posts its lines (internal.tg_payments__post_to_folio).';

-- ---------------------------------------------------------------- cancellation and no-show fees

create function internal.tg_cancellations__post_fee()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    insert into core.folio_lines (hotel_id, folio_id, currency, kind, description, amount, business_date, posted_at)
    select f.hotel_id, f.id, f.currency,
           case n.kind when 'no_show' then 'no_show_fee' else 'cancellation_fee' end::core.folio_line_kind,
           case n.kind when 'no_show' then 'no-show fee' else 'cancellation fee' end,
           n.fee_amount, h.business_date, internal.now()
    from new_rows n
    join core.folios f on f.reservation_id = n.reservation_id and f.currency = n.currency
    join core.hotels h on h.id = f.hotel_id
    where n.fee_amount > 0;
    return null;
end
$$;
comment on function internal.tg_cancellations__post_fee() is
    'Posts the fee of each cancellation or no-show (core.cancellations, seed 003) to the reservation''s folio.';

create trigger _100_post_fee
after insert on core.cancellations
referencing new table as new_rows
for each statement
execute function internal.tg_cancellations__post_fee();
comment on trigger _100_post_fee on core.cancellations is
    'Front desk: cancellation and no-show fees land on the folio (internal.tg_cancellations__post_fee).';

-- ---------------------------------------------------------------- assignments follow their room line

create function internal.tg_reservation_rooms__release_assignments()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    -- a cancelled or no-show line gives its rooms back; a line moved to other dates keeps only
    -- the assignments still inside its stay (a stay shortened at check-out keeps its history)
    update core.room_assignments a
    set active = false, released_at = internal.now()
    from new_rows n
    where a.reservation_room_id = n.id and a.active
      and (n.status in ('cancelled', 'no_show') or not (n.stay @> a.nights));
    return null;
end
$$;
comment on function internal.tg_reservation_rooms__release_assignments() is
    'Releases the room assignments of room lines that were cancelled, marked no-show, or whose stay no longer contains the assigned nights.';

create trigger _100_release_assignments
after update on core.reservation_rooms
referencing new table as new_rows
for each statement
execute function internal.tg_reservation_rooms__release_assignments();
comment on trigger _100_release_assignments on core.reservation_rooms is
    'Front desk: a cancelled, no-show or re-dated room line frees its rooms (internal.tg_reservation_rooms__release_assignments).';
