-- The error registry's rows and the one way functions raise them.
-- Adding a code: one line below, then `make revision m="..."`. Codes are never reused.

delete from core.error_codes;
insert into core.error_codes (sqlstate, name, http_status, meaning) values
    -- input
    ('HC001', 'INVALID_ARGUMENT',          400, 'A required argument is missing, negative, malformed or out of range; DETAIL names the field.'),
    ('HC002', 'INVALID_DATES',             400, 'The stay is empty, reversed, in the past or not a [check_in, check_out) range.'),
    ('HC003', 'STAY_TOO_LONG',             422, 'The stay is longer than the hotel''s maximum stay length.'),
    ('HC004', 'CURRENCY_MISMATCH',         422, 'An amount is in another currency than the hotel''s or the folio''s.'),
    ('HC005', 'INVALID_PHONE',             400, 'A phone number cannot be read as E.164.'),
    -- not found (404)
    ('HC101', 'HOTEL_NOT_FOUND',           404, 'No hotel with that id (in the caller''s scope).'),
    ('HC102', 'ROOM_TYPE_NOT_FOUND',       404, 'No room type with that id in that hotel.'),
    ('HC103', 'RATE_PLAN_NOT_FOUND',       404, 'No active rate plan with that id for that room type.'),
    ('HC104', 'RESERVATION_NOT_FOUND',     404, 'No reservation with that id or confirmation code (in the caller''s scope).'),
    ('HC105', 'HOLD_NOT_FOUND',            404, 'No hold with that id.'),
    ('HC106', 'ROOM_NOT_FOUND',            404, 'No room with that id or number in that hotel.'),
    ('HC107', 'CUSTOMER_NOT_FOUND',        404, 'No customer with that id (seed 000''s code).'),
    ('HC108', 'WAITLIST_ENTRY_NOT_FOUND',  404, 'No waitlist entry with that id.'),
    ('HC109', 'PAYMENT_NOT_FOUND',         404, 'No payment with that id or processor reference.'),
    ('HC110', 'FOLIO_NOT_FOUND',           404, 'No folio for that reservation.'),
    ('HC111', 'EVENT_NOT_FOUND',           404, 'No event with that id (in the caller''s scope), or not yet readable.'),
    ('HC112', 'CONSUMER_NOT_FOUND',        404, 'No event consumer or webhook endpoint with that name or id.'),
    ('HC115', 'SERVICE_ITEM_NOT_FOUND',    404, 'No service catalog item with that id in that hotel.'),
    ('HC116', 'ORDER_NOT_FOUND',           404, 'No service order with that id (in the caller''s scope).'),
    ('HC117', 'FACILITY_NOT_FOUND',        404, 'No facility with that id in that hotel.'),
    ('HC118', 'CONCIERGE_REQUEST_NOT_FOUND', 404, 'No concierge request with that id (in the caller''s scope).'),
    ('HC119', 'FACILITY_BOOKING_NOT_FOUND', 404, 'No facility booking with that id (in the caller''s scope).'),
    ('HC120', 'CONFLICT_NOT_FOUND',        404, 'No recorded conflict with that id (in the caller''s scope).'),
    -- booking ledger (seed 001 / 003)
    ('HC201', 'INVENTORY_UNAVAILABLE',     409, 'A night of the stay has no room left to sell (or is stop-sold); DETAIL names the night.'),
    ('HC202', 'OCCUPANCY_EXCEEDED',        422, 'More guests than the room type''s maximum occupancy.'),
    ('HC203', 'RESTRICTION_VIOLATED',      422, 'Min/max stay, closed to arrival or closed to departure forbids this stay; DETAIL names the night and rule.'),
    ('HC204', 'HOLD_EXPIRED',              410, 'The hold''s 180 seconds (or its own TTL) have passed; its rooms are free again.'),
    ('HC205', 'HOLD_FAILED',               409, 'The hold could not be placed (seed 001).'),
    ('HC206', 'VERSION_CONFLICT',          409, 'The reservation changed since the caller read it (optimistic lock, seed 000).'),
    ('HC207', 'INVALID_STATE_TRANSITION',  409, 'The reservation''s status does not allow this action; DETAIL names from and to.'),
    ('HC208', 'IDEMPOTENCY_MISMATCH',      422, 'The idempotency key was used before with a different request.'),
    ('HC209', 'CONCURRENCY_CONFLICT',      409, 'A concurrent transaction won the same rows after bounded retries; retry the request.'),
    ('HC210', 'NOT_CANCELLABLE',           409, 'The reservation can no longer be cancelled (arrived, departed, or already cancelled).'),
    ('HC211', 'HOLD_NOT_ACTIVE',           409, 'The hold was already confirmed or released.'),
    -- front desk: rooms and stays
    ('HC301', 'ROOM_NOT_READY',            409, 'The room is not clean or inspected.'),
    ('HC302', 'ROOM_UNAVAILABLE',          409, 'The room is assigned, blocked or out of order for a night of the stay.'),
    ('HC303', 'NOT_ARRIVAL_DAY',           409, 'Check-in before the arrival date in the hotel''s time zone.'),
    ('HC304', 'FOLIO_UNBALANCED',          409, 'The folio has an open balance; settle it before check-out.'),
    ('HC305', 'AMOUNT_EXCEEDS_AUTHORISED', 422, 'A capture would exceed the authorised amount.'),
    ('HC306', 'REFUND_EXCEEDS_CAPTURED',   422, 'A refund would exceed the captured amount.'),
    ('HC307', 'INVALID_PAYMENT_STATE',     409, 'The payment''s state does not allow this action.'),
    ('HC308', 'ROOM_TYPE_MISMATCH',        422, 'The room is not of the booked room type.'),
    ('HC309', 'BUSINESS_DATE_MISMATCH',    409, 'The night audit was asked for another date than the hotel''s business date.'),
    ('HC310', 'ROOM_BLOCK_NOT_FOUND',      404, 'No room block with that id in that hotel.'),
    -- loyalty: guests and loyalty
    ('HC401', 'INSUFFICIENT_POINTS',       409, 'Redeeming more points than the balance.'),
    ('HC402', 'DUPLICATE_EMAIL',           409, 'Another customer already has this e-mail (case-insensitive).'),
    ('HC403', 'REVIEW_NOT_ALLOWED',        409, 'Only a checked-out reservation can be reviewed, once.'),
    ('HC404', 'RANK_NOT_FOUND',            404, 'No membership rank with that code.'),
    ('HC405', 'MERGE_NOT_ALLOWED',         409, 'A customer cannot be merged into itself or into a merged customer.'),
    -- guest services (hotel-saas)
    ('HC801', 'STAY_NOT_IN_HOUSE',         409, 'Guest services need an in-house stay: checked in and not checked out; DETAIL names the stay''s status.'),
    ('HC802', 'OUT_OF_STOCK',              409, 'A catalog item has fewer units left than ordered; DETAIL names the item and what is left.'),
    ('HC803', 'SERVICE_UNAVAILABLE',       409, 'The item is inactive or outside its availability hours in the hotel''s time zone.'),
    ('HC804', 'FACILITY_UNAVAILABLE',      409, 'The facility is inactive, closed at that time, or already booked for an overlapping period.'),
    ('HC805', 'CAPACITY_EXCEEDED',         422, 'More guests than the facility takes in one booking.'),
    ('HC806', 'INVALID_ORDER_TRANSITION',  409, 'The order''s or request''s status does not allow this change; DETAIL names from and to.'),
    ('HC807', 'FEEDBACK_NOT_ALLOWED',      409, 'Feedback is taken on a delivered order or on a stay that has checked in.'),
    -- data rights: roles and hotel scope
    ('HC501', 'PERMISSION_DENIED',         403, 'The calling system or hotel scope may not do this; DETAIL names the field or action.'),
    ('HC502', 'AUTHENTICATION_FAILED',     401, 'Unknown, revoked or expired API key, or a request identity not recorded by api.authenticate in this transaction.'),
    ('HC503', 'SYSTEM_ROLE_NOT_GRANTED',   500, 'The database login serving the request is not a member of the API key''s system role (hotelcore_<system>); an operator must grant it.'),
    ('HC504', 'IDEMPOTENCY_RECORD_NOT_FOUND', 404, 'No idempotency record with that id for the calling API key.'),
    ('HC505', 'API_KEY_NOT_FOUND',         404, 'No active API key with that id.'),
    ('HC510', 'GUEST_NAME_MISMATCH',       409, 'A hotel-scoped login named a guest by an e-mail that belongs to a customer with other names; no id is given out.'),
    ('HC511', 'CARD_NUMBER_REFUSED',       422, 'Free text holds a card number (13-19 digits passing the Luhn check); hotelcore never stores card data. DETAIL names the field.'),
    -- HTTP / saga (seed 001); raised by the checkout saga, mapped here for one table of codes
    ('HC601', 'PAYMENT_PREAUTH_FAILED',    402, 'The payment gateway declined or did not answer the pre-authorisation.'),
    ('HC602', 'BOOKING_CONFIRM_FAILED',    409, 'The hold could not be turned into a booking; the pre-authorisation was voided.'),
    ('HC603', 'PAYMENT_CAPTURE_FAILED',    502, 'The capture failed; the booking was cancelled and the authorisation voided.'),
    ('HC604', 'IDEMPOTENCY_IN_PROGRESS',   409, 'A request with this idempotency key is still running.'),
    ('HC605', 'SERVICE_DEGRADED',          503, 'Writes are paused (gateway circuit open or database read-only); reads go on.'),
    ('HC606', 'NOT_IMPLEMENTED',           501, 'This endpoint is reserved for a later release.'),
    ('HC607', 'CHECKOUT_TAKEN_OVER',       409, 'Recovery took this checkout over; retry with the same Idempotency-Key to read its answer.'),
    -- events between the systems
    ('HC701', 'EVENT_TYPE_UNKNOWN',        400, 'An event type or pattern matches no registered event type (api.read_events lists them).'),
    ('HC702', 'CONSUMER_DISABLED',         409, 'The consumer or webhook endpoint is disabled; DETAIL says why.'),
    ('HC703', 'CONSUMER_KIND_MISMATCH',    409, 'A pull operation on a webhook endpoint, or the other way round.'),
    -- external PMS hotels (seed 001: reads from the mirror, writes to the vendor's ledger)
    ('HC610', 'EXTERNAL_PMS_HOTEL',        409, 'The hotel''s ledger is kept by an external PMS: book it through POST /api/booking/checkout (the connector), never by a ledger function.'),
    ('HC611', 'PMS_PROPERTY_ALREADY_IMPORTED', 409, 'That vendor''s property is already an external hotel here.'),
    ('HC612', 'PMS_VENDOR_UNKNOWN',        404, 'No connector for that PMS vendor.'),
    ('HC613', 'PMS_DEGRADED',              503, 'The PMS of this hotel is unavailable (circuit open): searches answer from the mirror with its age, bookings wait; retry after retry_after.'),
    ('HC614', 'PMS_ERROR',                 502, 'The PMS refused or failed a call; DETAIL names the call.'),
    ('HC615', 'WEBHOOK_SIGNATURE_INVALID', 401, 'A PMS webhook''s signature, token or timestamp does not check out; nothing was written.'),
    ('HC616', 'WEBHOOK_MALFORMED',         400, 'A PMS webhook''s body is not an event this receiver knows; nothing was written.'),
    ('HC617', 'PMS_HOTEL_NOT_FOUND',       404, 'No external-PMS hotel with that id (in the caller''s scope).'),
    ('HC699', 'INTERNAL_ERROR',            500, 'An unexpected error; nothing was written.'),
    -- conflicts between the systems' writes (seed 000: 競合解決システム)
    ('HC720', 'CONFLICT_ALREADY_RESOLVED', 409, 'The conflict was already resolved or dismissed; DETAIL says by whom and when.'),
    ('HC721', 'INVALID_RESOLUTION',        422, 'The resolution method does not fit this conflict, or resolved_data names a field outside it; DETAIL names it.'),
    ('HC722', 'CONFLICT_NEEDS_REVIEW',     409, 'A write based on a stale version clashed with a newer one and was recorded for manual review, not applied; details give the conflict id.');

create function internal.raise_error(
    p_name   text,
    p_detail text default null,
    p_hint   text default null
) returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    v_sqlstate text;
begin
    select e.sqlstate into v_sqlstate from core.error_codes e where e.name = p_name;
    if v_sqlstate is null then
        raise exception using errcode = 'XX000', message = format('unknown hotelcore error name %L', p_name);
    end if;
    raise exception using errcode = v_sqlstate, message = p_name,
        detail = coalesce(p_detail, ''), hint = coalesce(p_hint, '');
end
$$;
comment on function internal.raise_error(text, text, text) is
    'Raises the registered SQLSTATE for p_name with the name as message, p_detail as DETAIL and p_hint as HINT.';
