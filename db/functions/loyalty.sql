-- Loyalty (seed 000's points, seed 003's ranks and reviews). Every movement of points goes
-- through internal.points_credit / internal.points_debit with the customer's points_accounts row
-- locked, so the balance and the ledger change together and concurrent redeems queue.

-- ---------------------------------------------------------------------------- points: helpers

create function internal.points_account_lock(p_customer_id bigint)
returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_balance integer;
begin
    insert into core.points_accounts (customer_id, updated_at) values (p_customer_id, internal.now())
    on conflict (customer_id) do nothing;
    select a.balance into v_balance from core.points_accounts a where a.customer_id = p_customer_id for update;
    return v_balance;
end
$$;
comment on function internal.points_account_lock(bigint) is
    'Creates the customer''s points account if missing, locks it until the transaction ends and returns its balance. Every points movement starts here.';

create function internal.points_credit(
    p_customer_id    bigint,
    p_kind           text,
    p_points         integer,
    p_reason         text default null,
    p_reservation_id bigint default null,
    p_expires_at     timestamptz default null,
    p_moved_from     bigint default null
) returns bigint
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_balance integer;
    v_id      bigint;
begin
    -- the caller holds the account lock (internal.points_account_lock)
    update core.points_accounts a
    set balance = a.balance + p_points, updated_at = internal.now()
    where a.customer_id = p_customer_id
    returning a.balance into v_balance;
    -- a credit is a lot that expires after the programme's months (or keeps a moved lot's expiry)
    insert into core.points_ledger (customer_id, kind, points, balance_after, remaining, expires_at,
                                    reservation_id, reason, moved_from, created_at)
    values (p_customer_id, p_kind, p_points, v_balance, p_points,
            coalesce(p_expires_at, internal.now() + make_interval(months => (
                select s.points_expiry_months from core.loyalty_settings s where s.id))),
            p_reservation_id, p_reason, p_moved_from, internal.now())
    returning id into v_id;
    return v_id;
end
$$;
comment on function internal.points_credit(bigint, text, integer, text, bigint, timestamptz, bigint) is
    'Adds p_points (> 0) as a new lot expiring after loyalty_settings.points_expiry_months (or at p_expires_at) and raises the balance. The caller holds the account lock.';

create function internal.points_debit(
    p_customer_id    bigint,
    p_kind           text,
    p_points         integer,
    p_reason         text default null,
    p_reservation_id bigint default null,
    p_lot_id         bigint default null
) returns bigint
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_balance integer;
    v_id      bigint;
begin
    -- the caller holds the account lock; more than the balance is refused (the check
    -- points_balance_not_negative would refuse it too)
    select a.balance into v_balance from core.points_accounts a where a.customer_id = p_customer_id;
    if coalesce(v_balance, 0) < p_points then
        perform internal.raise_error('INSUFFICIENT_POINTS',
            format('customer %s has %s points, %s asked', p_customer_id, coalesce(v_balance, 0), p_points),
            'ask for at most the balance');
    end if;
    if p_lot_id is not null then
        -- expiry consumes exactly its lot
        update core.points_ledger l set remaining = l.remaining - p_points where l.id = p_lot_id;
    else
        -- oldest expiry first: each lot gives what is still needed after the lots before it
        update core.points_ledger l
        set remaining = l.remaining - least(l.remaining, p_points - (o.running - l.remaining))
        from (select x.id, sum(x.remaining) over (order by x.expires_at, x.id) as running
              from core.points_ledger x
              where x.customer_id = p_customer_id and x.remaining > 0) o
        where l.id = o.id and o.running - l.remaining < p_points;
    end if;
    update core.points_accounts a
    set balance = a.balance - p_points, updated_at = internal.now()
    where a.customer_id = p_customer_id
    returning a.balance into v_balance;
    insert into core.points_ledger (customer_id, kind, points, balance_after, reservation_id, lot_id, reason, created_at)
    values (p_customer_id, p_kind, -p_points, v_balance, p_reservation_id, p_lot_id, p_reason, internal.now())
    returning id into v_id;
    return v_id;
