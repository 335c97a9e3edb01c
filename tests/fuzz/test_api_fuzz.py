"""Fuzzing the JSON API over its own OpenAPI schema (Schemathesis): no 5xx anywhere, and every response is
one the schema documents (status code, content type, body schema, headers).

Every operation gets up to ``MAX_EXAMPLES`` generated requests, valid and invalid (Schemathesis' positive
and negative modes), with the credentials its path needs: an officer's API key under /api/v1/requests, a
legal reviewer's or approver's staff token under /api/v1/staff, the platform service token for the match
and the content-event intake, and whatever the generator sends for notices and appeals. Half the time the
path parameters are replaced by ids that exist (a request answered with its production, its signed order,
a removal order's complaint, a notice), so the fuzzer reaches past the 404s into the handlers.
Derandomized: CI and laptops run the same examples, and a failure reproduces.
"""

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.conftest import FuzzWorld, schema_app
from tests.route_world import RouteWorld

MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

schema = schemathesis.openapi.from_asgi("/openapi.json", schema_app())


def credentials(world: RouteWorld, path: str, which: int) -> dict[str, str]:
    if path.startswith("/api/v1/staff/"):
        token = (world.lawful.reviewer, world.lawful.approver)[which]
    elif path.startswith("/api/v1/requests"):
        token = (world.lawful.fr_key, world.lawful.de_key)[which]
    elif path in ("/api/v1/match", "/api/v1/content-events"):
        token = world.platform_token
    else:
        return {}  # notices and appeals: anyone; the generated Authorization header is kept
    return {"Authorization": f"Bearer {token}"}


def real_ids(world: RouteWorld) -> dict[str, str]:
    return {
        "tracking_number": world.tracking_number,
        "document_id": world.document_id,
        "complaint_id": world.complaint_id,
        "reference": world.notice_reference,
    }


@schema.parametrize()
@schema.given(data=st.data())
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_api_never_fails_and_keeps_its_schema(
    case: schemathesis.Case, data: Any, fuzz_world: FuzzWorld
) -> None:
    world = fuzz_world.world
    if case.path_parameters and data.draw(st.booleans(), label="real ids"):
        known = real_ids(world)
        case.path_parameters = {name: known.get(name, value) for name, value in case.path_parameters.items()}
    who = data.draw(st.integers(0, 1), label="who")
    case.call_and_validate(app=fuzz_world.app, headers=credentials(world, case.path, who), checks=CHECKS)
