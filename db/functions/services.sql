-- Guest services (seed 000's hotel-saas): the catalog, orders and their folio postings, concierge
-- requests, facility bookings and feedback. Helpers first, then the public functions.
--
-- Services are enabled by check-in and ended by check-out (seed 000, checkin_checkout.checked_in:
-- enable_hotel_saas_services): an order or a facility booking is taken only while the front
-- desk's reservation is checked_in (internal.require_in_house), read under the reservation's row
-- lock, so a check-out (which locks the same row) cannot slip between the check and the write.
-- Lock order: reservation, service items in id order, order. Stock is taken under the item's row
-- lock and service_items_stock_not_negative keeps it >= 0 whatever the function.

-- ---------------------------------------------------------------- helpers

create function internal.require_in_house(p_reservation_id bigint) returns core.reservations
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_res core.reservations;
begin
    v_res := internal.lock_reservation(p_reservation_id, null);
    if v_res.status <> 'checked_in' then
        perform internal.raise_error('STAY_NOT_IN_HOUSE',
            format('reservation %s is %s', v_res.confirmation_code, v_res.status),
            case when v_res.status in ('pending', 'confirmed') then 'guest services start at check-in'
                 else 'guest services end at check-out' end);
    end if;
    return v_res;
end
$$;
comment on function internal.require_in_house(bigint) is
    'Locks the reservation and returns it while it is checked in (guest services are enabled from check-in to check-out); STAY_NOT_IN_HOUSE otherwise.';

create function internal.stay_room(p_reservation_id bigint) returns bigint
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    -- the room of tonight (the last night slept on a departure day), first room line first
    select a.room_id
    from core.reservation_rooms l
    join core.reservations r on r.id = l.reservation_id
    join core.room_assignments a on a.reservation_room_id = l.id and a.active
    where l.reservation_id = p_reservation_id
    order by (a.nights @> least(internal.hotel_today(r.hotel_id), upper(a.nights) - 1)) desc, l.id, lower(a.nights) desc
    limit 1
$$;
comment on function internal.stay_room(bigint) is 'The room a stay occupies tonight (its first room line''s), or null before assignment.';

-- One home for the hotel's tax treatment of a service price: prices_include_tax says whether the
-- price is gross (the tax is the part above price / (1 + rate)) or net (the tax is added); each
-- rounded to the currency's minor units, as the room prices are.
create function internal.service_price(p_hotel_id bigint, p_price numeric)
returns table (net_amount numeric, tax_amount numeric, amount numeric)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select t.gross - t.tax, t.tax, t.gross
    from core.hotels h
    join core.currencies c on c.code = h.currency
    cross join lateral (
        select case when h.prices_include_tax then p_price else p_price + round(p_price * h.tax_rate, c.minor_units) end as gross,
               case when h.prices_include_tax then p_price - round(p_price / (1 + h.tax_rate), c.minor_units)
                    else round(p_price * h.tax_rate, c.minor_units) end as tax
    ) t
    where h.id = p_hotel_id
$$;
comment on function internal.service_price(bigint, numeric) is
    'Net, tax and gross of a service amount under the hotel''s tax treatment (prices with or without tax, tax_rate), rounded to the currency.';

create function internal.available_at(p_from time, p_until time, p_at time) returns boolean
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    -- no hours: all day; until before from: open over midnight
    select case when p_from is null then true
                when p_from < p_until then p_at >= p_from and p_at < p_until
                else p_at >= p_from or p_at < p_until end
$$;
comment on function internal.available_at(time, time, time) is
    'True when local time p_at lies in [p_from, p_until) (a window over midnight when p_until < p_from; always when there are no hours).';

create function internal.require_service_item(p_hotel_id bigint, p_service_item_id bigint) returns core.service_items
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_item core.service_items;
begin
    if p_service_item_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_service_item_id is null', 'pass a catalog item id');
    end if;
    select * into v_item from core.service_items i where i.hotel_id = p_hotel_id and i.id = p_service_item_id;
    if not found then
        perform internal.raise_error('SERVICE_ITEM_NOT_FOUND',
            format('service item %s in hotel %s', p_service_item_id, p_hotel_id), 'list the hotel''s catalog');
    end if;
    return v_item;
end
$$;
comment on function internal.require_service_item(bigint, bigint) is 'The catalog item of that hotel, or SERVICE_ITEM_NOT_FOUND.';

create function internal.require_category(p_category text) returns core.service_category
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    if p_category is null or not (p_category = any (enum_range(null::core.service_category)::text[])) then
        perform internal.raise_error('INVALID_ARGUMENT', format('category %L', p_category),
            format('use one of %s', array_to_string(enum_range(null::core.service_category)::text[], ', ')));
    end if;
    return p_category::core.service_category;
end
$$;
comment on function internal.require_category(text) is 'The catalog category named, or INVALID_ARGUMENT listing them.';

create function internal.item_document(p_item core.service_items) returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select jsonb_build_object(
        'id', p_item.id, 'hotel_id', p_item.hotel_id, 'category', p_item.category, 'code', p_item.code,
        'name', p_item.name, 'description', p_item.description, 'price', p_item.price, 'currency', h.currency,
        'price_includes_tax', h.prices_include_tax, 'tax_rate', h.tax_rate,
        'available_from', p_item.available_from, 'available_until', p_item.available_until,
        'time_zone', h.time_zone,
        'available_now', p_item.active and internal.available_at(p_item.available_from, p_item.available_until,
                                                                (internal.now() at time zone h.time_zone)::time)
                         and coalesce(p_item.stock, 1) > 0,
        'stock', p_item.stock, 'active', p_item.active)
    from core.hotels h where h.id = p_item.hotel_id
$$;
comment on function internal.item_document(core.service_items) is
    'A catalog item as the API shows it: price with currency and tax treatment, hours in the hotel''s time zone, whether it can be ordered now.';

create function internal.order_document(p_order_id bigint) returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select jsonb_build_object(
        'id', o.id, 'hotel_id', o.hotel_id, 'reservation_id', o.reservation_id, 'customer_id', o.customer_id,
        'room_id', o.room_id, 'room_number', rm.number, 'status', o.status, 'client_order_key', o.client_key,
        'currency', o.currency, 'net_amount', o.net_amount, 'tax_amount', o.tax_amount,
        'total_amount', o.total_amount, 'notes', o.notes, 'ordered_at', o.ordered_at,
        'accepted_at', o.accepted_at, 'delivered_at', o.delivered_at, 'cancelled_at', o.cancelled_at,
        'cancel_reason', o.cancel_reason, 'reversed', o.reversed,
        'charged_amount', coalesce((select sum(fl.amount) from core.service_order_postings p
                                    join core.folio_lines fl on fl.id = p.folio_line_id
                                    where p.order_id = o.id), 0),
        'lines', coalesce((select jsonb_agg(jsonb_build_object(
                               'id', l.id, 'service_item_id', l.service_item_id, 'category', l.category,
                               'name', l.name, 'quantity', l.quantity, 'unit_price', l.unit_price,
                               'net_amount', l.net_amount, 'tax_amount', l.tax_amount, 'amount', l.amount)
                               order by l.id)
                           from core.service_order_lines l where l.order_id = o.id), '[]'::jsonb))
    from core.service_orders o
    left join core.rooms rm on rm.id = o.room_id
    where o.id = p_order_id
$$;
comment on function internal.order_document(bigint) is
    'An order as the API shows it: status and its times, totals, what reached the folio (charged_amount, net of reversals), and its lines.';

create function internal.lock_order(p_order_id bigint) returns core.service_orders
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_order core.service_orders;
begin
    if p_order_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_order_id is null', 'pass an order id');
    end if;
    select * into v_order from core.service_orders o where o.id = p_order_id for update;
    if not found then
        perform internal.raise_error('ORDER_NOT_FOUND', format('order %s', p_order_id), 'check the order id');
    end if;
    return v_order;
end
$$;
comment on function internal.lock_order(bigint) is 'Locks and returns an order, or ORDER_NOT_FOUND.';

-- The order status machine, as data: the one place the allowed moves are written.
create function internal.order_transitions()
returns table (from_status core.service_order_status, to_status core.service_order_status)
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    values ('ordered'::core.service_order_status, 'accepted'::core.service_order_status),
           ('ordered', 'cancelled'),
           ('accepted', 'delivered'),
           ('accepted', 'cancelled'),
           -- a delivered order cancelled (a complaint, a charge disputed): its charges are credited back
           ('delivered', 'cancelled')
$$;
comment on function internal.order_transitions() is
    'The order status machine: ordered -> accepted -> delivered; ordered or accepted -> cancelled; delivered -> cancelled (charges reversed by credit lines).';

-- Posts a delivered order's lines to the folio: per line its net as a service charge and its tax
-- as a tax charge (zero amounts post nothing), recorded in core.service_order_postings.
create function internal.post_order_charges(p_order core.service_orders, p_app_user text) returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_charge  record;
    v_line_id bigint;
    v_posted  integer := 0;
begin
    for v_charge in
        select l.id as order_line_id, v.kind, v.description, v.amount
        from core.service_order_lines l
        cross join lateral (values
            (1, 'service'::core.folio_line_kind,
             format('%s: %s x %s (order %s)', replace(l.category::text, '_', ' '), l.name, l.quantity, p_order.id),
             l.net_amount),
            (2, 'tax'::core.folio_line_kind, format('tax on %s x %s (order %s)', l.name, l.quantity, p_order.id), l.tax_amount)
        ) as v(n, kind, description, amount)
        where l.order_id = p_order.id and v.amount > 0
        order by l.id, v.n
    loop
        insert into core.folio_lines (hotel_id, folio_id, currency, kind, description, amount, business_date, posted_by, posted_at)
        values (p_order.hotel_id, p_order.folio_id, p_order.currency, v_charge.kind, v_charge.description, v_charge.amount,
                (select h.business_date from core.hotels h where h.id = p_order.hotel_id), p_app_user, internal.now())
        returning id into v_line_id;
        insert into core.service_order_postings (folio_line_id, hotel_id, order_id, order_line_id)
        values (v_line_id, p_order.hotel_id, p_order.id, v_charge.order_line_id);
        v_posted := v_posted + 1;
    end loop;
    return v_posted;
end
$$;
comment on function internal.post_order_charges(core.service_orders, text) is
    'Posts a delivered order''s service and tax charges to its folio and records them as the order''s postings; returns the lines posted.';

-- Reverses every charge of an order not yet reversed by a credit line (an adjustment of the
-- opposite amount); the charge itself stays on the folio.
create function internal.reverse_order_charges(p_order core.service_orders, p_reason text, p_app_user text) returns integer
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_charge  record;
    v_line_id bigint;
    v_posted  integer := 0;
begin
    for v_charge in
        select fl.id, fl.amount, fl.description, p.order_line_id
        from core.service_order_postings p
        join core.folio_lines fl on fl.id = p.folio_line_id
        where p.order_id = p_order.id and p.reverses_line_id is null
          and not exists (select 1 from core.service_order_postings r where r.reverses_line_id = fl.id)
        order by fl.id
    loop
        insert into core.folio_lines (hotel_id, folio_id, currency, kind, description, amount, business_date, posted_by, posted_at)
        values (p_order.hotel_id, p_order.folio_id, p_order.currency, 'adjustment',
                left(format('reversal of %s%s', v_charge.description, coalesce(' - ' || p_reason, '')), 1000), -v_charge.amount,
                (select h.business_date from core.hotels h where h.id = p_order.hotel_id), p_app_user, internal.now())
        returning id into v_line_id;
        insert into core.service_order_postings (folio_line_id, hotel_id, order_id, order_line_id, reverses_line_id)
        values (v_line_id, p_order.hotel_id, p_order.id, v_charge.order_line_id, v_charge.id);
        v_posted := v_posted + 1;
    end loop;
    return v_posted;
end
$$;
comment on function internal.reverse_order_charges(core.service_orders, text, text) is
    'Credits back every charge of an order not yet reversed (one negative adjustment per charge, recorded as a posting that reverses it); returns the lines posted.';

-- The answer to an order request whose client key was used before in the hotel: the order it
-- made (replayed), or IDEMPOTENCY_MISMATCH when the key came with other lines; null when unused.
create function internal.replay_order(p_hotel_id bigint, p_client_key text, p_fingerprint text) returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_existing core.service_orders;
begin
    select * into v_existing from core.service_orders o where o.hotel_id = p_hotel_id and o.client_key = p_client_key;
    if not found then
        return null;
    end if;
    if v_existing.fingerprint <> p_fingerprint then
        perform internal.raise_error('IDEMPOTENCY_MISMATCH',
            format('client key %s is order %s with other lines', p_client_key, v_existing.id),
            'use a new client key for a new order');
    end if;
    return internal.order_document(v_existing.id) || jsonb_build_object('replayed', true);
end
$$;
comment on function internal.replay_order(bigint, text, text) is
    'The order a client key made in the hotel (marked replayed) when asked again with the same lines; IDEMPOTENCY_MISMATCH with other lines; null for an unused key.';

-- ---------------------------------------------------------------- catalog

create function api.create_service_item(
    p_hotel_id        bigint,
    p_category        text,
    p_code            text,
    p_name            text,
    p_price           numeric,
    p_description     text default null,
    p_available_from  time default null,
    p_available_until time default null,
    p_stock           integer default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_hotel core.hotels;
    v_id    bigint;
begin
    perform internal.require_right('services.update');
    v_hotel := internal.require_hotel(p_hotel_id);
    if p_code is null or p_code !~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$' then
        perform internal.raise_error('INVALID_ARGUMENT', format('code %L', left(p_code, 60)),
            'letters, digits, _ and -, at most 40');
    end if;
    if length(internal.require_text('p_name', p_name)) > 200 or length(p_description) > 2000 then
        perform internal.raise_error('INVALID_ARGUMENT', 'name is at most 200 characters, description at most 2000',
            'shorten the text');
    end if;
    perform internal.require_amount('p_price', p_price);
    if p_price <> internal.round_money(p_price, v_hotel.currency) then
        perform internal.raise_error('INVALID_ARGUMENT', format('price %s has more decimals than %s allows', p_price, v_hotel.currency),
            format('round the price to the minor units of %s', v_hotel.currency));
    end if;
    if (p_available_from is null) <> (p_available_until is null) or p_available_from = p_available_until then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('hours [%s, %s)', p_available_from, p_available_until),
            'pass both available_from and available_until (different; until < from spans midnight), or neither for all day');
    end if;
    if p_stock is not null then
        perform internal.require_count('p_stock', p_stock, 0, 1000000);
    end if;
    insert into core.service_items (hotel_id, category, code, name, description, price, available_from, available_until,
                                    stock, created_at, updated_at)
    values (v_hotel.id, internal.require_category(p_category), p_code, btrim(p_name), p_description, p_price,
            p_available_from, p_available_until, p_stock, internal.now(), internal.now())
    on conflict (hotel_id, code) do nothing
    returning id into v_id;
    if v_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', format('hotel %s already has an item %s', v_hotel.id, p_code),
            'pick another code, or change the item with update_service_item');
    end if;
    return v_id;
