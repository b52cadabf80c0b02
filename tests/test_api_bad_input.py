"""Every api function refuses a caller's bad input with a registered SQLSTATE (STYLE.md, "One
registry of errors"): never an internal error, a constraint violation or a data exception.

The test reads every function of schema api and its arguments from pg_proc, builds one small
hotel (room types, rooms, rate plans, an open calendar, customers, a reservation, a hold, a
payment, a room block, a waitlist entry, an API key, a checkout saga), and calls each function
with one bad argument at a time while the others stay valid:

- a required argument (or one whose default is not null) passed as NULL;
- ids that do not exist, zero and negative ids;
- negative, zero and huge counts and amounts, NaN and infinite amounts;
- empty and 10,000-character texts;
- dates far in the past and future, reversed and empty date ranges;
- empty arrays and arrays holding a null, JSON that is not an object, a negative interval.

Each call runs in a transaction that is rolled back. A call may succeed, or fail with a SQLSTATE
of the registry (api.error_codes) whose message is the code's name and whose DETAIL and HINT are
not empty; anything else is a finding. All findings are collected and reported as one table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field

import psycopg
import psycopg.rows
from psycopg import sql

# An id no fixture row has.
UNKNOWN_ID = "987654321"
LONG_TEXT = "x" * 10_000
# One call must not run away (e.g. a calendar opened until 9999): it would be a finding too.
STATEMENT_TIMEOUT = "5s"

# Every test starts at 03:00 UTC today (noon in Seoul), so the fixture's "today" is stable.
_PIN = dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time(3, 0), tzinfo=dt.UTC)


@dataclass
class Argument:
    name: str
    type: str  # format_type(oid, null): a type name the value is cast to
    has_default: bool
    default_is_null: bool


@dataclass
class Function:
    name: str
    signature: str
    arguments: list[Argument] = field(default_factory=list)


@dataclass
class Finding:
    function: str
    argument: str
    value: str
    sqlstate: str
    message: str

    def row(self) -> str:
        message = self.message if len(self.message) <= 160 else self.message[:157] + "..."
        return f"| {self.function} | {self.argument} | {self.value} | {self.sqlstate} | {message} |"


def api_functions(db: psycopg.Connection) -> list[Function]:
    """Schema api's functions with their input arguments, from pg_proc."""
    rows = db.execute(
        """
        select p.proname, p.oid::regprocedure::text, p.pronargdefaults,
               pg_get_function_arguments(p.oid),
               -- the type to cast a value to; bpchar, not "character", which means char(1)
               array(select case when a.oid = 'bpchar'::regtype then 'bpchar' else format_type(a.oid, null) end
                     from unnest(p.proargtypes::oid[]) with ordinality as a(oid, i) order by a.i),
               p.proargnames[1:p.pronargs]
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'api' and p.prokind = 'f'
        order by p.proname, p.oid
        """
    ).fetchall()
    functions = []
    for name, signature, ndefaults, arguments, types, names in rows:
        # "p_a bigint, p_b text DEFAULT NULL::text, ...": every argument is named p_* (house style)
        declared = re.split(r", (?=p_[a-z0-9_]+ )", arguments) if arguments else []
        assert len(declared) == len(types) == len(names or []), signature
        function = Function(name, signature)
        for i, (arg, typ, text) in enumerate(zip(names or [], types, declared, strict=True)):
            has_default = i >= len(types) - ndefaults
            function.arguments.append(
                Argument(arg, typ, has_default, has_default and " DEFAULT NULL" in text.upper())
            )
        functions.append(function)
    return functions


def registry(db: psycopg.Connection) -> dict[str, str]:
    return dict(db.execute("select sqlstate, name from api.error_codes").fetchall())


# ---------------------------------------------------------------------------------------- fixture


def one(db: psycopg.Connection, query: str, *args):
    return db.execute(query, args).fetchone()[0]