end
$$;
comment on function internal.points_debit(bigint, text, integer, text, bigint, bigint) is
    'Takes p_points (> 0) from the balance, consuming lots oldest expiry first (or only lot p_lot_id), and records the entry; raises INSUFFICIENT_POINTS beyond the balance. The caller holds the account lock.';

create function internal.points_expire_due(p_customer_id bigint)
returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_lot   record;
    v_total integer := 0;
begin
    -- the caller holds the account lock; each due lot expires in its own entry, oldest first
    for v_lot in
        select l.id, l.remaining, l.expires_at
        from core.points_ledger l
        where l.customer_id = p_customer_id and l.remaining > 0 and l.expires_at <= internal.now()
        order by l.expires_at, l.id
    loop
        perform internal.points_debit(p_customer_id, 'expire', v_lot.remaining,
            format('lot %s expired at %s', v_lot.id, v_lot.expires_at), null, v_lot.id);
        v_total := v_total + v_lot.remaining;
    end loop;
    return v_total;
end
$$;
comment on function internal.points_expire_due(bigint) is
    'Expires what remains of the customer''s lots whose expiry has passed, oldest first, one expire entry per lot. Returns the points expired. The caller holds the account lock.';

create function internal.assert_customer_active(p_customer_id bigint)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_merged_into bigint;
begin
    select c.merged_into into v_merged_into from core.customers c where c.id = p_customer_id;
    if not found then
        perform internal.raise_error('CUSTOMER_NOT_FOUND', format('customer_id %s', p_customer_id),
            'check the customer id');
    end if;
    if v_merged_into is not null then
        perform internal.raise_error('CUSTOMER_NOT_FOUND',
            format('customer_id %s was merged into customer %s', p_customer_id, v_merged_into),
            format('use customer %s', v_merged_into));
    end if;
end
$$;
comment on function internal.assert_customer_active(bigint) is
    'Raises CUSTOMER_NOT_FOUND for an unknown or merged customer (without locking it).';

create function internal.points_earn_for_stay(p_reservation_id bigint)
returns table (entry_id bigint, points integer, balance integer, newly_earned boolean)
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_r        record;
    v_rate     numeric;
    v_points   integer;
    v_balance  integer;
    v_existing record;
begin
    select r.id, r.customer_id, r.status::text as status, r.currency, r.total_amount, c.is_member
    into v_r
    from core.reservations r
    left join core.customers c on c.id = r.customer_id
    where r.id = p_reservation_id;
    if not found then
        perform internal.raise_error('RESERVATION_NOT_FOUND', format('reservation_id %s', p_reservation_id),
            'check the reservation id');
    end if;
    -- only a stay that was checked out earns
    if v_r.status <> 'checked_out' then
        perform internal.raise_error('INVALID_STATE_TRANSITION',
            format('reservation %s is %s; points are earned for checked_out stays', p_reservation_id, v_r.status),
            'earn after check-out');
    end if;
    select e.points_per_unit into v_rate from core.points_earn_rates e where e.currency = v_r.currency;
    if v_rate is null then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('no points earn rate for currency %s (reservation %s)', v_r.currency, p_reservation_id),
            'add the currency to core.points_earn_rates');
    end if;
    v_balance := internal.points_account_lock(v_r.customer_id);
    -- once per reservation, however often asked (the unique index keeps it under any race)
    select l.id, l.points into v_existing
    from core.points_ledger l where l.reservation_id = p_reservation_id and l.kind = 'earn';
    if found then
        return query select v_existing.id, v_existing.points, v_balance, false;
        return;
    end if;
    -- guests who did not join earn nothing (they can still earn the stay after joining)
    v_points := floor(coalesce(v_r.total_amount, 0) * v_rate)::integer;
    if not v_r.is_member or v_points <= 0 then
        return query select null::bigint, 0, v_balance, false;
        return;
    end if;
    entry_id := internal.points_credit(v_r.customer_id, 'earn', v_points, null, p_reservation_id);
    return query select entry_id, v_points, v_balance + v_points, true;