end
$$;
comment on function api.create_service_item(bigint, text, text, text, numeric, text, time, time, integer) is
    'Adds an item to a hotel''s service catalog: category, code, name, price in the hotel''s currency (with or without tax as the hotel prices), availability hours in hotel time (null: all day), stock (null: not counted). Returns its id.';

create function api.update_service_item(
    p_hotel_id        bigint,
    p_service_item_id bigint,
    p_price           numeric default null,
    p_active          boolean default null,
    p_add_stock       integer default null
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_hotel core.hotels;
    v_item  core.service_items;
begin
    perform internal.require_right('services.update');
    v_hotel := internal.require_hotel(p_hotel_id);
    v_item := internal.require_service_item(v_hotel.id, p_service_item_id);
    if p_price is not null then
        perform internal.require_amount('p_price', p_price);
        if p_price <> internal.round_money(p_price, v_hotel.currency) then
            perform internal.raise_error('INVALID_ARGUMENT', format('price %s has more decimals than %s allows', p_price, v_hotel.currency),
                format('round the price to the minor units of %s', v_hotel.currency));
        end if;
    end if;
    if p_add_stock is not null then
        perform internal.require_count('p_add_stock', p_add_stock, -1000000, 1000000);
        if v_item.stock is null then
            perform internal.raise_error('INVALID_ARGUMENT', format('item %s is not counted', v_item.code),
                'stock applies to counted items only (created with a stock)');
        end if;
    end if;
    -- a correction below zero is refused under the row lock, not by a read-then-write
    update core.service_items i
    set price = coalesce(p_price, i.price), active = coalesce(p_active, i.active),
        stock = i.stock + coalesce(p_add_stock, 0), updated_at = internal.now()
    where i.id = v_item.id and (i.stock is null or i.stock + coalesce(p_add_stock, 0) >= 0)
    returning * into v_item;
    if not found then
        perform internal.raise_error('OUT_OF_STOCK', format('item %s: removing %s leaves less than zero', p_service_item_id, -p_add_stock),
            'count the stock again');
    end if;
    return internal.item_document(v_item);
end
$$;
comment on function api.update_service_item(bigint, bigint, numeric, boolean, integer) is
    'Changes a catalog item''s price (orders already taken keep theirs), whether it is offered, and adds (or with a negative number removes) stock; never below zero (OUT_OF_STOCK). Returns the item.';

create function api.list_service_items(p_hotel_id bigint, p_category text default null) returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_hotel core.hotels;
begin
    perform internal.require_right('services.read');
    v_hotel := internal.require_hotel(p_hotel_id);
    if p_category is not null then
        perform internal.require_category(p_category);
    end if;
    return coalesce((select jsonb_agg(internal.item_document(i) order by i.category, i.name, i.id)
                     from core.service_items i
                     where i.hotel_id = v_hotel.id and i.active and (p_category is null or i.category::text = p_category)),
                    '[]'::jsonb);
end
$$;
comment on function api.list_service_items(bigint, text) is
    'The services a hotel offers (seed 000''s GET /concierge/services): active catalog items, optionally of one category, with price, tax treatment, hours in hotel time and whether each can be ordered now.';

-- ---------------------------------------------------------------- orders

create function api.create_order(
    p_reservation_id bigint,
    p_client_key     text,
    p_items          jsonb,
    p_notes          text default null,
    p_app_user       text default null
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_res         core.reservations;
    v_hotel       core.hotels;
    v_folio       core.folios;
    v_fingerprint text;
    v_replay      jsonb;
    v_order_id    bigint;
    v_line        record;
    v_local       time;
begin
    perform internal.require_right('services.update');
    -- the request: a client key and one or more (item, quantity) lines, each item once
    if p_client_key is null or btrim(p_client_key) = '' or length(p_client_key) > 200 then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_client_key is missing, blank or over 200 characters',
            'pass the client''s order key (one per order, reused on retry)');
    end if;
    if p_items is null or jsonb_typeof(p_items) <> 'array' or jsonb_array_length(p_items) not between 1 and 50 then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_items is not an array of 1 to 50 lines',
            'pass [{"service_item_id": id, "quantity": n}, ...]');
    end if;
    if exists (select 1 from jsonb_array_elements(p_items) e
               where jsonb_typeof(e) <> 'object' or jsonb_typeof(e -> 'service_item_id') <> 'number'
                  or coalesce(jsonb_typeof(e -> 'quantity'), 'number') <> 'number'
                  or (e ->> 'service_item_id') !~ '^[1-9][0-9]{0,17}$'
                  or coalesce(e ->> 'quantity', '1') !~ '^([1-9][0-9]?|100)$') then
        perform internal.raise_error('INVALID_ARGUMENT', 'a line has no item id or a quantity outside 1 to 100',
            'pass [{"service_item_id": id, "quantity": 1-100}, ...]');
    end if;
    if (select count(distinct e ->> 'service_item_id') <> count(*) from jsonb_array_elements(p_items) e) then
        perform internal.raise_error('INVALID_ARGUMENT', 'an item appears on two lines', 'order each item once with its quantity');
    end if;
    if length(p_notes) > 1000 then
        perform internal.raise_error('INVALID_ARGUMENT', 'notes are at most 1000 characters', 'shorten the notes');
    end if;

    -- services are enabled from check-in to check-out
    v_res := internal.require_in_house(p_reservation_id);
    v_hotel := internal.require_hotel(v_res.hotel_id);
    v_fingerprint := md5(jsonb_build_array(p_reservation_id,
                             (select jsonb_agg(jsonb_build_array((e ->> 'service_item_id')::bigint,
                                                                 coalesce((e ->> 'quantity')::integer, 1))
                                               order by (e ->> 'service_item_id')::bigint)
                              from jsonb_array_elements(p_items) e),
                             coalesce(p_notes, ''))::text);

    -- idempotent per client key in the hotel: the same request answers the order it made
    v_replay := internal.replay_order(v_hotel.id, btrim(p_client_key), v_fingerprint);
    if v_replay is not null then
        return v_replay;
    end if;

    -- the items: of this hotel, offered, open now in the hotel's time zone; counted ones locked in id order
    v_local := (internal.now() at time zone v_hotel.time_zone)::time;
    for v_line in
        select i.*, coalesce((e ->> 'quantity')::integer, 1) as quantity, (e ->> 'service_item_id')::bigint as asked_id
        from jsonb_array_elements(p_items) e
        left join core.service_items i on i.hotel_id = v_hotel.id and i.id = (e ->> 'service_item_id')::bigint
        order by (e ->> 'service_item_id')::bigint
    loop
        if v_line.id is null then
            perform internal.raise_error('SERVICE_ITEM_NOT_FOUND', format('service item %s in hotel %s', v_line.asked_id, v_hotel.id),
                'list the hotel''s catalog (GET /concierge/services)');
        end if;
        if v_line.stock is not null then
            -- a counted item: its stock is taken under the row lock (uncounted ones are only read)
            perform 1 from core.service_items i where i.id = v_line.id for no key update;
        end if;
        if not v_line.active or not internal.available_at(v_line.available_from, v_line.available_until, v_local) then
            perform internal.raise_error('SERVICE_UNAVAILABLE',
                format('%s is %s at %s (hotel time)', v_line.name,
                       case when not v_line.active then 'not offered'
                            else format('available %s-%s only', v_line.available_from, v_line.available_until) end,
                       to_char(v_local, 'HH24:MI')),
                'order it within its hours');
        end if;
    end loop;
    v_folio := internal.require_folio(v_res.id);

    insert into core.service_orders (hotel_id, reservation_id, customer_id, folio_id, room_id, currency, client_key,
                                     fingerprint, net_amount, tax_amount, total_amount, notes, ordered_at, updated_by)
    values (v_hotel.id, v_res.id, v_res.customer_id, v_folio.id, internal.stay_room(v_res.id), v_folio.currency,
            btrim(p_client_key), v_fingerprint, 0, 0, 0, p_notes, internal.now(), p_app_user)
    on conflict (hotel_id, client_key) do nothing
    returning id into v_order_id;
    if v_order_id is null then
        -- a concurrent request with the same key (of another stay) committed first: this statement sees it
        return internal.replay_order(v_hotel.id, btrim(p_client_key), v_fingerprint);
    end if;

    -- the lines at today's prices; counted items give up their units (refused below zero)
    insert into core.service_order_lines (hotel_id, order_id, service_item_id, category, name, quantity, unit_price,
                                          net_amount, tax_amount, amount)
    select v_hotel.id, v_order_id, i.id, i.category, i.name, q.quantity, i.price, p.net_amount, p.tax_amount, p.amount
    from (select (e ->> 'service_item_id')::bigint as item_id, coalesce((e ->> 'quantity')::integer, 1) as quantity
          from jsonb_array_elements(p_items) e) q
    join core.service_items i on i.id = q.item_id
    cross join lateral internal.service_price(v_hotel.id, i.price * q.quantity) p
    order by i.id;
    for v_line in
        select i.id, i.name, i.stock, l.quantity
        from core.service_order_lines l join core.service_items i on i.id = l.service_item_id
        where l.order_id = v_order_id and i.stock is not null and i.stock < l.quantity
        order by i.id
    loop
        perform internal.raise_error('OUT_OF_STOCK', format('%s: %s ordered, %s left', v_line.name, v_line.quantity, v_line.stock),
            'order fewer, or another item');
    end loop;
    update core.service_items i set stock = i.stock - l.quantity, updated_at = internal.now()
    from core.service_order_lines l
    where l.order_id = v_order_id and i.id = l.service_item_id and i.stock is not null;
    update core.service_orders o
    set net_amount = t.net, tax_amount = t.tax, total_amount = t.net + t.tax
    from (select sum(l.net_amount) as net, sum(l.tax_amount) as tax from core.service_order_lines l where l.order_id = v_order_id) t
    where o.id = v_order_id;

    perform internal.emit_event('service.ordered', v_order_id::text, v_hotel.id,
        jsonb_build_object('order_id', v_order_id, 'reservation_id', v_res.id, 'customer_id', v_res.customer_id,
                           'status', 'ordered',
                           'categories', (select jsonb_agg(distinct l.category) from core.service_order_lines l where l.order_id = v_order_id),
                           'total_amount', (select o.total_amount from core.service_orders o where o.id = v_order_id),
                           'currency', v_folio.currency));
    return internal.order_document(v_order_id) || jsonb_build_object('replayed', false);