def build_fixture(db: psycopg.Connection) -> dict[str, object]:
    """One hotel with everything an api function may be pointed at; the ids and values as SQL
    literals (text) by argument name."""
    db.execute("select internal.shift_clock(%s::timestamptz - now())", (_PIN,))
    hotel = one(
        db,
        "select api.create_hotel(p_code => 'FZ', p_name => 'Fuzz hotel', p_time_zone => 'Asia/Seoul',"
        " p_currency => 'KRW', p_city => 'Seoul', p_tax_rate => 0.10, p_prices_include_tax => true)",
    )
    today = one(db, "select internal.hotel_today(%s)", hotel)

    def day(n: int) -> dt.date:
        return today + dt.timedelta(days=n)

    types, rooms, plans = {}, {}, {}
    for code, price in (("STD", 100000), ("DLX", 180000)):
        types[code] = one(
            db,
            "select api.create_room_type(p_hotel_id => %s, p_code => %s, p_name => %s,"
            " p_max_occupancy => 3, p_base_price => %s)",
            hotel,
            code,
            code.title(),
            price,
        )
        for i in (1, 2, 3):
            rooms[f"{code}0{i}"] = one(
                db,
                "select api.create_room(p_hotel_id => %s, p_room_type_id => %s, p_number => %s)",
                hotel,
                types[code],
                f"{code}0{i}",
            )
        plans[code] = one(
            db,
            "select api.create_rate_plan(p_hotel_id => %s, p_room_type_id => %s, p_code => 'flex',"
            " p_name => 'Flexible')",
            hotel,
            types[code],
        )
    one(db, "select api.open_inventory(%s, %s, %s)", hotel, day(-2), day(60))
    season = one(db, "select api.create_season(%s, 'high', 'High season', %s, %s)", hotel, day(40), day(50))
    policy = one(
        db, "select id from core.cancellation_policies where hotel_id = %s order by id limit 1", hotel
    )
    customers = [
        one(
            db,
            "insert into core.customers (given_name, family_name, email, rank_code)"
            " values ('Guest', %s, %s, 'bronze') returning id",
            f"No{i}",
            f"fuzz{i}@example.com",
        )
        for i in (1, 2)
    ]

    def hold(start: int, nights: int) -> int:
        return one(
            db,
            "select hold_id from api.create_hold(p_hotel_id => %s, p_room_type_id => %s, p_rate_plan_id => %s,"
            " p_check_in => %s, p_check_out => %s)",
            hotel,
            types["STD"],
            plans["STD"],
            day(start),
            day(start + nights),
        )

    # a confirmed reservation arriving today (check-in possible), and a live hold
    reservation = one(
        db,
        "select reservation_id from api.confirm_booking(p_hold_id => %s, p_customer_id => %s,"
        " p_payment_authorisation => 'auth-fuzz')",
        hold(0, 2),
        customers[0],
    )
    live_hold = hold(5, 2)
    # a stay in house, with a captured payment on its folio
    in_house = one(
        db,
        "select reservation_id from api.confirm_booking(p_hold_id => %s, p_customer_id => %s)",
        hold(0, 2),
        customers[0],
    )
    one(db, "select count(*) from api.check_in(p_reservation_id => %s)", in_house)
    captured = one(
        db,
        "select api.authorise_payment(p_reservation_id => %s, p_method => 'cash', p_amount => 1000,"
        " p_capture => true)",
        in_house,
    )
    # a departed stay, written as rows the way the loyalty tests do (check-out itself is not tested here)
    departed = one(
        db,
        "insert into core.reservations (hotel_id, customer_id, status, stay, currency, total_amount)"
        " values (%s, %s, 'checked_in', daterange(%s, %s), 'KRW', 200000) returning id",
        hotel,
        customers[0],
        day(-2),
        day(0),
    )
    db.execute(
        "insert into core.reservation_rooms (reservation_id, hotel_id, room_type_id, rate_plan_id, stay, adults,"
        " status, amount, nightly) select id, hotel_id, %s, %s, stay, 2, 'checked_in', 200000,"
        " '{100000, 100000}'::numeric[]"
        " from core.reservations where id = %s",
        (types["STD"], plans["STD"], departed),
    )
    db.execute("update core.reservations set status = 'checked_out' where id = %s", (departed,))
    reservation_room = one(
        db, "select id from core.reservation_rooms where reservation_id = %s order by id limit 1", reservation
    )
    payment = one(
        db,
        "select api.authorise_payment(p_reservation_id => %s, p_method => 'card', p_amount => 1000,"
        " p_processor_reference => 'pre-fuzz')",
        reservation,
    )
    block = one(
        db,
        "select api.block_room(p_hotel_id => %s, p_room_id => %s, p_from => %s, p_until => %s)",
        hotel,
        rooms["DLX03"],
        day(10),
        day(12),
    )
    entry = one(
        db,
        "select api.join_waitlist(p_hotel_id => %s, p_room_type_id => %s, p_rate_plan_id => %s,"
        " p_customer_id => %s, p_check_in => %s, p_check_out => %s)",
        hotel,
        types["DLX"],
        plans["DLX"],
        customers[1],
        day(20),
        day(22),
    )
    api_key, token = db.execute(
        "select * from api.issue_api_key('pms', array[%s]::bigint[], 'fuzz')", (hotel,)
    ).fetchone()
    # a checkout saga at its first step, and an idempotency record no saga carries
    fingerprint = hashlib.sha256(b"fuzz").hexdigest()
    with db.transaction():
        db.execute("select api.authenticate(%s)", (token,))
        saga_key = one(
            db, "select idempotency_key_id from api.begin_idempotent('saga', %s::bytea)", "\\x" + fingerprint
        )
        idempotency_key = one(
            db, "select idempotency_key_id from api.begin_idempotent('free', %s::bytea)", "\\x" + fingerprint
        )
        total = one(
            db,
            "select (api.quote(%s, %s, %s, %s, %s) ->> 'total')::numeric",
            hotel,
            types["STD"],
            plans["STD"],
            day(1),
            day(3),
        )
        request = '{"guest": {"given_name": "Saga", "family_name": "Guest", "email": "saga@example.com"}}'
        saga = one(
            db,
            "select saga_id from api.checkout_begin(%s, %s, %s, %s, %s, %s, 1, 2, 0, %s, 'KRW', %s::jsonb)",
            saga_key,
            hotel,
            types["STD"],
            plans["STD"],
            day(1),
            day(3),
            total,
            request,
        )
    # guest services of the stay in house: a catalog item, an order, a facility and its booking, a request
    item = one(
        db, "select api.create_service_item(%s, 'room_service', 'tea', 'Tea', 5000, p_stock => 100)", hotel
    )
    order = one(
        db,
        "select (api.create_order(%s, 'fuzz-order', jsonb_build_array(jsonb_build_object('service_item_id', %s::bigint))))"
        " ->> 'id'",
        in_house,
        item,
    )
    facility = one(db, "select api.create_facility(%s, 'spa', 'Spa room', 'spa_room', 2)", hotel)
    seoul = dt.timezone(dt.timedelta(hours=9))
    slot = dt.datetime.combine(day(1), dt.time(10, 0), tzinfo=seoul)
    booking = one(
        db, "select api.book_facility(%s, %s, %s, %s)", facility, in_house, slot, slot + dt.timedelta(hours=1)
    )
    request = one(db, "select (api.create_concierge_request(%s, 'taxi')) ->> 'id'", in_house)
    # points to redeem
    db.execute("select api.adjust_points(%s, 100, 'fuzz')", (customers[0],))
    version = one(db, "select version from core.reservations where id = %s", reservation)
    customer_version = one(db, "select version from core.customers where id = %s", customers[0])
    # an open conflict: hotel-member and hotel-pms changed the second customer's phone 2 minutes apart
    stamp = (_PIN - dt.timedelta(minutes=10)).isoformat()
    conflict = one(
        db,
        "select (api.detect_conflicts('customer', %s, %s::jsonb) #>> '{results,1,conflict_id}')::bigint",
        customers[1],
        json.dumps(
            [
                {"system": "hotel-member", "timestamp": stamp, "fields": {"phone": "+82 10 1111 2222"}},
                {"system": "hotel-pms", "timestamp": stamp, "fields": {"phone": "+82 10 3333 4444"}},
            ]
        ),
    )
    return {
        "today": today,
        "day": day,
        "checkout_total": total,
        "p_hotel_id": str(hotel),
        "p_hotel_ids": f"{{{hotel}}}",
        "p_room_type_id": str(types["STD"]),
        "p_rate_plan_id": str(plans["STD"]),
        "p_room_id": str(rooms["STD02"]),
        "p_reservation_id": str(reservation),
        "in_house": str(in_house),
        "departed": str(departed),
        "captured": str(captured),
        "p_reservation_room_id": str(reservation_room),
        "p_hold_id": str(live_hold),
        "p_customer_id": str(customers[0]),
        "p_keep_id": str(customers[0]),
        "p_duplicate_id": str(customers[1]),
        "p_payment_id": str(payment),
        "p_block_id": str(block),
        "p_entry_id": str(entry),
        "p_season_id": str(season),
        "p_cancellation_policy_id": str(policy),
        "p_api_key_id": str(api_key),
        "p_saga_id": str(saga),
        "p_idempotency_key_id": str(idempotency_key),
        "p_id": str(hotel),
        "p_token": token,
        "p_version": str(version),
        "p_expected_version": str(customer_version),
        "p_conflict_id": str(conflict),
        "p_entity_id": str(customers[0]),
        "p_fingerprint": "\\x" + fingerprint,
        "p_service_item_id": str(item),
        "p_order_id": str(order),
        "p_facility_id": str(facility),
        "p_booking_id": str(booking),
        "p_request_id": str(request),
        "p_items": f'[{{"service_item_id": {item}, "quantity": 1}}]',
        "p_starts_at": (slot + dt.timedelta(hours=2)).isoformat(),
        "p_ends_at": (slot + dt.timedelta(hours=3)).isoformat(),
    }


