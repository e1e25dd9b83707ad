"""The statistics endpoints through the HTTP app with real tokens, across every scope."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import World
from tests.stats_helpers import add_entry

EXPERT_READERS = {
    # who: experts (by World attribute) they may read; every other expert answers 404
    "expert_a": {"expert_a"},
    "supervisor_a": {"expert_a", "expert_a2"},
    "supervisor_b": {"expert_b"},
    "hr": {"expert_a", "expert_a2"},
    "other_hr": {"expert_b"},
    "admin": {"expert_a", "expert_a2", "expert_b"},
}


@pytest.mark.parametrize("who", sorted(EXPERT_READERS))
async def test_expert_figures_are_visible_only_in_scope(client: Any, world: World, who: str) -> None:
    headers = await world.headers(client, who)
    for target in ("expert_a", "expert_a2", "expert_b"):
        r = await client.get(f"/api/v1/stats/experts/{getattr(world, target).id}", headers=headers)
        expected = 200 if target in EXPERT_READERS[who] else 404
        assert r.status_code == expected, (who, target, r.text)


INSTITUTION_READERS = {
    "expert_a": set(),
    "supervisor_a": {"hospital_a"},
    "hr": {"home"},
    "other_hr": {"other_home"},
    "admin": {"hospital_a", "hospital_b", "home", "other_home"},
}


@pytest.mark.parametrize("who", sorted(INSTITUTION_READERS))
async def test_institution_figures_are_visible_only_in_scope(client: Any, world: World, who: str) -> None:
    headers = await world.headers(client, who)
    for target in ("hospital_a", "hospital_b", "home", "other_home"):
        r = await client.get(f"/api/v1/stats/institutions/{getattr(world, target).id}", headers=headers)
        assert r.status_code == (200 if target in INSTITUTION_READERS[who] else 404), (who, target, r.text)


@pytest.mark.parametrize(("who", "readable"), [("supervisor_a", {"agreement_a"}), ("hr", {"agreement_a"}),
                                               ("other_hr", {"agreement_b"}), ("expert_a", set()),
                                               ("admin", {"agreement_a", "agreement_b"})])
async def test_agreement_figures_are_visible_only_in_scope(client: Any, world: World, who: str,
                                                           readable: set[str]) -> None:
    headers = await world.headers(client, who)
    for target in ("agreement_a", "agreement_b"):
        r = await client.get(f"/api/v1/stats/agreements/{getattr(world, target).id}", headers=headers)
        assert r.status_code == (200 if target in readable else 404), (who, target, r.text)


async def test_expert_figures_show_approved_by_month_and_pending_apart(
    client: Any, world: World, session: AsyncSession
) -> None:
    dep = world.deployment_a
    today = date.today()
    await add_entry(session, dep, today, "attendance", {"status": "present"})
    await add_entry(session, dep, today, "clinic", {"session": "am", "patients_first_visit": 7})
    await add_entry(session, dep, today, "clinic", {"session": "pm", "patients_first_visit": 50}, status="submitted")
    await add_entry(session, dep, today, "mentoring", {"trainee_id": str(uuid.uuid4())})
    await session.commit()
    r = await client.get(f"/api/v1/stats/experts/{world.expert_a.id}",
                         params={"from": str(today), "to": str(today)},
                         headers=await world.headers(client, "hr"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["from"] == str(today.replace(day=1))
    assert body["totals"]["patients"] == 7
    assert body["totals"]["counts"]["clinic"] == 1
    assert body["totals"]["on_site_days"] == 1
    assert body["totals"]["trainees"] == 1
    assert body["pending"] == {"entries": 1, "by_type": {"clinic": 1}}
    assert [m["month"] for m in body["by_month"]] == [today.strftime("%Y-%m")]
    service = body["service"]
    assert service["counted_days"] == 1
    assert service["required_days"] == 365
    assert service["met"] is False
    assert service["rules"]["count_travel_days"] is True


async def test_recipient_year_reports_stationing_and_the_targets_table(client: Any, world: World) -> None:
    year = date.today().year
    r = await client.get(f"/api/v1/stats/institutions/{world.hospital_a.id}", params={"year": year},
                         headers=await world.headers(client, "supervisor_a"))
    assert r.status_code == 200, r.text
    rec = r.json()["recipient"]
    assert rec["coverage"]["experts_stationed"] == 2
    assert rec["coverage"]["leaders_stationed"] == 1
    rows = {t["key"]: t for t in rec["targets"]}
    assert rows["min_staff"] == {**rows["min_staff"], "required": 5, "achieved": 2, "met": False}
    assert rows["min_leaders"]["met"] is True
    assert r.json()["supporting"] is None


async def test_supporting_year_counts_people_and_person_days(client: Any, world: World) -> None:
    r = await client.get(f"/api/v1/stats/institutions/{world.home.id}", headers=await world.headers(client, "hr"))
    assert r.status_code == 200, r.text
    sup = r.json()["supporting"]
    assert sup["people_dispatched"] == 2
    today = date.fromisoformat(r.json()["as_of"])  # the service's local day (Asia/Shanghai), not the test's
    start = max(world.deployment_a.starts_on, date(today.year, 1, 1))
    assert sup["person_days"] == 2 * ((today - start).days + 1)
    assert [b["name"] for b in sup["by_recipient"]] == [world.hospital_a.name]


async def test_bad_parameters_are_problems(client: Any, world: World) -> None:
    headers = await world.headers(client, "admin")
    r = await client.get(f"/api/v1/stats/institutions/{world.hospital_a.id}", params={"year": 1900}, headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.get(f"/api/v1/stats/experts/{world.expert_a.id}", params={"from": "2025-13-01"}, headers=headers)
    assert r.status_code == 422  # a parameter that is not a date: 422 naming it
    assert [e["field"] for e in r.json()["errors"]] == ["from"]
    later = date.today() + timedelta(days=400)
    r = await client.get(f"/api/v1/stats/experts/{world.expert_a.id}", params={"from": str(later),
                                                                                "to": str(date.today())},
                         headers=headers)
    assert r.status_code == 422
    r = await client.get(f"/api/v1/stats/experts/{world.expert_a.id}")
    assert r.status_code == 401
