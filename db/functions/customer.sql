-- The customer master (seed 000's hotel-member): phone normalisation, profiles, guests who book
-- without joining, and merging duplicates.

-- ---------------------------------------------------------------------------- phone numbers

create function internal.phone_plans()
returns table (country text, calling_code text, trunk_prefix text, international_prefixes text[],
               nsn_min integer, nsn_max integer)
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    values
        -- country, calling code, trunk prefix dropped from national numbers, international
        -- dialling prefixes (longest first), national significant number length min..max
        ('JP', '81',  '0',  array['010'],                 9, 10),
        ('KR', '82',  '0',  array['00700', '001', '002'], 8, 10),
        ('US', '1',   '1',  array['011'],                10, 10),
        ('CA', '1',   '1',  array['011'],                10, 10),
        ('GB', '44',  '0',  array['00'],                  9, 10),
        ('FR', '33',  '0',  array['00'],                  9,  9),
        ('DE', '49',  '0',  array['00'],                  6, 13),
        ('IT', '39',  null, array['00'],                  6, 11),
        ('ES', '34',  null, array['00'],                  9,  9),
        ('CN', '86',  '0',  array['00'],                 10, 11),
        ('TW', '886', '0',  array['00'],                  8,  9),
        ('HK', '852', null, array['001', '00'],           8,  8),
        ('SG', '65',  null, array['000', '00'],           8,  8),
        ('TH', '66',  '0',  array['001', '00'],           8,  9),
        ('VN', '84',  '0',  array['00'],                  9, 10),
        ('PH', '63',  '0',  array['00'],                  8, 10),
        ('ID', '62',  '0',  array['001', '00'],           8, 12),
        ('MY', '60',  '0',  array['00'],                  8, 10),
        ('AU', '61',  '0',  array['0011'],                9,  9),
        ('NZ', '64',  '0',  array['00'],                  8, 10),
        ('IN', '91',  '0',  array['00'],                 10, 10)
$$;
comment on function internal.phone_plans() is
    'Numbering facts used by internal.normalize_phone for the countries hotelcore serves: calling code, trunk prefix, international prefixes, national significant number length. Other countries: write the number with +.';

create function internal.normalize_phone(p_phone text, p_default_country text default null)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
-- Reads a phone number as people type it and returns E.164 ('+' and 8 to 15 digits), or raises
-- INVALID_PHONE. Accepted: '+82-10-1234-5678', '+81 (0)90 1234 5678', '+82 010 1234 5678'
-- (the trunk 0 after a known calling code is dropped), '0082...' / '010-81-...' (the default
-- country's international prefix), '090-1234-5678' (national, with the default country's
-- trunk prefix), full-width digits and dashes ('０９０－１２３４－５６７８'), separators
-- space . - / ( ). Limits: no extensions or letters (refused); national numbers only for the
-- countries of internal.phone_plans; for other calling codes only the E.164 length is checked, not
-- the national plan; carrier-select codes before the international prefix are not understood.
declare
    v_text    text;
    v_digits  text;
    v_country text := upper(btrim(coalesce(p_default_country, '')));
    v_plan    record;
    v_prefix  text;
    v_intl    boolean := false;
    v_nsn     text;
begin
    if p_phone is null or btrim(p_phone) = '' then
        return null;
    end if;
    -- full-width digits, plus, dashes, parentheses and spaces become ASCII
    v_text := btrim(translate(p_phone, '０１２３４５６７８９＋－ー―‐（）　', '0123456789+----() '));
    -- '+81 (0)90 ...': the parenthesised trunk digit is not dialled from abroad
    v_text := regexp_replace(v_text, '\(\s*0\s*\)', '', 'g');
    if v_text !~ '^\+?\s*[0-9(][0-9 ./()-]*$' then
        perform internal.raise_error('INVALID_PHONE',
            format('phone %L has characters other than digits, a leading + and separators', p_phone),
            'write the number as +<country code><number>, without extension');
    end if;
    v_digits := regexp_replace(v_text, '[^0-9]', '', 'g');

    if left(v_text, 1) = '+' then
        v_intl := true;
    else
        select * into v_plan from internal.phone_plans() p where p.country = v_country;
        if not found then
            perform internal.raise_error('INVALID_PHONE',
                format('phone %L has no country code and the default country %L is not known', p_phone, v_country),
                'write the number as +<country code><number>');
        end if;
        -- the default country's international prefix ('00', Japan's '010', ...)
        foreach v_prefix in array v_plan.international_prefixes loop
            if left(v_digits, length(v_prefix)) = v_prefix then
                v_digits := substr(v_digits, length(v_prefix) + 1);
                v_intl := true;
                exit;
            end if;
        end loop;
        if not v_intl then
            -- a national number: drop the trunk prefix, prepend the calling code
            v_nsn := v_digits;
            if left(v_nsn, length(v_plan.trunk_prefix)) = v_plan.trunk_prefix
               and (v_plan.trunk_prefix = '0' or length(v_nsn) > v_plan.nsn_max) then
                v_nsn := substr(v_nsn, length(v_plan.trunk_prefix) + 1);
            end if;
            if length(v_nsn) not between v_plan.nsn_min and v_plan.nsn_max
               or (v_plan.trunk_prefix = '0' and left(v_nsn, 1) = '0') then
                perform internal.raise_error('INVALID_PHONE',
                    format('phone %L is not a %s number (%s to %s digits after the trunk prefix)',
                           p_phone, v_country, v_plan.nsn_min, v_plan.nsn_max),
                    'check the number or write it as +<country code><number>');
            end if;
            return '+' || v_plan.calling_code || v_nsn;
        end if;
    end if;

    -- international: a known calling code followed by its trunk 0 ('+82 010...') loses the 0,
    -- and its national length is checked; other calling codes only get the E.164 shape check
    select * into v_plan from internal.phone_plans() p
    where left(v_digits, length(p.calling_code)) = p.calling_code
    order by length(p.calling_code) desc, p.country
    limit 1;
    if found then
        v_nsn := substr(v_digits, length(v_plan.calling_code) + 1);
        if v_plan.trunk_prefix = '0' and left(v_nsn, 1) = '0' then
            v_nsn := substr(v_nsn, 2);
        end if;
        if length(v_nsn) not between v_plan.nsn_min and v_plan.nsn_max
               or (v_plan.trunk_prefix = '0' and left(v_nsn, 1) = '0') then
            perform internal.raise_error('INVALID_PHONE',
                format('phone %L: +%s numbers have %s to %s digits after the country code',
                       p_phone, v_plan.calling_code, v_plan.nsn_min, v_plan.nsn_max),
                'check the number');
        end if;
        return '+' || v_plan.calling_code || v_nsn;
    end if;
    if v_digits !~ '^[1-9][0-9]{7,14}$' then
        perform internal.raise_error('INVALID_PHONE',
            format('phone %L is not E.164 (8 to 15 digits, not starting with 0)', p_phone),
            'check the country code and the number');
    end if;
    return '+' || v_digits;
