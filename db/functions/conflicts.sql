-- Conflicts between the systems' writes (seed 000, 競合解決システム). hotelcore keeps one master
-- copy, so a conflict is a write based on a stale version, or two claims on one room:
--
-- Customers: a write carries the version it was based on. What newer versions changed is read
-- from core.customer_changes. Per field of the stale write, in this order:
--   * a field only this write changed, or one it left as it was   -> applied / newer kept (disjoint_fields)
--   * money (the points balance: it moves through the ledger only) -> review (money_field)
--   * a name (and its reading) or the phone changed by both          -> review (critical_field_clash)
--   * a change of 50 % or more from the value it replaces (numbers;
--     text: an edit distance of half its length)                     -> review (large_change)
--   * an address field hotel-member and hotel-pms both changed       -> the PMS's value (pms_allowed_fields)
--   * both changes within 5 minutes                                  -> the later timestamp (later_timestamp_wins)
--   * else                                                           -> review (changed_by_both_beyond_window)
-- One field for review keeps the whole write out of the master (recorded, status open); else the
-- write is merged and the conflict recorded resolved by 'system'. Thresholds: core.conflict_settings.
--
-- Reservations: one room cannot serve two stays on a night (room_assignments_no_overlap). A claim
-- of a room another reservation holds is decided by booking time (seed 000: 予約時刻の早い方を優先):
-- the earlier booking keeps or takes the room, the other one is moved to a free room of its type
-- or given suggestions (the same type, then similar types). A conflict touching a VIP (Gold or
-- Platinum) or a high-value booking (core.conflict_escalation_amounts) is escalated: nothing
-- moves, the conflict stays open, flagged, and reservation.conflict_escalated is emitted.
--
-- Rooms (hotel-pms's 部屋状態): a room write carries the version it was based on; the history is
-- core.room_changes, the same rules judge it (internal.judge_write), with a PMS's view of which
-- room fields are critical (internal.room_field_class):
--   * status out_of_order / out_of_service on either side (taking a room out, or back in)   -> review
--   * active, number, room type (inventory and identity)                                    -> review
--   * housekeeping status clean / dirty / inspected changed by both: the later observation
--     within 5 minutes, else review (no degree of change between two states)
--   * floor, housekeeping notes: large change -> review, else the later timestamp within 5 minutes
-- hotel-pms owns rooms: priority_based resolves a room conflict with the PMS's write.

-- ---------------------------------------------------------------------------- customer history

create function internal.change_system() returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    -- the system the caller's role belongs to; maintenance and admin work is the core's (a
    -- superuser or admin is a member of every system's role, so it is asked first)
    if internal.caller_unrestricted() then
        return 'core';
    end if;
    return coalesce((internal.caller_systems())[1], 'core');
end
$$;
comment on function internal.change_system() is
    'The system (member, pms, saas, bi) a change is made by, from the caller''s role; ''core'' for admin and maintenance work.';

-- ---------------------------------------------------------------------------- the rules

create function internal.customer_field_class(p_field text) returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    select case
        -- seed 000: 重要項目（氏名・電話）
        when p_field in ('given_name', 'family_name', 'given_name_reading', 'family_name_reading', 'phone_e164')
            then 'critical'
        -- seed 000: 金額関連情報（ポイント・請求）
        when p_field in ('points_balance') then 'money'
        -- the rest of what hotel-pms may change: the address
        when p_field in ('postal_code', 'address_line1', 'address_line2', 'city', 'region', 'country_code')
            then 'basic'
        else 'other'
    end
$$;
comment on function internal.customer_field_class(text) is
    'How the conflict rules treat a customer column: critical (names, phone), money (points balance), basic (the address hotel-pms may change), other.';

create function internal.change_is_large(p_from jsonb, p_to jsonb) returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_ratio numeric := (select s.large_change_ratio from core.conflict_settings s where s.id);
    v_from  text;
    v_to    text;
begin
    if p_from is not distinct from p_to then
        return false;
    end if;
    -- numbers: |new - old| >= ratio * |old| (any change from 0 is large)
    if jsonb_typeof(p_from) = 'number' and jsonb_typeof(p_to) = 'number' then
        return abs((p_to #>> '{}')::numeric - (p_from #>> '{}')::numeric) >= v_ratio * abs((p_from #>> '{}')::numeric);
    end if;
    -- text: an edit distance of at least ratio * the old length (levenshtein reads 255 characters)
    if coalesce(jsonb_typeof(p_from), 'null') in ('string', 'null') and coalesce(jsonb_typeof(p_to), 'null') in ('string', 'null') then
        v_from := coalesce(p_from #>> '{}', '');
        v_to := coalesce(p_to #>> '{}', '');
        return core.levenshtein(left(v_from, 255), left(v_to, 255)) >= v_ratio * length(v_from);
    end if;
    -- flags and objects: a different value is not a matter of degree
    return false;
end
$$;
comment on function internal.change_is_large(jsonb, jsonb) is
    'Seed 000''s 大幅変更: a number moved by at least large_change_ratio (50 %) of its old value, or a text whose edit distance to the old one is at least that share of the old length.';

create function internal.record_conflict(p_conflict core.conflicts) returns bigint
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_id bigint;
begin
    insert into core.conflicts (entity_type, entity_id, hotel_id, base_version, entity_version, before, theirs, ours,
        theirs_system, theirs_at, ours_system, ours_at, fields, verdict, rule, escalated, escalation_reasons,
        suggestions, status, detected_at, resolved_at, resolver, resolution_method, resolution_reason)
    values (p_conflict.entity_type, p_conflict.entity_id, p_conflict.hotel_id, p_conflict.base_version,
        p_conflict.entity_version, p_conflict.before, p_conflict.theirs, p_conflict.ours, p_conflict.theirs_system,
        p_conflict.theirs_at, p_conflict.ours_system, p_conflict.ours_at, p_conflict.fields, p_conflict.verdict,
        p_conflict.rule, p_conflict.escalated, p_conflict.escalation_reasons, p_conflict.suggestions,
        case when p_conflict.verdict = 'merged' then 'resolved' else 'open' end, internal.now(),
        case when p_conflict.verdict = 'merged' then internal.now() end,
        case when p_conflict.verdict = 'merged' then 'system' end,
        case when p_conflict.verdict = 'merged' then
            case when p_conflict.rule in ('later_timestamp_wins', 'earlier_booking_wins') then 'priority_based'
                 else 'auto_merge' end end,
        case when p_conflict.verdict = 'merged' then 'decided by rule ' || p_conflict.rule end)
    returning id into v_id;
    -- seed 000: 競合検知 → システムイベント発行, in the transaction of the change
    perform internal.emit_event(p_conflict.entity_type || '.conflict_detected', p_conflict.entity_id::text,
        p_conflict.hotel_id, jsonb_build_object('conflict_id', v_id, 'verdict', p_conflict.verdict,
            'rule', p_conflict.rule, 'fields', (select coalesce(jsonb_agg(k order by k), '[]') from jsonb_object_keys(p_conflict.fields) k),
            'system', p_conflict.ours_system, 'escalated', p_conflict.escalated));
    if p_conflict.escalated then
        perform internal.emit_event(p_conflict.entity_type || '.conflict_escalated', p_conflict.entity_id::text,
            p_conflict.hotel_id, jsonb_build_object('conflict_id', v_id, 'reasons', to_jsonb(p_conflict.escalation_reasons)));
    end if;
    return v_id;
end
$$;
comment on function internal.record_conflict(core.conflicts) is
    'Inserts a conflict (merged ones resolved by ''system'' at once, the others open) and emits <entity>.conflict_detected (and .conflict_escalated when flagged) in the same transaction. Returns its id.';

create function internal.room_field_class(p_field text, p_values jsonb) returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    -- how a PMS treats a room's fields when two writes clash (p_values: the field's values at the
    -- stale write's base, now, and asked)
    select case
        -- taking a room out of order / out of service, or putting it back, decides whether it is
        -- sold and who sleeps in it: never settled by a clock, and a stale housekeeping write must
        -- not silently reopen (or close) a room maintenance took out
        when p_field = 'status' and exists (select 1 from jsonb_array_elements_text(coalesce(p_values, '[]')) v
                                            where v in ('out_of_order', 'out_of_service'))
            then 'critical'
        -- clean / dirty / inspected: the latest observation of the room, not a matter of degree
        when p_field = 'status' then 'state'
        -- whether the room counts in the inventory, what it is called and what it is sold as
        when p_field in ('active', 'number', 'room_type_id') then 'critical'
        -- floor, housekeeping notes
        else 'other'
    end
$$;
comment on function internal.room_field_class(text, jsonb) is
    'How the conflict rules treat a room field: status is critical when out_of_order or out_of_service is among p_values (base, current, asked) and a state (clean / dirty / inspected: the later observation wins, no degree of change) otherwise; active, number and room_type_id are critical; floor and housekeeping_notes other.';

create function internal.conflict_field_class(p_entity_type text, p_field text, p_values jsonb default null) returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    select case p_entity_type
        when 'customer' then internal.customer_field_class(p_field)
        when 'reservation' then
            case
                -- seed 000: the stay itself (dates, room type) is what a guest booked
                when p_field in ('stay', 'room_type_id', 'room_id') then 'critical'
                -- seed 000: 金額関連情報 — the rate, the price, deposits and billing
                when p_field in ('rate_plan_id', 'total_amount', 'currency', 'deposit', 'billing') then 'billing'
                else 'other'
            end
        when 'room' then internal.room_field_class(p_field, p_values)
        else 'other'
    end
$$;
comment on function internal.conflict_field_class(text, text, jsonb) is
    'How the conflict rules treat a field of an entity: critical (customer names and phone; a reservation''s stay, room type, room; a room''s out-of-order status, active, number, type), money (the points balance: never written by a write), billing (a reservation''s rate plan and amounts: reviewed when both sides changed it), basic (the address hotel-pms may change), state (a room''s housekeeping status: no degree of change), other. p_values: the field''s values (base, current, asked) for classes that depend on them.';

-- Judges one write to an entity against the versions after its base (see the header): the one
-- home of seed 000's rules for customers, reservations and rooms alike. p_current is the entity now (at
-- p_version), p_history the versions after the base ([{version, system, changed_at, changes:
-- {field: {old, new}}}], null when unknown), p_new what the write asks of p_fields. A write on a
-- VIP, high-value or special-event-day booking (p_escalation) is escalated: flagged, kept for
-- review. Returns null when there is no conflict (an up-to-date write without money), else
-- records it and returns {conflict_id, verdict, rule, fields, apply: [fields to write],
-- escalated, escalation_reasons}.
create function internal.judge_write(
    p_entity_type  text,
    p_entity_id    bigint,
    p_hotel_id     bigint,
    p_current      jsonb,
    p_version      integer,
    p_history      jsonb,
    p_new          jsonb,
    p_fields       text[],
    p_base_version integer,
    p_system       text,
    p_at           timestamptz,
    p_escalation   text[] default '{}'
) returns jsonb
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_window    interval := (select s.auto_window from core.conflict_settings s where s.id);
    v_stale     boolean := p_base_version < p_version;
    v_complete  boolean := p_history is not null
                    and jsonb_array_length(p_history) = p_version - p_base_version;
    v_class     text;
    v_old       jsonb;
    v_at        jsonb;
    v_sys       jsonb;
    v_before    jsonb;
    v_theirs    jsonb := '{}';
    v_ours      jsonb := '{}';
    v_fields    jsonb := '{}';
    v_field     text;
    v_outcome   text;
    v_why       text;
    v_review    text;
    v_rules     text[] := '{}';
    v_apply     text[] := '{}';
    v_last      jsonb;
    v_escalate  boolean := v_stale and cardinality(coalesce(p_escalation, '{}')) > 0;
    v_conflict  core.conflicts;
    v_id        bigint;
begin
    -- what the versions after the base changed: each field's value at the base, its last writer
    select jsonb_object_agg(x.k, x.first_old), jsonb_object_agg(x.k, x.last_at), jsonb_object_agg(x.k, x.last_sys)
    into v_old, v_at, v_sys
    from (select e.key as k,
                 (array_agg(e.value -> 'old' order by (h.value ->> 'version')::integer))[1] as first_old,
                 (array_agg(h.value -> 'changed_at' order by (h.value ->> 'version')::integer desc))[1] as last_at,
                 (array_agg(h.value -> 'system' order by (h.value ->> 'version')::integer desc))[1] as last_sys
          from jsonb_array_elements(coalesce(p_history, '[]')) h
          cross join lateral jsonb_each(h.value -> 'changes') e
          group by e.key) x;
    v_before := p_current || coalesce(v_old, '{}');
    select coalesce(jsonb_object_agg(k, p_current -> k), '{}') into v_theirs
    from jsonb_object_keys(coalesce(v_old, '{}')) k where (p_current -> k) is distinct from (v_before -> k);

    foreach v_field in array p_fields loop
        v_class := internal.conflict_field_class(p_entity_type, v_field,
            jsonb_build_array(v_before -> v_field, p_current -> v_field, p_new -> v_field));
        v_ours := v_ours || jsonb_build_object(v_field, p_new -> v_field);
        v_why := null;
        if (p_new -> v_field) is not distinct from (p_current -> v_field) then
            v_outcome := 'agreed';
        elsif v_class = 'money' then
            v_outcome := 'review'; v_why := 'money_field';
        elsif v_stale and not v_complete then
            v_outcome := 'review'; v_why := 'history_unavailable';
        elsif not v_theirs ? v_field then
            v_outcome := 'applied'; v_why := 'disjoint_fields';
        elsif (p_new -> v_field) is not distinct from (v_before -> v_field) then
            -- this write left the field as it was at its base: the newer change stays
            v_outcome := 'kept_theirs'; v_why := 'disjoint_fields';
        elsif v_class = 'critical' then
            v_outcome := 'review'; v_why := 'critical_field_clash';
        elsif v_class = 'billing' then
            v_outcome := 'review'; v_why := 'money_field_clash';
        elsif v_class <> 'state' and internal.change_is_large(p_current -> v_field, p_new -> v_field) then
            v_outcome := 'review'; v_why := 'large_change';
        elsif v_class = 'basic' and array[p_system, v_sys ->> v_field] @> array['member', 'pms'] then
            v_outcome := case when p_system = 'pms' then 'applied' else 'kept_theirs' end;
            v_why := 'pms_allowed_fields';
        elsif abs(extract(epoch from p_at - (v_at ->> v_field)::timestamptz)) <= extract(epoch from v_window) then
            v_outcome := case when p_at >= (v_at ->> v_field)::timestamptz then 'applied' else 'kept_theirs' end;
            v_why := 'later_timestamp_wins';
        else
            v_outcome := 'review'; v_why := 'changed_by_both_beyond_window';
        end if;
        v_fields := v_fields || jsonb_build_object(v_field, jsonb_strip_nulls(jsonb_build_object(
            'outcome', v_outcome, 'rule', v_why, 'theirs_system', v_sys ->> v_field, 'theirs_at', v_at -> v_field)));
        if v_outcome = 'review' then
            v_review := coalesce(v_review, v_why);
        elsif v_outcome = 'applied' then
            v_apply := v_apply || v_field;
        end if;
        if v_why is not null and v_outcome <> 'review' then
            v_rules := v_rules || v_why;
        end if;
    end loop;

    if not v_stale and v_review is null then
        return null;
    end if;

    select h.value into v_last from jsonb_array_elements(coalesce(p_history, '[]')) h
    order by (h.value ->> 'version')::integer desc limit 1;
    v_conflict.entity_type := p_entity_type;
    v_conflict.entity_id := p_entity_id;
    v_conflict.hotel_id := p_hotel_id;
    v_conflict.base_version := p_base_version;
    v_conflict.entity_version := p_version;
    select coalesce(jsonb_object_agg(k, v_before -> k), '{}') into v_conflict.before
    from (select jsonb_object_keys(v_ours) union select jsonb_object_keys(v_theirs)) as x (k);
    v_conflict.theirs := v_theirs;
    v_conflict.ours := v_ours;
    v_conflict.theirs_system := v_last ->> 'system';
    v_conflict.theirs_at := (v_last ->> 'changed_at')::timestamptz;
    v_conflict.ours_system := p_system;
    v_conflict.ours_at := p_at;
    v_conflict.fields := v_fields;
    -- seed 000's エスカレーション: a conflict on a VIP, high-value or special-event-day booking
    -- is a person's to decide, whatever the rules would have done (their outcome stays in fields)
    v_conflict.verdict := case when v_review is null and not v_escalate then 'merged' else 'needs_review' end;
    -- the rule named is the strongest one used: time beats the PMS's fields beats disjointness
    v_conflict.rule := coalesce(v_review, case when v_escalate then 'escalated' end,
        case when 'later_timestamp_wins' = any (v_rules) then 'later_timestamp_wins'
             when 'pms_allowed_fields' = any (v_rules) then 'pms_allowed_fields'
             else 'disjoint_fields' end);
    v_conflict.escalated := v_escalate;
    v_conflict.escalation_reasons := case when v_escalate then p_escalation else '{}' end;
    v_id := internal.record_conflict(v_conflict);
    return jsonb_build_object('conflict_id', v_id, 'verdict', v_conflict.verdict, 'rule', v_conflict.rule,
        'fields', v_fields, 'escalated', v_conflict.escalated, 'escalation_reasons', to_jsonb(v_conflict.escalation_reasons),
        'apply', to_jsonb(case when v_conflict.verdict = 'merged' then v_apply else '{}'::text[] end));
end
$$;
comment on function internal.judge_write(text, bigint, bigint, jsonb, integer, jsonb, jsonb, text[], integer, text, timestamptz, text[]) is
    'Seed 000''s conflict rules, the one home for customers, reservations and rooms: one write based on p_base_version judged field by field against the versions after it (p_history). Null when it is up to date; else records the conflict (merged, or open for review; escalated when p_escalation names reasons) and returns {conflict_id, verdict, rule, fields, apply, escalated, escalation_reasons}.';

-- Judges a write to a customer against the versions after its base: p_new is the row the write
-- would give (column names, plus points_balance when a system reported one), p_fields the
-- columns it wrote. See internal.judge_write.
create function internal.judge_customer_write(
    p_current      core.customers,
    p_new          jsonb,
    p_fields       text[],
    p_base_version integer,
    p_system       text,
    p_at           timestamptz
) returns jsonb
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select internal.judge_write('customer', p_current.id, null,
        to_jsonb(p_current) || jsonb_build_object('points_balance',
            coalesce((select a.balance from core.points_accounts a where a.customer_id = p_current.id), 0)),
        p_current.version,
        (select jsonb_agg(jsonb_build_object('version', ch.version, 'system', ch.system, 'changed_at', ch.changed_at,
                                             'changes', ch.changes) order by ch.version)
         from core.customer_changes ch where ch.customer_id = p_current.id and ch.version > p_base_version),
        p_new, p_fields, p_base_version, p_system, p_at)
$$;
comment on function internal.judge_customer_write(core.customers, jsonb, text[], integer, text, timestamptz) is
    'Seed 000''s customer conflict rules (internal.judge_write over core.customer_changes) for one write based on p_base_version: null when it is up to date, else records the conflict (merged, or open for review) and returns {conflict_id, verdict, rule, fields, apply}.';

-- ---------------------------------------------------------------------------- reservations

create function internal.room_suggestions(
    p_hotel_id     bigint,
    p_room_type_id bigint,
    p_nights       daterange,
    p_guests       integer,
    p_except_room  bigint
) returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    -- seed 000: 類似部屋への自動提案 — rooms free on every night, of the booked type first, then
    -- the types that sleep the party, the closest in price first
    select coalesce(jsonb_agg(jsonb_build_object(
               'room_id', s.id, 'room_number', s.number, 'room_type_id', s.room_type_id,
               'room_type_code', s.code, 'same_room_type', s.same, 'status', s.status)
           order by not s.same, s.price_gap, s.floor nulls last, s.number), '[]'::jsonb)
    from (select r.id, r.number, r.floor, r.room_type_id, r.status, t.code,
                 r.room_type_id = p_room_type_id as same,
                 abs(t.base_price - (select b.base_price from core.room_types b where b.id = p_room_type_id)) as price_gap,
                 row_number() over (partition by r.room_type_id = p_room_type_id
                                    order by abs(t.base_price - (select b.base_price from core.room_types b where b.id = p_room_type_id)),
                                             r.floor nulls last, r.number) as n
          from core.rooms r
          join core.room_types t on t.id = r.room_type_id
          where r.hotel_id = p_hotel_id and r.active and t.active
            and r.status not in ('out_of_order', 'out_of_service')
            and r.id is distinct from p_except_room
            and t.max_occupancy >= coalesce(p_guests, 1)
            and not exists (select 1 from core.room_assignments a
                            where a.hotel_id = r.hotel_id and a.room_id = r.id and a.active and a.nights && p_nights)) s
    where s.n <= 5
$$;
comment on function internal.room_suggestions(bigint, bigint, daterange, integer, bigint) is
    'Up to five free rooms of the booked room type and five of similar types (sleeping p_guests, closest base price) for every night of p_nights: what a refused or lost room claim is offered (seed 000: 類似部屋への自動提案).';

create function internal.room_suggestions_text(p_suggestions jsonb) returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    select case when jsonb_array_length(p_suggestions) = 0 then 'no free room of this or a similar type on these nights'
                else 'free for these nights: ' || string_agg(
                    format('room %s (%s%s)', s ->> 'room_number', s ->> 'room_type_code',
                           case when (s ->> 'same_room_type')::boolean then '' else ', another room type' end), ', ')
           end
    from jsonb_array_elements(p_suggestions) s
$$;
comment on function internal.room_suggestions_text(jsonb) is
    'The suggestions of internal.room_suggestions as the HINT of a refusal.';

create function internal.special_event_reasons(p_hotel_id bigint, p_nights daterange) returns text[]
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    -- seed 000: 特別イベント日の競合 — a night of the stay is one of the hotel's special event days
    select coalesce(array_agg(format('special_event: night %s is %s', d.day, d.name) order by d.day), '{}')
    from core.special_event_days d
    where d.hotel_id = p_hotel_id and p_nights @> d.day
$$;
comment on function internal.special_event_reasons(bigint, daterange) is
    'One escalation reason per night of p_nights that is a special event day of the hotel (core.special_event_days); empty when none.';

create function internal.escalation_reasons(p_reservation core.reservations) returns text[]
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    -- seed 000's エスカレーション: VIP customers (Gold and above), high-value bookings, special event days
    select array_remove(array[
        case when exists (select 1 from core.customers c join core.membership_ranks k on k.code = c.rank_code
                          where c.id = p_reservation.customer_id
                            and k.level >= (select g.level from core.membership_ranks g where g.code = 'gold'))
             then format('vip: reservation %s is for a %s member', p_reservation.confirmation_code,
                         (select c.rank_code from core.customers c where c.id = p_reservation.customer_id)) end,
        case when p_reservation.total_amount >= (select e.amount from core.conflict_escalation_amounts e
                                                 where e.currency = p_reservation.currency)
             then format('high_value: reservation %s totals %s %s', p_reservation.confirmation_code,
                         p_reservation.total_amount, p_reservation.currency) end], null)
        || internal.special_event_reasons(p_reservation.hotel_id, p_reservation.stay)
$$;
comment on function internal.escalation_reasons(core.reservations) is
    'Why a conflict on this reservation is escalated: its customer is Gold or Platinum (vip), its total reaches core.conflict_escalation_amounts for its currency (high_value), a night of its stay is a special event day (special_event). Empty when none.';

-- What the conflict rules compare of a reservation: its stay, the room type, rate plan and guests
-- of its (first) room line, its requests and total. One home: the history triggers store it per
-- version (from the rows they have), a stale write is compared with it. A SQL function with a
-- standard body: inlined into the query that reads it.
create function internal.reservation_document_of(p_reservation core.reservations, p_first_line core.reservation_rooms)
returns jsonb
language sql
stable
begin atomic
    select jsonb_build_object('stay', (p_reservation).stay::text, 'room_type_id', (p_first_line).room_type_id,
                              'rate_plan_id', (p_first_line).rate_plan_id, 'adults', (p_first_line).adults,
                              'children', (p_first_line).children,
                              'special_requests', (p_reservation).special_requests,
                              'total_amount', (p_reservation).total_amount, 'currency', (p_reservation).currency);
end;
comment on function internal.reservation_document_of(core.reservations, core.reservation_rooms) is
    'A reservation as the conflict rules compare it, from its row and its first room line (internal.first_room_line; null when it has none): stay ([check_in,check_out) as text), room_type_id, rate_plan_id, adults, children (of the first line; a change applies to every line), special_requests, total_amount, currency.';

create function internal.reservation_document(p_reservation_id bigint) returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select internal.reservation_document_of(r, l)
    from core.reservations r
    left join lateral internal.first_room_line(r.id) l on true
    where r.id = p_reservation_id
$$;
comment on function internal.reservation_document(bigint) is
    'A reservation as the conflict rules compare it (internal.reservation_document_of), read by id.';

-- Judges a write to a reservation (api.modify_reservation) against the versions after its base:
-- p_new the fields it asks (the document's names), p_fields the ones it wrote. Escalated for a
-- VIP, high-value or special-event-day booking, on the nights it has or the nights asked.
create function internal.judge_reservation_write(
    p_current      core.reservations,
    p_new          jsonb,
    p_fields       text[],
    p_base_version integer,
    p_system       text,
    p_at           timestamptz
) returns jsonb
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select internal.judge_write('reservation', p_current.id, p_current.hotel_id,
        internal.reservation_document(p_current.id), p_current.version,
        -- the history is known from the base's own row on (a version before this history began is not)
        (select jsonb_agg(jsonb_build_object('version', ch.version, 'system', ch.system, 'changed_at', ch.changed_at,
                                             'changes', ch.changes) order by ch.version)
         from core.reservation_changes ch
         where ch.hotel_id = p_current.hotel_id and ch.reservation_id = p_current.id and ch.version > p_base_version
           and exists (select 1 from core.reservation_changes b where b.hotel_id = p_current.hotel_id
                       and b.reservation_id = p_current.id and b.version = p_base_version)),
        p_new, p_fields, p_base_version, p_system, p_at,
        (select array(select u.x from unnest(internal.escalation_reasons(p_current)
                          || case when p_new ? 'stay' then internal.special_event_reasons(p_current.hotel_id, (p_new ->> 'stay')::daterange)
                                  else '{}'::text[] end) with ordinality as u (x, n)
                      group by u.x order by min(u.n))))
$$;
comment on function internal.judge_reservation_write(core.reservations, jsonb, text[], integer, text, timestamptz) is
    'Seed 000''s conflict rules (internal.judge_write over core.reservation_changes) for one reservation write based on p_base_version: null when it is up to date, else records the conflict (merged, or open for review; escalated for VIP, high-value or special-event-day bookings) and returns {conflict_id, verdict, rule, fields, apply, escalated, escalation_reasons}.';

-- Judges a write to a room (api.update_room, detect, a resolution) against the versions after its
-- base: p_new the room's document as the write would leave it, p_fields the fields it wrote.
create function internal.judge_room_write(
    p_current      core.rooms,
    p_new          jsonb,
    p_fields       text[],
    p_base_version integer,
    p_system       text,
    p_at           timestamptz
) returns jsonb
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
    select internal.judge_write('room', p_current.id, p_current.hotel_id, internal.room_document(p_current),
        p_current.version,
        (select jsonb_agg(jsonb_build_object('version', ch.version, 'system', ch.system, 'changed_at', ch.changed_at,
                                             'changes', ch.changes) order by ch.version)
         from core.room_changes ch
         where ch.hotel_id = p_current.hotel_id and ch.room_id = p_current.id and ch.version > p_base_version),
        p_new, p_fields, p_base_version, p_system, p_at)
$$;
comment on function internal.judge_room_write(core.rooms, jsonb, text[], integer, text, timestamptz) is
    'Seed 000''s conflict rules (internal.judge_write over core.room_changes, fields classed by internal.room_field_class) for one room write based on p_base_version: null when it is up to date, else records the conflict with the room''s hotel (merged, or open for review) and returns {conflict_id, verdict, rule, fields, apply}.';

-- One system's claim of p_room for the room line of p_reservation that takes its type.
create function internal.claim_room(
    p_reservation core.reservations,
    p_room        core.rooms,
    p_system      text,
    p_at          timestamptz
) returns jsonb
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_line      core.reservation_rooms;
    v_current   core.room_assignments;
    v_taken     core.room_assignments;
    v_other     core.reservations;
    v_other_line core.reservation_rooms;
    v_conflict  core.conflicts;
    v_reasons   text[];
    v_ours_first boolean;
    v_moved_to  bigint;
    v_id        bigint;
begin
    v_line := internal.pick_line(p_reservation.id, null, p_room);
    if v_line.room_type_id <> p_room.room_type_id then
        perform internal.raise_error('ROOM_TYPE_MISMATCH',
            format('room %s is of room type %s, reservation %s has no room line of that type',
                   p_room.number, p_room.room_type_id, p_reservation.id),
            'claim a room of the booked type, or change the booking''s room type first');
    end if;
    select a.* into v_current from core.room_assignments a
    where a.reservation_room_id = v_line.id and a.active order by lower(a.nights) limit 1;
    if v_current.room_id = p_room.id then
        return jsonb_build_object('verdict', 'applied', 'room_id', p_room.id, 'room_number', p_room.number);
    end if;
    perform 1 from core.rooms r where r.id = p_room.id for no key update;
    select a.* into v_taken from core.room_assignments a
    where a.hotel_id = p_room.hotel_id and a.room_id = p_room.id and a.active and a.nights && v_line.stay
    order by lower(a.nights) limit 1
    for update;

    if v_taken.id is null then
        -- free: the claim is simply applied
        if v_current.id is not null then
            update core.room_assignments a set active = false, released_at = internal.now()
            where a.reservation_room_id = v_line.id and a.active;
        end if;
        perform internal.assign_line(v_line, v_line.stay, p_room.id, false, null, 'conflicts:' || p_system);
        return jsonb_build_object('verdict', 'applied', 'room_id', p_room.id, 'room_number', p_room.number);
    end if;

    -- taken: by a block (the room is out of order) or by another stay
    v_conflict.entity_type := 'reservation';
    v_conflict.entity_id := p_reservation.id;
    v_conflict.hotel_id := p_reservation.hotel_id;
    v_conflict.base_version := p_reservation.version;
    v_conflict.entity_version := p_reservation.version;
    v_conflict.before := jsonb_build_object('room_id', v_current.room_id);
    v_conflict.ours := jsonb_build_object('room_id', p_room.id, 'room_number', p_room.number);
    v_conflict.ours_system := p_system;
    v_conflict.ours_at := p_at;
    v_conflict.suggestions := internal.room_suggestions(p_reservation.hotel_id, v_line.room_type_id, v_line.stay,
        v_line.adults + v_line.children, p_room.id);
    v_reasons := internal.escalation_reasons(p_reservation);
    if v_taken.room_block_id is not null then
        v_conflict.theirs := jsonb_build_object('room_id', p_room.id, 'room_block_id', v_taken.room_block_id,
            'nights', v_taken.nights::text);
        v_conflict.fields := jsonb_build_object('room_id', jsonb_build_object('outcome', 'review', 'rule', 'room_blocked'));
        v_conflict.verdict := 'needs_review';
        v_conflict.rule := 'room_blocked';
    else
        select l.* into v_other_line from core.reservation_rooms l where l.id = v_taken.reservation_room_id;
        select r.* into v_other from core.reservations r where r.id = v_other_line.reservation_id for update;
        v_reasons := v_reasons || internal.escalation_reasons(v_other);
        v_conflict.theirs := jsonb_build_object('room_id', p_room.id, 'reservation_id', v_other.id,
            'confirmation_code', v_other.confirmation_code, 'nights', v_taken.nights::text,
            'booked_at', v_other.created_at);
        v_conflict.theirs_system := v_other.origin::text;
        v_conflict.theirs_at := v_other.created_at;
        -- seed 000: 予約時刻の早い方を優先
        v_ours_first := (p_reservation.created_at, p_reservation.id) < (v_other.created_at, v_other.id);
        v_conflict.rule := 'earlier_booking_wins';
        if cardinality(v_reasons) > 0 then
            v_conflict.verdict := 'needs_review';
            v_conflict.fields := jsonb_build_object('room_id', jsonb_build_object('outcome', 'review', 'rule', 'escalated',
                'earlier_booking', case when v_ours_first then p_reservation.id else v_other.id end));
        elsif not v_ours_first then
            -- the earlier booking keeps the room; this one is offered the suggestions
            v_conflict.verdict := 'merged';
            v_conflict.fields := jsonb_build_object('room_id', jsonb_build_object('outcome', 'kept_theirs', 'rule', 'earlier_booking_wins'));
        elsif v_other.status in ('pending', 'confirmed')
              and (select count(*) from core.room_assignments a where a.reservation_room_id = v_other_line.id and a.active) = 1 then
            -- this booking is the earlier one: the later stay moves to the best free room of its type
            update core.room_assignments a set active = false, released_at = internal.now() where a.id = v_taken.id;
            begin
                v_moved_to := internal.assign_line(v_other_line, v_other_line.stay, null, false, p_room.id,
                    'conflicts:' || p_system);
            exception when sqlstate 'HC302' or sqlstate 'HC301' then
                v_moved_to := null;
            end;
            if v_moved_to is null then
                -- nowhere to move it: undo, and leave it to a person
                update core.room_assignments a set active = true, released_at = null where a.id = v_taken.id;
                v_conflict.verdict := 'needs_review';
                v_conflict.rule := 'no_room_to_move_later_booking';
                v_conflict.fields := jsonb_build_object('room_id', jsonb_build_object('outcome', 'review', 'rule', 'no_room_to_move_later_booking'));
            else
                if v_current.id is not null then
                    update core.room_assignments a set active = false, released_at = internal.now()
                    where a.reservation_room_id = v_line.id and a.active;
                end if;
                perform internal.assign_line(v_line, v_line.stay, p_room.id, false, null, 'conflicts:' || p_system);
                v_conflict.verdict := 'merged';
                v_conflict.fields := jsonb_build_object('room_id', jsonb_build_object('outcome', 'applied',
                    'rule', 'earlier_booking_wins', 'moved_reservation_id', v_other.id, 'moved_to_room_id', v_moved_to));
            end if;
        else
            -- the later stay is in house (or split over rooms): a person decides
            v_conflict.verdict := 'needs_review';
            v_conflict.rule := 'later_booking_cannot_move';
            v_conflict.fields := jsonb_build_object('room_id', jsonb_build_object('outcome', 'review', 'rule', 'later_booking_cannot_move'));
        end if;
    end if;
    v_conflict.escalated := cardinality(v_reasons) > 0;
    v_conflict.escalation_reasons := v_reasons;
    v_id := internal.record_conflict(v_conflict);
    return jsonb_build_object('verdict', v_conflict.verdict, 'conflict_id', v_id, 'rule', v_conflict.rule,
        'fields', v_conflict.fields, 'escalated', v_conflict.escalated, 'escalation_reasons', to_jsonb(v_reasons),
        'conflicting_reservation_id', v_other.id, 'suggestions', v_conflict.suggestions);
end
$$;
comment on function internal.claim_room(core.reservations, core.rooms, text, timestamptz) is
    'A system''s claim of a room for a reservation''s stay: applied when free; else a conflict decided by booking time (the later booking moves to a free room of its type, or gets suggestions), escalated and left open for VIP or high-value bookings, open for a person when the room is blocked or the later stay cannot move.';

-- ---------------------------------------------------------------------------- detect

create function internal.read_update(p_update jsonb, p_index integer, p_systems text[])
returns table (system text, changed_at timestamptz, fields jsonb)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_system text;
    v_at     timestamptz;
begin
    if p_update is null or jsonb_typeof(p_update) <> 'object' or jsonb_typeof(p_update -> 'fields') is distinct from 'object'
       or jsonb_typeof(p_update -> 'system') is distinct from 'string' or jsonb_typeof(p_update -> 'timestamp') is distinct from 'string' then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('conflicting_updates[%s] needs system, timestamp and fields (an object)', p_index),
            '{"system": "hotel-pms", "timestamp": "2024-12-01T10:02:00Z", "fields": {...}}');
    end if;
    select k into v_system from jsonb_object_keys(p_update) k where k not in ('system', 'timestamp', 'fields') limit 1;
    if v_system is not null then
        perform internal.raise_error('INVALID_ARGUMENT', format('conflicting_updates[%s] has an unknown key %L', p_index, v_system),
            'keys: system, timestamp, fields');
    end if;
    -- seed 000 names the systems hotel-member and hotel-pms
    v_system := regexp_replace(p_update ->> 'system', '^hotel-', '');
    if not v_system = any (p_systems) then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('conflicting_updates[%s]: system %L cannot write this entity', p_index, p_update ->> 'system'),
            'one of: ' || (select string_agg('hotel-' || s, ', ') from unnest(p_systems) s));
    end if;
    begin
        v_at := (p_update ->> 'timestamp')::timestamptz;
    exception when invalid_datetime_format or datetime_field_overflow or invalid_parameter_value then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('conflicting_updates[%s]: timestamp %L is not ISO 8601', p_index, p_update ->> 'timestamp'),
            'e.g. 2024-12-01T10:00:00Z');
    end;
    if not isfinite(v_at) or v_at > internal.now() + interval '1 minute' then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('conflicting_updates[%s]: timestamp %s is in the future', p_index, v_at),
            'send the time the source system made the change');
    end if;
    if (select count(*) from jsonb_object_keys(p_update -> 'fields')) = 0 then
        perform internal.raise_error('INVALID_ARGUMENT', format('conflicting_updates[%s] has no fields', p_index),
            'name the fields the system changed');
    end if;
    return query select v_system, v_at, p_update -> 'fields';
end
$$;
comment on function internal.read_update(jsonb, integer, text[]) is
    'One element of seed 000''s conflicting_updates: its system (hotel-member / hotel-pms, among p_systems), its timestamp (ISO 8601, not in the future) and its fields; INVALID_ARGUMENT naming the element otherwise.';

create function internal.room_of_claim(p_hotel_id bigint, p_fields jsonb) returns core.rooms
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_room core.rooms;
begin
    if jsonb_typeof(p_fields -> 'room_id') = 'number' and (p_fields ->> 'room_id') ~ '^[1-9][0-9]{0,17}$' then
        return internal.require_room(p_hotel_id, (p_fields ->> 'room_id')::bigint);
    end if;
    if jsonb_typeof(p_fields -> 'room_number') = 'string' then
        select r.* into v_room from core.rooms r where r.hotel_id = p_hotel_id and r.number = p_fields ->> 'room_number';
        if v_room.id is not null then
            return v_room;
        end if;
        perform internal.raise_error('ROOM_NOT_FOUND', format('room number %L in hotel %s', p_fields ->> 'room_number', p_hotel_id),
            'check the room number');
    end if;
    perform internal.raise_error('INVALID_ARGUMENT', 'room_id must be a positive integer, room_number a string',
        'e.g. {"room_number": "1203"}');
    return null;
end
$$;
comment on function internal.room_of_claim(bigint, jsonb) is
    'The room a claim names by room_id or room_number in the reservation''s hotel; ROOM_NOT_FOUND or INVALID_ARGUMENT.';

create function api.detect_conflicts(
    p_entity_type text,
    p_entity_id   bigint,
    p_updates     jsonb
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_update   record;
    v_read     record;
    v_base     integer;
    v_res      core.reservations;
    v_room     core.rooms;
    v_answer   jsonb;
    v_changes  jsonb;
    v_reported jsonb;
    v_key      text;
    v_results  jsonb := '[]';
begin
    if p_entity_type is null or p_entity_type not in ('customer', 'reservation', 'room') then
        perform internal.raise_error('INVALID_ARGUMENT', format('entity_type %L is not customer, reservation or room', p_entity_type),
            'customers are detected through hotel-member, reservations and rooms through hotel-pms');
    end if;
    -- seed 000: the system owning the entity settles its conflicts (customers: member, reservations and rooms: pms)
    perform internal.require_right(p_entity_type || '.conflicts');
    if p_updates is null or jsonb_typeof(p_updates) <> 'array' or jsonb_array_length(p_updates) not between 1 and 20 then
        perform internal.raise_error('INVALID_ARGUMENT', 'conflicting_updates must be an array of 1 to 20 updates',
            'pass the updates in the order they arrived');
    end if;
    if p_entity_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'entity_id is null', 'pass the customer, reservation or room id');
    end if;

    if p_entity_type = 'room' then
        -- hotel-pms's writes of one room (部屋状態: hotel-pms only), each made on the room as it is
        -- now; each later one is judged against the earlier ones
        select r.version into v_base from core.rooms r where r.id = p_entity_id;
        if v_base is null then
            perform internal.raise_error('ROOM_NOT_FOUND', format('room %s', p_entity_id), 'list the hotel''s rooms');
        end if;
        for v_update in select u.value, u.n::integer as n from jsonb_array_elements(p_updates) with ordinality as u (value, n) loop
            select * into v_read from internal.read_update(v_update.value, v_update.n::integer - 1, array['pms']);
            v_answer := internal.apply_room_changes(p_entity_id, v_base, v_read.fields, v_read.system, v_read.changed_at,
                null, null);
            v_results := v_results || jsonb_build_object('index', v_update.n - 1, 'system', 'hotel-' || v_read.system,
                'timestamp', v_read.changed_at,
                'verdict', coalesce(v_answer #>> '{conflict,verdict}', 'applied'),
                'conflict_id', (v_answer #>> '{conflict,conflict_id}')::bigint,
                'rule', v_answer #>> '{conflict,rule}', 'fields', v_answer #> '{conflict,fields}');
        end loop;
        return jsonb_build_object('entity_type', p_entity_type, 'entity_id', p_entity_id,
            'version', (select r.version from core.rooms r where r.id = p_entity_id), 'results', v_results);
    end if;

    if p_entity_type = 'customer' then
        -- every update was made on the master as it is now; each later one is judged against the earlier ones
        v_base := (internal.customer_for_update(p_entity_id)).version;
        for v_update in select u.value, u.n::integer as n from jsonb_array_elements(p_updates) with ordinality as u (value, n) loop
            select * into v_read from internal.read_update(v_update.value, v_update.n::integer - 1, array['member', 'pms']);
            -- a reported points balance is compared, never written (points move through the ledger)
            v_reported := coalesce((select jsonb_object_agg(e.key, e.value) from jsonb_each(v_read.fields) e
                                    where internal.customer_field_class(e.key) = 'money'), '{}');
            v_changes := v_read.fields - (select coalesce(array_agg(k), '{}') from jsonb_object_keys(v_reported) k);
            perform internal.validate_customer_changes(v_changes);
            if v_read.system = 'pms' then
                select k into v_key from jsonb_object_keys(v_changes) k
                where not (k = any (internal.customer_basic_fields())) order by k limit 1;
                if v_key is not null then
                    perform internal.raise_error('PERMISSION_DENIED',
                        format('conflicting_updates[%s]: hotel-pms may not change field %s', v_update.n - 1, v_key),
                        'hotel-pms changes name, phone and address only');
                end if;
            end if;
            v_answer := internal.apply_customer_changes(p_entity_id, v_base, v_changes, v_read.system, v_read.changed_at, v_reported);
            v_results := v_results || jsonb_build_object('index', v_update.n - 1, 'system', 'hotel-' || v_read.system,
                'timestamp', v_read.changed_at,
                'verdict', coalesce(v_answer #>> '{conflict,verdict}', 'applied'),
                'conflict_id', (v_answer #>> '{conflict,conflict_id}')::bigint,
                'rule', v_answer #>> '{conflict,rule}', 'fields', v_answer #> '{conflict,fields}');
        end loop;
        return jsonb_build_object('entity_type', p_entity_type, 'entity_id', p_entity_id,
            'version', (select c.version from core.customers c where c.id = p_entity_id), 'results', v_results);
    end if;

    -- reservations: claims of a room for the stay (seed 000: 同一部屋・同一日程での重複予約)
    v_res := internal.lock_reservation(p_entity_id, null);
    if v_res.status not in ('pending', 'confirmed') then
        perform internal.raise_error('INVALID_STATE_TRANSITION',
            format('reservation %s is %s; room claims are settled before check-in', p_entity_id, v_res.status),
            'move an in-house stay with api.move_room');
    end if;
    for v_update in select u.value, u.n::integer as n from jsonb_array_elements(p_updates) with ordinality as u (value, n) loop
        select * into v_read from internal.read_update(v_update.value, v_update.n::integer - 1, array['pms', 'member']);
        select k into v_key from jsonb_object_keys(v_read.fields) k where k not in ('room_id', 'room_number') limit 1;
        if v_key is not null or (select count(*) from jsonb_object_keys(v_read.fields)) <> 1 then
            perform internal.raise_error('INVALID_ARGUMENT',
                format('conflicting_updates[%s]: a reservation conflict is a claim of one room (room_id or room_number), not %s',
                       v_update.n - 1, coalesce(v_key, 'both')),
                'other reservation changes go through PUT /reservations/{id} with its version');
        end if;
        v_room := internal.room_of_claim(v_res.hotel_id, v_read.fields);
        v_answer := internal.claim_room(v_res, v_room, v_read.system, v_read.changed_at);
        v_results := v_results || (jsonb_build_object('index', v_update.n - 1, 'system', 'hotel-' || v_read.system,
            'timestamp', v_read.changed_at) || v_answer);
    end loop;
    return jsonb_build_object('entity_type', p_entity_type, 'entity_id', p_entity_id, 'version', v_res.version,
        'results', v_results);
end
$$;
comment on function api.detect_conflicts(text, bigint, jsonb) is
    'Seed 000 POST /conflicts/detect: the systems'' updates of one customer (hotel-member), claims of a room for one reservation (hotel-pms) or hotel-pms''s writes of one room (status, housekeeping_notes, floor), in the order they arrived, judged by the conflict rules. Returns per update its verdict (applied, merged, needs_review), the rule, the conflict id when one was recorded and, for rooms, escalation and suggestions.';

-- ---------------------------------------------------------------------------- resolve

create function internal.lock_conflict(p_conflict_id bigint) returns core.conflicts
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_conflict core.conflicts;
begin
    -- the row of the table holding it (core.conflicts is a view over two), then the row as it is now
    perform 1 from core.customer_conflicts c where c.id = p_conflict_id for update;
    if not found then
        perform 1 from core.hotel_conflicts c where c.id = p_conflict_id for update;
    end if;
    select f.* into v_conflict from core.conflicts f where f.id = p_conflict_id;
    return v_conflict;
end
$$;
comment on function internal.lock_conflict(bigint) is
    'Locks a conflict''s row in core.customer_conflicts or core.hotel_conflicts and returns it as core.conflicts (all nulls when there is none in the caller''s scope).';


-- A manual resolution writes only the fields its conflict compared: p_key (as the caller wrote it)
-- names p_field, which must be in the stale write (ours) or the current version (theirs).
create function internal.require_conflict_field(p_conflict core.conflicts, p_key text, p_field text, p_route text)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if not (p_conflict.ours ? p_field or p_conflict.theirs ? p_field) then
        perform internal.raise_error('INVALID_RESOLUTION',
            format('field %s is not part of conflict %s (its fields: %s)', p_key, p_conflict.id,
                   (select string_agg(k, ', ' order by k) from jsonb_object_keys(p_conflict.ours || p_conflict.theirs) k)),
            format('resolve the conflict''s fields only; change others with PUT /%s/{id}', p_route));
    end if;
end
$$;
comment on function internal.require_conflict_field(core.conflicts, text, text, text) is
    'INVALID_RESOLUTION unless p_field (the key p_key a manual resolution wrote) is one of the fields conflict p_conflict compared; the hint names PUT /p_route/{id} for other fields.';

create function api.resolve_conflict(
    p_conflict_id       bigint,
    p_resolution_method text,
    p_resolved_data     jsonb,
    p_resolver_user_id  text
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_conflict core.conflicts;
    v_kind     text;
    v_reason   text;
    v_data     jsonb;
    v_key      text;
    v_changes  jsonb := '{}';
    v_status   text := 'resolved';
    v_answer   jsonb;
    v_res      core.reservations;
    v_line     core.reservation_rooms;
    v_room     core.rooms;
    v_version  integer;
    v_customer core.customers;
    v_stay     daterange;
begin
    -- seed 000's matrix: only the systems owning customers (member) or reservations and rooms (pms) resolve
    if not internal.has_right('customer.conflicts') then
        perform internal.require_right('reservation.conflicts');
    end if;
    if p_conflict_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'conflict_id is null', 'pass the conflict id');
    end if;
    -- the entity first, then its conflict (the lock order of db/schema/conflicts.sql)
    select f.entity_type into v_kind from core.conflicts f where f.id = p_conflict_id;
    if v_kind is null then
        perform internal.raise_error('CONFLICT_NOT_FOUND', format('conflict %s', p_conflict_id),
            'list the open conflicts in report.conflicts_open');
    end if;
    -- seed 000: the system owning the entity resolves (customers: member, reservations and rooms: pms)
    perform internal.require_right(v_kind || '.conflicts');
    if p_resolution_method is null or p_resolution_method not in ('manual', 'auto_merge', 'priority_based') then
        perform internal.raise_error('INVALID_RESOLUTION',
            format('resolution_method %L is not manual, auto_merge or priority_based', p_resolution_method),
            'manual with resolved_data, auto_merge, or priority_based');
    end if;
    if nullif(btrim(p_resolver_user_id), '') is null or length(p_resolver_user_id) > 200 then
        perform internal.raise_error('INVALID_ARGUMENT', 'resolver_user_id is required (at most 200 characters)',
            'pass the id of the person resolving');
    end if;
    if p_resolved_data is null or jsonb_typeof(p_resolved_data) <> 'object' then
        perform internal.raise_error('INVALID_ARGUMENT', 'resolved_data must be a JSON object', 'pass {} for none');
    end if;
    if p_resolved_data ? 'resolution_reason' and jsonb_typeof(p_resolved_data -> 'resolution_reason') <> 'string' then
        perform internal.raise_error('INVALID_ARGUMENT', 'resolution_reason must be a string', 'say why');
    end if;
    v_reason := nullif(btrim(p_resolved_data ->> 'resolution_reason'), '');
    v_data := p_resolved_data - 'resolution_reason';

    if v_kind = 'customer' then
        select f.entity_id into v_customer.id from core.conflicts f where f.id = p_conflict_id;
        v_customer := internal.customer_for_update(v_customer.id);
    elsif v_kind = 'room' then
        select r.* into v_room from core.rooms r
        where r.id = (select f.entity_id from core.conflicts f where f.id = p_conflict_id)
        for no key update;
    else
        select f.entity_id into v_res.id from core.conflicts f where f.id = p_conflict_id;
        v_res := internal.lock_reservation(v_res.id, null);
    end if;
    v_conflict := internal.lock_conflict(p_conflict_id);
    if v_conflict.status <> 'open' then
        perform internal.raise_error('CONFLICT_ALREADY_RESOLVED',
            format('conflict %s was %s by %s at %s', p_conflict_id, v_conflict.status, v_conflict.resolver, v_conflict.resolved_at),
            'read the entity again; a new conflict is recorded if a new write clashes');
    end if;
    if p_resolution_method = 'manual' and v_reason is null then
        perform internal.raise_error('INVALID_RESOLUTION', 'a manual resolution needs resolved_data.resolution_reason',
            'say how the value was confirmed, e.g. with the guest by phone');
    end if;
    if p_resolution_method <> 'manual' and v_data <> '{}' then
        perform internal.raise_error('INVALID_RESOLUTION',
            format('resolution_method %s takes no field values (got %s)', p_resolution_method,
                   (select string_agg(k, ', ') from jsonb_object_keys(v_data) k)),
            'pass field values with resolution_method manual');
    end if;

    if v_kind = 'customer' then
        if p_resolution_method = 'manual' then
            -- only fields of this conflict, and never money: points move through the ledger
            for v_key in select k from jsonb_object_keys(v_data) k loop
                perform internal.require_conflict_field(v_conflict, v_key,
                    case v_key when 'phone' then 'phone_e164' else v_key end, 'customers');
                if internal.customer_field_class(v_key) = 'money' then
                    perform internal.raise_error('INVALID_RESOLUTION',
                        format('field %s is money: the master is the points ledger', v_key),
                        'correct the balance with api.adjust_points, then resolve with no value');
                end if;
            end loop;
            v_changes := v_data - 'phone_e164'
                || case when v_data ? 'phone_e164' then jsonb_build_object('phone', v_data -> 'phone_e164') else '{}' end;
            if v_changes = '{}' then
                v_status := 'dismissed';
            end if;
        else
            -- auto_merge: what of the stale write did not clash; priority_based: the whole write
            -- when it came from the master's owner, hotel-member (money never)
            select coalesce(jsonb_object_agg(case f.key when 'phone_e164' then 'phone' else f.key end,
                                             v_conflict.ours -> f.key), '{}')
            into v_changes
            from jsonb_each(v_conflict.fields) f
            where internal.customer_field_class(f.key) <> 'money'
              and ((p_resolution_method = 'auto_merge' and f.value ->> 'outcome' = 'applied')
                   or (p_resolution_method = 'priority_based' and v_conflict.ours_system = 'member'
                       and f.value ->> 'outcome' in ('applied', 'review')));
        end if;
        if v_changes <> '{}' then
            perform internal.validate_customer_changes(v_changes);
            v_answer := internal.apply_customer_changes(v_customer.id, v_customer.version, v_changes,
                internal.change_system(), internal.now());
            v_version := (v_answer ->> 'version')::integer;
            update core.customer_changes ch set conflict_id = p_conflict_id
            where ch.customer_id = v_customer.id and ch.version = v_version and v_version > v_customer.version;
        else
            v_answer := internal.customer_document(v_customer.id);
            v_version := v_customer.version;
        end if;
    elsif v_kind = 'room' then
        -- a stale room write: manual writes the values a person chose for the conflict's fields;
        -- auto_merge what of the stale write did not clash; priority_based all of it when it came
        -- from the rooms' owner, hotel-pms. Written on the current version, checked like any write.
        if p_resolution_method = 'manual' then
            for v_key in select k from jsonb_object_keys(v_data) k loop
                perform internal.require_conflict_field(v_conflict, v_key, v_key, 'rooms');
            end loop;
            v_changes := v_data;
        else
            select coalesce(jsonb_object_agg(f.key, v_conflict.ours -> f.key), '{}') into v_changes
            from jsonb_each(v_conflict.fields) f
            where f.value ->> 'outcome' = 'applied'
               or (p_resolution_method = 'priority_based' and v_conflict.ours_system = 'pms'
                   and f.value ->> 'outcome' = 'review');
        end if;
        if v_changes = '{}' then
            v_status := case when p_resolution_method = 'manual' then 'dismissed' else 'resolved' end;
            v_answer := internal.room_answer(v_room.id);
        else
            v_answer := internal.apply_room_changes(v_room.id, v_room.version, v_changes, internal.change_system(),
                internal.now(), coalesce(v_reason, 'conflict ' || p_conflict_id), btrim(p_resolver_user_id));
            update core.room_changes ch set conflict_id = p_conflict_id
            where ch.hotel_id = v_room.hotel_id and ch.room_id = v_room.id and ch.version = (v_answer ->> 'version')::integer
              and (v_answer ->> 'version')::integer > v_room.version;
        end if;
        v_version := (v_answer ->> 'version')::integer;
    elsif not v_conflict.fields ? 'room_id' then
        -- a stale reservation change: manual writes the values a person chose for the conflict's
        -- fields (the document's terms: stay as [check_in,check_out), room_type_id, ...);
        -- auto_merge what of the stale change did not clash; priority_based all of it (hotel-pms
        -- owns reservations). Written on the current version, checked like any change.
        if p_resolution_method = 'manual' then
            for v_key in select k from jsonb_object_keys(v_data) k loop
                perform internal.require_conflict_field(v_conflict, v_key, v_key, 'reservations');
            end loop;
            v_changes := v_data;
        else
            select coalesce(jsonb_object_agg(f.key, v_conflict.ours -> f.key), '{}') into v_changes
            from jsonb_each(v_conflict.fields) f
            where f.value ->> 'outcome' = 'applied'
               or (p_resolution_method = 'priority_based' and f.value ->> 'outcome' = 'review');
        end if;
        if v_changes = '{}' then
            v_status := 'dismissed';
            v_version := v_res.version;
        else
            begin
                v_stay := (v_changes ->> 'stay')::daterange;
                v_res := internal.write_reservation_change(v_res, lower(v_stay), upper(v_stay),
                    (v_changes ->> 'room_type_id')::bigint, (v_changes ->> 'rate_plan_id')::bigint,
                    (v_changes ->> 'adults')::integer, (v_changes ->> 'children')::integer,
                    v_changes ->> 'special_requests', false);
            exception when invalid_text_representation or datetime_field_overflow or invalid_datetime_format
                           or numeric_value_out_of_range or data_exception then
                perform internal.raise_error('INVALID_RESOLUTION',
                    format('resolved_data of conflict %s does not read as the reservation''s fields: %s', p_conflict_id, sqlerrm),
                    'stay as "[2026-12-08,2026-12-10)", ids and guest counts as numbers, special_requests as text');
            end;
            v_version := v_res.version;
            update core.reservation_changes ch set conflict_id = p_conflict_id
            where ch.hotel_id = v_res.hotel_id and ch.reservation_id = v_res.id and ch.version = v_res.version;
        end if;
        v_answer := internal.reservation_document(v_res.id) || jsonb_build_object('reservation_id', v_res.id,
            'version', v_res.version);
    else
        -- a room conflict: booking time already decided priority, so a person picks a room
        -- (manual) or takes the best free one of the booked type (auto_merge)
        if p_resolution_method = 'priority_based' then
            perform internal.raise_error('INVALID_RESOLUTION',
                format('conflict %s is a room conflict: booking time already set the priority', p_conflict_id),
                'resolve with manual (a room, or none to dismiss) or auto_merge (the best free room of the type)');
        end if;
        select k into v_key from jsonb_object_keys(v_data) k where k not in ('room_id', 'room_number') limit 1;
        if v_key is not null then
            perform internal.raise_error('INVALID_RESOLUTION',
                format('field %s is not part of room conflict %s', v_key, p_conflict_id), 'pass room_id or room_number');
        end if;
        if v_res.status not in ('pending', 'confirmed') then
            perform internal.raise_error('INVALID_STATE_TRANSITION',
                format('reservation %s is %s now', v_res.id, v_res.status), 'dismiss with manual and no room');
        end if;
        if p_resolution_method = 'manual' and v_data = '{}' then
            v_status := 'dismissed';
        else
            if p_resolution_method = 'manual' then
                v_room := internal.room_of_claim(v_res.hotel_id, v_data);
            end if;
            v_line := internal.pick_line(v_res.id, null, v_room);
            update core.room_assignments a set active = false, released_at = internal.now()
            where a.reservation_room_id = v_line.id and a.active;
            perform internal.assign_line(v_line, v_line.stay, v_room.id, false, null, 'conflicts:' || p_resolver_user_id);
            v_changes := jsonb_build_object('room_id', (select a.room_id from core.room_assignments a
                                                        where a.reservation_room_id = v_line.id and a.active limit 1));
        end if;
        v_version := v_res.version;
        v_answer := jsonb_build_object('reservation_id', v_res.id, 'version', v_res.version,
            'rooms', (select coalesce(jsonb_agg(jsonb_build_object('reservation_room_id', a.reservation_room_id,
                                 'room_id', a.room_id, 'room_number', r.number, 'nights', a.nights::text) order by a.id), '[]')
                      from core.room_assignments a join core.rooms r on r.id = a.room_id
                      join core.reservation_rooms l on l.id = a.reservation_room_id
                      where l.reservation_id = v_res.id and a.active));
    end if;

    update core.conflicts f
    set status = v_status, resolved_at = internal.now(), resolver = btrim(p_resolver_user_id),
        resolution_method = p_resolution_method, resolution_reason = v_reason, resolved_data = v_changes,
        resolved_version = v_version
    where f.id = p_conflict_id
    returning f.* into v_conflict;
    perform internal.emit_event(v_kind || '.conflict_resolved', v_conflict.entity_id::text, v_conflict.hotel_id,
        jsonb_build_object('conflict_id', p_conflict_id, 'status', v_status, 'method', p_resolution_method,
            'resolver', v_conflict.resolver, 'fields', (select coalesce(jsonb_agg(k order by k), '[]') from jsonb_object_keys(v_changes) k)));
    return jsonb_build_object('conflict', to_jsonb(v_conflict), 'entity', v_answer - 'conflict');
end
$$;
comment on function api.resolve_conflict(bigint, text, jsonb, text) is
    'Seed 000 POST /conflicts/{id}/resolve: manual (resolved_data: the conflict''s fields and a resolution_reason; no field dismisses), auto_merge (what of the stale write did not clash; for a room conflict the best free room of the type) or priority_based (the owner''s write wins: hotel-member for customers, hotel-pms for a stale reservation change or room write). Returns the conflict and the entity after it, version bumped when something was written. CONFLICT_NOT_FOUND, CONFLICT_ALREADY_RESOLVED, INVALID_RESOLUTION.';

-- ---------------------------------------------------------------------------- special event days

create function api.set_special_event_days(
    p_hotel_id bigint,
    p_days     date[],
    p_names    text[],
    p_app_user text default null
) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_count integer;
begin
    -- seed 000's matrix: the hotel's calendar is hotel-pms's (部屋在庫・状態), and admin's
    perform internal.require_right('rooms.update');
    perform internal.require_hotel(p_hotel_id);
    if p_days is null or p_names is null or cardinality(p_days) <> cardinality(p_names) or cardinality(p_days) = 0
       or cardinality(p_days) > 366 or array_position(p_days, null) is not null or array_position(p_names, null) is not null then
        perform internal.raise_error('INVALID_ARGUMENT',
            'p_days and p_names must be arrays of the same length (1 to 366) without nulls', 'pass one name per day');
    end if;
    if exists (select 1 from unnest(p_names) n where btrim(n) = '' or length(n) > 200) then
        perform internal.raise_error('INVALID_ARGUMENT', 'a special event day needs a name of 1 to 200 characters',
            'name the event, e.g. Sapporo Snow Festival');
    end if;
    if exists (select 1 from unnest(p_days) d where not isfinite(d)) then
        perform internal.raise_error('INVALID_ARGUMENT', 'special event days must be calendar dates', 'e.g. 2026-02-04');
    end if;
    if (select count(distinct d) from unnest(p_days) d) <> cardinality(p_days) then
        perform internal.raise_error('INVALID_ARGUMENT', 'a day is named twice in p_days', 'pass each day once');
    end if;
    insert into core.special_event_days (hotel_id, day, name, created_by, created_at)
    select p_hotel_id, d.day, btrim(d.name),
           internal.change_system() || coalesce(':' || nullif(btrim(coalesce(p_app_user,
               pg_catalog.current_setting('hotelcore.app_user', true))), ''), ''),
           internal.now()
    from unnest(p_days, p_names) as d (day, name)
    on conflict (hotel_id, day) do update set name = excluded.name, created_by = excluded.created_by,
        created_at = excluded.created_at;
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function api.set_special_event_days(bigint, date[], text[], text) is
    'Adds (or renames) a hotel''s special event days (seed 000: 特別イベント日): a reservation conflict touching one of its nights is escalated like a VIP or high-value one. hotel-pms and admin, in the hotel scope. Returns the days written.';

create function api.remove_special_event_days(p_hotel_id bigint, p_days date[]) returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_count integer;
begin
    perform internal.require_right('rooms.update');
    perform internal.require_hotel(p_hotel_id);
    if p_days is null or cardinality(p_days) = 0 or array_position(p_days, null) is not null then
        perform internal.raise_error('INVALID_ARGUMENT', 'p_days must be a non-empty array without nulls',
            'pass the days to remove');
    end if;
    delete from core.special_event_days d where d.hotel_id = p_hotel_id and d.day = any (p_days);
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function api.remove_special_event_days(bigint, date[]) is
    'Removes special event days from a hotel''s calendar (hotel-pms and admin, in the hotel scope); returns how many there were.';

create function api.list_special_event_days(p_hotel_id bigint, p_from date, p_until date) returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('rooms.read');
    perform internal.require_hotel(p_hotel_id);
    if p_from is null or p_until is null or p_until <= p_from or p_until - p_from > 3660 then
        perform internal.raise_error('INVALID_DATES', format('from %s until %s', p_from, p_until),
            'pass p_from < p_until, at most ten years apart');
    end if;
    return (select coalesce(jsonb_agg(jsonb_build_object('day', d.day, 'name', d.name, 'created_by', d.created_by,
                                                         'created_at', d.created_at) order by d.day), '[]')
            from core.special_event_days d
            where d.hotel_id = p_hotel_id and d.day >= p_from and d.day < p_until);
end
$$;
comment on function api.list_special_event_days(bigint, date, date) is
    'A hotel''s special event days in [p_from, p_until): day, name, who wrote it and when (hotel-pms, hotel-member and admin, in the hotel scope).';
