"""Helpers for the sync server tests: a minimal phone that numbers its mutations and pushes them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.factories import login


def clinic(deployment_id: uuid.UUID, day: date | None = None, **overrides: Any) -> dict[str, Any]:
    """The content of a valid expert-clinic entry."""
    data: dict[str, Any] = {
        "deployment_id": str(deployment_id),
        "work_date": (day or date.today() - timedelta(days=1)).isoformat(),
        "activity_type": "clinic",
        "fields": {"session": "am", "patients_first_visit": 12},
        "note": "门诊",
    }
    data.update(overrides)
    return data


@dataclass
class Phone:
    """One signed-in device with its own mutation numbers."""

    client: Any
    username: str
    device_id: str
    headers: dict[str, str]
    refresh_token: str
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)

    def mutation(self, kind: str, record_id: uuid.UUID | str, data: dict[str, Any] | None = None,
                 base_version: int | None = None) -> dict[str, Any]:
        self.seq += 1
        m: dict[str, Any] = {"seq": self.seq, "kind": kind, "record_id": str(record_id), "data": data or {}}
        if base_version is not None:
            m["base_version"] = base_version
        return m

    def body(self, mutations: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        body = {"request_id": uuid.uuid4().hex, "device_id": self.device_id, "schema_version": 1,
                "device_time": datetime.now(UTC).isoformat(), "pending_count": len(mutations),
                "mutations": mutations}
        body.update(extra)
        return body

    async def push(self, mutations: list[dict[str, Any]], *, expect: int = 200, **extra: Any) -> dict[str, Any]:
        return await self.push_body(self.body(mutations, **extra), expect=expect)

    async def push_body(self, body: dict[str, Any], *, expect: int = 200) -> dict[str, Any]:
        response = await self.client.post("/api/v1/sync/push", json=body, headers=self.headers)
        assert response.status_code == expect, response.text
        return response.json()

    async def pull(self, cursor: str | None = None, limit: int = 200) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = await self.client.get("/api/v1/sync/pull", params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def pull_all(self, cursor: str | None = None, limit: int = 200) -> tuple[list[dict[str, Any]], str]:
        changes: list[dict[str, Any]] = []
        while True:
            page = await self.pull(cursor, limit)
            assert not page["reset"], page
            changes += page["changes"]
            cursor = page["cursor"]
            if not page["has_more"]:
                return changes, cursor


async def phone(client: Any, username: str) -> Phone:
    device_id = f"phone-{uuid.uuid4().hex[:12]}"
    tokens = await login(client, username, device_id=device_id)
    return Phone(client=client, username=username, device_id=device_id, headers=tokens["headers"],
                 refresh_token=tokens["refresh_token"])


def outcomes(reply: dict[str, Any]) -> list[str]:
    return [r["outcome"] for r in reply["results"]]