end
$$;
comment on function internal.normalize_phone(text, text) is
    'Normalises a typed phone number to E.164 (+82-10-1234-5678, 090-1234-5678 with default country JP, full-width digits, 00/010/011 international prefixes) or raises INVALID_PHONE. Limits: no extensions; national numbers only for internal.phone_plans'' countries.';

-- ---------------------------------------------------------------------------- helpers

create function internal.normalize_email(p_email text)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_email text := nullif(btrim(p_email), '');
begin
    if v_email is not null and v_email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' then
        perform internal.raise_error('INVALID_ARGUMENT', format('email %L is not an e-mail address', p_email),
            'write it as name@domain.tld');
    end if;
    return v_email;
end
$$;
comment on function internal.normalize_email(text) is
    'Trims an e-mail address (blank becomes null) and refuses one that is not name@domain.tld. Case is kept; uniqueness is case-insensitive.';

create function internal.assert_email_free(p_email text, p_except_customer_id bigint default null)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_other bigint;
begin
    if p_email is null then
        return;
    end if;
    select c.id into v_other
    from core.customers c
    where lower(c.email) = lower(p_email) and c.merged_into is null
      and c.id is distinct from p_except_customer_id;
    if v_other is not null then
        perform internal.raise_error('DUPLICATE_EMAIL',
            format('email %L is already used by customer %s', p_email, v_other),
            'sign in as that customer, or merge the profiles with api.merge_customers');
    end if;
end
$$;
comment on function internal.assert_email_free(text, bigint) is
    'Raises DUPLICATE_EMAIL when another unmerged customer has this e-mail, compared case-insensitively.';

create function internal.customer_for_update(p_customer_id bigint)
returns core.customers
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_customer core.customers;
begin
    select c.* into v_customer from core.customers c where c.id = p_customer_id for update;
    if not found then
        perform internal.raise_error('CUSTOMER_NOT_FOUND', format('customer_id %s', p_customer_id),
            'check the customer id');
    end if;
    if v_customer.merged_into is not null then
        perform internal.raise_error('CUSTOMER_NOT_FOUND',
            format('customer_id %s was merged into customer %s', p_customer_id, v_customer.merged_into),
            format('use customer %s', v_customer.merged_into));
    end if;
    return v_customer;
end
$$;
comment on function internal.customer_for_update(bigint) is
    'Locks and returns an unmerged customer, or raises CUSTOMER_NOT_FOUND (DETAIL names the profile it was merged into).';

create function internal.customer_private_fields() returns text[]
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    select array['preferences', 'marketing_consent']
$$;
comment on function internal.customer_private_fields() is
    'The customer fields only holders of preferences.read (hotel-member, hotel-saas) may read (seed 000: 配信設定・嗜好): left out of documents and events for the others.';