end
$$;
comment on function internal.points_earn_for_stay(bigint) is
    'Earns floor(total_amount * rate of its currency) points for a checked-out reservation of a member, once per reservation.';

-- ---------------------------------------------------------------------------- points: api

create function api.earn_stay_points(p_reservation_id bigint)
returns table (entry_id bigint, points integer, balance integer, newly_earned boolean)
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
    select internal.require_right('loyalty.update');
    select e.entry_id, e.points, e.balance, e.newly_earned from internal.points_earn_for_stay(p_reservation_id) e
$$;
comment on function api.earn_stay_points(bigint) is
    'Earns the points of a checked-out stay for its member (seed 000): floor(total_amount * core.points_earn_rates of its currency), once per reservation however often called (newly_earned false and the first entry the next times; 0 points for a guest who is not a member). RESERVATION_NOT_FOUND, INVALID_STATE_TRANSITION if not checked out.';

create function api.earn_due_stay_points(p_hotel_id bigint default null)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_reservation_id bigint;
    v_count          integer := 0;
    v_newly          boolean;
begin
    perform internal.require_right('loyalty.update');
    -- the daily batch (seed 000: member points are a daily calculation)
    for v_reservation_id in
        select r.id
        from core.reservations r
        join core.customers c on c.id = r.customer_id and c.is_member
        join core.points_earn_rates e on e.currency = r.currency
        where r.status = 'checked_out'
          and (p_hotel_id is null or r.hotel_id = p_hotel_id)
          and not exists (select 1 from core.points_ledger l where l.reservation_id = r.id and l.kind = 'earn')
        order by r.id
    loop
        select e.newly_earned into v_newly from internal.points_earn_for_stay(v_reservation_id) e;
        if v_newly then
            v_count := v_count + 1;
        end if;
    end loop;
    return v_count;
end
$$;
comment on function api.earn_due_stay_points(bigint) is
    'Daily batch: earns the points of every checked-out stay of a member not yet earned (of one hotel, or all). Returns how many stays earned.';

create function api.redeem_points(
    p_customer_id    bigint,
    p_points         integer,
    p_reservation_id bigint default null,
    p_reason         text default null
) returns table (entry_id bigint, balance integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('loyalty.update');
    if p_points is null or p_points <= 0 then
        perform internal.raise_error('INVALID_ARGUMENT', format('points %s: redeem a positive number', p_points),
            'pass points > 0');
    end if;
    perform internal.assert_customer_active(p_customer_id);
    if p_reservation_id is not null
       and not exists (select 1 from core.reservations r where r.id = p_reservation_id and r.customer_id = p_customer_id) then
        perform internal.raise_error('RESERVATION_NOT_FOUND',
            format('reservation_id %s of customer %s', p_reservation_id, p_customer_id), 'check the reservation id');
    end if;
    -- lots past their expiry are gone before anything is spent
    perform internal.points_account_lock(p_customer_id);
    perform internal.points_expire_due(p_customer_id);
    entry_id := internal.points_debit(p_customer_id, 'redeem', p_points, nullif(btrim(p_reason), ''), p_reservation_id);
    select a.balance into balance from core.points_accounts a where a.customer_id = p_customer_id;
    return next;
end
$$;
comment on function api.redeem_points(bigint, integer, bigint, text) is
    'Spends p_points (seed 000 POST /customers/{id}/points), oldest-expiring lots first, after expiring due lots. INSUFFICIENT_POINTS beyond the balance (concurrent redeems queue on the account row), CUSTOMER_NOT_FOUND, INVALID_ARGUMENT.';

create function api.adjust_points(
    p_customer_id bigint,
    p_points      integer,
    p_reason      text
) returns table (entry_id bigint, balance integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('loyalty.update');
    -- balances are integers: one adjustment moves at most ten million points
    if p_points is null or p_points = 0 or p_points not between -10000000 and 10000000 then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('points %s: adjust by a non-zero number up to 10000000 either way', coalesce(p_points::text, 'null')),
            'pass +n or -n');
    end if;
    if nullif(btrim(p_reason), '') is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'reason is required for an adjustment',
            'say why the points change');
    end if;
    perform internal.assert_customer_active(p_customer_id);
    perform internal.points_account_lock(p_customer_id);
    perform internal.points_expire_due(p_customer_id);
    if p_points > 0 then
        entry_id := internal.points_credit(p_customer_id, 'adjust', p_points, btrim(p_reason));
    else
        entry_id := internal.points_debit(p_customer_id, 'adjust', -p_points, btrim(p_reason));
    end if;
    select a.balance into balance from core.points_accounts a where a.customer_id = p_customer_id;
    return next;
