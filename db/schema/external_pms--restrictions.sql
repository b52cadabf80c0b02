-- The vendor's stay restrictions in the mirror, per rate plan and night as Cloudbeds publishes
-- them (getRatePlans' roomRateDetailed: minLos, maxLos, closedToArrival, closedToDeparture):
-- the arrival night's minimum and maximum length of stay, closed to arrival on the arrival night,
-- closed to departure on the departure date. No restriction: null lengths, false flags.
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
alter table core.pms_rates
    add column min_los             integer constraint pms_rates_min_los check (min_los between 1 and 365),
    add column max_los             integer constraint pms_rates_max_los check (max_los between 1 and 365),
    add column closed_to_arrival   boolean default false not null,
    add column closed_to_departure boolean default false not null;
comment on column core.pms_rates.min_los is 'The vendor''s minimum length of stay for an arrival this night (nights); null: none.';
comment on column core.pms_rates.max_los is 'The vendor''s maximum length of stay for an arrival this night (nights); null: none.';
comment on column core.pms_rates.closed_to_arrival is 'The vendor closes this night to arrival on this rate plan.';
comment on column core.pms_rates.closed_to_departure is 'The vendor closes this date to departure on this rate plan.';

-- migrate:down
alter table core.pms_rates
    drop column if exists min_los,
    drop column if exists max_los,
    drop column if exists closed_to_arrival,
    drop column if exists closed_to_departure;