create function internal.customer_document(p_customer_id bigint)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    -- delivery settings and preferences (配信設定・嗜好) are read by hotel-member and hotel-saas only
    select to_jsonb(c) - 'rank_code'
           - case when internal.has_right('preferences.read') then '{}'::text[]
                  else internal.customer_private_fields() end
           || jsonb_build_object(
                'rank', jsonb_build_object(
                    'code', r.code, 'name', r.name, 'level', r.level, 'discount_rate', r.discount_rate,
                    'priority_booking', r.priority_booking, 'late_checkout', r.late_checkout,
                    'late_checkout_until', r.late_checkout_until, 'manual', c.rank_manual),
                'points_balance', coalesce(a.balance, 0))
    from core.customers c
    join core.membership_ranks r on r.code = c.rank_code
    left join core.points_accounts a on a.customer_id = c.id
    where c.id = p_customer_id
$$;
comment on function internal.customer_document(bigint) is
    'A customer as the API returns it: every column, the rank with its benefits, and the points balance. Without preferences.read (hotel-pms) preferences and marketing_consent are left out.';

-- ---------------------------------------------------------------------------- api

create function api.create_customer(
    p_given_name          text,
    p_family_name         text,
    p_email               text default null,
    p_phone               text default null,
    p_phone_country       text default null,
    p_given_name_reading  text default null,
    p_family_name_reading text default null,
    p_postal_code         text default null,
    p_address_line1       text default null,
    p_address_line2       text default null,
    p_city                text default null,
    p_region              text default null,
    p_country_code        text default null,
    p_language            text default 'en',
    p_is_member           boolean default true,
    p_marketing_consent   boolean default false,
    p_preferences         jsonb default '{}'::jsonb
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_email   text;
    v_phone   text;
    v_country text := upper(nullif(btrim(p_country_code), ''));
    v_id      bigint;
begin
    perform internal.require_right('customer.create');
    -- names are required
    if nullif(btrim(p_given_name), '') is null or nullif(btrim(p_family_name), '') is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'given_name and family_name are required',
            'pass both names');
    end if;
    if v_country is not null and v_country !~ '^[A-Z]{2}$' then
        perform internal.raise_error('INVALID_ARGUMENT', format('country_code %L is not ISO 3166 alpha-2', p_country_code),
            'e.g. JP, KR');
    end if;
    if p_preferences is null or jsonb_typeof(p_preferences) <> 'object' then
        perform internal.raise_error('INVALID_ARGUMENT', 'preferences must be a JSON object', 'pass {} for none');
    end if;
    -- e-mail unique case-insensitively, phone in E.164
    v_email := internal.normalize_email(p_email);
    perform internal.assert_email_free(v_email);
    v_phone := internal.normalize_phone(p_phone, coalesce(p_phone_country, v_country,
        (select s.default_phone_country from core.loyalty_settings s where s.id)));

    begin
        insert into core.customers (given_name, family_name, given_name_reading, family_name_reading, email,
            phone_e164, postal_code, address_line1, address_line2, city, region, country_code, language,
            is_member, member_since, marketing_consent, preferences, created_at, updated_at)
        values (btrim(p_given_name), btrim(p_family_name), nullif(btrim(p_given_name_reading), ''),
            nullif(btrim(p_family_name_reading), ''), v_email, v_phone, nullif(btrim(p_postal_code), ''),
            nullif(btrim(p_address_line1), ''), nullif(btrim(p_address_line2), ''), nullif(btrim(p_city), ''),
            nullif(btrim(p_region), ''), v_country, coalesce(nullif(btrim(p_language), ''), 'en'),
            coalesce(p_is_member, true),
            case when coalesce(p_is_member, true) then (internal.now() at time zone 'UTC')::date end,
            coalesce(p_marketing_consent, false), p_preferences, internal.now(), internal.now())
        returning id into v_id;
    exception when unique_violation then
        -- a concurrent create won the same e-mail between the check and the insert
        perform internal.assert_email_free(v_email);
        raise;
    end;
    return internal.customer_document(v_id);
end
$$;
comment on function api.create_customer(text, text, text, text, text, text, text, text, text, text, text, text, text, text, boolean, boolean, jsonb) is
    'Creates a customer (seed 000 POST /customers): member by default. E-mail unique case-insensitively (DUPLICATE_EMAIL), phone normalised to E.164 with p_phone_country, else p_country_code, else the programme default (INVALID_PHONE). Returns the customer document.';

create function api.get_customer(p_customer_id bigint)
returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_doc jsonb := internal.customer_document(p_customer_id);
begin
    perform internal.require_right('customer.read');
    if v_doc is null then
        perform internal.raise_error('CUSTOMER_NOT_FOUND', format('customer_id %s', p_customer_id),
            'check the customer id');
    end if;
    return v_doc;
