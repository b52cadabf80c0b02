-- Two functions every booking calls per row become PL/pgSQL, with the same results.
--
-- core.confirmation_code is the reservations' column default and core.looks_like_card_number the
-- card-number test of every free-text column's trigger WHEN clause (and of a payment reference's
-- check). Written in SQL with FROM clauses (generate_series, regexp_matches), neither can be
-- inlined: each call ran the SQL function machinery, whose plan lives no longer than the calling
-- statement, so every insert prepared them again (about 20 us each per booking). PL/pgSQL keeps
-- its compiled body and plans for the session. The card test first asks the one pattern of a
-- candidate run (13 to 19 digits, spaces or dashes between them) with a single match: almost no
-- text has one, and only text that has one is split into runs for the Luhn sums.
--
-- Same values: the code is the same scramble of the sequence number into the same eight
-- characters (and fails alike past the multiplication's bigint range); the card test answers as
-- before for every text (null gives null: both functions stay strict).
-- migrate:up
create or replace function core.confirmation_code(p_n bigint) returns text
language plpgsql
immutable
strict
set search_path = pg_catalog, pg_temp
as $$
declare
    v_x    bigint := ((p_n * 2654435761) # 366894531) % 1099511627776;
    v_code text := '';
begin
    -- the scrambled number's eight 5-bit digits, most significant first, as Crockford base32
    for i in 0..7 loop
        v_code := v_code || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((v_x >> (5 * (7 - i))) & 31)::int + 1, 1);
    end loop;
    return v_code;
end
$$;

create or replace function core.looks_like_card_number(p_text text) returns boolean
language plpgsql
immutable
strict
set search_path = pg_catalog, pg_temp
as $$
declare
    c_run constant text := '[0-9](?:[ -]?[0-9]){12,18}';  -- 13 to 19 digits, spaces or dashes between
begin
    -- no candidate run (almost every text): one match, no sums
    if p_text !~ c_run then
        return false;
    end if;
    -- a card number is a run passing the Luhn check
    return exists (
        select 1
        from regexp_matches(p_text, c_run, 'g') as m(run),
             lateral (select regexp_replace(m.run[1], '[^0-9]', '', 'g') as digits) d
        where (select sum(case when i % 2 = 0
                               then (substr(reverse(d.digits), i, 1)::int * 2) % 9
                                    + case when substr(reverse(d.digits), i, 1) = '9' then 9 else 0 end
                               else substr(reverse(d.digits), i, 1)::int end)
               from generate_series(1, length(d.digits)) as i) % 10 = 0
    );
end
$$;

-- migrate:down
create or replace function core.confirmation_code(p_n bigint) returns text
language sql
immutable
strict
set search_path = pg_catalog, pg_temp
as $$
    select string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ',
                             ((((p_n * 2654435761) # 366894531) % 1099511627776) >> (5 * (7 - i)) & 31)::int + 1, 1), ''
                      order by i)
    from generate_series(0, 7) as i
$$;

create or replace function core.looks_like_card_number(p_text text) returns boolean
language sql
immutable
strict
set search_path = pg_catalog, pg_temp
as $$
    select exists (
        select 1
        from regexp_matches(p_text, '[0-9](?:[ -]?[0-9]){12,18}', 'g') as m(run),
             lateral (select regexp_replace(m.run[1], '[^0-9]', '', 'g') as digits) d
        where (select sum(case when i % 2 = 0
                               then (substr(reverse(d.digits), i, 1)::int * 2) % 9
                                    + case when substr(reverse(d.digits), i, 1) = '9' then 9 else 0 end
                               else substr(reverse(d.digits), i, 1)::int end)
               from generate_series(1, length(d.digits)) as i) % 10 = 0
    )
$$;
