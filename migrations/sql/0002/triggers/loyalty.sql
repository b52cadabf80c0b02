-- Ranks by trigger (seed 003): a check-out adds a qualifying stay, reversing a check-out removes
-- it, and the rank follows. Cheap on purpose: the trigger fires only when status enters or leaves
-- checked_out, does one update of the customer row and one lookup in the four-row rank table, and
-- writes history and a notification only when the rank changes. The benchmark (or a bulk load)
-- can switch it off as the table owner:
--   alter table core.reservations disable trigger _100_rank_recompute;

create function internal.tg_reservations__rank_recompute()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_delta   integer := case when new.status = 'checked_out' then 1 else -1 end;
    v_stays   integer;
    v_current text;
    v_manual  boolean;
    v_earned  text;
begin
    update core.customers c
    set qualifying_stays = greatest(c.qualifying_stays + v_delta, 0)
    where c.id = new.customer_id
    returning c.qualifying_stays, c.rank_code, c.rank_manual into v_stays, v_current, v_manual;
    if not found then
        return null;
    end if;
    v_earned := internal.rank_for_stays(v_stays);
    if v_earned = v_current then
        return null;
    end if;
    -- a check-out only ever raises the rank (a rank set by hand above the stays is kept);
    -- a reversed check-out lowers a rank the stays earned, never one set by hand
    if (v_delta > 0 and (select r.level from core.membership_ranks r where r.code = v_earned)
                      > (select r.level from core.membership_ranks r where r.code = v_current))
       or (v_delta < 0 and not v_manual) then
        perform internal.change_rank(new.customer_id, v_current, v_earned, false, 'stays', null, new.id, v_stays);
    end if;
    return null;
end
$$;
comment on function internal.tg_reservations__rank_recompute() is
    'Counts qualifying stays (+1 entering checked_out, -1 leaving it) and moves the rank by core.membership_ranks.min_stays; rank history and notification on change.';

create trigger _100_rank_recompute
after update of status on core.reservations
for each row
when (old.status is distinct from new.status and (new.status = 'checked_out' or old.status = 'checked_out'))
execute function internal.tg_reservations__rank_recompute();
comment on trigger _100_rank_recompute on core.reservations is
    'Loyalty: qualifying stays and rank recompute on check-out and on its reversal (internal.tg_reservations__rank_recompute).';