end
$$;
comment on function api.get_customer(bigint) is
    'The customer document (seed 000 GET /customers/{id}): profile, rank with its benefits, points balance, version. A merged profile is returned with merged_into set.';

create function internal.validate_customer_changes(p_changes jsonb) returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_key      text;
    v_type     text;
    v_text_keys constant text[] := array['given_name', 'family_name', 'given_name_reading', 'family_name_reading',
        'email', 'phone', 'phone_country', 'postal_code', 'address_line1', 'address_line2', 'city', 'region',
        'country_code', 'language'];
    v_bool_keys constant text[] := array['is_member', 'marketing_consent'];
    v_required constant text[] := array['given_name', 'family_name', 'language', 'is_member', 'marketing_consent',
        'preferences'];
begin
    if p_changes is null or jsonb_typeof(p_changes) <> 'object' then
        perform internal.raise_error('INVALID_ARGUMENT', 'changes must be a JSON object', 'e.g. {"city": "Osaka"}');
    end if;
    -- every key is known and has the right JSON type; required fields cannot be cleared
    for v_key, v_type in select k, jsonb_typeof(v) from jsonb_each(p_changes) as e (k, v) loop
        if not (v_key = any (v_text_keys || v_bool_keys || array['preferences'])) then
            perform internal.raise_error('INVALID_ARGUMENT', format('field %L cannot be updated', v_key),
                'updatable: ' || array_to_string(v_text_keys || v_bool_keys || array['preferences'], ', '));
        end if;
        if v_type = 'null' then
            if v_key = any (v_required) then
                perform internal.raise_error('INVALID_ARGUMENT', format('field %L cannot be cleared', v_key),
                    'pass a value');
            end if;
        elsif (v_key = any (v_text_keys) and v_type <> 'string')
           or (v_key = any (v_bool_keys) and v_type <> 'boolean')
           or (v_key = 'preferences' and v_type <> 'object') then
            perform internal.raise_error('INVALID_ARGUMENT', format('field %L has JSON type %s', v_key, v_type),
                'strings for text fields, true/false for flags, an object for preferences');
        end if;
    end loop;

end
$$;
comment on function internal.validate_customer_changes(jsonb) is
    'INVALID_ARGUMENT unless p_changes is an object of updatable customer fields with the right JSON types, required ones not cleared.';