# ------------------------------------------------------------------------------------ valid values

# By argument name: a value the function accepts (SQL literal text, cast to the argument's type).
VALID_BY_NAME = {
    "p_attempt": "1",
    "p_code": "FZ2",
    "p_name": "Fuzz",
    "p_time_zone": "Asia/Seoul",
    "p_currency": "KRW",
    "p_method": "card",
    "p_system": "pms",
    "p_entity": "hotel",
    "p_city": "Seoul",
    "p_email": "fuzz.new@example.com",
    "p_phone": "+82 10-1234-5678",
    "p_given_name": "Fuzz",
    "p_family_name": "Tester",
    "p_reason": "fuzz",
    "p_description": "fuzz",
    "p_processor_reference": "ref-fuzz",
    "p_rank_code": "silver",
    "p_error_code": "HOLD_FAILED",
    "p_error_detail": "declined",
    "p_authorisation_ref": "auth-fuzz",
    "p_capture_ref": "cap-fuzz",
    "p_key": "fuzz-key",
    "p_number": "FZ01",
    "p_amount": "1000",
    "p_base_price": "50000",
    "p_discount_rate": "0.1",
    "p_max_occupancy": "2",
    "p_points": "10",
    "p_min_nights": "3",
    "p_response_status": "200",
    "p_response_body": "\\x7b7d",
    "p_overall_rating": "4",
    "p_active": "true",
    "p_authorisation_voided": "false",
    "p_changes": '{"given_name": "Fuzz"}',
    "p_updates": '[{"system": "hotel-member", "timestamp": "2024-12-01T10:00:00Z", "fields": {"city": "Busan"}}]',
    "p_resolver_user_id": "fuzz-admin",
    "p_names": "{Fuzz day}",
    "p_rooms": "1",
    "p_adults": "2",
    "p_children": "0",
    "p_client_key": "fuzz-order-2",
    "p_scores": '{"overall": 4}',
    "p_category": "room_service",
    "p_request_type": "taxi",
    "p_price": "5000",
    "p_capacity": "2",
    # a sealed secret's shape (what the functions check; only the key outside the database opens it)
    "p_secret_sealed": "fernet:gAAAAAfuzz",
    "p_previous_secret_sealed": "fernet:gAAAAAfuzz",
}