end
$$;
comment on function api.adjust_points(bigint, integer, text) is
    'Adds (a new lot) or removes (oldest lots first) points by hand with a reason (seed 000). INSUFFICIENT_POINTS if a removal exceeds the balance.';

create function api.expire_points(p_customer_id bigint default null)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_customer_id bigint;
    v_total       integer := 0;
begin
    perform internal.require_right('loyalty.update');
    -- the sweep over every customer is a chain-wide scheduled job, not a client call
    if p_customer_id is null then
        perform internal.require_right('maintenance.run', 'expire the points of every customer (p_customer_id null)');
        perform internal.require_unrestricted_scope('expire_points');
    end if;
    -- one customer, or every customer holding a lot past its expiry (the batch), in id order
    for v_customer_id in
        select distinct l.customer_id
        from core.points_ledger l
        where l.remaining > 0 and l.expires_at <= internal.now()
          and (p_customer_id is null or l.customer_id = p_customer_id)
        order by l.customer_id
    loop
        perform internal.points_account_lock(v_customer_id);
        v_total := v_total + internal.points_expire_due(v_customer_id);
    end loop;
    return v_total;
end
$$;
comment on function api.expire_points(bigint) is
    'Expires what remains of lots older than their expiry (loyalty_settings.points_expiry_months after earning), oldest first, for one customer (hotel-member) or all (a scheduled job: maintenance.run, every hotel in scope). Returns the points expired.';

create function api.get_points_balance(p_customer_id bigint)
returns table (customer_id bigint, balance integer, next_expiry_at timestamptz, next_expiry_points integer)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('loyalty.read');
    if not exists (select 1 from core.customers c where c.id = p_customer_id) then
        perform internal.raise_error('CUSTOMER_NOT_FOUND', format('customer_id %s', p_customer_id),
            'check the customer id');
    end if;
    return query
    select p_customer_id, coalesce(a.balance, 0), n.expires_at, coalesce(n.points, 0)::integer
    from (select 1) as one
    left join core.points_accounts a on a.customer_id = p_customer_id
    left join lateral (
        select l.expires_at, sum(l.remaining) as points
        from core.points_ledger l
        where l.customer_id = p_customer_id and l.remaining > 0
        group by l.expires_at
        order by l.expires_at
        limit 1) n on true;
end
$$;
comment on function api.get_points_balance(bigint) is
    'The points balance (seed 000 GET /customers/{id}/points) and the points that expire first, with their expiry.';

