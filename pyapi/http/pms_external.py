"""External-PMS hotels over HTTP (seed 001): the inbound webhook endpoint
``POST /api/webhooks/pms/{vendor}`` and the polling sync's status and manual trigger under
``/api/v2/pms/external``.

Webhooks carry no API key: a signed event is authenticated by its X-PMS-Signature, a Cloudbeds
notification by the endpoint token it was registered with (:mod:`pyapi.pms.webhooks`). Every
refusal is the envelope with nothing written: unknown vendor 404, bad signature / token / stale
timestamp 401, malformed 400. A duplicate answers 200 and changes nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from .. import envelope as env
from ..pms.webhooks import WebhookRejected
from .common import PathId, answers
from .context import Call, caller, request_id, services

webhook_router = APIRouter(prefix="/api/webhooks/pms", tags=["pms-webhooks"])
router = APIRouter(prefix="/api/v2/pms/external", tags=["hotel-pms"])
pms = caller("pms", ("pms",))


@webhook_router.post("/{vendor}", responses=answers(400, 401, 404))
async def receive(vendor: str, request: Request) -> Response:
    """PMS 웹훅 수신 — seed 001's signed events (X-PMS-Signature) and Cloudbeds' object/action
    notifications (endpoint token), each applied once in one transaction."""
    import anyio

    hc = services(request)
    rid = request_id(request)
    raw = await request.body()
    signature = request.headers.get("x-pms-signature")
    token = request.query_params.get("token")
    try:
        result = await anyio.to_thread.run_sync(hc.pms.receive, vendor[:60], raw, signature, token)
    except WebhookRejected as exc:
        err = hc.errors.error(exc.code, message=exc.message)
        body = env.error_body(err.code, err.message, system="pms", request_id=rid)
        return env.response(body, err.http_status, request_id=rid)
    return env.response(env.success_body(result, system="pms", request_id=rid), 200, request_id=rid)


@router.get("/sync", responses=answers(data=list[dict[str, Any]]))
def sync_status_all(call: Call = Depends(pms)):
    """Every external hotel's polling sync in the key's scope: running, last and next sync, errors."""
    return call.ok(call.rows("pms_sync_status"))


@router.get("/{hotel_id}/sync", responses=answers(404))
def sync_status(hotel_id: PathId, call: Call = Depends(pms)):
    """One external hotel's polling sync."""
    rows = call.rows("pms_sync_status", p_hotel_id=hotel_id, scope=[("hotel", hotel_id)])
    return call.ok(rows[0] if rows else None)


@router.post("/{hotel_id}/sync", status_code=202, responses=answers(404, success=202))
def trigger_sync(hotel_id: PathId, call: Call = Depends(pms)):
    """수동 동기화 — the sync is due now (a stopped one restarts); it runs in the background."""
    due = call.value("pms_request_sync", p_hotel_id=hotel_id, scope=[("hotel", hotel_id)])
    call.hc.pms.pool.submit(call.hc.pms.sync_due)
    return call.ok({"hotel_id": hotel_id, "due_at": due}, 202)