# Where one name means different things in different functions.
VALID_BY_FUNCTION = {
    ("post_charge", "p_kind"): "service",
    ("set_pricing_rule", "p_kind"): "weekend",
    ("authorise_payment", "p_processor_reference"): "pre-fuzz-2",
    ("set_pricing_rule", "p_multiplier"): "1.1",
    ("block_room", "p_kind"): "maintenance",
    ("set_room_status", "p_status"): "dirty",
    ("list_reservations", "p_status"): "confirmed",
    ("create_rate_plan", "p_code"): "promo",
    ("create_room_type", "p_code"): "SUI",
    ("create_cancellation_policy", "p_late_fee_kind"): "percent",
    ("create_cancellation_policy", "p_late_fee_percent"): "50",
    ("set_order_status", "p_status"): "accepted",
    ("update_concierge_request", "p_status"): "in_progress",
    ("create_facility", "p_kind"): "spa_room",
    ("detect_conflicts", "p_entity_type"): "customer",
    ("resolve_conflict", "p_resolution_method"): "auto_merge",
    ("add_webhook", "p_url"): "http://127.0.0.1:9/fuzz",
    ("add_webhook", "p_event_types"): "{customer.*}",
}

# Date arguments as offsets from the hotel's today, per function (default: the stay below).
DATE_OFFSETS = {
    "p_check_in": 1,
    "p_check_out": 3,
    "p_from": 5,
    "p_until": 7,
    "p_arrival_from": 0,
    "p_arrival_to": 30,
}
DATE_OFFSETS_BY_FUNCTION = {
    ("create_season", "p_from"): 100,
    ("create_season", "p_until"): 110,
    ("open_inventory", "p_from"): 60,
    ("open_inventory", "p_until"): 62,
}
# [from, until) pairs: reversed and empty ranges are tried on them.
DATE_PAIRS = [("p_check_in", "p_check_out"), ("p_from", "p_until"), ("p_arrival_from", "p_arrival_to")]