create function api.get_points_history(
    p_customer_id bigint,
    p_limit       integer default 50,
    p_before_id   bigint default null
) returns table (id bigint, kind text, points integer, balance_after integer, reservation_id bigint,
                 reason text, expires_at timestamptz, remaining integer, created_at timestamptz)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('loyalty.read');
    if not exists (select 1 from core.customers c where c.id = p_customer_id) then
        perform internal.raise_error('CUSTOMER_NOT_FOUND', format('customer_id %s', p_customer_id),
            'check the customer id');
    end if;
    if p_limit is null or p_limit not between 1 and 1000 then
        perform internal.raise_error('INVALID_ARGUMENT', format('limit %s', p_limit), 'pass 1 to 1000');
    end if;
    return query
    select l.id, l.kind, l.points, l.balance_after, l.reservation_id, l.reason, l.expires_at, l.remaining, l.created_at
    from core.points_ledger l
    where l.customer_id = p_customer_id and (p_before_id is null or l.id < p_before_id)
    order by l.id desc
    limit p_limit;
end
$$;
comment on function api.get_points_history(bigint, integer, bigint) is
    'The customer''s points entries, newest first, p_limit at a time (page with p_before_id = the last id seen).';

create function api.set_loyalty_settings(
    p_points_expiry_months  integer default null,
    p_default_phone_country text default null
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('loyalty.update');
    if p_points_expiry_months is not null and p_points_expiry_months not between 1 and 120 then
        perform internal.raise_error('INVALID_ARGUMENT', format('points_expiry_months %s', p_points_expiry_months),
            'pass 1 to 120 months');
    end if;
    if p_default_phone_country is not null
       and not exists (select 1 from internal.phone_plans() p where p.country = upper(p_default_phone_country)) then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('default_phone_country %L has no numbering plan', p_default_phone_country),
            'one of: ' || (select string_agg(p.country, ', ') from internal.phone_plans() p));
    end if;
    update core.loyalty_settings s
    set points_expiry_months = coalesce(p_points_expiry_months, s.points_expiry_months),
        default_phone_country = coalesce(upper(p_default_phone_country), s.default_phone_country),
        updated_at = internal.now()
    where s.id;
    return (select to_jsonb(s) - 'id' from core.loyalty_settings s where s.id);
end
$$;
comment on function api.set_loyalty_settings(integer, text) is
    'Sets the months after which newly earned points expire (existing lots keep their expiry) and the default country for national phone numbers; null leaves a setting as it is.';

-- ---------------------------------------------------------------------------- ranks

create function internal.rank_for_stays(p_stays integer)
returns text
language sql
stable
-- definer: report.rank_correctness calls it as its reader, who holds no right on core
security definer
set search_path = pg_catalog, pg_temp
as $$
    select r.code from core.membership_ranks r where r.min_stays <= p_stays order by r.min_stays desc limit 1
$$;
comment on function internal.rank_for_stays(integer) is
    'The rank earned by a number of qualifying stays (the highest min_stays not above it).';

create function internal.change_rank(
    p_customer_id    bigint,
    p_from           text,
    p_to             text,
    p_manual         boolean,
    p_source         text,
    p_reason         text,
    p_reservation_id bigint,
    p_stays          integer
) returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_from core.membership_ranks;
    v_to   core.membership_ranks;
begin
    update core.customers c set rank_code = p_to, rank_manual = p_manual, updated_at = internal.now()
    where c.id = p_customer_id;
    if p_from = p_to then
        return;
    end if;
    select r.* into v_from from core.membership_ranks r where r.code = p_from;
    select r.* into v_to from core.membership_ranks r where r.code = p_to;
    -- a rank history row and a notification (seed 003: notify on rank up) for every change
    insert into core.rank_history (customer_id, from_rank, to_rank, source, reason, reservation_id, qualifying_stays, changed_at)
    values (p_customer_id, p_from, p_to, p_source, p_reason, p_reservation_id, p_stays, internal.now());
    insert into core.notifications (customer_id, kind, payload, created_at)
    values (p_customer_id, 'customer.rank_changed',
            jsonb_build_object('from', p_from, 'to', p_to, 'rank_name', v_to.name,
                'direction', case when v_to.level > v_from.level then 'up' else 'down' end,
                'source', p_source, 'discount_rate', v_to.discount_rate,
                'priority_booking', v_to.priority_booking, 'late_checkout', v_to.late_checkout,
                'qualifying_stays', p_stays),
            internal.now());
