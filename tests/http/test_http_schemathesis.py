"""The OpenAPI schema, fuzzed (schemathesis): whatever a generated request holds, the API answers
without a 5xx and every answer matches the schema (status code, content type, body); the run is
bounded (few examples per operation)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)


def key_for(path: str) -> str:
    if path.startswith("/api/v2/member/"):
        return "member_a"
    return "saas_a" if path.startswith("/api/v2/saas/") else "pms_a"


def _fuzz(operation, headers: dict[str, str]):
    """One bounded hypothesis run over an operation, with the caller's API key."""

    @settings(
        max_examples=6,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case):
        case.call_and_validate(
            headers=headers,
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ],
        )

    return run


def test_no_5xx_and_every_answer_matches_the_schema(make_client, world):
    client = make_client()
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [r.ok() for r in schema.get_all_operations()]
    checked = 0
    for operation in operations:
        run = _fuzz(operation, {"X-API-Key": world.keys[key_for(operation.path)]})
        run()
        checked += 1
    assert checked >= 25