GENERIC_BY_TYPE = {
    "bigint": UNKNOWN_ID,
    "integer": "1",
    "numeric": "1",
    "text": "x",
    "bpchar": "KRW",
    "boolean": "true",
    "jsonb": "{}",
    "bytea": "\\x" + hashlib.sha256(b"generic").hexdigest(),
    "interval": "1 minute",
    "time without time zone": "12:00",
    "timestamp with time zone": "infinity",
    "bigint[]": "{}",
    "text[]": "{}",
    "date[]": "{}",
}


# Functions that need another object of the fixture than the default one of its kind.
FIXTURE_BY_FUNCTION = {
    ("check_out", "p_reservation_id"): "in_house",
    ("move_room", "p_reservation_id"): "in_house",
    ("submit_review", "p_reservation_id"): "departed",
    ("earn_stay_points", "p_reservation_id"): "departed",
    ("refund_payment", "p_payment_id"): "captured",
    ("create_order", "p_reservation_id"): "in_house",
    ("book_facility", "p_reservation_id"): "in_house",
    ("create_concierge_request", "p_reservation_id"): "in_house",
    ("submit_feedback", "p_reservation_id"): "in_house",
}


def valid_value(fixture: dict, function: Function, arg: Argument) -> str:
    key = (function.name, arg.name)
    if key in VALID_BY_FUNCTION:
        return VALID_BY_FUNCTION[key]
    if key in FIXTURE_BY_FUNCTION:
        return str(fixture[FIXTURE_BY_FUNCTION[key]])
    if arg.type == "date":
        offset = DATE_OFFSETS_BY_FUNCTION.get(key, DATE_OFFSETS.get(arg.name, 1))
        if arg.name == "p_business_date":
            return fixture["today"].isoformat()
        return fixture["day"](offset).isoformat()
    if arg.name == "p_amount" and function.name == "checkout_begin":
        return str(fixture["checkout_total"])
    if arg.name == "p_days":
        return "{" + fixture["day"](25).isoformat() + "}"
    if arg.name == "p_expires_at":
        return (_PIN + dt.timedelta(hours=1)).isoformat()
    if arg.name == "p_request":
        return '{"guest": {"given_name": "Saga", "family_name": "Guest", "email": "saga2@example.com"}}'
    for source in (fixture, VALID_BY_NAME):
        if arg.name in source:
            return str(source[arg.name])
    return GENERIC_BY_TYPE[arg.type]