end
$$;
comment on function internal.change_rank(bigint, text, text, boolean, text, text, bigint, integer) is
    'Sets a customer''s rank and manual flag; a real change also writes core.rank_history and a customer.rank_changed notification.';

create function internal.customer_rank_document(p_customer_id bigint)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select jsonb_build_object(
        'customer_id', c.id, 'code', r.code, 'name', r.name, 'level', r.level,
        'discount_rate', r.discount_rate, 'priority_booking', r.priority_booking,
        'late_checkout', r.late_checkout, 'late_checkout_until', r.late_checkout_until,
        'manual', c.rank_manual, 'qualifying_stays', c.qualifying_stays,
        'next_rank', (select jsonb_build_object('code', n.code, 'min_stays', n.min_stays,
                                                'stays_needed', n.min_stays - c.qualifying_stays)
                      from core.membership_ranks n where n.level > r.level order by n.level limit 1))
    from core.customers c join core.membership_ranks r on r.code = c.rank_code
    where c.id = p_customer_id
$$;
comment on function internal.customer_rank_document(bigint) is
    'A customer''s rank with its benefits, stay count, whether it was set by hand, and the next rank.';

create function api.get_customer_rank(p_customer_id bigint)
returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_doc jsonb := internal.customer_rank_document(p_customer_id);
begin
    perform internal.require_right('loyalty.read');
    if v_doc is null then
        perform internal.raise_error('CUSTOMER_NOT_FOUND', format('customer_id %s', p_customer_id),
            'check the customer id');
    end if;
    return v_doc;
end
$$;
comment on function api.get_customer_rank(bigint) is
    'The customer''s membership rank (seed 000 GET /customers/{id}/rank): benefits, qualifying stays, manual flag, next rank and stays needed.';

create function api.set_customer_rank(
    p_customer_id bigint,
    p_rank_code   text,
    p_reason      text
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_c    core.customers;
    v_rank text;
begin
    perform internal.require_right('loyalty.update');
    if nullif(btrim(p_reason), '') is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'reason is required for a manual rank change',
            'say why the rank changes');
    end if;
    if p_rank_code is not null and not exists (select 1 from core.membership_ranks r where r.code = p_rank_code) then
        perform internal.raise_error('RANK_NOT_FOUND', format('rank_code %L', p_rank_code),
            'one of: ' || (select string_agg(r.code, ', ' order by r.level) from core.membership_ranks r));
    end if;
    v_c := internal.customer_for_update(p_customer_id);
    if p_rank_code is null then
        -- back to the rank the stays earn, recomputed from now on
        v_rank := internal.rank_for_stays(v_c.qualifying_stays);
        perform internal.change_rank(p_customer_id, v_c.rank_code, v_rank, false, 'manual', btrim(p_reason),
            null, v_c.qualifying_stays);
    else
        perform internal.change_rank(p_customer_id, v_c.rank_code, p_rank_code, true, 'manual', btrim(p_reason),
            null, v_c.qualifying_stays);
    end if;
    return internal.customer_rank_document(p_customer_id);
end
$$;
comment on function api.set_customer_rank(bigint, text, text) is
    'Sets a rank by hand with a reason (seed 000 PUT /customers/{id}/rank): later check-outs may raise it, a reversed stay never lowers it. p_rank_code null returns the customer to the rank its stays earn. RANK_NOT_FOUND, CUSTOMER_NOT_FOUND, INVALID_ARGUMENT.';

-- ---------------------------------------------------------------------------- reviews

