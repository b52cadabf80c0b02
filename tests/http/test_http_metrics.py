"""/metrics: a Prometheus scrape after real requests counts them per route template, times them,
counts errors and checkout outcomes, shows the pool; every request writes one JSON log line
carrying its request id."""

from __future__ import annotations

import json
import logging

from prometheus_client.parser import text_string_to_metric_families

from pyapi.http.observe import JsonFormatter, logging_config
from tests.support.factories import create_customer
from tests.support.http import checkout_body


def scrape(client) -> dict[tuple[str, tuple], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_scrape_counts_requests_errors_latency_pool_and_checkouts(client, world, gateway):
    a = world.a
    h = world.headers("pms_a")
    before = scrape(client)
    for _ in range(3):
        check_in, check_out = a.stay()
        got = client.get(
            "/api/v2/pms/rooms/availability",
            params={"hotel_id": a.id, "check_in": check_in.isoformat(), "check_out": check_out.isoformat()},
            headers=h,
        )
        assert got.status_code == 200
    assert client.get("/api/v2/pms/reservations/987654", headers=h).status_code == 404
    assert client.get("/no/such/path", headers=h).status_code == 404
    ok = client.post("/api/booking/checkout", json=checkout_body(a), headers=world.headers("member_a"))
    assert ok.status_code == 201, ok.text
    declined = client.post(
        "/api/booking/checkout",
        json=checkout_body(a, token="tok_decline", email="kim@example.com"),
        headers=world.headers("member_a"),
    )
    assert declined.status_code == 402, declined.text

    after = scrape(client)
    avail = "/api/v2/pms/rooms/availability"
    one = "/api/v2/pms/reservations/{reservation_id}"
    req = "hotelcore_http_requests_total"
    assert (
        value(after, req, method="GET", route=avail, status="200")
        - value(before, req, method="GET", route=avail, status="200")
        == 3
    )
    # per route template, never per raw path (bounded label values)
    assert value(after, req, method="GET", route=one, status="404") == 1
    assert not any("987654" in str(labels) for (_, labels) in after)
    assert value(after, req, method="GET", route="unmatched", status="404") == 1
    err = "hotelcore_http_errors_total"
    assert value(after, err, method="GET", route=one, status="404") == 1
    assert value(after, err, method="POST", route="/api/booking/checkout", status="402") == 1
    assert value(after, err, method="GET", route=avail, status="200") == 0
    # the latency histogram: every request observed once, in buckets
    hist = "hotelcore_http_request_duration_seconds"
    assert value(after, hist + "_count", method="GET", route=avail) == 3
    assert value(after, hist + "_sum", method="GET", route=avail) > 0
    assert value(after, hist + "_bucket", method="GET", route=avail, le="+Inf") == 3
    # checkout outcomes, by the envelope's code
    out = "hotelcore_checkout_outcomes_total"
    assert value(after, out, outcome="succeeded", source="request") == 1
    assert value(after, out, outcome="PAYMENT_PREAUTH_FAILED", source="request") == 1
    # pool use, read live
    pool = "hotelcore_db_pool_connections"
    assert value(after, pool, pool="primary", state="max") == 8
    assert value(after, pool, pool="primary", state="size") >= 1
    assert value(after, pool, pool="primary", state="in_use") == value(
        after, pool, pool="primary", state="size"
    ) - value(after, pool, pool="primary", state="idle")
    # no replica configured: no replica series
    assert not any(name.startswith("hotelcore_replica_") for (name, _) in after)


def test_access_log_is_json_with_the_request_id(client, world, caplog):
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    lines: list[str] = []
    handler.emit = lambda record: lines.append(handler.format(record))  # type: ignore[method-assign]
    logger = logging.getLogger("hotelcore.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        got = client.get(
            f"/api/v2/pms/reservations/{424242}",
            headers=world.headers("pms_a", **{"X-Request-ID": "req-metrics-0001"}),
        )
        anonymous = client.get("/health")
    finally:
        logger.removeHandler(handler)
    assert got.status_code == 404
    docs = [json.loads(line) for line in lines]
    mine = [d for d in docs if d.get("request_id") == "req-metrics-0001"]
    assert len(mine) == 1
    doc = mine[0]
    assert doc["level"] == "info" and doc["logger"] == "hotelcore.access"
    assert doc["status"] == 404 and doc["method"] == "GET"
    assert doc["route"] == "/api/v2/pms/reservations/{reservation_id}"
    assert doc["duration_ms"] >= 0 and doc["ts"].endswith("Z")
    # a request without X-Request-ID gets one, the same in the log line and the answer header
    generated = anonymous.headers["x-request-id"]
    assert [d for d in docs if d.get("request_id") == generated and d["path"] == "/health"]


def test_serve_logging_config_makes_every_logger_json():
    import logging.config

    cfg = logging_config("info")
    logging.config.dictConfig(cfg)
    try:
        handler = logging.getLogger("hotelcore").handlers[0]
        record = logging.LogRecord("hotelcore.http", logging.ERROR, __file__, 1, "boom %s", ("x",), None)
        doc = json.loads(handler.format(record))
        assert doc["message"] == "boom x" and doc["level"] == "error"
        assert logging.getLogger("uvicorn.access").handlers == []
    finally:
        logging.getLogger("hotelcore").handlers.clear()
        logging.getLogger("hotelcore").propagate = True
        logging.getLogger("uvicorn").handlers.clear()
        logging.getLogger("uvicorn").propagate = True


def test_a_metrics_token_is_required_when_configured(make_client):
    client = make_client(metrics_token="s3cret-scrape")
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "AUTHENTICATION_FAILED"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    got = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
    assert got.status_code == 200 and "hotelcore_http_requests_total" in got.text


def test_scrape_shows_each_event_consumers_backlog_as_the_lag_report_counts_it(client, db):
    """A pull consumer behind by N events shows N unread and the age of the oldest; acknowledging
    some lowers it; every consumer's series equal report.event_consumer_lag's row."""
    db.execute("select api.subscribe_events('metrics-probe', array['customer.*'], 'member')")
    labels = {"consumer": "metrics-probe", "kind": "pull"}
    first = scrape(client)
    assert value(first, "hotelcore_metrics_source_up", source="event_consumers") == 1
    assert ("hotelcore_event_consumer_unread_events", tuple(sorted(labels.items()))) in first
    assert value(first, "hotelcore_event_consumer_unread_events", **labels) == 0
    assert value(first, "hotelcore_event_consumer_lag_seconds", **labels) == 0
    for i in range(7):
        create_customer(db, given_name=f"Lag{i}")
    behind = scrape(client)
    assert value(behind, "hotelcore_event_consumer_unread_events", **labels) == 7
    assert value(behind, "hotelcore_event_consumer_lag_seconds", **labels) > 0
    # the consumer gets past three of them: four stay unread (its cursor is moved as
    # api.ack_events moves it; reading waits for every older transaction of the cluster to end,
    # which a parallel test's long migration can hold back for longer than this test should wait)
    db.execute(
        "update core.event_consumers c set cursor_order_xid = e.order_xid, cursor_id = e.id"
        " from (select x.order_xid, x.id from core.events x, core.event_consumers p"
        "       where p.name = 'metrics-probe' and x.type = 'customer.created'"
        "         and (x.order_xid, x.id) > (p.cursor_order_xid, p.cursor_id)"
        "       order by x.order_xid, x.id offset 2 limit 1) e"
        " where c.name = 'metrics-probe'"
    )
    after = scrape(client)
    assert value(after, "hotelcore_event_consumer_unread_events", **labels) == 4
    # the same figures as the report, for every consumer (one home for the count)
    for consumer, kind, unread in db.execute(
        "select consumer, kind, unread from report.event_consumer_lag"
    ).fetchall():
        assert value(after, "hotelcore_event_consumer_unread_events", consumer=consumer, kind=kind) == unread