def baseline(fixture: dict, function: Function) -> dict[str, str | None]:
    """The valid call: every argument without a default (and those VALID_BY_FUNCTION names), with a
    valid value."""
    return {
        a.name: valid_value(fixture, function, a)
        for a in function.arguments
        if not a.has_default or (function.name, a.name) in VALID_BY_FUNCTION
    }


# -------------------------------------------------------------------------------------- bad values

BAD_BY_TYPE = {
    "bigint": [UNKNOWN_ID, "-1", "0"],
    "integer": ["-1", "0", "2147483647"],
    "numeric": ["-1", "0", "1e15", "NaN", "Infinity"],
    "text": ["", LONG_TEXT],
    "bpchar": ["", LONG_TEXT],
    "date": ["1900-01-01", "9999-12-31"],
    "timestamp with time zone": ["1900-01-01 00:00Z", "9999-12-31 00:00Z"],
    "interval": ["-1 day"],
    "jsonb": ["[]", '"x"', "null"],
    "bigint[]": ["{}", "{NULL}", "{" + UNKNOWN_ID + "}"],
    "text[]": ["{}", "{NULL}"],
    "date[]": ["{}", "{NULL}", "{9999-12-31}"],
    "bytea": ["\\x"],
}


def shown(value: str | None) -> str:
    if value is None:
        return "NULL"
    if len(value) > 40:
        return f"'{value[0]}' x {len(value)}"
    return repr(value)


# Arguments that exclude another one of the valid call: it is left out when they are varied.
EXCLUDES = {("set_pricing_rule", "p_fixed_price"): "p_multiplier"}


def bad_calls(fixture: dict, function: Function):
    """(argument label, shown value, arguments) for every bad call of a function."""
    base = baseline(fixture, function)
    types = {a.name: a.type for a in function.arguments}
    for arg in function.arguments:
        values: list[str | None] = []
        if not arg.default_is_null:
            values.append(None)
        values += BAD_BY_TYPE.get(arg.type, [])
        others = {k: v for k, v in base.items() if k != EXCLUDES.get((function.name, arg.name))}
        for value in values:
            yield arg.name, shown(value), others | {arg.name: value}
    for low, high in DATE_PAIRS:
        if types.get(low) == "date" and types.get(high) == "date":
            start = valid_value(fixture, function, Argument(low, "date", False, False))
            end = valid_value(fixture, function, Argument(high, "date", False, False))
            yield f"{low}, {high}", f"reversed ({end}, {start})", base | {low: end, high: start}
            yield f"{low}, {high}", f"empty ({start}, {start})", base | {low: start, high: start}