-- Writes p_changes to a customer. A write based on an older version goes through the conflict
-- rules (internal.judge_customer_write, db/functions/conflicts.sql): merged, or recorded for review
-- and not applied; the answer then carries "conflict". p_system and p_changed_at label the
-- version in core.customer_changes (a synchronised write keeps its source system's timestamp).
create function internal.apply_customer_changes(
    p_customer_id      bigint,
    p_expected_version integer,
    p_changes          jsonb,
    p_system           text,
    p_changed_at       timestamptz,
    p_reported         jsonb default '{}'::jsonb
) returns jsonb
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_cur      core.customers;
    v_c        core.customers;
    v_email    text;
    v_phone    text;
    v_fields   text[];
    v_judged   jsonb;
    v_keep     jsonb;
begin
    v_cur := internal.customer_for_update(p_customer_id);
    -- a login limited to some hotels changes the customers of those hotels only
    perform internal.require_customer_in_reach(p_customer_id, 'customer.update');
    v_c := v_cur;
    -- optimistic lock (seed 000: version number): a version never read cannot be a base
    if p_expected_version is null or p_expected_version < 1 or p_expected_version > v_cur.version then
        perform internal.raise_error('VERSION_CONFLICT',
            format('customer %s is at version %s, not %s', p_customer_id, v_cur.version, p_expected_version),
            'read the customer again and retry with its version');
    end if;

    if p_changes ? 'given_name' then v_c.given_name := btrim(p_changes ->> 'given_name'); end if;
    if p_changes ? 'family_name' then v_c.family_name := btrim(p_changes ->> 'family_name'); end if;
    if v_c.given_name = '' or v_c.family_name = '' then
        perform internal.raise_error('INVALID_ARGUMENT', 'given_name and family_name cannot be blank', 'pass a name');
    end if;
    if p_changes ? 'given_name_reading' then v_c.given_name_reading := nullif(btrim(p_changes ->> 'given_name_reading'), ''); end if;
    if p_changes ? 'family_name_reading' then v_c.family_name_reading := nullif(btrim(p_changes ->> 'family_name_reading'), ''); end if;
    if p_changes ? 'postal_code' then v_c.postal_code := nullif(btrim(p_changes ->> 'postal_code'), ''); end if;
    if p_changes ? 'address_line1' then v_c.address_line1 := nullif(btrim(p_changes ->> 'address_line1'), ''); end if;
    if p_changes ? 'address_line2' then v_c.address_line2 := nullif(btrim(p_changes ->> 'address_line2'), ''); end if;
    if p_changes ? 'city' then v_c.city := nullif(btrim(p_changes ->> 'city'), ''); end if;
    if p_changes ? 'region' then v_c.region := nullif(btrim(p_changes ->> 'region'), ''); end if;
    if p_changes ? 'country_code' then
        v_c.country_code := upper(nullif(btrim(p_changes ->> 'country_code'), ''));
        if v_c.country_code is not null and v_c.country_code !~ '^[A-Z]{2}$' then
            perform internal.raise_error('INVALID_ARGUMENT',
                format('country_code %L is not ISO 3166 alpha-2', p_changes ->> 'country_code'), 'e.g. JP, KR');
        end if;
    end if;
    if p_changes ? 'language' then v_c.language := coalesce(nullif(btrim(p_changes ->> 'language'), ''), v_c.language); end if;
    if p_changes ? 'marketing_consent' then v_c.marketing_consent := (p_changes ->> 'marketing_consent')::boolean; end if;
    if p_changes ? 'preferences' then v_c.preferences := p_changes -> 'preferences'; end if;
    -- joining (or leaving) the membership programme
    if p_changes ? 'is_member' then
        v_c.is_member := (p_changes ->> 'is_member')::boolean;
        v_c.member_since := case when v_c.is_member
                                 then coalesce(v_c.member_since, (internal.now() at time zone 'UTC')::date) end;
    end if;
    -- e-mail unique case-insensitively
    if p_changes ? 'email' then
        v_email := internal.normalize_email(p_changes ->> 'email');
        perform internal.assert_email_free(v_email, p_customer_id);
        v_c.email := v_email;
    end if;
    -- phone in E.164 (national numbers read with phone_country, else the customer's country)
    if p_changes ? 'phone' then
        v_phone := internal.normalize_phone(p_changes ->> 'phone', coalesce(p_changes ->> 'phone_country',
            v_c.country_code, (select s.default_phone_country from core.loyalty_settings s where s.id)));
        v_c.phone_e164 := v_phone;
    end if;

    -- a stale write, or a system reporting a money value, is judged by the conflict rules
    select coalesce(array_agg(case k when 'phone' then 'phone_e164' else k end order by k), '{}') into v_fields
    from jsonb_object_keys(p_changes) k where k <> 'phone_country';
    v_fields := v_fields || coalesce((select array_agg(k order by k) from jsonb_object_keys(p_reported) k), '{}');
    v_judged := internal.judge_customer_write(v_cur, to_jsonb(v_c) || p_reported, v_fields, p_expected_version,
        p_system, p_changed_at);
    if v_judged is not null then
        if v_judged ->> 'verdict' = 'needs_review' then
            return internal.customer_document(p_customer_id) || jsonb_build_object('conflict', v_judged - 'apply');
        end if;
        -- the fields the rules did not give to this write keep their current value
        select coalesce(jsonb_object_agg(k, to_jsonb(v_cur) -> k), '{}') into v_keep
        from unnest(v_fields || array['member_since']) k
        where not (v_judged -> 'apply') ? (case k when 'member_since' then 'is_member' else k end);
        v_c := jsonb_populate_record(v_c, v_keep);
    end if;

    -- an up-to-date write always makes a version; a merged one only when something of it is left
    if v_judged is null or to_jsonb(v_c) is distinct from to_jsonb(v_cur) then
        begin
            update core.customers c
            set given_name = v_c.given_name, family_name = v_c.family_name,
                given_name_reading = v_c.given_name_reading, family_name_reading = v_c.family_name_reading,
                email = v_c.email, phone_e164 = v_c.phone_e164, postal_code = v_c.postal_code,
                address_line1 = v_c.address_line1, address_line2 = v_c.address_line2, city = v_c.city,
                region = v_c.region, country_code = v_c.country_code, language = v_c.language,
                is_member = v_c.is_member, member_since = v_c.member_since,
                marketing_consent = v_c.marketing_consent, preferences = v_c.preferences,
                version = c.version + 1, updated_at = internal.now()
            where c.id = p_customer_id;
        exception when unique_violation then
            perform internal.assert_email_free(v_c.email, p_customer_id);
            raise;
        end;
        -- the version's source system and time, and the conflict that merged it
        update core.customer_changes ch
        set system = p_system, changed_at = p_changed_at, conflict_id = (v_judged ->> 'conflict_id')::bigint
        where ch.customer_id = p_customer_id and ch.version = v_cur.version + 1;
        if v_judged is not null then
            update core.conflicts f set resolved_version = v_cur.version + 1 where f.id = (v_judged ->> 'conflict_id')::bigint;
        end if;
    end if;
    return internal.customer_document(p_customer_id)
        || case when v_judged is null then '{}'::jsonb else jsonb_build_object('conflict', v_judged - 'apply') end;
end
$$;
comment on function internal.apply_customer_changes(bigint, integer, jsonb, text, timestamptz, jsonb) is
    'Writes validated customer changes based on p_expected_version; a stale write (or a reported points_balance) goes through the conflict rules and is merged or recorded for review. Returns the customer document, with "conflict" when one was recorded.';

create function internal.update_customer(
    p_customer_id      bigint,
    p_expected_version integer,
    p_changes          jsonb
) returns jsonb
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.validate_customer_changes(p_changes);
    return internal.apply_customer_changes(p_customer_id, p_expected_version, p_changes,
        internal.change_system(), internal.now());
end
$$;
comment on function internal.update_customer(bigint, integer, jsonb) is
    'The body of api.update_customer without its rights check (callers check them): validates p_changes and writes them as the caller''s system, now; a write based on an older version goes through the conflict rules.';

create function api.update_customer(
    p_customer_id      bigint,
    p_expected_version integer,
    p_changes          jsonb
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('customer.update_basic');
    -- seed 000: hotel-member changes every field, hotel-pms names, phone and address only
    if jsonb_typeof(p_changes) = 'object' then
        perform internal.require_customer_changes(p_changes);
    end if;
    return internal.update_customer(p_customer_id, p_expected_version, p_changes);
end
$$;
comment on function api.update_customer(bigint, integer, jsonb) is
    'Updates the fields named in p_changes (seed 000 PUT /customers/{id}); null clears an optional field, preferences is replaced whole. A write based on an older version is a conflict: merged or recorded for review by the conflict rules (the answer carries "conflict"); a version never read is VERSION_CONFLICT. Refuses an e-mail another customer has (DUPLICATE_EMAIL), an unreadable phone (INVALID_PHONE).';

-- find_or_create_guest answers an existing customer's id to a hotel-scoped PMS only when the
-- customer is already its hotels' guest, or when the booker's names match as well as the e-mail:
-- an e-mail alone never turns into a customer id (no directory of the chain's customers).
create function internal.guest_match(p_customer_id bigint, p_scoped boolean, p_given_name text, p_family_name text)
returns bigint
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
    if not p_scoped or internal.customer_in_reach(p_customer_id)
       or exists (select 1 from core.customers c
                  where c.id = p_customer_id
                    and lower(c.given_name) = lower(btrim(p_given_name))
                    and lower(c.family_name) = lower(btrim(p_family_name))) then
        return p_customer_id;
    end if;
    perform internal.raise_error('GUEST_NAME_MISMATCH',
        'the e-mail belongs to a customer with other names',
        'book the member by customer id (membership number), or create the guest without this e-mail');
    return null;
end
$$;
comment on function internal.guest_match(bigint, boolean, text, text) is
    'p_customer_id, found by e-mail for api.find_or_create_guest, when the caller is not hotel-scoped, or the customer is in its reach, or the names match; otherwise GUEST_NAME_MISMATCH (the id is not disclosed).';

create function internal.find_or_create_guest(
    p_given_name    text,
    p_family_name   text,
    p_email         text default null,
    p_phone         text default null,
    p_hotel_id      bigint default null,
    p_phone_country text default null,
    p_language      text default null
) returns bigint
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_email   text;
    v_phone   text;
    v_hotel   core.hotels;
    v_scoped  boolean;
    v_id      bigint;
begin
    if nullif(btrim(p_given_name), '') is null or nullif(btrim(p_family_name), '') is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'given_name and family_name are required',
            'pass the booker''s names');
    end if;
    -- the hotel of the booking, in the caller's scope (row-level security hides the others)
    if p_hotel_id is not null then
        select h.* into v_hotel from core.hotels h where h.id = p_hotel_id;
        if v_hotel.id is null then
            perform internal.raise_error('HOTEL_NOT_FOUND', format('hotel_id %s', p_hotel_id), 'check the hotel id');
        end if;
    end if;
    -- a login limited to some hotels that does not own the customer master (hotel-pms) makes guest
    -- profiles for one of its hotels, and is no directory of the chain's customers
    v_scoped := core.hotel_scope() is not null and not internal.has_right('customer.update');
    if v_scoped and v_hotel.id is null then
        if cardinality(core.hotel_scope()) = 1 then
            select h.* into v_hotel from core.hotels h where h.id = (core.hotel_scope())[1];
        else
            perform internal.raise_error('INVALID_ARGUMENT',
                format('p_hotel_id is required: the caller is limited to hotels %s', array_to_string(core.hotel_scope(), ', ')),
                'pass the hotel the guest books at');
        end if;
    end if;
    v_email := internal.normalize_email(p_email);
    -- national phone numbers are read in the call's country, else the hotel's, else the programme's
    v_phone := internal.normalize_phone(p_phone, coalesce(p_phone_country, v_hotel.country_code,
        (select s.default_phone_country from core.loyalty_settings s where s.id)));

    -- the same e-mail is the same person
    if v_email is not null then
        select c.id into v_id from core.customers c
        where lower(c.email) = lower(v_email) and c.merged_into is null;
        if v_id is not null then
            return internal.guest_match(v_id, v_scoped, p_given_name, p_family_name);
        end if;
    else
        -- without e-mail: the same phone and names
        select c.id into v_id from core.customers c
        where v_phone is not null and c.phone_e164 = v_phone and c.merged_into is null
          and lower(c.family_name) = lower(btrim(p_family_name)) and lower(c.given_name) = lower(btrim(p_given_name))
        order by c.id
        limit 1;
        if v_id is not null then
            return v_id;
        end if;
    end if;

    -- a guest profile (not a member); a concurrent booker with the same e-mail gets the same row
    insert into core.customers (given_name, family_name, email, phone_e164, language, is_member, created_for_hotel_id,
                                created_at, updated_at)
    values (btrim(p_given_name), btrim(p_family_name), v_email, v_phone, coalesce(nullif(btrim(p_language), ''), 'en'),
            false, v_hotel.id, internal.now(), internal.now())
    on conflict (lower(email)) where email is not null and merged_into is null do nothing
    returning id into v_id;
    if v_id is null then
        select c.id into v_id from core.customers c
        where lower(c.email) = lower(v_email) and c.merged_into is null;
        return internal.guest_match(v_id, v_scoped, p_given_name, p_family_name);
    end if;
    return v_id;
end
$$;
comment on function internal.find_or_create_guest(text, text, text, text, bigint, text, text) is
    'The body of api.find_or_create_guest without its rights check (callers check them); the hotel-scope rules of the customer master are part of it (see api.find_or_create_guest).';

create function api.update_customer_basic(
    p_customer_id      bigint,
    p_expected_version integer,
    p_changes          jsonb
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_allowed constant text[] := array['given_name', 'family_name', 'phone', 'phone_country', 'postal_code',
        'address_line1', 'address_line2', 'city', 'region', 'country_code'];
    v_key     text;
begin
    perform internal.require_right('customer.update_basic');
    if p_changes is null or jsonb_typeof(p_changes) <> 'object' then
        perform internal.raise_error('INVALID_ARGUMENT', 'changes must be a JSON object', 'e.g. {"city": "Osaka"}');
    end if;
    -- seed 000: the PMS may change names, phone and address only
    select k into v_key from jsonb_object_keys(p_changes) k where not (k = any (v_allowed)) limit 1;
    if v_key is not null then
        perform internal.raise_error('PERMISSION_DENIED', format('field %s is not a basic field the PMS may change', v_key),
            'change it through hotel-member');
    end if;
    return internal.update_customer(p_customer_id, p_expected_version, p_changes);
end
$$;
comment on function api.update_customer_basic(bigint, integer, jsonb) is
    'The PMS''s limited customer update (seed 000 PUT /customers/{id}/basic): names, phone and address only (PERMISSION_DENIED for any other field), then as api.update_customer.';

create function api.find_or_create_guest(
    p_given_name    text,
    p_family_name   text,
    p_email         text default null,
    p_phone         text default null,
    p_hotel_id      bigint default null,
    p_phone_country text default null,
    p_language      text default null
) returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform internal.require_right('guest.find_or_create');
    return internal.find_or_create_guest(p_given_name, p_family_name, p_email, p_phone, p_hotel_id, p_phone_country, p_language);
end
$$;
comment on function api.find_or_create_guest(text, text, text, text, bigint, text, text) is
    'The customer id for a booker who does not join: the unmerged customer with this e-mail (case-insensitive), else with this phone and names, else a new guest profile (is_member false) created for p_hotel_id. National phone numbers are read in p_phone_country, else the hotel''s country. A login limited to some hotels without customer.update (hotel-pms) names its hotel (implied when it has one) and gets an existing customer of another hotel only when the names match too (GUEST_NAME_MISMATCH otherwise, no id). Safe under concurrency.';

create function api.merge_customers(
    p_keep_id      bigint,
    p_duplicate_id bigint,
    p_reason       text default null
) returns jsonb
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_keep         core.customers;
    v_dup          core.customers;
    v_lot          record;
    v_reservations integer;
    v_waitlist     integer;
    v_holds        integer;
    v_reviews      integer;
    v_points       integer := 0;
    v_lots         integer := 0;
    v_stays        integer;
    v_rank         text;
    v_manual       boolean;
    v_moved        jsonb;
begin
    perform internal.require_right('customer.update');
    if p_keep_id is null or p_duplicate_id is null then
        perform internal.raise_error('INVALID_ARGUMENT', 'keep and duplicate customer ids are required',
            'pass both ids');
    end if;
    if p_keep_id = p_duplicate_id then
        perform internal.raise_error('MERGE_NOT_ALLOWED', format('customer %s cannot be merged into itself', p_keep_id),
            'pass two different customers');
    end if;
    -- both profiles locked in id order, so two merges never deadlock
    perform 1 from core.customers c where c.id in (p_keep_id, p_duplicate_id) order by c.id for update;
    select c.* into v_keep from core.customers c where c.id = p_keep_id;
    select c.* into v_dup from core.customers c where c.id = p_duplicate_id;
    if v_keep.id is null or v_dup.id is null then
        perform internal.raise_error('CUSTOMER_NOT_FOUND',
            format('customer_id %s', case when v_keep.id is null then p_keep_id else p_duplicate_id end),
            'check the customer ids');
    end if;
    if v_keep.merged_into is not null or v_dup.merged_into is not null then
        perform internal.raise_error('MERGE_NOT_ALLOWED',
            format('customer %s was already merged into %s',
                   case when v_keep.merged_into is not null then v_keep.id else v_dup.id end,
                   coalesce(v_keep.merged_into, v_dup.merged_into)),
            'merge into the surviving profile');
    end if;

    -- bookings move to the kept profile
    update core.reservations r set customer_id = p_keep_id where r.customer_id = p_duplicate_id;
    get diagnostics v_reservations = row_count;
    update core.waitlist_entries w set customer_id = p_keep_id where w.customer_id = p_duplicate_id;
    get diagnostics v_waitlist = row_count;
    update core.holds h set customer_id = p_keep_id where h.customer_id = p_duplicate_id;
    get diagnostics v_holds = row_count;
    update core.reviews v set customer_id = p_keep_id where v.customer_id = p_duplicate_id;
    get diagnostics v_reviews = row_count;

    -- points: each open lot of the duplicate moves with its expiry (accounts locked in id order)
    perform internal.points_account_lock(least(p_keep_id, p_duplicate_id));
    perform internal.points_account_lock(greatest(p_keep_id, p_duplicate_id));
    for v_lot in
        select l.id, l.remaining, l.expires_at from core.points_ledger l
        where l.customer_id = p_duplicate_id and l.remaining > 0
        order by l.expires_at, l.id
    loop
        perform internal.points_credit(p_keep_id, 'merge', v_lot.remaining,
            format('lot %s of customer %s', v_lot.id, p_duplicate_id), null, v_lot.expires_at, p_duplicate_id);
        v_points := v_points + v_lot.remaining;
        v_lots := v_lots + 1;
    end loop;
    if v_points > 0 then
        perform internal.points_debit(p_duplicate_id, 'merge', v_points,
            format('merged into customer %s', p_keep_id));
    end if;

    -- stays add up; the kept profile gets the best of the two ranks and of what the stays earn
    v_stays := v_keep.qualifying_stays + v_dup.qualifying_stays;
    select x.code, x.manual into v_rank, v_manual
    from (values (internal.rank_for_stays(v_stays), false, 0),
                 (v_keep.rank_code, v_keep.rank_manual, 1),
                 (v_dup.rank_code, v_dup.rank_manual, 2)) as x (code, manual, pref)
    join core.membership_ranks r on r.code = x.code
    order by r.level desc, x.pref
    limit 1;
    update core.customers c
    set qualifying_stays = v_stays,
        is_member = c.is_member or v_dup.is_member,
        member_since = case when c.is_member or v_dup.is_member
                            then least(c.member_since, v_dup.member_since) end,
        version = c.version + 1, updated_at = internal.now()
    where c.id = p_keep_id;
    perform internal.change_rank(p_keep_id, v_keep.rank_code, v_rank, v_manual, 'merge',
        format('merged customer %s', p_duplicate_id), null, v_stays);
    update core.customers c
    set merged_into = p_keep_id, qualifying_stays = 0, version = c.version + 1, updated_at = internal.now()
    where c.id = p_duplicate_id;

    -- the audit trail
    v_moved := jsonb_build_object('reservations', v_reservations, 'waitlist_entries', v_waitlist, 'holds', v_holds,
        'reviews', v_reviews, 'points', v_points, 'point_lots', v_lots,
        'qualifying_stays', v_dup.qualifying_stays, 'rank_before', v_keep.rank_code, 'rank_after', v_rank);
    insert into core.customer_merges (kept_customer_id, merged_customer_id, reason, moved, merged_at)
    values (p_keep_id, p_duplicate_id, nullif(btrim(p_reason), ''), v_moved, internal.now());
    return jsonb_build_object('kept_customer_id', p_keep_id, 'merged_customer_id', p_duplicate_id, 'moved', v_moved);
end
$$;
comment on function api.merge_customers(bigint, bigint, text) is
    'Merges a duplicate profile into p_keep_id (seed 000 customer master): reservations, waitlist entries, holds and reviews move; open point lots move with their expiry (merge entries on both ledgers); stays add up and the better rank is kept; the duplicate stays as a row with merged_into set, and core.customer_merges records what moved. MERGE_NOT_ALLOWED into itself or with a merged profile, CUSTOMER_NOT_FOUND.';