end
$$;
comment on function api.create_order(bigint, text, jsonb, text, text) is
    'Takes a guest''s order for an in-house stay (STAY_NOT_IN_HOUSE before check-in or after check-out): p_items [{service_item_id, quantity}] of the hotel''s catalog, each offered and within its hours in hotel time (SERVICE_UNAVAILABLE), counted items taken from stock (OUT_OF_STOCK), priced now with the hotel''s tax treatment. Idempotent per p_client_key in the hotel (IDEMPOTENCY_MISMATCH for other lines). Emits service.ordered. Returns the order.';

create function api.set_order_status(
    p_order_id bigint,
    p_status   text,
    p_reason   text default null,
    p_app_user text default null
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_order core.service_orders;
    v_to    core.service_order_status;
    v_res   core.reservations;
    v_res_id bigint;
begin
    perform internal.require_right('services.update');
    if p_status is null or not (p_status = any (enum_range(null::core.service_order_status)::text[])) then
        perform internal.raise_error('INVALID_ARGUMENT', format('status %L', p_status),
            'use accepted, delivered or cancelled');
    end if;
    if length(p_reason) > 500 then
        perform internal.raise_error('INVALID_ARGUMENT', 'reason is at most 500 characters', 'shorten the reason');
    end if;
    v_to := p_status::core.service_order_status;
    -- lock order: the stay before the order (delivery reads whether the stay is in house)
    select o.reservation_id into v_res_id from core.service_orders o where o.id = p_order_id;
    if v_res_id is not null then
        v_res := internal.lock_reservation(v_res_id, null);
    end if;
    v_order := internal.lock_order(p_order_id);
    -- the same status again is a retry: nothing changes
    if v_order.status = v_to then
        return internal.order_document(v_order.id);
    end if;
    if not exists (select 1 from internal.order_transitions() t where t.from_status = v_order.status and t.to_status = v_to) then
        perform internal.raise_error('INVALID_ORDER_TRANSITION', format('order %s: %s -> %s', v_order.id, v_order.status, v_to),
            case v_order.status when 'cancelled' then 'a cancelled order is final; place a new one'
                                when 'delivered' then 'a delivered order can only be cancelled (its charges are reversed)'
                                else 'orders go ordered -> accepted -> delivered, or are cancelled' end);
    end if;
    perform internal.set_actor(p_app_user, null);

    if v_to = 'accepted' then
        update core.service_orders o set status = 'accepted', accepted_at = internal.now(), updated_by = p_app_user
        where o.id = v_order.id returning * into v_order;
    elsif v_to = 'delivered' then
        -- charges reach the folio of a stay still in house, in this transaction
        if v_res.status <> 'checked_in' then
            perform internal.raise_error('STAY_NOT_IN_HOUSE', format('reservation %s is %s', v_res.confirmation_code, v_res.status),
                'the guest has left: cancel the order');
        end if;
        update core.service_orders o set status = 'delivered', delivered_at = internal.now(), updated_by = p_app_user
        where o.id = v_order.id returning * into v_order;
        perform internal.post_order_charges(v_order, p_app_user);
        perform internal.emit_event('service.completed', v_order.id::text, v_order.hotel_id,
            jsonb_build_object('order_id', v_order.id, 'reservation_id', v_order.reservation_id, 'status', 'delivered',
                               'total_amount', v_order.total_amount, 'currency', v_order.currency));
    else
        if v_order.status = 'delivered' then
            -- delivered and charged: credit lines reverse the charges; the goods are not restocked
            perform internal.reverse_order_charges(v_order, p_reason, p_app_user);
        else
            -- never charged: the units go back to stock
            update core.service_items i set stock = i.stock + l.quantity, updated_at = internal.now()
            from (select l.service_item_id, l.quantity from core.service_order_lines l
                  where l.order_id = v_order.id order by l.service_item_id) l
            where i.id = l.service_item_id and i.stock is not null;
        end if;
        update core.service_orders o
        set status = 'cancelled', cancelled_at = internal.now(), cancel_reason = p_reason,
            reversed = (v_order.status = 'delivered'), updated_by = p_app_user
        where o.id = v_order.id returning * into v_order;
        perform internal.emit_event('service.cancelled', v_order.id::text, v_order.hotel_id,
            jsonb_build_object('order_id', v_order.id, 'reservation_id', v_order.reservation_id, 'status', 'cancelled',
                               'reversed', v_order.reversed, 'reason', p_reason));
    end if;
    return internal.order_document(v_order.id);
end
$$;
comment on function api.set_order_status(bigint, text, text, text) is
    'Moves an order: ordered -> accepted -> delivered (posts its service and tax charges to the stay''s folio in this transaction; STAY_NOT_IN_HOUSE after check-out), ordered or accepted -> cancelled (nothing charged, stock back), delivered -> cancelled (credit lines reverse the charges). Other moves: INVALID_ORDER_TRANSITION; the current status again changes nothing. Emits service.completed / service.cancelled.';

create function api.get_order(p_order_id bigint) returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_doc jsonb;
begin
    perform internal.require_right('services.read');
    if p_order_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_order_id is null', 'pass an order id');
    end if;
    v_doc := internal.order_document(p_order_id);
    if v_doc is null then
        perform internal.raise_error('ORDER_NOT_FOUND', format('order %s', p_order_id), 'check the order id');
    end if;
    return v_doc;
end
$$;
comment on function api.get_order(bigint) is 'One order with its lines and what reached the folio; ORDER_NOT_FOUND (also for another hotel''s order).';

create function api.list_customer_orders(
    p_customer_id bigint,
    p_limit       integer default 50,
    p_offset      integer default 0
) returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('services.read');
    perform internal.require_count('p_limit', p_limit, 1, 500);
    perform internal.require_count('p_offset', p_offset, 0, 1000000);
    if p_customer_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_customer_id is null', 'pass a customer id');
    end if;
    if not exists (select 1 from core.customers c where c.id = p_customer_id) then
        perform internal.raise_error('CUSTOMER_NOT_FOUND', format('customer %s', p_customer_id), 'check the customer id');
    end if;
    return coalesce((select jsonb_agg(internal.order_document(o.id) order by o.ordered_at desc, o.id desc)
                     from (select o.id, o.ordered_at from core.service_orders o
                           where o.customer_id = p_customer_id
                           order by o.ordered_at desc, o.id desc limit p_limit offset p_offset) o),
                    '[]'::jsonb);
end
$$;
comment on function api.list_customer_orders(bigint, integer, integer) is
    'A customer''s order history (seed 000''s GET /orders/customer/{id}), newest first, in the caller''s hotels; CUSTOMER_NOT_FOUND.';

-- ---------------------------------------------------------------- concierge

create function internal.request_document(p_request_id bigint) returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select jsonb_build_object(
        'id', q.id, 'hotel_id', q.hotel_id, 'reservation_id', q.reservation_id, 'customer_id', q.customer_id,
        'room_id', q.room_id, 'room_number', rm.number, 'request_type', q.request_type,
        'requested_for', q.requested_for, 'details', q.details, 'status', q.status, 'staff_notes', q.staff_notes,
        'handled_by', q.handled_by, 'created_at', q.created_at, 'updated_at', q.updated_at)
    from core.concierge_requests q left join core.rooms rm on rm.id = q.room_id
    where q.id = p_request_id
$$;
comment on function internal.request_document(bigint) is 'A concierge request as the API shows it.';

create function api.create_concierge_request(
    p_reservation_id bigint,
    p_request_type   text,
    p_requested_for  timestamptz default null,
    p_details        text default null,
    p_app_user       text default null
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_res core.reservations;
    v_id  bigint;
begin
    perform internal.require_right('services.update');
    if p_request_type is null or not (p_request_type = any (enum_range(null::core.concierge_request_type)::text[])) then
        perform internal.raise_error('INVALID_ARGUMENT', format('request_type %L', p_request_type),
            format('use one of %s', array_to_string(enum_range(null::core.concierge_request_type)::text[], ', ')));
    end if;
    if length(p_details) > 2000 then
        perform internal.raise_error('INVALID_ARGUMENT', 'details are at most 2000 characters', 'shorten the details');
    end if;
    v_res := internal.lock_reservation(p_reservation_id, null);
    -- a guest asks from booking (an airport transfer) until departure, never for a stay that ended
    if v_res.status not in ('confirmed', 'checked_in') then
        perform internal.raise_error('STAY_NOT_IN_HOUSE', format('reservation %s is %s', v_res.confirmation_code, v_res.status),
            'concierge requests are taken for confirmed and in-house stays');
    end if;
    if p_requested_for is not null
       and (not isfinite(p_requested_for) or p_requested_for < internal.now() - interval '1 hour'
            or p_requested_for >= (upper(v_res.stay) + 1)::timestamp at time zone
                                  (select h.time_zone from core.hotels h where h.id = v_res.hotel_id)) then
        perform internal.raise_error('INVALID_ARGUMENT', format('requested_for %s is not between now and the day after departure', p_requested_for),
            'ask for a time during the stay');
    end if;
    insert into core.concierge_requests (hotel_id, reservation_id, customer_id, room_id, request_type, requested_for,
                                         details, created_at, updated_at)
    values (v_res.hotel_id, v_res.id, v_res.customer_id, internal.stay_room(v_res.id), p_request_type::core.concierge_request_type,
            p_requested_for, nullif(btrim(p_details), ''), internal.now(), internal.now())
    returning id into v_id;
    return internal.request_document(v_id);
end
$$;
comment on function api.create_concierge_request(bigint, text, timestamptz, text, text) is
    'A guest''s concierge request (seed 000''s POST /concierge/requests): type, the time wanted (during the stay), details; the room is the stay''s. Taken for confirmed and in-house stays (STAY_NOT_IN_HOUSE otherwise). Returns the request.';

create function api.update_concierge_request(
    p_request_id  bigint,
    p_status      text,
    p_staff_notes text default null,
    p_handled_by  text default null
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_request core.concierge_requests;
    v_to      core.concierge_request_status;
begin
    perform internal.require_right('services.update');
    if p_status is null or not (p_status = any (enum_range(null::core.concierge_request_status)::text[])) then
        perform internal.raise_error('INVALID_ARGUMENT', format('status %L', p_status), 'use in_progress, done or cancelled');
    end if;
    if length(p_staff_notes) > 4000 or length(p_handled_by) > 200 then
        perform internal.raise_error('INVALID_ARGUMENT', 'staff notes are at most 4000 characters, handled_by 200',
            'shorten the text');
    end if;
    if p_request_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_request_id is null', 'pass a request id');
    end if;
    select * into v_request from core.concierge_requests q where q.id = p_request_id for update;
    if not found then
        perform internal.raise_error('CONCIERGE_REQUEST_NOT_FOUND', format('request %s', p_request_id), 'check the request id');
    end if;
    v_to := p_status::core.concierge_request_status;
    -- open -> in_progress -> done; open or in_progress -> cancelled; the same status adds notes
    if v_request.status <> v_to and not (v_request.status, v_to) in
           (('open'::core.concierge_request_status, 'in_progress'::core.concierge_request_status),
            ('open', 'done'), ('open', 'cancelled'), ('in_progress', 'done'), ('in_progress', 'cancelled')) then
        perform internal.raise_error('INVALID_ORDER_TRANSITION', format('request %s: %s -> %s', v_request.id, v_request.status, v_to),
            'a done or cancelled request is final');
    end if;
    update core.concierge_requests q
    set status = v_to,
        staff_notes = case when nullif(btrim(p_staff_notes), '') is null then q.staff_notes
                           else concat_ws(E'\n', q.staff_notes, btrim(p_staff_notes)) end,
        handled_by = coalesce(nullif(btrim(p_handled_by), ''), nullif(pg_catalog.current_setting('hotelcore.app_user', true), ''),
                              q.handled_by, internal.caller_role()),
        updated_at = internal.now()
    where q.id = v_request.id;
    return internal.request_document(v_request.id);
end
$$;
comment on function api.update_concierge_request(bigint, text, text, text) is
    'Staff work on a concierge request: status (open -> in_progress -> done, or cancelled; INVALID_ORDER_TRANSITION from a final one), notes appended, who handled it (p_handled_by, else the request''s application user or role). Returns the request.';

-- ---------------------------------------------------------------- facilities

create function api.create_facility(
    p_hotel_id     bigint,
    p_code         text,
    p_name         text,
    p_kind         text,
    p_capacity     integer,
    p_slot_minutes integer default 60,
    p_opens_at     time default '07:00',
    p_closes_at    time default '22:00'
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_hotel core.hotels;
    v_id    bigint;
begin
    perform internal.require_right('services.update');
    v_hotel := internal.require_hotel(p_hotel_id);
    if p_code is null or p_code !~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$' then
        perform internal.raise_error('INVALID_ARGUMENT', format('code %L', left(p_code, 60)), 'letters, digits, _ and -, at most 40');
    end if;
    if length(internal.require_text('p_name', p_name)) > 200 then
        perform internal.raise_error('INVALID_ARGUMENT', 'name is at most 200 characters', 'shorten the name');
    end if;
    if p_kind is null or not (p_kind = any (enum_range(null::core.facility_kind)::text[])) then
        perform internal.raise_error('INVALID_ARGUMENT', format('kind %L', p_kind),
            format('use one of %s', array_to_string(enum_range(null::core.facility_kind)::text[], ', ')));
    end if;
    perform internal.require_count('p_capacity', p_capacity, 1, 1000);
    perform internal.require_count('p_slot_minutes', p_slot_minutes, 5, 1440);
    if p_opens_at is null or p_closes_at is null or p_opens_at >= p_closes_at then
        perform internal.raise_error('INVALID_ARGUMENT', format('hours [%s, %s)', p_opens_at, p_closes_at),
            'pass opens_at before closes_at (hotel time)');
    end if;
    insert into core.facilities (hotel_id, code, name, kind, capacity, slot_minutes, opens_at, closes_at, created_at)
    values (v_hotel.id, p_code, btrim(p_name), p_kind::core.facility_kind, p_capacity, p_slot_minutes, p_opens_at, p_closes_at,
            internal.now())
    on conflict (hotel_id, code) do nothing
    returning id into v_id;
    if v_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', format('hotel %s already has a facility %s', v_hotel.id, p_code),
            'pick another code');
    end if;
    return v_id;
end
$$;
comment on function api.create_facility(bigint, text, text, text, integer, integer, time, time) is
    'Adds a bookable facility (spa_room, meeting_room, activity, fitness, pool, other): guests per booking, slot length, opening hours in hotel time. Returns its id.';

create function api.book_facility(
    p_facility_id    bigint,
    p_reservation_id bigint,
    p_starts_at      timestamptz,
    p_ends_at        timestamptz,
    p_guests         integer default 1,
    p_app_user       text default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_res      core.reservations;
    v_facility core.facilities;
    v_tz       text;
    v_from     timestamp;
    v_until    timestamp;
    v_id       bigint;
begin
    perform internal.require_right('services.update');
    if p_facility_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_facility_id is null', 'pass a facility id');
    end if;
    perform internal.require_count('p_guests', p_guests, 1, 1000);
    if p_starts_at is null or p_ends_at is null or not isfinite(p_starts_at) or not isfinite(p_ends_at)
       or p_ends_at <= p_starts_at then
        perform internal.raise_error('INVALID_ARGUMENT', format('period [%s, %s)', p_starts_at, p_ends_at),
            'pass starts_at before ends_at');
    end if;
    -- facility bookings are guest services: in-house stays only
    v_res := internal.require_in_house(p_reservation_id);
    -- one writer at a time per facility: two inserts racing on the exclusion constraint would
    -- each wait for the other (40P01); facility_bookings_no_overlap still decides every overlap
    select * into v_facility from core.facilities f where f.hotel_id = v_res.hotel_id and f.id = p_facility_id
    for no key update;
    if not found then
        perform internal.raise_error('FACILITY_NOT_FOUND', format('facility %s in hotel %s', p_facility_id, v_res.hotel_id),
            'list the hotel''s facilities');
    end if;
    if p_guests > v_facility.capacity then
        perform internal.raise_error('CAPACITY_EXCEEDED', format('%s takes %s guests, %s asked', v_facility.name, v_facility.capacity, p_guests),
            'book for fewer guests, or book twice');
    end if;
    -- whole slots, within one day's opening hours (hotel time), from now to the end of the stay
    select h.time_zone into v_tz from core.hotels h where h.id = v_res.hotel_id;
    v_from := p_starts_at at time zone v_tz;
    v_until := p_ends_at at time zone v_tz;
    if not v_facility.active or v_from::date <> (v_until - interval '1 microsecond')::date
       or v_from::time < v_facility.opens_at or v_until::time > v_facility.closes_at
       or (v_until::date > v_from::date and v_facility.closes_at <> '24:00') then
        perform internal.raise_error('FACILITY_UNAVAILABLE',
            format('%s is open %s-%s (%s); asked %s-%s', v_facility.name, v_facility.opens_at, v_facility.closes_at, v_tz,
                   to_char(v_from, 'YYYY-MM-DD HH24:MI'), to_char(v_until, 'HH24:MI')),
            'book within the opening hours of one day');
    end if;
    if extract(epoch from (v_from::time - v_facility.opens_at))::bigint % (v_facility.slot_minutes * 60) <> 0
       or extract(epoch from (p_ends_at - p_starts_at))::bigint % (v_facility.slot_minutes * 60) <> 0 then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('%s is booked in slots of %s minutes from %s', v_facility.name, v_facility.slot_minutes, v_facility.opens_at),
            'start and end on slot boundaries');
    end if;
    if p_starts_at < internal.now() or v_from::date >= upper(v_res.stay) + 1 then
        perform internal.raise_error('INVALID_ARGUMENT', format('%s is not between now and the departure day', p_starts_at),
            'book a time during the stay');
    end if;
    begin
        insert into core.facility_bookings (hotel_id, facility_id, reservation_id, customer_id, period, guests, booked_by, created_at)
        values (v_res.hotel_id, v_facility.id, v_res.id, v_res.customer_id, tstzrange(p_starts_at, p_ends_at, '[)'), p_guests,
                p_app_user, internal.now())
        returning id into v_id;
    exception when exclusion_violation then
        perform internal.raise_error('FACILITY_UNAVAILABLE',
            format('%s is already booked between %s and %s', v_facility.name, p_starts_at, p_ends_at),
            'pick another slot');
    end;
    return v_id;
end
$$;
comment on function api.book_facility(bigint, bigint, timestamptz, timestamptz, integer, text) is
    'Books a facility for an in-house stay (STAY_NOT_IN_HOUSE) over [p_starts_at, p_ends_at): whole slots within one day''s opening hours in hotel time, from now to the departure day, at most its capacity of guests (CAPACITY_EXCEEDED). An overlapping booking of the same facility is FACILITY_UNAVAILABLE (facility_bookings_no_overlap decides it, whoever writes concurrently). Returns the booking id.';

create function api.cancel_facility_booking(p_booking_id bigint, p_app_user text default null) returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_booking core.facility_bookings;
begin
    perform internal.require_right('services.update');
    if p_booking_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_booking_id is null', 'pass a booking id');
    end if;
    select * into v_booking from core.facility_bookings b where b.id = p_booking_id for update;
    if not found then
        perform internal.raise_error('FACILITY_BOOKING_NOT_FOUND', format('booking %s', p_booking_id), 'check the booking id');
    end if;
    if not v_booking.active then
        return false;  -- cancelled before: nothing changes
    end if;
    update core.facility_bookings b set active = false, cancelled_at = internal.now(),
        booked_by = coalesce(p_app_user, b.booked_by)
    where b.id = v_booking.id;
    return true;
end
$$;
comment on function api.cancel_facility_booking(bigint, text) is
    'Cancels a facility booking (its slot is free again); false when it was cancelled already. FACILITY_BOOKING_NOT_FOUND.';

-- ---------------------------------------------------------------- feedback

create function api.submit_feedback(
    p_reservation_id bigint,
    p_scores         jsonb,
    p_comment        text default null,
    p_order_id       bigint default null
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_res     core.reservations;
    v_order   core.service_orders;
    v_id      bigint;
    v_created boolean;
begin
    perform internal.require_right('feedback.create');
    if p_scores is null or jsonb_typeof(p_scores) <> 'object' or p_scores = '{}'::jsonb then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_scores is not an object of aspect scores',
            format('pass {"aspect": 1-5, ...} with aspects %s', array_to_string(enum_range(null::core.feedback_aspect)::text[], ', ')));
    end if;
    if exists (select 1 from jsonb_each(p_scores) s
               where not (s.key = any (enum_range(null::core.feedback_aspect)::text[]))
                  or jsonb_typeof(s.value) <> 'number' or s.value::text !~ '^[1-5]$') then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('scores %s: an unknown aspect or a score outside 1 to 5', left(p_scores::text, 200)),
            format('aspects %s, scores 1 to 5', array_to_string(enum_range(null::core.feedback_aspect)::text[], ', ')));
    end if;
    if length(p_comment) > 5000 then
        perform internal.raise_error('INVALID_ARGUMENT', 'comment is at most 5000 characters', 'shorten the comment');
    end if;
    -- one feedback per order and one per stay: the stay's lock serialises a guest's submissions
    v_res := internal.lock_reservation(p_reservation_id, null);
    if p_order_id is not null then
        select * into v_order from core.service_orders o where o.id = p_order_id and o.reservation_id = v_res.id;
        if not found then
            perform internal.raise_error('ORDER_NOT_FOUND', format('order %s of reservation %s', p_order_id, v_res.confirmation_code),
                'check the order id');
        end if;
        if v_order.delivered_at is null then
            perform internal.raise_error('FEEDBACK_NOT_ALLOWED', format('order %s is %s', v_order.id, v_order.status),
                'rate an order once it was delivered');
        end if;
    elsif v_res.status not in ('checked_in', 'checked_out') then
        perform internal.raise_error('FEEDBACK_NOT_ALLOWED', format('reservation %s is %s', v_res.confirmation_code, v_res.status),
            'rate a stay once the guest has checked in');
    end if;

    select f.id into v_id from core.feedback f
    where f.reservation_id = v_res.id and f.order_id is not distinct from p_order_id;
    v_created := v_id is null;
    if v_created then
        insert into core.feedback (hotel_id, customer_id, reservation_id, order_id, comment, created_at, updated_at)
        values (v_res.hotel_id, v_res.customer_id, v_res.id, p_order_id, nullif(btrim(p_comment), ''), internal.now(), internal.now())
        returning id into v_id;
    else
        update core.feedback f set comment = coalesce(nullif(btrim(p_comment), ''), f.comment), updated_at = internal.now()
        where f.id = v_id;
    end if;
    -- the scores sent replace those of the same aspects
    insert into core.feedback_scores (feedback_id, hotel_id, aspect, score)
    select v_id, v_res.hotel_id, s.key::core.feedback_aspect, s.value::text::smallint
    from jsonb_each(p_scores) s
    order by s.key
    on conflict (feedback_id, aspect, hotel_id) do update set score = excluded.score;

    perform internal.emit_event(case when v_created then 'feedback.created' else 'feedback.updated' end, v_id::text, v_res.hotel_id,
        jsonb_build_object('feedback_id', v_id, 'reservation_id', v_res.id, 'customer_id', v_res.customer_id,
                           'order_id', p_order_id, 'scores', p_scores));
    return jsonb_build_object(
        'id', v_id, 'created', v_created, 'hotel_id', v_res.hotel_id, 'customer_id', v_res.customer_id,
        'reservation_id', v_res.id, 'order_id', p_order_id,
        'comment', (select f.comment from core.feedback f where f.id = v_id),
        'scores', (select jsonb_object_agg(s.aspect, s.score order by s.aspect) from core.feedback_scores s where s.feedback_id = v_id));
end
$$;
comment on function api.submit_feedback(bigint, jsonb, text, bigint) is
    'A guest''s feedback (seed 000''s POST /feedback) on a delivered order (p_order_id) or on a stay that checked in (FEEDBACK_NOT_ALLOWED otherwise): scores 1-5 per aspect and a comment. Sent again for the same order or stay it updates the feedback. Emits feedback.created / feedback.updated. Returns the feedback.';

create function api.feedback_summary(p_customer_id bigint) returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('feedback.read');
    if p_customer_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_customer_id is null', 'pass a customer id');
    end if;
    if not exists (select 1 from core.customers c where c.id = p_customer_id) then
        perform internal.raise_error('CUSTOMER_NOT_FOUND', format('customer %s', p_customer_id), 'check the customer id');
    end if;
    -- service feedback and the loyalty domain's stay reviews, one score per aspect each
    return (
        with scores as (
            select 'feedback'::text as source, f.id, f.hotel_id, s.aspect::text as aspect, s.score::numeric as score
            from core.feedback f join core.feedback_scores s on s.feedback_id = f.id
            where f.customer_id = p_customer_id
            union all
            select 'review', r.id, r.hotel_id, a.aspect, a.score
            from core.reviews r
            cross join lateral (values ('overall', r.overall_rating), ('cleanliness', r.cleanliness_rating),
                                       ('service', r.service_rating), ('location', r.location_rating),
                                       ('facilities', r.facilities_rating), ('value', r.value_rating)) as a(aspect, score)
            where r.customer_id = p_customer_id and a.score is not null
        ),
        comments as (
            select 'feedback' as source, f.hotel_id, f.reservation_id, f.order_id, f.updated_at as at, f.comment
            from core.feedback f where f.customer_id = p_customer_id and f.comment is not null
            union all
            select 'review', r.hotel_id, r.reservation_id, null, r.created_at, r.comment
            from core.reviews r where r.customer_id = p_customer_id and r.comment is not null
        )
        select jsonb_build_object(
            'customer_id', p_customer_id,
            'feedback_count', (select count(*) from core.feedback f where f.customer_id = p_customer_id),
            'order_feedback_count', (select count(*) from core.feedback f where f.customer_id = p_customer_id and f.order_id is not null),
            'review_count', (select count(*) from core.reviews r where r.customer_id = p_customer_id),
            'overall_average', (select round(avg(s.score), 2) from scores s where s.aspect = 'overall'),
            'aspects', coalesce((select jsonb_agg(jsonb_build_object(
                                     'aspect', a.aspect, 'average', a.average, 'count', a.n,
                                     'feedback_average', a.feedback_average, 'review_average', a.review_average)
                                     order by a.aspect)
                                 from (select s.aspect, round(avg(s.score), 2) as average, count(*) as n,
                                              round(avg(s.score) filter (where s.source = 'feedback'), 2) as feedback_average,
                                              round(avg(s.score) filter (where s.source = 'review'), 2) as review_average
                                       from scores s group by s.aspect) a), '[]'::jsonb),
            'hotels', coalesce((select jsonb_agg(jsonb_build_object('hotel_id', h.hotel_id, 'count', h.n, 'average', h.average)
                                                 order by h.hotel_id)
                                from (select s.hotel_id, count(distinct (s.source, s.id)) as n, round(avg(s.score), 2) as average
                                      from scores s group by s.hotel_id) h), '[]'::jsonb),
            'recent_comments', coalesce((select jsonb_agg(to_jsonb(c) order by c.at desc)
                                         from (select * from comments order by at desc limit 5) c), '[]'::jsonb))
    );
end
$$;
comment on function api.feedback_summary(bigint) is
    'A customer''s satisfaction (seed 000''s GET /feedback/summary/{id}): counts, per-aspect averages of service feedback and of the loyalty domain''s stay reviews (together and apart), per hotel, and the latest comments; in the caller''s hotels. CUSTOMER_NOT_FOUND.';
