"""Notification settings over HTTP: robots with write-only secrets, SSRF refusals field by field, rules,
preferences, the delivery log, and the job queue's state for admins."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import AuditEvent, NotifyChannel
from backend.notifications.channels.safety import url_problems

SECRET = "SEC-dingtalk-very-secret-value-42"
FAKE = "http://127.0.0.1:9/robot/send?access_token=TOKEN-abc"  # on the test allow-list


def problem_fields(r: Any) -> list[tuple[str, str]]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return [(e["field"], e["code"]) for e in r.json()["errors"]]


async def test_a_robot_secret_goes_in_and_never_comes_out_nor_into_the_log(
    client: Any, world: Any, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = await world.headers(client, "admin")
    url = f"/api/v1/admin/notifications/channels/{world.hospital_a.id}/dingtalk"
    r = await client.put(url, json={"url": FAKE, "secret": SECRET}, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["has_secret"] is True
    assert body["url_masked"] == "http://127.0.0.1:9/robot/send?***"
    listed = await client.get("/api/v1/admin/notifications/channels", headers=admin,
                              params={"institution_id": str(world.hospital_a.id)})
    assert [c["kind"] for c in listed.json()] == ["dingtalk"]
    for text in (r.text, listed.text, caplog.text):
        assert SECRET not in text
        assert "TOKEN-abc" not in text
    # Changing the URL without a secret keeps the secret.
    again = await client.put(url, json={"url": FAKE + "x", "enabled": False}, headers=admin)
    assert (again.json()["has_secret"], again.json()["enabled"]) == (True, False)
    row = (await session.execute(select(NotifyChannel))).scalar_one()
    assert row.secret == SECRET
    actions = (await session.execute(select(AuditEvent.action))).scalars().all()
    assert actions.count("notify.channel.put") == 2


@pytest.mark.parametrize(("url", "code"), [
    ("http://oapi.dingtalk.com/robot/send?access_token=x", "https_required"),
    ("https://10.0.0.8/robot/send", "private_address"),
    ("https://172.16.3.4/robot/send", "private_address"),
    ("https://192.168.1.1/robot/send", "private_address"),
    ("https://169.254.169.254/latest/meta-data", "private_address"),
    ("https://[::1]/robot/send", "private_address"),
    ("https://localhost/robot/send", "private_address"),  # a name that resolves to a loopback address
    ("ftp://example.org/x", "invalid_url"),
    ("https://user:pw@example.org/x", "invalid_url"),
])
async def test_robot_urls_that_could_reach_inside_are_refused_field_by_field(
    client: Any, world: Any, url: str, code: str
) -> None:
    r = await client.put(f"/api/v1/admin/notifications/channels/{world.hospital_a.id}/wecom", json={"url": url},
                         headers=await world.headers(client, "admin"))
    assert problem_fields(r) == [("url", code)]


async def test_loopback_is_refused_unless_allow_listed() -> None:
    assert [e.code for e in await url_problems("https://localhost/x", ())] == ["private_address"]
    assert [e.code for e in await url_problems("https://127.0.0.1/x", ())] == ["private_address"]
    assert await url_problems("http://127.0.0.1:8025/x", ("127.0.0.1",)) == []


async def test_only_admins_configure_channels_and_an_unknown_kind_or_hospital_is_not_found(
    client: Any, world: Any
) -> None:
    url = f"/api/v1/admin/notifications/channels/{world.hospital_a.id}/wecom"
    for who in ("supervisor_a", "hr", "expert_a"):
        assert (await client.put(url, json={"url": FAKE}, headers=await world.headers(client, who))).status_code == 403
    admin = await world.headers(client, "admin")
    bad_kind = await client.put(f"/api/v1/admin/notifications/channels/{world.hospital_a.id}/fax",
                                json={"url": FAKE}, headers=admin)
    assert bad_kind.status_code == 404
    nowhere = await client.put(f"/api/v1/admin/notifications/channels/{uuid.uuid4()}/wecom", json={"url": FAKE},
                               headers=admin)
    assert nowhere.status_code == 404
    unknown = await client.put(url, json={"url": FAKE, "colour": "red"}, headers=admin)
    assert unknown.status_code == 422


async def test_rules_show_defaults_and_take_overrides_with_field_level_problems(client: Any, world: Any) -> None:
    admin = await world.headers(client, "admin")
    base = f"/api/v1/admin/notifications/rules/{world.hospital_a.id}"
    rules = {r["rule"]: r for r in (await client.get(base, headers=admin)).json()}
    assert rules["supervisor_digest"]["send_hour"] == 8
    assert rules["hr_digest"]["cadence"] == "weekly"
    assert {r["timezone"] for r in rules.values()} == {"Asia/Shanghai"}
    r = await client.put(f"{base}/expert_silent", headers=admin,
                         json={"threshold_days": 5, "send_hour": 18, "quiet_start": 22, "quiet_end": 7})
    assert r.status_code == 200, r.text
    assert (r.json()["threshold_days"], r.json()["send_hour"], r.json()["customised"]) == (5, 18, True)
    assert problem_fields(await client.put(f"{base}/expert_silent", headers=admin, json={"timezone": "Mars/Olympus"})
                          ) == [("timezone", "unknown_timezone")]
    assert problem_fields(await client.put(f"{base}/expert_silent", headers=admin, json={"quiet_start": 22})
                          ) == [("quiet_end", "quiet_hours_pair")]
    assert (await client.put(f"{base}/send_pizza", headers=admin, json={})).status_code == 404
    assert (await client.put(f"{base}/expert_silent", headers=admin, json={"send_hour": 24})).status_code == 422


async def test_each_user_sets_only_their_own_preferences(client: Any, world: Any) -> None:
    expert = await world.headers(client, "expert_a")
    assert (await client.get("/api/v1/me/notifications", headers=expert)).json() == {
        "channel": "auto", "email": None, "digests": True}
    assert problem_fields(await client.put("/api/v1/me/notifications", headers=expert, json={"channel": "email"})
                          ) == [("email", "required")]
    ok = await client.put("/api/v1/me/notifications", headers=expert,
                          json={"channel": "email", "email": "zhang@hospital.cn", "digests": False})
    assert ok.status_code == 200, ok.text
    assert (await client.get("/api/v1/me/notifications", headers=expert)).json()["email"] == "zhang@hospital.cn"
    other = await client.get("/api/v1/me/notifications", headers=await world.headers(client, "expert_a2"))
    assert other.json()["email"] is None
    assert (await client.get("/api/v1/me/notifications")).status_code == 401


async def test_admins_see_the_job_queue_and_the_delivery_log(client: Any, world: Any) -> None:
    hr = await world.headers(client, "hr")
    created = await client.post("/api/v1/exports", headers=hr, json={
        "expert_id": str(world.expert_a.id), "date_from": str(date(2025, 1, 1)), "date_to": str(date(2025, 1, 31))})
    assert created.status_code == 202, created.text
    admin = await world.headers(client, "admin")
    jobs = (await client.get("/api/v1/admin/jobs", headers=admin)).json()
    assert [(c["job"], c["status"], c["count"]) for c in jobs["counts"]] == [("export.render", "queued", 1)]
    assert (await client.get("/api/v1/admin/jobs", headers=hr)).status_code == 403
    log = await client.get("/api/v1/admin/notifications/deliveries", headers=admin, params={"status": "failed"})
    assert log.status_code == 200
    assert log.json() == {"counts": {}, "items": []}
