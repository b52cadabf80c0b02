"""Shared pieces of the route modules: id and text types with bounds (so no input can reach the
database as the wrong type), and the documented answers of every route for OpenAPI."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from ..envelope import Envelope, ErrorEnvelope

BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1

Id = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
PathId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
QueryId = Annotated[int, Query(ge=1, le=BIGINT_MAX)]
Version = Annotated[int, Field(ge=1, le=INT_MAX)]
# dates the database can hold and a hotel could sell
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2999, 12, 31))]
QueryDay = Annotated[date, Query(ge=date(2000, 1, 1), le=date(2999, 12, 31))]


def text(max_length: int = 200, min_length: int = 0):
    # no NUL: PostgreSQL text cannot hold it
    return Annotated[str, Field(min_length=min_length, max_length=max_length, pattern=r"^[^\x00]*$")]


class Body(BaseModel):
    """Request bodies refuse unknown fields, so a typo is a 400 rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


def answers(*statuses: int, data: Any = dict[str, Any], success: int = 200) -> dict[int | str, dict]:
    """OpenAPI ``responses`` for a route: its success envelope and the error envelopes it may give."""
    out: dict[int | str, dict] = {
        success: {"model": Envelope[data], "description": "Success (seed 000 envelope)."}
    }
    for status in sorted({400, 401, 403, 413, 500, 503, *statuses}):
        out[status] = {"model": ErrorEnvelope, "description": _WHY.get(status, "Error (seed 000 envelope).")}
    return out


_WHY = {
    400: "Malformed JSON, a missing field or a field of the wrong type (INVALID_ARGUMENT).",
    401: "No API key, or an unknown or revoked one (AUTHENTICATION_FAILED).",
    402: "The payment gateway declined the pre-authorisation (PAYMENT_PREAUTH_FAILED).",
    403: "The key's system may not call this endpoint (PERMISSION_DENIED).",
    404: "No such object in the key's hotel scope (*_NOT_FOUND).",
    409: "A conflict: inventory, version, state, idempotency, concurrency.",
    410: "The hold expired (HOLD_EXPIRED).",
    413: "The body is larger than the limit (PAYLOAD_TOO_LARGE).",
    422: "A rule refused the request (occupancy, restrictions, idempotency mismatch, ...).",
    500: "An unexpected error (INTERNAL_ERROR).",
    501: "Reserved for a later release (NOT_IMPLEMENTED).",
    502: "The payment capture failed (PAYMENT_CAPTURE_FAILED).",
    503: "Degraded mode or a timeout: retry after error.retry_after ms (SERVICE_DEGRADED).",
}
