-- Views of the front desk.

-- The folio balance is never stored: it is charges minus payments, read from the lines.
create view api.folio_balances as
select f.id as folio_id, f.reservation_id, f.hotel_id, f.currency,
       coalesce(sum(l.amount) filter (where l.kind not in ('payment', 'refund')), 0) as charges,
       coalesce(-sum(l.amount) filter (where l.kind in ('payment', 'refund')), 0) as payments,
       coalesce(sum(l.amount), 0) as balance,
       f.settled_at
from core.folios f
left join core.folio_lines l on f.id = l.folio_id
group by f.id, f.hotel_id;
comment on view api.folio_balances is
    'Every folio with its charges, its payments (captures minus refunds) and balance = charges - payments, in the folio currency.';
comment on column api.folio_balances.charges is 'Room nights, taxes, services, fees and adjustments posted.';
comment on column api.folio_balances.payments is 'Captured payments minus refunds.';
comment on column api.folio_balances.balance is 'What the guest owes (negative: what the hotel owes back); zero to check out.';
comment on column api.folio_balances.settled_at is 'When check-out found the balance at zero.';

-- The counter the front desk keeps on the calendar, recounted from the blocks it summarises.
create view report.room_block_recount with (security_invoker = false) as
with blocks as (
    select b.hotel_id, b.room_type_id, n.night::date as night, count(*)::integer as blocked
    from core.room_blocks b
    cross join generate_series(lower(b.nights), coalesce(b.released_from, upper(b.nights)) - 1, interval '1 day') as n(night)
    group by b.hotel_id, b.room_type_id, n.night
)
select i.hotel_id, i.room_type_id, i.night, i.blocked, coalesce(b.blocked, 0) as blocked_recount,
       i.blocked <> coalesce(b.blocked, 0) as drifted
from core.inventory i
left join blocks b on i.hotel_id = b.hotel_id and i.room_type_id = b.room_type_id and i.night = b.night
where i.blocked > 0 or b.blocked is not null;
comment on view report.room_block_recount is
    'core.inventory.blocked per room type and night next to a recount of the active room blocks; drifted is never true.';
comment on column report.room_block_recount.hotel_id is 'The hotel.';
comment on column report.room_block_recount.room_type_id is 'The room type.';
comment on column report.room_block_recount.night is 'The night.';
comment on column report.room_block_recount.blocked is 'The counter on core.inventory.';
comment on column report.room_block_recount.blocked_recount is 'Room blocks of the type covering the night (released ones up to their released_from).';
comment on column report.room_block_recount.drifted is 'True when the counter and the recount differ.';
