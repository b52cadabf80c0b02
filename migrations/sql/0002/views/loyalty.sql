-- Loyalty read models: points balance and history for clients (api), review averages for BI (report).

create view api.points_balances as
select a.customer_id,
       a.balance,
       (select min(l.expires_at) from core.points_ledger l
        where l.customer_id = a.customer_id and l.remaining > 0) as next_expiry_at,
       a.updated_at
from core.points_accounts a;
comment on view api.points_balances is 'Points balance per customer (seed 000): the spendable balance (= sum of the ledger) and the earliest expiry of an open lot.';
comment on column api.points_balances.customer_id is 'The customer.';
comment on column api.points_balances.balance is 'Spendable points; never negative (points_balance_not_negative).';
comment on column api.points_balances.next_expiry_at is 'When the oldest open lot expires (null without open lots).';
comment on column api.points_balances.updated_at is 'Last movement.';

create view api.points_history as
select l.id, l.customer_id, l.kind, l.points, l.balance_after, l.reservation_id, l.reason,
       l.expires_at, l.remaining, l.created_at
from core.points_ledger l;
comment on view api.points_history is 'Every points entry (seed 000): earn, redeem, adjust, expire, merge, with the balance after it.';
comment on column api.points_history.id is 'Entry id, increasing in posting order.';
comment on column api.points_history.customer_id is 'The customer.';
comment on column api.points_history.kind is 'earn, redeem, adjust, expire or merge.';
comment on column api.points_history.points is 'Signed points: credits > 0, debits < 0.';
comment on column api.points_history.balance_after is 'The balance right after the entry.';
comment on column api.points_history.reservation_id is 'The stay earned for (earn) or paid with points (redeem).';
comment on column api.points_history.reason is 'Why (required for adjustments).';
comment on column api.points_history.expires_at is 'For a credit: when its remaining points expire.';
comment on column api.points_history.remaining is 'For a credit: points of the lot not yet spent or expired.';
comment on column api.points_history.created_at is 'When the entry was posted.';

create view report.review_averages_by_hotel with (security_invoker = false) as
select h.id as hotel_id,
       h.code as hotel_code,
       h.name as hotel_name,
       count(v.id) as review_count,
       round(avg(v.overall_rating), 2) as avg_overall,
       round(avg(v.cleanliness_rating), 2) as avg_cleanliness,
       round(avg(v.service_rating), 2) as avg_service,
       round(avg(v.location_rating), 2) as avg_location,
       round(avg(v.facilities_rating), 2) as avg_facilities,
       round(avg(v.value_rating), 2) as avg_value
from core.hotels h
left join core.reviews v on h.id = v.hotel_id
group by h.id, h.code, h.name;
comment on view report.review_averages_by_hotel is 'Average review ratings per hotel (seed 003); hotels without reviews show count 0 and null averages.';
comment on column report.review_averages_by_hotel.hotel_id is 'The hotel.';
comment on column report.review_averages_by_hotel.hotel_code is 'Its code.';
comment on column report.review_averages_by_hotel.hotel_name is 'Its name.';
comment on column report.review_averages_by_hotel.review_count is 'Number of reviews.';
comment on column report.review_averages_by_hotel.avg_overall is 'Average overall rating (1-5), 2 decimals.';
comment on column report.review_averages_by_hotel.avg_cleanliness is 'Average cleanliness rating of the reviews that gave one.';
comment on column report.review_averages_by_hotel.avg_service is 'Average service rating of the reviews that gave one.';
comment on column report.review_averages_by_hotel.avg_location is 'Average location rating of the reviews that gave one.';
comment on column report.review_averages_by_hotel.avg_facilities is 'Average facilities rating of the reviews that gave one.';
comment on column report.review_averages_by_hotel.avg_value is 'Average value-for-money rating of the reviews that gave one.';

create view report.review_averages_by_room_type with (security_invoker = false) as
select t.hotel_id,
       t.id as room_type_id,
       t.code as room_type_code,
       t.name as room_type_name,
       count(v.id) as review_count,
       round(avg(v.overall_rating), 2) as avg_overall,
       round(avg(v.cleanliness_rating), 2) as avg_cleanliness,
       round(avg(v.service_rating), 2) as avg_service,
       round(avg(v.location_rating), 2) as avg_location,
       round(avg(v.facilities_rating), 2) as avg_facilities,
       round(avg(v.value_rating), 2) as avg_value
from core.room_types t
left join core.reviews v on t.hotel_id = v.hotel_id and t.id = v.room_type_id
group by t.hotel_id, t.id, t.code, t.name;
comment on view report.review_averages_by_room_type is 'Average review ratings per room type (seed 003); room types without reviews show count 0 and null averages.';
comment on column report.review_averages_by_room_type.hotel_id is 'The hotel.';
comment on column report.review_averages_by_room_type.room_type_id is 'The room type.';
comment on column report.review_averages_by_room_type.room_type_code is 'Its code.';
comment on column report.review_averages_by_room_type.room_type_name is 'Its name.';
comment on column report.review_averages_by_room_type.review_count is 'Number of reviews.';
comment on column report.review_averages_by_room_type.avg_overall is 'Average overall rating (1-5), 2 decimals.';
comment on column report.review_averages_by_room_type.avg_cleanliness is 'Average cleanliness rating of the reviews that gave one.';
comment on column report.review_averages_by_room_type.avg_service is 'Average service rating of the reviews that gave one.';
comment on column report.review_averages_by_room_type.avg_location is 'Average location rating of the reviews that gave one.';
comment on column report.review_averages_by_room_type.avg_facilities is 'Average facilities rating of the reviews that gave one.';
comment on column report.review_averages_by_room_type.avg_value is 'Average value-for-money rating of the reviews that gave one.';