def call_sql(function: Function, args: dict[str, str | None]) -> sql.Composed:
    types = {a.name: a.type for a in function.arguments}
    params = sql.SQL(", ").join(
        sql.SQL("{} => {}::{}").format(sql.Identifier(name), sql.Placeholder(name), sql.SQL(types[name]))
        for name in args
    )
    return sql.SQL("select * from api.{}({})").format(sql.Identifier(function.name), params)


def nan_probe(db: psycopg.Connection) -> sql.Composed:
    """A query naming every numeric column of schema core that holds NaN: a call given NaN that
    succeeds must not have stored it."""
    columns = db.execute(
        """select c.table_name, c.column_name from information_schema.columns c
           join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
           where c.table_schema = 'core' and c.data_type = 'numeric' and t.table_type = 'BASE TABLE'
           order by 1, 2"""
    ).fetchall()
    return sql.SQL(" union all ").join(
        sql.SQL("(select {} from core.{} where {} = 'NaN' limit 1)").format(
            sql.Literal(f"core.{table}.{column}"), sql.Identifier(table), sql.Identifier(column)
        )
        for table, column in columns
    )


def outcome(
    db: psycopg.Connection, function: Function, args: dict, codes: dict[str, str], probe: sql.Composed
) -> tuple[str, str] | None:
    """None when the call succeeded or was refused the documented way; else (sqlstate, message)."""
    try:
        with db.transaction(force_rollback=True):
            db.execute(call_sql(function, args), args)
            stored = [r[0] for r in db.execute(probe)] if "NaN" in args.values() else []
    except psycopg.Error as e:
        diag = e.diag
        state, message = e.sqlstate or "?", diag.message_primary or ""
        if state in codes:
            if message != codes[state]:
                return state, f"message {message!r} is not the code's name {codes[state]}"
            if not diag.message_detail:
                return state, f"{message} without DETAIL"
            if not diag.message_hint:
                return state, f"{message} without HINT (DETAIL: {diag.message_detail})"
            return None
        return state, message
    if stored:
        return "success", f"NaN accepted and stored in {', '.join(stored)}"
    return None


def sweep(db: psycopg.Connection) -> tuple[list[Finding], list[Function], int]:
    fixture = build_fixture(db)
    codes = registry(db)
    functions = api_functions(db)
    probe = nan_probe(db)
    db.execute("select set_config('statement_timeout', %s, false)", (STATEMENT_TIMEOUT,))
    findings, calls = [], 0
    for function in functions:
        for label, value, args in bad_calls(fixture, function):
            calls += 1
            bad = outcome(db, function, args, codes, probe)
            if bad:
                findings.append(Finding(function.name, label, value, *bad))
    return findings, functions, calls


def test_every_api_function_refuses_bad_input_with_a_registered_error(db):
    findings, functions, calls = sweep(db)
    assert len(functions) >= 70, "the catalog lists fewer api functions than expected"
    assert calls > 10 * len(functions)
    table = "\n".join(f.row() for f in findings)
    assert not findings, (
        f"{len(findings)} of {calls} bad calls to {len(functions)} api functions were not refused with a "
        f"registered SQLSTATE, message, DETAIL and HINT:\n"
        f"| function | argument | value | SQLSTATE | message |\n{table}"
    )


def test_the_valid_calls_reach_the_functions(db):
    """The harness is not vacuous: most functions accept the valid call the bad ones vary, so a
    bad argument is checked past the first validation, not only refused for an unrelated one."""
    fixture = build_fixture(db)
    codes = registry(db)
    refused = []
    functions = api_functions(db)
    db.execute("select set_config('statement_timeout', %s, false)", (STATEMENT_TIMEOUT,))
    for function in functions:
        args = baseline(fixture, function)
        try:
            with db.transaction(force_rollback=True):
                db.execute(call_sql(function, args), args)
        except psycopg.Error as e:
            refused.append((function.name, e.sqlstate, codes.get(e.sqlstate or "", e.diag.message_primary)))
    assert len(refused) <= len(functions) // 4, refused
