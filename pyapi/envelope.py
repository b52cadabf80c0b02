"""Seed 000's response envelope: every answer, success or error, has the same outer shape.

    {"success": true,  "data": ..., "metadata": {timestamp, source_system, request_id, version}}
    {"success": false, "error": {code, message, details, retry_after, documentation_url}, "metadata": {...}}

``documentation_url`` points at the code's entry of the error page the API serves
(``/docs/errors#HOLD_EXPIRED``, generated from the registry), relative to the API's origin.
``retry_after`` is in milliseconds as in the seed's example (``5000``); the HTTP ``Retry-After``
header carries the same wait in whole seconds. Bodies are rendered to bytes here once, so that an
idempotent replay can return the first answer byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from psycopg.types.range import Range
from pydantic import BaseModel, Field
from starlette.responses import Response

API_VERSION = "2.1.0"

# The seed's system names, by the route group that answers.
SOURCE_SYSTEMS = {
    "member": "hotel-member",
    "pms": "hotel-pms",
    "saas": "hotel-saas",
    "booking": "hotel-booking",
    "core": "hotelcore",
}

# The page listing every error code (pyapi.http.errors_page); each code is an anchor on it.
ERRORS_PAGE = "/docs/errors"

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

T = TypeVar("T")


class Metadata(BaseModel):
    timestamp: str = Field(description="When the answer was made, ISO 8601 UTC.")
    source_system: str = Field(
        description="The seed system that answered: hotel-member, hotel-pms, hotel-saas, hotel-booking."
    )
    request_id: str = Field(description="The caller's X-Request-ID, or one made for this request.")
    version: str = Field(description="Version of the interface (seed 000).")


class ErrorBody(BaseModel):
    code: str = Field(description="The seed's error name, e.g. CUSTOMER_NOT_FOUND, INVENTORY_UNAVAILABLE.")
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    retry_after: int | None = Field(
        default=None, description="Milliseconds to wait before retrying, when retrying may help."
    )
    documentation_url: str = Field(
        description="The code's entry on the API's error page (what it means, what to do), e.g. /docs/errors#HOLD_EXPIRED."
    )


class Envelope(BaseModel, Generic[T]):
    success: Literal[True] = True
    data: T
    metadata: Metadata


class ErrorEnvelope(BaseModel):
    success: Literal[False] = False
    error: ErrorBody
    metadata: Metadata


def request_id_from(header: str | None) -> str:
    """The caller's request id when it is a short token, else a new one."""
    if header and _REQUEST_ID.match(header):
        return header
    return "req-" + uuid.uuid4().hex


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # money: exact integers stay integers; others as the shortest float that reads back
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Range):
        return {"lower": value.lower, "upper": value.upper, "bounds": value.bounds}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def render(payload: dict[str, Any]) -> bytes:
    return json.dumps(
        payload, default=_default, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode()


def metadata(system: str, request_id: str) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "timestamp": now,
        "source_system": SOURCE_SYSTEMS.get(system, system),
        "request_id": request_id,
        "version": API_VERSION,
    }


def success_body(data: Any, *, system: str, request_id: str) -> bytes:
    return render({"success": True, "data": data, "metadata": metadata(system, request_id)})


def documentation_url(code: str) -> str:
    return f"{ERRORS_PAGE}#{code}"


def error_body(
    code: str,
    message: str,
    *,
    system: str,
    request_id: str,
    details: dict[str, Any] | None = None,
    retry_after_ms: int | None = None,
) -> bytes:
    error = {
        "code": code,
        "message": message,
        "details": details or {},
        "retry_after": retry_after_ms,
        "documentation_url": documentation_url(code),
    }
    return render({"success": False, "error": error, "metadata": metadata(system, request_id)})


def response(body: bytes, status: int, *, request_id: str, retry_after_ms: int | None = None) -> Response:
    headers = {"X-Request-ID": request_id}
    if retry_after_ms is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after_ms / 1000)))
    return Response(content=body, status_code=status, media_type="application/json", headers=headers)