create function api.submit_review(
    p_reservation_id      bigint,
    p_overall_rating      integer,
    p_cleanliness_rating  integer default null,
    p_service_rating      integer default null,
    p_location_rating     integer default null,
    p_facilities_rating   integer default null,
    p_value_rating        integer default null,
    p_title               text default null,
    p_comment             text default null,
    p_room_type_id        bigint default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_r            record;
    v_room_type_id bigint;
    v_types        bigint[];
    v_rating       record;
    v_id           bigint;
begin
    perform internal.require_right('feedback.create');
    -- ratings are 1 to 5; the overall one is required
    if p_overall_rating is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'overall_rating is required', 'rate 1 to 5');
    end if;
    for v_rating in
        select * from (values ('overall_rating', p_overall_rating), ('cleanliness_rating', p_cleanliness_rating),
                              ('service_rating', p_service_rating), ('location_rating', p_location_rating),
                              ('facilities_rating', p_facilities_rating), ('value_rating', p_value_rating)) v (field, value)
        where v.value not between 1 and 5
    loop
        perform internal.raise_error('INVALID_ARGUMENT', format('%s %s is not 1 to 5', v_rating.field, v_rating.value),
            'rate 1 to 5');
    end loop;
    if length(p_title) > 200 or length(p_comment) > 5000 then
        perform internal.raise_error('INVALID_ARGUMENT', 'title is at most 200 characters, comment at most 5000',
            'shorten the text');
    end if;

    select r.id, r.hotel_id, r.customer_id, r.status::text as status into v_r
    from core.reservations r where r.id = p_reservation_id;
    if not found then
        perform internal.raise_error('RESERVATION_NOT_FOUND', format('reservation_id %s', p_reservation_id),
            'check the reservation id');
    end if;
    -- only after the stay (seed 003: 宿泊後のみ)
    if v_r.status <> 'checked_out' then
        perform internal.raise_error('REVIEW_NOT_ALLOWED',
            format('reservation %s is %s; only a checked_out stay can be reviewed', p_reservation_id, v_r.status),
            'review after check-out');
    end if;
    -- the room type reviewed: the booked one, or the one named when several were booked
    select array_agg(distinct rr.room_type_id) into v_types
    from core.reservation_rooms rr where rr.reservation_id = p_reservation_id;
    if p_room_type_id is not null then
        if not (p_room_type_id = any (coalesce(v_types, '{}'))) then
            perform internal.raise_error('INVALID_ARGUMENT',
                format('room_type_id %s was not booked in reservation %s', p_room_type_id, p_reservation_id),
                'pass one of the booked room types');
        end if;
        v_room_type_id := p_room_type_id;
    elsif cardinality(v_types) = 1 then
        v_room_type_id := v_types[1];
    else
        perform internal.raise_error('INVALID_ARGUMENT',
            format('reservation %s booked room types %s', p_reservation_id, coalesce(v_types::text, 'none')),
            'pass p_room_type_id');
    end if;

    -- one review per reservation
    insert into core.reviews (reservation_id, customer_id, hotel_id, room_type_id, overall_rating,
        cleanliness_rating, service_rating, location_rating, facilities_rating, value_rating,
        title, comment, created_at)
    values (p_reservation_id, v_r.customer_id, v_r.hotel_id, v_room_type_id, p_overall_rating,
        p_cleanliness_rating, p_service_rating, p_location_rating, p_facilities_rating, p_value_rating,
        nullif(btrim(p_title), ''), nullif(btrim(p_comment), ''), internal.now())
    on conflict (hotel_id, reservation_id) do nothing
    returning id into v_id;
    if v_id is null then
        perform internal.raise_error('REVIEW_NOT_ALLOWED',
            format('reservation %s has already been reviewed', p_reservation_id), 'a stay is reviewed once');
    end if;
    return v_id;
end
$$;
comment on function api.submit_review(bigint, integer, integer, integer, integer, integer, integer, text, text, bigint) is
    'Reviews a checked-out stay (seed 003): overall and aspect ratings 1 to 5, title, comment; once per reservation. REVIEW_NOT_ALLOWED before check-out or the second time, RESERVATION_NOT_FOUND, INVALID_ARGUMENT.';
