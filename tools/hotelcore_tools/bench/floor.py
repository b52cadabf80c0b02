"""A floor endpoint for the benchmark only: ``POST /bench/floor`` authenticates the API key and
inserts one row in one transaction, through the same stack as every route (the Guard middleware,
FastAPI's dependency and validation, the pool, ``api.authenticate``, the envelope).

It is not part of the API (it lives with the bench): :func:`~pyapi.http.app.create_app` never mounts it; ``hotelcore bench``
mounts it on the API process it starts, in a database of its own with the scratch table
``bench_http_floor`` that the benchmark creates.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from pyapi.http.context import Call, caller

router = APIRouter(prefix="/bench", include_in_schema=False)
floor_caller = caller("booking", ("member", "pms"))


@router.post("/floor", status_code=201)
def floor(call: Call = Depends(floor_caller)) -> Response:
    """One authenticated insert and commit: the least a write request of this API costs."""
    inserted = call.run(
        lambda conn: conn.execute(
            "insert into public.bench_http_floor (at) values (now()) returning 1"
        ).fetchone()[0]
    )
    return call.ok(inserted, 201)
