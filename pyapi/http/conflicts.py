"""What hotel-member and hotel-pms share about conflicting writes (seed 000's 競合検知 /
競合解決): the request bodies, the two calls, and the answer of a write the rules kept out
for review. Each system's routes mount them under their own base path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from psycopg.types.json import Jsonb
from pydantic import Field

from ..errors import ApiError
from .common import Body, Id, text
from .context import Call


class ConflictingUpdate(Body):
    system: Literal["hotel-member", "hotel-pms"] = Field(description="The system that made the change.")
    timestamp: datetime = Field(description="When that system made it (ISO 8601, not in the future).")
    fields: dict[str, Any] = Field(
        min_length=1, max_length=40, description="The fields it changed, with their new values."
    )


class ConflictDetect(Body):
    """Seed 000's 競合検知: the updates in the order they arrived."""

    entity_type: Literal["customer", "reservation", "room"]
    entity_id: Id
    conflicting_updates: list[ConflictingUpdate] = Field(min_length=1, max_length=20)


class ConflictResolve(Body):
    """Seed 000's 競合解決."""

    resolution_method: Literal["manual", "auto_merge", "priority_based"]
    resolved_data: dict[str, Any] = Field(
        default_factory=dict,
        description="manual: the conflict's fields with the chosen values, and resolution_reason.",
    )
    resolver_user_id: text(200, 1)


def detect_conflicts(call: Call, body: ConflictDetect):
    """POST /conflicts/detect under the system owning the entity (the database checks which)."""
    updates = [u.model_dump(mode="json") for u in body.conflicting_updates]
    return call.ok(
        call.value(
            "detect_conflicts",
            p_entity_type=body.entity_type,
            p_entity_id=body.entity_id,
            p_updates=Jsonb(updates),
        )
    )


def resolve_conflict(call: Call, conflict_id: int, body: ConflictResolve):
    return call.ok(
        call.value(
            "resolve_conflict",
            p_conflict_id=conflict_id,
            p_resolution_method=body.resolution_method,
            p_resolved_data=Jsonb(body.resolved_data),
            p_resolver_user_id=body.resolver_user_id,
        )
    )


def customer_written(call: Call, doc: dict):
    """A customer write's answer (see :func:`written`)."""
    return written(call, doc, "customer")


def written(call: Call, doc: dict, entity: str):
    """A write's answer: a stale write the rules kept out for review is committed as a recorded
    conflict and answered 409 CONFLICT_NEEDS_REVIEW with its id; else the document (a merged
    write carries what the rules did in ``conflict``)."""
    conflict = (doc or {}).get("conflict") or {}
    if conflict.get("verdict") == "needs_review":
        return call.error(
            ApiError(
                "CONFLICT_NEEDS_REVIEW",
                409,
                f"The {entity} changed since this version was read; the write clashes and was recorded for review.",
                details={
                    "conflict_id": conflict.get("conflict_id"),
                    "rule": conflict.get("rule"),
                    "fields": conflict.get("fields"),
                    "escalated": conflict.get("escalated", False),
                    "escalation_reasons": conflict.get("escalation_reasons", []),
                    "version": doc.get("version"),
                },
            )
        )
    return call.ok(doc)
