-- EXECUTE on the api functions, system by system. Each function is listed with the
-- action of seed 000's matrix it serves; the systems holding that action in internal.rights()
-- get EXECUTE, and hotelcore_admin gets every function. The function checks the action again
-- (internal.require_right) and the finer rules (fields, origin, preferences) itself, so a wrong
-- grant here cannot widen a right. Granted by name: every overload of a name gets the same
-- grant. This file runs after every other function file; the migration's closing
-- `revoke ... from public` touches PUBLIC only, so these grants stay.
-- api.refresh_reports lives with the views it refreshes: db/views/grants.sql grants it.
-- tests/test_catalog.py checks every api function is granted to at least one hotelcore_* role.

do $$
declare
    v_entry    record;
    v_function regprocedure;
    v_system   text;
    v_found    boolean;
begin
    for v_entry in
        select m.name, m.action from (values
            -- property and inventory (部屋在庫・状態)
            ('create_hotel',                'hotel.create'),
            ('create_room_type',            'rooms.update'),
            ('set_room_type_price',         'rooms.update'),
            ('create_room',                 'rooms.update'),
            ('set_room_active',             'rooms.update'),
            ('create_cancellation_policy',  'rooms.update'),
            ('create_rate_plan',            'rooms.update'),
            ('create_season',               'rooms.update'),
            ('add_holidays',                'rooms.update'),
            ('set_special_event_days',      'rooms.update'),
            ('remove_special_event_days',   'rooms.update'),
            ('list_special_event_days',     'rooms.read'),
            ('set_pricing_rule',            'rooms.update'),
            ('set_length_of_stay_discount', 'rooms.update'),
            ('open_inventory',              'rooms.update'),
            ('set_restrictions',            'rooms.update'),
            ('refresh_rates',               'rooms.update'),
            ('search_availability',         'rooms.read'),
            ('search_city_availability',    'rooms.read'),
            -- external-PMS hotels: status and freshness are inventory reads; the connector's
            -- writes and credentials are scheduled jobs (admin); import creates a hotel
            ('pms_lookup',                  'rooms.read'),
            ('pms_city_lookup',             'rooms.read'),
            ('pms_sync_status',             'rooms.read'),
            ('pms_request_sync',            'rooms.update'),
            ('pms_import_property',         'hotel.create'),
            ('pms_connection',              'maintenance.run'),
            ('pms_webhook_target',          'maintenance.run'),
            ('pms_apply_snapshot',          'maintenance.run'),
            ('pms_apply_reservation',       'maintenance.run'),
            ('pms_apply_webhook',           'maintenance.run'),
            ('pms_claim_sync',              'maintenance.run'),
            ('pms_record_sync',             'maintenance.run'),
            ('pms_due_syncs',               'maintenance.run'),
            ('pms_record_breaker',          'maintenance.run'),
            ('pms_checkout_begin',          'reservation.create'),
            ('pms_checkout_step',           'reservation.create'),
            ('pms_get_checkout',            'reservation.create'),
            ('pms_stalled_checkouts',       'maintenance.run'),
            ('pms_apply_room_list',         'maintenance.run'),
            ('pms_enqueue_fetch',           'maintenance.run'),
            ('pms_claim_fetches',           'maintenance.run'),
            ('pms_finish_fetch',            'maintenance.run'),
            ('pms_set_api_key',             'maintenance.run'),
            ('pms_set_webhook_secret',      'maintenance.run'),
            ('quote',                       'rooms.read'),
            ('list_rooms',                  'rooms.read'),
            ('set_room_status',             'rooms.update'),
            ('update_room',                 'rooms.update'),
            ('block_room',                  'rooms.update'),
            ('unblock_room',                'rooms.update'),
            ('assign_room',                 'rooms.update'),
            ('move_room',                   'rooms.update'),
            -- reservations (予約情報): member books, the PMS owns every later change
            ('create_hold',                 'reservation.create'),
            ('release_hold',                'reservation.create'),
            ('confirm_booking',             'reservation.create'),
            ('book_reservation',            'reservation.create'),
            ('join_waitlist',               'reservation.create'),
            ('checkout_begin',              'checkout.step'),
            ('checkout_hold',               'checkout.step'),
            ('checkout_authorised',         'checkout.step'),
            ('checkout_confirm',            'checkout.step'),
            ('checkout_captured',           'checkout.step'),
            ('checkout_compensate',         'checkout.step'),
            ('checkout_start',              'checkout.step'),
            ('checkout_confirm_authorised', 'checkout.step'),
            ('get_checkout',                'reservation.create'),
            ('begin_idempotent',            'reservation.create'),
            ('complete_idempotent',         'reservation.create'),
            ('expire_holds',                'reservation.update'),
            ('modify_reservation',          'reservation.update'),
            ('cancel_reservation',          'reservation.update'),
            ('mark_no_show',                'reservation.update'),
            ('offer_waitlist',              'reservation.update'),
            ('leave_waitlist',              'reservation.update'),
            ('expire_waitlist',             'reservation.update'),
            ('get_reservation',             'reservation.read'),
            ('list_reservations',           'reservation.read'),
            ('list_customer_reservations',  'reservation.read'),
            -- check-in / check-out (チェックイン/アウト)
            ('check_in',                    'stay.update'),
            ('check_out',                   'stay.update'),
            -- sales and billing (売上・請求)
            ('post_charge',                 'billing.update'),
            ('authorise_payment',           'billing.update'),
            ('capture_payment',             'billing.update'),
            ('void_payment',                'billing.update'),
            ('refund_payment',              'billing.update'),
            ('record_payment_failure',      'billing.update'),
            ('run_night_audit',             'billing.update'),
            -- customer master (顧客基本情報) and preferences (配信設定・嗜好)
            ('create_customer',             'customer.create'),
            ('get_customer',                'customer.read'),
            ('update_customer',             'customer.update_basic'),
            ('update_customer_basic',       'customer.update_basic'),
            ('find_or_create_guest',        'guest.find_or_create'),
            ('merge_customers',             'customer.update'),
            -- conflicts (競合解決): the owner of the entity detects and resolves
            ('detect_conflicts',            'customer.conflicts'),
            ('detect_conflicts',            'reservation.conflicts'),
            ('resolve_conflict',            'customer.conflicts'),
            ('resolve_conflict',            'reservation.conflicts'),
            ('detect_conflicts',            'room.conflicts'),
            ('resolve_conflict',            'room.conflicts'),
            -- ranks and points (会員ランク・ポイント)
            ('earn_stay_points',            'loyalty.update'),
            ('earn_due_stay_points',        'loyalty.update'),
            ('redeem_points',               'loyalty.update'),
            ('adjust_points',               'loyalty.update'),
            ('expire_points',               'loyalty.update'),
            ('set_loyalty_settings',        'loyalty.update'),
            ('set_customer_rank',           'loyalty.update'),
            ('get_points_balance',          'loyalty.read'),
            ('get_points_history',          'loyalty.read'),
            ('get_customer_rank',           'loyalty.read'),
            -- feedback (hotel-saas: 満足度・レビュー)
            ('submit_review',               'feedback.create'),
            -- guest services (hotel-saas: 注文・コンシェルジュ)
            ('create_service_item',         'services.update'),
            ('update_service_item',         'services.update'),
            ('list_service_items',          'services.read'),
            ('create_order',                'services.update'),
            ('set_order_status',            'services.update'),
            ('get_order',                   'services.read'),
            ('list_customer_orders',        'services.read'),
            ('create_concierge_request',    'services.update'),
            ('update_concierge_request',    'services.update'),
            ('create_facility',             'services.update'),
            ('book_facility',               'services.update'),
            ('cancel_facility_booking',     'services.update'),
            ('submit_feedback',             'feedback.create'),
            ('feedback_summary',            'feedback.read'),
            -- the HTTP layer's request context
            ('authenticate',                'request.context'),
            ('assert_in_scope',             'request.context'),
            -- administration and scheduled jobs
            ('issue_api_key',               'api_keys.manage'),
            ('revoke_api_key',              'api_keys.manage'),
            ('purge_idempotency_keys',      'maintenance.run'),
            ('claim_stalled_checkouts',     'checkout.step'),
            ('rotate_api_key',              'api_keys.manage'),
            ('list_api_keys',               'api_keys.manage'),
            -- events between the systems: pull consumers, webhooks, the dispatcher, retention
            ('subscribe_events',            'events.read'),
            ('read_events',                 'events.read'),
            ('ack_events',                  'events.read'),
            ('add_webhook',                 'webhooks.manage'),
            ('list_webhooks',               'webhooks.manage'),
            ('disable_webhook',             'webhooks.manage'),
            ('enable_webhook',              'webhooks.manage'),
            ('rotate_webhook_secret',       'webhooks.manage'),
            ('webhook_sealed_secrets',      'webhooks.manage'),
            ('reseal_webhook_secrets',      'webhooks.manage'),
            ('replay_webhook',              'webhooks.manage'),
            ('fanout_webhook_events',       'maintenance.run'),
            ('claim_webhook_deliveries',    'maintenance.run'),
            ('record_webhook_attempt',      'maintenance.run'),
            ('purge_events',                'maintenance.run')
        ) as m(name, action)
    loop
        if not exists (select 1 from internal.rights() r where r.action = v_entry.action) then
            perform internal.raise_error('INTERNAL_ERROR', format('api.%s: unknown action %L', v_entry.name, v_entry.action), null);
        end if;
        v_found := false;
        for v_function in
            select p.oid::regprocedure from pg_catalog.pg_proc p
            join pg_catalog.pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'api' and p.proname = v_entry.name
        loop
            v_found := true;
            execute format('grant execute on function %s to hotelcore_admin', v_function);
            for v_system in select unnest(r.systems) from internal.rights() r where r.action = v_entry.action loop
                execute format('grant execute on function %s to %I', v_function, 'hotelcore_' || v_system);
            end loop;
        end loop;
        if not v_found then
            perform internal.raise_error('INTERNAL_ERROR', format('no function api.%s to grant', v_entry.name),
                'remove it from db/functions/grants.sql or restore the function');
        end if;
    end loop;
end
$$;

-- the HTTP service (hotelcore_service) runs the checkout saga: its steps (checkout.step, held by no
-- client system), and, acting for the request's system, the idempotency records and the checkout
-- document read in the saga's transactions (each checks the request's system again)
do $$
declare
    v_function regprocedure;
begin
    for v_function in
        select p.oid::regprocedure from pg_catalog.pg_proc p
        join pg_catalog.pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'api'
          and p.proname in ('checkout_begin', 'checkout_hold', 'checkout_authorised', 'checkout_confirm',
                            'checkout_captured', 'checkout_compensate', 'checkout_start',
                            'checkout_confirm_authorised', 'claim_stalled_checkouts',
                            'begin_idempotent', 'complete_idempotent', 'get_checkout', 'assert_in_scope')
    loop
        execute format('grant execute on function %s to hotelcore_service', v_function);
    end loop;
end
$$;

-- USAGE on schema api: db/schema/report.sql (the schemas are versioned); internal and core stay closed
