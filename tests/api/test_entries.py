"""Entries over HTTP: one valid entry per activity type, each kind of rule it can break, idempotent create."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from backend.models import Deployment, Entry, User
from tests.api.test_auth import problem
from tests.factories import World

YESTERDAY = date.today() - timedelta(days=1)

VALID: dict[str, dict[str, Any]] = {
    "clinic": {"session": "am", "patients_first_visit": 12, "patients_follow_up": 5, "referred_up": 1},
    "surgery": {"procedure_name": "腹腔镜胆囊切除术", "procedure_code": "51.23", "grade": "grade_3", "role": "primary",
                "local_surgeon_role": "first_assistant", "urgency": "elective", "duration_minutes": 95,
                "patient_record_number": "ZY2024-0012", "patient_sex": "female", "patient_age": 46},
    "teaching_round": {"ward": "外科二病区", "cases": 3, "attendees": 8, "teaching_points": "术后早期下床"},
    "lecture": {"title": "急性胸痛的鉴别诊断", "hours": 2, "mode": "on_site", "audience_count": 60},
    "case_discussion": {"kind": "mdt", "diagnosis": "胰头占位", "departments": ["surgery", "imaging"],
                        "plan_changed": True},
    "free_clinic": {"place": "石门乡卫生院", "place_level": "township", "people_served": 130, "free_tests": 40},
    "remote_consultation": {"requesting_institution": "石门乡卫生院", "kind": "ecg", "duration_minutes": 20},
    "new_technique": {"name": "经皮椎体成形术", "category": "interventional", "first_case_date": "2025-03-01",
                      "cases": 2},
    "mentoring": {"assessment": "good", "goals": "独立完成腹腔镜阑尾切除", "hours": 3},  # trainee_id added per test
    "management": {"meetings_chaired": 2, "summary": "修订手术分级管理制度"},
    "emergency": {"condition": "多发伤失血性休克", "outcome": "survived", "patients": 1},
    "attendance": {"status": "present", "check_in": "08:00", "check_out": "17:30"},
}

# One broken rule per activity type: (fields change, field at fault, error code).
BROKEN: list[tuple[str, dict[str, Any], str, str]] = [
    ("clinic", {"patients_first_visit": 0, "patients_follow_up": 0, "referred_up": 0}, "fields.patients_first_visit",
     "no_patients"),
    ("clinic", {"patients_first_visit": 301}, "fields.patients_first_visit", "out_of_range"),
    ("clinic", {"referred_up": 40}, "fields.referred_up", "exceeds_patients"),
    ("surgery", {"local_surgeon_role": "primary"}, "fields.local_surgeon_role", "role_conflict"),
    ("surgery", {"grade": "grade_5"}, "fields.grade", "invalid_choice"),
    ("surgery", {"procedure_code": "abc"}, "fields.procedure_code", "invalid_format"),
    ("surgery", {"patient_record_number": "110105198001011234"}, "fields.patient_record_number", "personal_data"),
    ("surgery", {"procedure_name": None}, "fields.procedure_name", "required"),
    ("teaching_round", {"attendees": 0}, "fields.attendees", "out_of_range"),
    ("lecture", {"hours": 30}, "fields.hours", "out_of_range"),
    ("lecture", {"audience_count": "sixty"}, "fields.audience_count", "type"),
    ("case_discussion", {"departments": ["astrology"]}, "fields.departments", "invalid_choice"),
    ("free_clinic", {"people_served": None}, "fields.people_served", "required"),
    ("remote_consultation", {"kind": "video"}, "fields.kind", "invalid_choice"),
    ("new_technique", {"first_case_date": "2025/03/01"}, "fields.first_case_date", "invalid_format"),
    ("mentoring", {"trainee_id": "not-a-uuid"}, "fields.trainee_id", "invalid_format"),
    ("mentoring", {"trainee_id": str(uuid.uuid4())}, "fields.trainee_id", "unknown_trainee"),
    ("management", {"meetings_chaired": None, "summary": None}, "fields", "nothing_recorded"),
    ("emergency", {"condition": "患者电话13812345678"}, "fields.condition", "personal_data"),
    ("attendance", {"check_out": "07:00"}, "fields.check_out", "check_out_before_check_in"),
    ("attendance", {"status": "holiday"}, "fields.status", "invalid_choice"),
    ("clinic", {"favourite_colour": "blue"}, "fields.favourite_colour", "unknown_field"),
]

# Rules of the entry itself, whatever its type: (body change, field at fault, error code).
ENTRY_RULES: list[tuple[dict[str, Any], str, str]] = [
    ({"work_date": str(date.today() - timedelta(days=400))}, "work_date", "before_deployment"),
    ({"work_date": str(date.today() + timedelta(days=5))}, "work_date", "in_future"),
    ({"start_time": "10:00:00", "end_time": "09:00:00"}, "end_time", "end_before_start"),
    ({"duration_minutes": 2000}, "duration_minutes", "out_of_range"),
    ({"note": "病人身份证 110105198001011234"}, "note", "personal_data"),
    ({"location": {"lat": 30.1, "lon": 110.2}}, "location", "consent_required"),
    ({"device_time": "2099-01-01T00:00:00+08:00"}, "device_time", "device_clock_in_future"),
    ({"activity_type": "karaoke"}, "activity_type", "unknown_type"),
]


def entry_body(world: World, activity_type: str = "clinic", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": str(uuid.uuid4()), "deployment_id": str(world.deployment_a.id),
                            "work_date": str(YESTERDAY), "activity_type": activity_type,
                            "fields": dict(VALID.get(activity_type, {})), "device_time": "2025-01-01T08:00:00+08:00"}
    body.update(overrides)
    return body


async def make_trainee(client: Any, world: World, who: str = "expert_a", hospital: Any = None) -> str:
    hospital = hospital or world.hospital_a
    r = await client.post("/api/v1/trainees", headers=await world.headers(client, who),
                          json={"institution_id": str(hospital.id), "name": "王骨干", "post": "主治医师",
                                "department": "普外科"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def create(client: Any, world: World, body: dict[str, Any], who: str = "expert_a") -> Any:
    return await client.post("/api/v1/entries", json=body, headers=await world.headers(client, who))


# The cases below run in one test each (one database set-up, not one per case) and report every failing case.


async def test_each_activity_type_has_a_valid_entry(client: Any, world: World) -> None:
    trainee_id = await make_trainee(client, world)
    for day, activity_type in enumerate(VALID, start=1):
        body = entry_body(world, activity_type, work_date=str(date.today() - timedelta(days=day)))
        if activity_type == "mentoring":
            body["fields"]["trainee_id"] = trainee_id
        r = await create(client, world, body)
        assert r.status_code == 201, (activity_type, r.text)
        out = r.json()
        assert (out["id"], out["activity_type"], out["status"], out["version"]) == (
            body["id"], activity_type, "draft", 1)
        assert r.headers["etag"] == '"1"'
        assert out["expert_id"] == str(world.expert_a.id)
        assert out["institution_id"] == str(world.hospital_a.id)
        if activity_type == "surgery":
            # The raw record number is never stored or echoed: only a keyed hash and a masked display.
            assert set(out["fields"]["patient_record_number"]) == {"hash", "masked"}
            assert "ZY2024-0012" not in r.text


async def test_each_broken_type_rule_names_the_field(client: Any, world: World, session: Any) -> None:
    trainee_id = await make_trainee(client, world)
    missed = []
    for activity_type, change, field, code in BROKEN:
        body = entry_body(world, activity_type)
        if activity_type == "mentoring":
            body["fields"]["trainee_id"] = trainee_id
        body["fields"].update(change)
        body["fields"] = {k: v for k, v in body["fields"].items() if v is not None}
        errors = problem(await create(client, world, body), 422)["errors"]
        if (field, code) not in [(e["field"], e["code"]) for e in errors]:
            missed.append((activity_type, field, code, errors))
    assert missed == []
    assert (await session.execute(select(Entry))).first() is None


async def test_each_entry_rule_names_the_field(client: Any, world: World) -> None:
    missed = []
    for change, field, code in ENTRY_RULES:
        errors = problem(await create(client, world, entry_body(world, **change)), 422)["errors"]
        if (field, code) not in [(e["field"], e["code"]) for e in errors]:
            missed.append((field, code, errors))
    assert missed == []


async def test_location_is_kept_with_consent(client: Any, world: World, session: Any) -> None:
    await session.execute(update(User).where(User.id == world.expert_a.id).values(location_consent=True))
    await session.commit()
    r = await create(client, world, entry_body(world, location={"lat": 30.1, "lon": 110.2}))
    assert r.status_code == 201
    assert r.json()["location"]["lat"] == 30.1


async def test_work_date_after_deployment_end_plus_grace_is_refused(client: Any, world: World, session: Any) -> None:
    ended = date.today() - timedelta(days=40)
    await session.execute(update(Deployment).where(Deployment.id == world.deployment_a.id).values(actual_end=ended))
    await session.commit()
    errors = problem(await create(client, world, entry_body(world)), 422)["errors"]
    assert ("work_date", "after_deployment") in [(e["field"], e["code"]) for e in errors]
    ok = await create(client, world, entry_body(world, work_date=str(ended + timedelta(days=30))))
    assert ok.status_code == 201, ok.text


async def test_second_attendance_on_the_same_day_is_refused(client: Any, world: World) -> None:
    assert (await create(client, world, entry_body(world, "attendance"))).status_code == 201
    errors = problem(await create(client, world, entry_body(world, "attendance")), 422)["errors"]
    assert errors[0]["field"] == "work_date"
    assert errors[0]["code"] == "attendance_exists"


async def test_mentoring_a_trainee_of_another_hospital_is_refused(client: Any, world: World) -> None:
    other = await make_trainee(client, world, who="expert_b", hospital=world.hospital_b)
    body = entry_body(world, "mentoring")
    body["fields"]["trainee_id"] = other
    errors = problem(await create(client, world, body), 422)["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("fields.trainee_id", "unknown_trainee")]


async def test_retried_create_answers_the_same_entry(client: Any, world: World, session: Any) -> None:
    body = entry_body(world)
    first = await create(client, world, body)
    again = await create(client, world, body)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert len((await session.execute(select(Entry))).all()) == 1


async def test_same_id_with_other_content_is_409_with_current(client: Any, world: World) -> None:
    body = entry_body(world)
    first = (await create(client, world, body)).json()
    body["fields"]["patients_first_visit"] = 13
    conflict = problem(await create(client, world, body), 409)
    assert conflict["reason"] == "id_conflict"
    assert conflict["current"] == first
