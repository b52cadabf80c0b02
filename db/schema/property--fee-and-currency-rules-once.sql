-- Two rules of the property written once each instead of once per column:
--   * a cancellation fee: its kind is known (core.fee_kind_is_known: none, first_night, percent,
--     full), and it has a percentage, from 0 to 100, exactly when its kind is percent
--     (core.fee_percent_fits); the late and the no-show fee's checks call them (names kept), and
--     so does internal.create_cancellation_policy before it writes;
--   * a currency code is three capital letters (core.currency_code_is_iso): the checks of the
--     currencies, the points earn rates and the conflict escalation amounts call it (names kept).
-- Same rows pass as before (each body is the checks' formula; a char(3) code is compared as it
-- was, blank-padded), and each check calls its function
-- (PL/pgSQL: see reservation--stay-canonical-once.sql for why a check function is not inlined SQL).
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Applied outside a transaction (the revision says TRANSACTION = False): each check swapped NOT
-- VALID under a brief lock (new rows are checked at once), then the rows already there validated
-- under SHARE UPDATE EXCLUSIVE. Each statement can run again after a failure part way.
-- migrate:up
create or replace function core.fee_kind_is_known(p_kind text) returns boolean
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
begin
    return p_kind in ('none', 'first_night', 'percent', 'full');
end
$$;
comment on function core.fee_kind_is_known(text) is
    'True when p_kind is a cancellation fee''s kind: none, first_night, percent or full. The fee kind checks of core.cancellation_policies and internal.create_cancellation_policy.';
alter function core.fee_kind_is_known(text) owner to hotelcore_owner;
revoke execute on function core.fee_kind_is_known(text) from public;
create or replace function core.fee_percent_fits(p_kind text, p_percent numeric) returns boolean
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
begin
    return (p_kind = 'percent') = (p_percent is not null)
               and (p_percent is null or p_percent between 0 and 100);
end
$$;
comment on function core.fee_percent_fits(text, numeric) is
    'True when a cancellation fee has a percentage, from 0 to 100, exactly when its kind is percent. The percent checks of core.cancellation_policies and internal.create_cancellation_policy.';
alter function core.fee_percent_fits(text, numeric) owner to hotelcore_owner;
revoke execute on function core.fee_percent_fits(text, numeric) from public;
create or replace function core.currency_code_is_iso(p_code bpchar) returns boolean
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
begin
    return p_code ~ '^[A-Z]{3}$';
end
$$;
comment on function core.currency_code_is_iso(bpchar) is
    'True when p_code has the shape of an ISO 4217 code: three capital letters. The currency code checks of the currencies, the points earn rates and the conflict escalation amounts.';
alter function core.currency_code_is_iso(bpchar) owner to hotelcore_owner;
revoke execute on function core.currency_code_is_iso(bpchar) from public;

alter table core.cancellation_policies
    drop constraint if exists cancellation_policies_late_fee_kind,
    add constraint cancellation_policies_late_fee_kind check (core.fee_kind_is_known(late_fee_kind)) not valid;
alter table core.cancellation_policies validate constraint cancellation_policies_late_fee_kind;
alter table core.cancellation_policies
    drop constraint if exists cancellation_policies_late_percent_when_percent,
    add constraint cancellation_policies_late_percent_when_percent check (core.fee_percent_fits(late_fee_kind, late_fee_percent)) not valid;
alter table core.cancellation_policies validate constraint cancellation_policies_late_percent_when_percent;
alter table core.cancellation_policies
    drop constraint if exists cancellation_policies_no_show_fee_kind,
    add constraint cancellation_policies_no_show_fee_kind check (core.fee_kind_is_known(no_show_fee_kind)) not valid;
alter table core.cancellation_policies validate constraint cancellation_policies_no_show_fee_kind;
alter table core.cancellation_policies
    drop constraint if exists cancellation_policies_no_show_percent_when_percent,
    add constraint cancellation_policies_no_show_percent_when_percent check (core.fee_percent_fits(no_show_fee_kind, no_show_fee_percent)) not valid;
alter table core.cancellation_policies validate constraint cancellation_policies_no_show_percent_when_percent;
alter table core.currencies
    drop constraint if exists currencies_code_is_iso,
    add constraint currencies_code_is_iso check (core.currency_code_is_iso(code)) not valid;
alter table core.currencies validate constraint currencies_code_is_iso;
alter table core.points_earn_rates
    drop constraint if exists points_earn_rates_currency_shape,
    add constraint points_earn_rates_currency_shape check (core.currency_code_is_iso(currency)) not valid;
alter table core.points_earn_rates validate constraint points_earn_rates_currency_shape;
alter table core.conflict_escalation_amounts
    drop constraint if exists conflict_escalation_amounts_currency_is_iso,
    add constraint conflict_escalation_amounts_currency_is_iso check (core.currency_code_is_iso(currency)) not valid;
alter table core.conflict_escalation_amounts validate constraint conflict_escalation_amounts_currency_is_iso;

-- migrate:down
-- the released checks, as revisions 0002 (policies, currencies, earn rates) and 0014 (escalation amounts) wrote them
alter table core.cancellation_policies
    drop constraint if exists cancellation_policies_late_fee_kind,
    add constraint cancellation_policies_late_fee_kind check (late_fee_kind in ('none', 'first_night', 'percent', 'full')) not valid;
alter table core.cancellation_policies validate constraint cancellation_policies_late_fee_kind;
alter table core.cancellation_policies
    drop constraint if exists cancellation_policies_late_percent_when_percent,
    add constraint cancellation_policies_late_percent_when_percent check (
        (late_fee_kind = 'percent') = (late_fee_percent is not null)
        and (late_fee_percent is null or late_fee_percent between 0 and 100)) not valid;
alter table core.cancellation_policies validate constraint cancellation_policies_late_percent_when_percent;
alter table core.cancellation_policies
    drop constraint if exists cancellation_policies_no_show_fee_kind,
    add constraint cancellation_policies_no_show_fee_kind check (no_show_fee_kind in ('none', 'first_night', 'percent', 'full')) not valid;
alter table core.cancellation_policies validate constraint cancellation_policies_no_show_fee_kind;
alter table core.cancellation_policies
    drop constraint if exists cancellation_policies_no_show_percent_when_percent,
    add constraint cancellation_policies_no_show_percent_when_percent check (
        (no_show_fee_kind = 'percent') = (no_show_fee_percent is not null)
        and (no_show_fee_percent is null or no_show_fee_percent between 0 and 100)) not valid;
alter table core.cancellation_policies validate constraint cancellation_policies_no_show_percent_when_percent;
alter table core.currencies
    drop constraint if exists currencies_code_is_iso,
    add constraint currencies_code_is_iso check (code ~ '^[A-Z]{3}$') not valid;
alter table core.currencies validate constraint currencies_code_is_iso;
alter table core.points_earn_rates
    drop constraint if exists points_earn_rates_currency_shape,
    add constraint points_earn_rates_currency_shape check (currency ~ '^[A-Z]{3}$') not valid;
alter table core.points_earn_rates validate constraint points_earn_rates_currency_shape;
alter table core.conflict_escalation_amounts
    drop constraint if exists conflict_escalation_amounts_currency_is_iso,
    add constraint conflict_escalation_amounts_currency_is_iso check (currency ~ '^[A-Z]{3}$') not valid;
alter table core.conflict_escalation_amounts validate constraint conflict_escalation_amounts_currency_is_iso;
drop function if exists core.currency_code_is_iso(bpchar);
drop function if exists core.fee_percent_fits(text, numeric);
drop function if exists core.fee_kind_is_known(text);
