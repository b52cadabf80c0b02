"""hotel-saas (seed 000): orders, concierge and feedback. Reserved: every route answers 501
NOT_IMPLEMENTED in the envelope until the issue that builds them lands.

Base path ``/api/v2/saas``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from . import envelope as env
from .common import PathId, answers
from .context import request_id

router = APIRouter(prefix="/api/v2/saas", tags=["hotel-saas"])

_RESERVED = answers(501)


def not_implemented(request: Request, what: str) -> Response:
    rid = request_id(request)
    body = env.error_body(
        "NOT_IMPLEMENTED",
        f"{what} is reserved for a later release.",
        system="saas",
        request_id=rid,
        details={"endpoint": f"{request.method} {request.url.path}"},
    )
    return env.response(body, 501, request_id=rid)


@router.post("/orders", responses=_RESERVED)
def create_order(request: Request):
    """新規注文 — reserved (501)."""
    return not_implemented(request, "Service orders")


@router.get("/orders/customer/{customer_id}", responses=_RESERVED)
def customer_orders(customer_id: PathId, request: Request):
    """顧客注文履歴 — reserved (501)."""
    return not_implemented(request, "Order history")


@router.put("/orders/{order_id}/status", responses=_RESERVED)
def order_status(order_id: PathId, request: Request):
    """注文状況更新 — reserved (501)."""
    return not_implemented(request, "Order status")


@router.post("/concierge/requests", responses=_RESERVED)
def concierge_request(request: Request):
    """コンシェルジュ依頼 — reserved (501)."""
    return not_implemented(request, "Concierge requests")


@router.get("/concierge/services", responses=_RESERVED)
def concierge_services(request: Request):
    """提供サービス一覧 — reserved (501)."""
    return not_implemented(request, "The concierge service list")


@router.post("/feedback", responses=_RESERVED)
def feedback(request: Request):
    """満足度・レビュー投稿 — reserved (501)."""
    return not_implemented(request, "Feedback")


@router.get("/feedback/summary/{customer_id}", responses=_RESERVED)
def feedback_summary(customer_id: PathId, request: Request):
    """顧客フィードバック集計 — reserved (501)."""
    return not_implemented(request, "The feedback summary")
