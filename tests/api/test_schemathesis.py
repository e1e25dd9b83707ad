"""Property-based fuzzing of the published schema (schemathesis), as every role, against the real app.

The app is served by uvicorn on 127.0.0.1 over the test PostgreSQL; schemathesis reads /schema/openapi.json and
sends a few schema-valid requests per operation (fixed seed) with the token of an expert, a supervisor, HR and
an admin. A run fails on any 5xx, any status the operation does not document, any response that does not
match its schema or content type, and any schema-valid request the server refuses (positive data
acceptance: 2xx, 401, 403, 404, 409, 429 are the allowed answers). Every failure is collected, not only the
first, so one run shows all that is wrong. Figures (operations, cases, seconds) are printed.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi_checks

from backend.app import create_app
from backend.settings import Settings
from tests.factories import World

EXAMPLES = int(os.environ.get("FIELDLOG_FUZZ_EXAMPLES", "3"))
SEED = 16
ROLES = {"expert": "expert_a", "supervisor": "supervisor_a", "hr": "hr", "admin": "admin"}
CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.positive_data_acceptance,
]
# 422s that answer a schema-valid request for what JSON Schema cannot say: the state of the database (an id that
# names nothing, or nothing of the caller's), a rule that ties two fields together, or content the schema hands
# to another contract (an entry's `fields`, checked against the published catalogue; a roster sheet's rows).
# Any other 422 to a schema-valid request fails the run: its rule belongs in the schema.
STATE_CODES = {
    "not_found": "a referenced id names no object",
    "unknown_deployment": "the deployment does not exist or is not the caller's",
    "not_your_hospital": "the institution is not one the caller is deployed to",
    "before_start": "a range that ends before it starts (two fields compared)",
    "before_date_from": "a range that ends before it starts (two fields compared)",
    "before_from": "a range that ends before it starts (two fields compared, one perhaps by its default)",
    "no_such_period": "an appraisal period is one of the stay's, which its dates decide",
    "consent_required": "a location is kept only from a user who consented to it",
    "device_clock_in_future": "what is far future is the server's clock at the time",
}
TIED_FIELDS = {
    ("decide_entries", "comment", "required"): "returning an entry needs a comment; approving does not",
    ("reopen_month", "reason", "required"): "reopening a month needs a reason; closing does not",
    ("create_promotion_round", "institution_id", "required"): "an admin names the hospital; HR's is their own",
    ("create_promotion_round", "date_to", "too_long"): "a round spans at most ten years (two dates compared)",
    ("create_export", "date_to", "too_long"): "an export spans at most ten years (two dates compared)",
    ("admin_create_deployment", "actual_end", "required"): "an ended deployment needs its actual end",
    ("admin_update_deployment", "actual_end", "required"): "an ended deployment needs its actual end",
    ("get_expert_stats", "to", "period_too_long"): "a statistics period is bounded in length (two dates compared)",
    ("decide_entries", "correction", "approve_only"): "a correction goes with an approval only",
    ("list_entries", "cursor", "invalid"): "a cursor is opaque: only one the server issued is read",
    ("admin_grant_role", "institution_id", "scope"): "supervisor and HR grants name an institution, the others none",
}
ENTRY_BODIES = {"create_entry", "update_entry", "create_revision"}  # `fields` follow the catalogue's type


def _explained(operation_id: str, error: dict[str, Any]) -> bool:
    field, code = str(error.get("field", "")), error.get("code")
    if code in STATE_CODES or operation_id == "admin_import":  # a sheet's rows are not described by JSON Schema
        return True
    if operation_id in ENTRY_BODIES and field.startswith("fields"):
        return True
    return (operation_id, field.rsplit(".", 1)[-1], code) in TIED_FIELDS


# Ends the caller's own session: fuzzing it would sign the role out in the middle of the run.
SKIP = {"logout"}


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the thread leaves signals to pytest
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server_url(test_settings: Settings, database_url: str) -> Iterator[str]:
    """fieldlog served by uvicorn in a thread, on the test database (no in-process job worker)."""
    assert not test_settings.worker_in_process
    port = _free_port()
    config = uvicorn.Config(create_app(test_settings, database_url), host="127.0.0.1", port=port, log_config=None,
                            access_log=False, lifespan="on", timeout_graceful_shutdown=2)
    server = _ThreadServer(config)
    thread = threading.Thread(target=server.run, name="fieldlog-fuzz-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as reply:  # noqa: S310 (our own 127.0.0.1)
                if reply.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline or not thread.is_alive():
                raise AssertionError("the fuzzing server never answered /health") from None
            time.sleep(0.1)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


@dataclass
class Run:
    """What one role's run did and found."""

    operations: int = 0
    cases: int = 0
    state_refusals: int = 0  # 422s for what the schema cannot say (see STATE_CODES), not for the shape
    statuses: dict[int, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # operation label -> first failure report


def _refused_for_state(operation_id: str, response: Any) -> bool:
    if response.status_code != 422:
        return False
    errors = response.json().get("errors") or [{}]
    return all(_explained(operation_id, e) for e in errors)


def _unexplained(operation: Any, response: Any) -> str:
    if response is None or response.status_code != 422:
        return ""
    op_id = operation.definition.raw.get("operationId", "")
    errors = [(e.get("field"), e.get("code")) for e in response.json().get("errors", []) if not _explained(op_id, e)]
    return f"unexplained 422 errors: {errors}\n"


def _integers_as_integers(value: Any) -> Any:
    """JSON Schema counts 709.0 as an integer; msgspec reads an `int` only from 709, and so does every client
    generated from the schema. Sending integral floats as integers keeps the request schema-valid."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _integers_as_integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integers_as_integers(v) for v in value]
    return value


def _probe(run: Run, operation: Any, url: str, headers: dict[str, str], known: dict[str, str] | None = None,
           examples: int = EXAMPLES) -> None:
    @seed(SEED)
    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(path_parameters=known or None))
    def probe(case: Any) -> None:
        run.cases += 1
        if case.body is not None and not isinstance(case.body, (bytes, str)):
            case.body = _integers_as_integers(case.body)
        response = None
        try:
            response = case.call(base_url=url, headers=headers)
            run.statuses[response.status_code] = run.statuses.get(response.status_code, 0) + 1
            checks = CHECKS
            if _refused_for_state(operation.definition.raw.get("operationId", ""), response):
                run.state_refusals += 1
                checks = [c for c in CHECKS if c is not openapi_checks.positive_data_acceptance]
            case.validate_response(response, checks=checks, headers=headers,
                                   transport_kwargs={"base_url": url, "headers": headers})
        except (Exception, BaseExceptionGroup) as exc:  # collected: the report lists every operation at fault
            run.failures.setdefault(operation.label, _unexplained(operation, response) + str(exc)[:3000])

    probe()


def _fuzz(url: str, headers: dict[str, str], ids: dict[str, str]) -> Run:
    """Every operation with generated ids, then each one with ids of the world's objects (answers past 404)."""
    schema = schemathesis.openapi.from_url(url + "/schema/openapi.json")
    run = Run()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("operationId") in SKIP:
            continue
        run.operations += 1
        _probe(run, operation, url, headers)
        names = {p["name"] for p in operation.definition.raw.get("parameters", []) if p.get("in") == "path"}
        if names and names <= set(ids):
            _probe(run, operation, url, headers, {name: ids[name] for name in names}, examples=max(1, EXAMPLES - 1))
    return run


async def _ids(world: World, client: Any) -> dict[str, str]:
    """Path parameters naming objects of side A: the expert's draft entry, deployment, hospital, agreement."""
    from tests.api.test_entries import entry_body

    headers = await world.headers(client, "expert_a")
    draft = await client.post("/api/v1/entries", json=entry_body(world), headers=headers)
    assert draft.status_code == 201, draft.text
    return {"entry_id": draft.json()["id"], "deployment_id": str(world.deployment_a.id),
            "institution_id": str(world.hospital_a.id), "recipient_id": str(world.hospital_a.id),
            "agreement_id": str(world.agreement_a.id), "expert_id": str(world.expert_a.id),
            "user_id": str(world.expert_a2.id)}


@pytest.mark.parametrize("role", list(ROLES))
async def test_every_operation_keeps_its_schema_for(role: str, server_url: str, world: World, client: Any) -> None:
    headers = await world.headers(client, ROLES[role])
    started = time.monotonic()
    ids = await _ids(world, client)
    run = await asyncio.to_thread(_fuzz, server_url, headers, ids)
    elapsed = time.monotonic() - started
    print(f"\nschemathesis as {role}: {run.operations} operations, {run.cases} cases, {elapsed:.1f} s, "
          f"statuses {dict(sorted(run.statuses.items()))}, {run.state_refusals} refused for state")
    assert run.operations > 80
    assert run.cases >= run.operations
    report = "\n\n".join(f"== {label}\n{text}" for label, text in sorted(run.failures.items()))
    assert not run.failures, f"{len(run.failures)} operations failed as {role}:\n{report}"
