"""Helpers of the conflict tests: detecting and resolving conflicts, and one system's update."""

from __future__ import annotations

import datetime as dt

import psycopg
from psycopg.types.json import Jsonb

from .factories import PIN
from .sql import scalar


def detect(db: psycopg.Connection, entity_type: str, entity_id: int, updates: list[dict]) -> dict:
    return scalar(
        db, "detect_conflicts", p_entity_type=entity_type, p_entity_id=entity_id, p_updates=Jsonb(updates)
    )


def resolve(db: psycopg.Connection, conflict_id: int, method: str, data: dict, user: str = "admin-1") -> dict:
    return scalar(
        db,
        "resolve_conflict",
        p_conflict_id=conflict_id,
        p_resolution_method=method,
        p_resolved_data=Jsonb(data),
        p_resolver_user_id=user,
    )


def update(system: str, minutes: float, **fields) -> dict:
    """One element of conflicting_updates: made by ``system`` ``minutes`` after the test's pin."""
    return {
        "system": f"hotel-{system}",
        "timestamp": (PIN + dt.timedelta(minutes=minutes)).isoformat(),
        "fields": fields,
    }
