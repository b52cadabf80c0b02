-- Ownership and read grants; the last file of every migration.
--
-- 1. Every project object goes to hotelcore_owner, a NOLOGIN non-superuser: SECURITY DEFINER
--    functions and views then run as a role that row-level security binds (FORCE ROW LEVEL
--    SECURITY on every hotel table, db/schema/rights.sql), so hotel scope holds inside them too.
--    The migrating role keeps running migrations (a superuser may alter and drop what it does
--    not own). Here: the functions and views of api, internal and report; the versioned objects
--    (schemas, core, materialized views) are handed over by versioned DDL (db/schema/report.sql,
--    and each later schema file for what it creates), so a downgrade hands them back exactly.
-- 2. SELECT on the views, system by system, from the same matrix as the functions
--    (internal.rights()); hotelcore_bi reads every report view. A view needing two rights
--    ('billing.read+rooms.read': revenue with occupancy) goes to the systems holding both. Views read the core tables as
--    their owner, so no client role holds any right on core. Materialized views are not
--    granted: row-level security does not filter their stored rows, so clients read them
--    through the report views that filter by scope (report.revenue_monthly and the like).

do $$
declare
    v_object record;
begin
    -- only what is not handed over yet: an unchanged object is not touched by a deploy
    for v_object in
        select format('view %I.%I', n.nspname, c.relname) as name
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('api', 'internal', 'report') and c.relkind = 'v'
          and c.relowner <> 'hotelcore_owner'::regrole
        union all
        select format('function %s', p.oid::regprocedure)
        from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('api', 'internal', 'report') and p.proowner <> 'hotelcore_owner'::regrole
    loop
        execute format('alter %s owner to hotelcore_owner', v_object.name);
    end loop;
end
$$;

do $$
declare
    v_entry  record;
    v_system text;
begin
    for v_entry in
        select m.name, m.action from (values
            ('api.error_codes',                       'request.context'),
            ('api.inventory_calendar',                'rooms.read'),
            ('api.folio_balances',                    'billing.read'),
            ('api.points_balances',                   'loyalty.read'),
            ('api.points_history',                    'loyalty.read'),
            ('report.hotels',                         'rooms.read'),
            ('report.room_types',                     'rooms.read'),
            ('report.occupancy_daily',                'rooms.read'),
            ('report.occupancy_monthly',              'rooms.read'),
            ('report.inventory_recount',              'rooms.read'),
            ('report.inventory_exception_recount',    'rooms.read'),
            ('report.pms_sync',                       'rooms.read'),
            ('report.pms_webhooks_daily',             'rooms.read'),
            ('report.pms_breaker_history',            'rooms.read'),
            ('report.pms_cache_hit_rate',             'rooms.read'),
            ('report.room_block_recount',             'rooms.read'),
            ('report.revenue_monthly',                'billing.read+rooms.read'),
            ('report.revenue_by_origin_monthly',      'billing.read+rooms.read'),
            ('report.revenue_daily_in_scope',         'billing.read+rooms.read'),
            ('report.revenue_daily_by_origin_in_scope', 'billing.read+rooms.read'),
            ('report.sales_daily_in_scope',           'billing.read'),
            ('report.sales_daily_by_origin_in_scope', 'billing.read'),
            ('report.sales_monthly',                  'billing.read'),
            ('report.sales_by_origin_monthly',        'billing.read'),
            ('report.booking_pace_in_scope',          'reservation.read+rooms.read'),
            ('report.cancellations_monthly',          'reservation.read'),
            ('report.lead_time_distribution',         'reservation.read'),
            ('report.length_of_stay_distribution',    'reservation.read'),
            ('report.members_per_rank',               'loyalty.read'),
            ('report.rank_changes_monthly',           'loyalty.read'),
            ('report.points_outstanding',             'loyalty.read'),
            ('report.review_averages_by_hotel',       'reservation.read'),
            ('report.review_averages_by_room_type',   'reservation.read'),
            ('report.service_revenue_daily',          'billing.read'),
            ('report.service_order_lead_times',       'services.read'),
            ('report.satisfaction_trend',             'feedback.read'),
            ('report.event_consumer_lag',             'reports.read'),
            ('report.replication_lag',                'reports.read'),
            ('report.replication_standbys',           'reports.read'),
            ('report.replication_slots',              'reports.read'),
            ('report.webhook_delivery_log',           'reports.read'),
            ('report.webhook_dead_letters',           'reports.read'),
            ('report.webhook_delivery_stats',         'reports.read'),
            ('report.events_per_type',                'reports.read'),
            ('report.conflicts_open',                 'customer.conflicts'),
            ('report.conflicts_open',                 'reservation.conflicts'),
            ('report.conflicts_open',                 'room.conflicts'),
            ('report.customer_data_consistency',      'reports.read'),
            ('report.point_balance_accuracy',         'reports.read'),
            ('report.rank_correctness',               'reports.read'),
            ('report.consistency_monitor',            'reports.read')
        ) as m(name, action)
    loop
        if to_regclass(v_entry.name) is null then
            perform internal.raise_error('INTERNAL_ERROR', format('no view %s to grant', v_entry.name),
                'remove it from db/views/grants.sql or restore the view');
        end if;
        execute format('grant select on %s to hotelcore_admin', v_entry.name::regclass);
        if v_entry.name like 'report.%' then
            execute format('grant select on %s to hotelcore_bi', v_entry.name::regclass);
        end if;
        if exists (select 1 from unnest(string_to_array(v_entry.action, '+')) a(action)
                   where not exists (select 1 from internal.rights() r where r.action = a.action)) then
            perform internal.raise_error('INTERNAL_ERROR', format('%s: unknown action in %L', v_entry.name, v_entry.action), null);
        end if;
        -- the systems holding every action listed
        for v_system in
            select s.system from (select unnest(r.systems) as system, r.action from internal.rights() r) s
            where s.action = any (string_to_array(v_entry.action, '+'))
            group by s.system
            having count(*) = cardinality(string_to_array(v_entry.action, '+'))
        loop
            execute format('grant select on %s to %I', v_entry.name::regclass, 'hotelcore_' || v_system);
        end loop;
    end loop;
end
$$;

-- refreshing the materialized views is a chain-wide scheduled job (it checks the caller sees every hotel)
grant execute on function api.refresh_reports(text) to hotelcore_admin;

-- USAGE on the schemas api and report, EXECUTE on core.hotel_scope(): db/schema/report.sql
-- functions a view calls run as its reader: the clock (api.inventory_calendar, report.inventory_recount)
grant execute on function internal.now() to hotelcore_member, hotelcore_pms, hotelcore_saas, hotelcore_bi,
    hotelcore_admin;
-- the rank rule, read by report.rank_correctness as its reader
grant execute on function internal.rank_for_stays(integer) to hotelcore_bi, hotelcore_admin;
