"""The activity catalogue and the validation of an entry's fields against it."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import msgspec
import pytest

from backend.errors import FieldError
from backend.worklog.catalog import CATALOG, Catalog, catalog_etag, catalog_json, get_type
from backend.worklog.privacy import hash_record_number
from backend.worklog.validation import CROSS_RULES, validate_fields

KEY = b"test-record-key-0123456789abcdef"
TRAINEE = "6f1c2f0e-8a4b-4c47-9a31-2f6f3f5d8b10"
REMOVE = object()

# One valid entry per activity type, with every field the form offers filled in.
VALID: dict[str, dict[str, Any]] = {
    "clinic": {
        "session": "am",
        "patients_first_visit": 18,
        "patients_follow_up": 7,
        "difficult_cases": 2,
        "referred_up": 1,
        "referred_down": 0,
        "local_doctor": "王医生",
    },
    "surgery": {
        "procedure_name": "腹腔镜胆囊切除术",
        "procedure_code": "51.2301",
        "grade": "grade_3",
        "role": "supervising",
        "local_surgeon": "李明",
        "local_surgeon_role": "primary",
        "urgency": "elective",
        "anaesthesia": "general",
        "duration_minutes": 95,
        "first_case_of_new_technique": True,
        "complication": "无",
        "patient_record_number": "ZY-2024-00123",
        "patient_sex": "female",
        "patient_age": 54,
    },
    "teaching_round": {
        "ward": "普外科二病区",
        "cases": 3,
        "attendees": 12,
        "teaching_points": "术后早期活动",
    },
    "lecture": {
        "title": "急性胸痛的识别与处理",
        "hours": 1.5,
        "mode": "on_site",
        "audience_count": 80,
        "audience_level": "mixed",
        "credits": 1,
    },
    "case_discussion": {
        "kind": "mdt",
        "diagnosis": "重症急性胰腺炎",
        "departments": ["surgery", "critical_care", "imaging"],
        "conclusion": "继续保守治疗",
        "plan_changed": True,
    },
    "free_clinic": {
        "place": "青山村卫生室",
        "place_level": "village",
        "people_served": 150,
        "health_talks": 1,
        "free_tests": 120,
    },
    "remote_consultation": {
        "requesting_institution": "石门镇卫生院",
        "kind": "ecg",
        "duration_minutes": 20,
        "advice": "建议转上级医院行冠脉造影",
    },
    "new_technique": {
        "name": "经皮肾镜碎石术",
        "category": "surgical",
        "committee_approved": True,
        "first_case_date": "2024-04-18",
        "cases": 6,
        "local_staff_performing": 2,
    },
    "mentoring": {
        "trainee_id": TRAINEE,
        "trainee_post": "physician",
        "goals": "独立完成腹腔镜阑尾切除",
        "assessment": "good",
        "hours": 2,
    },
    "management": {
        "meetings_chaired": 1,
        "rules_drafted": 2,
        "departments_built": 0,
        "hours": 3,
        "summary": "修订手术分级管理制度",
    },
    "emergency": {"condition": "急性心肌梗死", "outcome": "transferred", "patients": 1},
    "attendance": {"status": "present", "check_in": "07:55", "check_out": "17:40"},
}


def with_changes(activity_type: str, changes: dict[str, Any]) -> dict[str, Any]:
    fields = dict(VALID[activity_type])
    for name, value in changes.items():
        if value is REMOVE:
            fields.pop(name, None)
        else:
            fields[name] = value
    return fields


def codes(errors: list[FieldError]) -> set[tuple[str, str]]:
    return {(e.field, e.code) for e in errors}


# --- the catalogue itself -------------------------------------------------------------------------------


def test_catalog_has_every_activity_type_named_by_the_product() -> None:
    assert [t.key for t in CATALOG.activity_types] == list(VALID)
    assert CATALOG.version == 1


@pytest.mark.parametrize("activity", CATALOG.activity_types, ids=lambda t: t.key)
def test_every_field_is_well_formed(activity: Any) -> None:
    names = [f.name for f in activity.fields]
    assert len(names) == len(set(names)), "field names repeat"
    assert activity.label_zh
    assert activity.label_en
    for spec in activity.fields:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", spec.name)
        assert spec.label_zh
        assert spec.label_en
        if spec.type in ("enum", "multi_enum"):
            values = [c.value for c in spec.choices or []]
            assert values
            assert len(values) == len(set(values))
            assert all(re.fullmatch(r"[a-z][a-z0-9_]*", v) for v in values)
            assert all(c.label_zh and c.label_en for c in spec.choices or [])
        else:
            assert spec.choices is None
        if spec.type in ("int", "number"):
            assert spec.minimum is not None
            assert spec.maximum is not None
            assert spec.minimum < spec.maximum
        if spec.type == "text":
            assert spec.max_length is not None
            assert spec.max_length <= 2000


def test_required_fields_and_bounds_match_the_spec() -> None:
    surgery = get_type("surgery")
    assert surgery is not None
    required = {f.name for f in surgery.fields if f.required}
    assert required == {"procedure_name", "grade", "role"}
    grades = next(f for f in surgery.fields if f.name == "grade")
    assert [(c.value, c.label_zh) for c in grades.choices or []] == [
        ("grade_1", "一级"),
        ("grade_2", "二级"),
        ("grade_3", "三级"),
        ("grade_4", "四级"),
    ]
    lecture = get_type("lecture")
    assert lecture is not None
    hours = next(f for f in lecture.fields if f.name == "hours")
    assert (hours.minimum, hours.maximum, hours.unit, hours.required) == (0.25, 24, "h", True)


def test_get_type_returns_none_for_an_unknown_key() -> None:
    assert get_type("clinic") is CATALOG.activity_types[0]
    assert get_type("karaoke") is None


def test_catalog_json_round_trips_into_the_same_catalog() -> None:
    decoded = msgspec.json.decode(catalog_json(), type=Catalog)
    assert decoded == CATALOG
    raw = msgspec.json.decode(catalog_json())
    assert raw["activity_types"][0]["fields"][0]["choices"][0] == {
        "value": "am",
        "label_zh": "上午",
        "label_en": "Morning",
    }


def test_etag_is_strong_stable_and_derived_from_the_bytes() -> None:
    etag = catalog_etag()
    assert etag == catalog_etag()
    assert catalog_json() is catalog_json()  # encoded once
    assert re.fullmatch(r'"c1-[0-9a-f]{16}"', etag)
    assert etag[4:-1] == hashlib.sha256(catalog_json()).hexdigest()[:16]


def test_etag_is_the_same_when_the_catalogue_is_encoded_again() -> None:
    # Several API nodes behind one load balancer must answer the same ETag.
    again = hashlib.sha256(msgspec.json.encode(CATALOG)).hexdigest()[:16]
    assert catalog_etag() == f'"c1-{again}"'


def test_cross_rules_name_only_fields_of_their_type() -> None:
    for key, rules in CROSS_RULES.items():
        activity = get_type(key)
        assert activity is not None
        names = {f.name for f in activity.fields}
        for depends_on, _rule in rules:
            assert set(depends_on) <= names


# --- valid entries ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("activity_type", list(VALID))
def test_valid_entry_of_each_type_has_no_errors(activity_type: str) -> None:
    clean, errors = validate_fields(activity_type, VALID[activity_type], record_key=KEY)
    assert errors == []
    assert set(clean) == set(VALID[activity_type])


@pytest.mark.parametrize("activity_type", list(VALID))
def test_only_required_fields_are_enough(activity_type: str) -> None:
    activity = get_type(activity_type)
    assert activity is not None
    minimal = {f.name: VALID[activity_type][f.name] for f in activity.fields if f.required}
    # A clinic needs a patient and management work needs something recorded, whatever is required.
    minimal |= {"clinic": {"patients_follow_up": 1}, "management": {"hours": 1}}.get(activity_type, {})
    _clean, errors = validate_fields(activity_type, minimal, record_key=KEY)
    assert errors == []


def test_clean_values_are_normalised() -> None:
    fields = {
        "trainee_id": TRAINEE.upper(),
        "hours": 2,
        "goals": "  独立完成阑尾切除  ",
        "assessment": "",
        "trainee_post": None,
    }
    clean, errors = validate_fields("mentoring", fields, record_key=KEY)
    assert errors == []
    assert clean == {"trainee_id": TRAINEE, "hours": 2.0, "goals": "独立完成阑尾切除"}
    assert isinstance(clean["hours"], float)


def test_record_number_is_kept_only_as_hash_and_mask() -> None:
    clean, errors = validate_fields("surgery", VALID["surgery"], record_key=KEY)
    assert errors == []
    record = clean["patient_record_number"]
    assert record == {"hash": hash_record_number(KEY, "ZY202400123"), "masked": "****123"}
    assert "ZY-2024-00123" not in msgspec.json.encode(clean).decode()


def test_dates_and_times_stay_iso_strings() -> None:
    clean, _ = validate_fields("new_technique", VALID["new_technique"], record_key=KEY)
    assert clean["first_case_date"] == "2024-04-18"
    clean, _ = validate_fields("attendance", VALID["attendance"], record_key=KEY)
    assert (clean["check_in"], clean["check_out"]) == ("07:55", "17:40")


def test_repeated_choices_are_folded() -> None:
    fields = with_changes("case_discussion", {"departments": ["surgery", "imaging", "surgery"]})
    clean, errors = validate_fields("case_discussion", fields, record_key=KEY)
    assert errors == []
    assert clean["departments"] == ["surgery", "imaging"]


# --- every rule each type can break -----------------------------------------------------------------------

BREAKS: list[tuple[str, dict[str, Any], str, str]] = [
    # clinic
    ("clinic", {"session": REMOVE}, "fields.session", "required"),
    ("clinic", {"session": "evening"}, "fields.session", "invalid_choice"),
    ("clinic", {"patients_first_visit": 301}, "fields.patients_first_visit", "out_of_range"),
    ("clinic", {"patients_follow_up": -1}, "fields.patients_follow_up", "out_of_range"),
    ("clinic", {"patients_first_visit": "18"}, "fields.patients_first_visit", "type"),
    ("clinic", {"patients_first_visit": 18.0}, "fields.patients_first_visit", "type"),
    ("clinic", {"patients_first_visit": True}, "fields.patients_first_visit", "type"),
    (
        "clinic",
        {"patients_first_visit": 0, "patients_follow_up": 0},
        "fields.patients_first_visit",
        "no_patients",
    ),
    (
        "clinic",
        {"patients_first_visit": REMOVE, "patients_follow_up": REMOVE},
        "fields.patients_first_visit",
        "no_patients",
    ),
    ("clinic", {"difficult_cases": 26}, "fields.difficult_cases", "exceeds_patients"),
    ("clinic", {"referred_up": 30}, "fields.referred_up", "exceeds_patients"),
    ("clinic", {"local_doctor": "王" * 101}, "fields.local_doctor", "too_long"),
    ("clinic", {"local_doctor": "患者电话13812345678"}, "fields.local_doctor", "personal_data"),
    ("clinic", {"stethoscope": "yes"}, "fields.stethoscope", "unknown_field"),
    # surgery
    ("surgery", {"procedure_name": REMOVE}, "fields.procedure_name", "required"),
    ("surgery", {"procedure_name": "   "}, "fields.procedure_name", "required"),
    ("surgery", {"procedure_code": "cholecystectomy"}, "fields.procedure_code", "invalid_format"),
    ("surgery", {"grade": "grade_5"}, "fields.grade", "invalid_choice"),
    ("surgery", {"grade": 3}, "fields.grade", "invalid_choice"),
    ("surgery", {"role": REMOVE}, "fields.role", "required"),
    ("surgery", {"role": "nurse"}, "fields.role", "invalid_choice"),
    (
        "surgery",
        {"role": "primary", "local_surgeon_role": "primary"},
        "fields.local_surgeon_role",
        "role_conflict",
    ),
    ("surgery", {"local_surgeon_role": "anaesthetist"}, "fields.local_surgeon_role", "invalid_choice"),
    ("surgery", {"urgency": "urgent"}, "fields.urgency", "invalid_choice"),
    ("surgery", {"anaesthesia": "acupuncture"}, "fields.anaesthesia", "invalid_choice"),
    ("surgery", {"duration_minutes": 0}, "fields.duration_minutes", "out_of_range"),
    ("surgery", {"duration_minutes": 1441}, "fields.duration_minutes", "out_of_range"),
    ("surgery", {"first_case_of_new_technique": "yes"}, "fields.first_case_of_new_technique", "type"),
    ("surgery", {"first_case_of_new_technique": 1}, "fields.first_case_of_new_technique", "type"),
    ("surgery", {"complication": "x" * 501}, "fields.complication", "too_long"),
    ("surgery", {"complication": "患者身份证110105194912310021"}, "fields.complication", "personal_data"),
    ("surgery", {"complication": "bad\x00byte"}, "fields.complication", "invalid_characters"),
    (
        "surgery",
        {"patient_record_number": "110105194912310021"},
        "fields.patient_record_number",
        "personal_data",
    ),
    ("surgery", {"patient_record_number": "住院#123"}, "fields.patient_record_number", "invalid_format"),
    ("surgery", {"patient_record_number": 123456}, "fields.patient_record_number", "type"),
    ("surgery", {"patient_sex": "m"}, "fields.patient_sex", "invalid_choice"),
    ("surgery", {"patient_age": 121}, "fields.patient_age", "out_of_range"),
    ("surgery", {"patient_name": "张三"}, "fields.patient_name", "unknown_field"),
    # teaching_round
    ("teaching_round", {"attendees": REMOVE}, "fields.attendees", "required"),
    ("teaching_round", {"attendees": 0}, "fields.attendees", "out_of_range"),
    ("teaching_round", {"cases": 51}, "fields.cases", "out_of_range"),
    ("teaching_round", {"teaching_points": "x" * 2001}, "fields.teaching_points", "too_long"),
    ("teaching_round", {"ward": ["A"]}, "fields.ward", "type"),
    # lecture
    ("lecture", {"title": REMOVE}, "fields.title", "required"),
    ("lecture", {"hours": REMOVE}, "fields.hours", "required"),
    ("lecture", {"hours": 0.1}, "fields.hours", "out_of_range"),
    ("lecture", {"hours": 25}, "fields.hours", "out_of_range"),
    ("lecture", {"hours": "1.5"}, "fields.hours", "type"),
    ("lecture", {"hours": float("nan")}, "fields.hours", "type"),
    ("lecture", {"mode": "hybrid"}, "fields.mode", "invalid_choice"),
    ("lecture", {"audience_count": 2001}, "fields.audience_count", "out_of_range"),
    ("lecture", {"audience_level": "city"}, "fields.audience_level", "invalid_choice"),
    ("lecture", {"credits": -1}, "fields.credits", "out_of_range"),
    # case_discussion
    ("case_discussion", {"diagnosis": REMOVE}, "fields.diagnosis", "required"),
    ("case_discussion", {"kind": "chat"}, "fields.kind", "invalid_choice"),
    ("case_discussion", {"departments": ["surgery", "astrology"]}, "fields.departments", "invalid_choice"),
    ("case_discussion", {"departments": "surgery"}, "fields.departments", "type"),
    ("case_discussion", {"plan_changed": "true"}, "fields.plan_changed", "type"),
    ("case_discussion", {"conclusion": "联系家属 138-1234-5678"}, "fields.conclusion", "personal_data"),
    # free_clinic
    ("free_clinic", {"place": REMOVE}, "fields.place", "required"),
    ("free_clinic", {"people_served": REMOVE}, "fields.people_served", "required"),
    ("free_clinic", {"people_served": 0}, "fields.people_served", "out_of_range"),
    ("free_clinic", {"place_level": "city"}, "fields.place_level", "invalid_choice"),
    ("free_clinic", {"health_talks": 51}, "fields.health_talks", "out_of_range"),
    ("free_clinic", {"free_tests": -3}, "fields.free_tests", "out_of_range"),
    # remote_consultation
    ("remote_consultation", {"requesting_institution": REMOVE}, "fields.requesting_institution", "required"),
    ("remote_consultation", {"kind": "dental"}, "fields.kind", "invalid_choice"),
    ("remote_consultation", {"duration_minutes": 2000}, "fields.duration_minutes", "out_of_range"),
    ("remote_consultation", {"advice": "+86 139 0000 1111 回电"}, "fields.advice", "personal_data"),
    # new_technique
    ("new_technique", {"name": REMOVE}, "fields.name", "required"),
    ("new_technique", {"category": "magic"}, "fields.category", "invalid_choice"),
    ("new_technique", {"committee_approved": "no"}, "fields.committee_approved", "type"),
    ("new_technique", {"first_case_date": "2024-02-30"}, "fields.first_case_date", "invalid_format"),
    ("new_technique", {"first_case_date": "18/04/2024"}, "fields.first_case_date", "invalid_format"),
    ("new_technique", {"first_case_date": "20240418"}, "fields.first_case_date", "invalid_format"),
    ("new_technique", {"first_case_date": "0024-04-18"}, "fields.first_case_date", "out_of_range"),
    ("new_technique", {"cases": 1001}, "fields.cases", "out_of_range"),
    ("new_technique", {"local_staff_performing": -1}, "fields.local_staff_performing", "out_of_range"),
    # mentoring
    ("mentoring", {"trainee_id": REMOVE}, "fields.trainee_id", "required"),
    ("mentoring", {"trainee_id": "王小明"}, "fields.trainee_id", "invalid_format"),
    ("mentoring", {"trainee_id": "6f1c2f0e8a4b4c479a312f6f3f5d8b10"}, "fields.trainee_id", "invalid_format"),
    ("mentoring", {"trainee_post": "surgeon"}, "fields.trainee_post", "invalid_choice"),
    ("mentoring", {"assessment": "outstanding"}, "fields.assessment", "invalid_choice"),
    ("mentoring", {"hours": 0}, "fields.hours", "out_of_range"),
    # management
    ("management", {"meetings_chaired": 51}, "fields.meetings_chaired", "out_of_range"),
    ("management", {"rules_drafted": -1}, "fields.rules_drafted", "out_of_range"),
    ("management", {"departments_built": 11}, "fields.departments_built", "out_of_range"),
    ("management", {"hours": 30}, "fields.hours", "out_of_range"),
    ("management", dict.fromkeys(VALID["management"], REMOVE), "fields", "nothing_recorded"),
    # emergency
    ("emergency", {"condition": REMOVE}, "fields.condition", "required"),
    ("emergency", {"outcome": "fine"}, "fields.outcome", "invalid_choice"),
    ("emergency", {"patients": 0}, "fields.patients", "out_of_range"),
    # attendance
    ("attendance", {"status": REMOVE}, "fields.status", "required"),
    ("attendance", {"status": "absent"}, "fields.status", "invalid_choice"),
    ("attendance", {"check_in": "7:55"}, "fields.check_in", "invalid_format"),
    ("attendance", {"check_in": "24:00"}, "fields.check_in", "invalid_format"),
    ("attendance", {"check_out": "17:40:00"}, "fields.check_out", "invalid_format"),
    ("attendance", {"check_out": "07:30"}, "fields.check_out", "check_out_before_check_in"),
    ("attendance", {"check_out": "07:55"}, "fields.check_out", "check_out_before_check_in"),
]


@pytest.mark.parametrize(
    ("activity_type", "changes", "field", "code"),
    BREAKS,
    ids=[f"{t}-{code}-{field.removeprefix('fields.')}" for t, _, field, code in BREAKS],
)
def test_each_broken_rule_is_reported_on_its_field(
    activity_type: str, changes: dict[str, Any], field: str, code: str
) -> None:
    _clean, errors = validate_fields(activity_type, with_changes(activity_type, changes), record_key=KEY)
    assert codes(errors) == {(field, code)}
    assert all(e.message for e in errors)


def test_every_activity_type_has_a_broken_rule_test() -> None:
    assert {t for t, *_ in BREAKS} == set(VALID)


def test_all_errors_are_returned_at_once() -> None:
    fields = with_changes(
        "surgery",
        {
            "procedure_name": REMOVE,
            "grade": "grade_9",
            "duration_minutes": -5,
            "complication": "电话 13912345678",
            "patient_age": "fifty",
            "surgeon_mood": "tired",
        },
    )
    _clean, errors = validate_fields("surgery", fields, record_key=KEY)
    assert codes(errors) == {
        ("fields.procedure_name", "required"),
        ("fields.grade", "invalid_choice"),
        ("fields.duration_minutes", "out_of_range"),
        ("fields.complication", "personal_data"),
        ("fields.patient_age", "type"),
        ("fields.surgeon_mood", "unknown_field"),
    }


def test_cross_rule_waits_until_its_fields_are_valid() -> None:
    fields = with_changes("clinic", {"patients_first_visit": "many", "patients_follow_up": REMOVE})
    _clean, errors = validate_fields("clinic", fields, record_key=KEY)
    assert codes(errors) == {("fields.patients_first_visit", "type")}


def test_personal_data_message_names_the_kind_of_identifier() -> None:
    fields = with_changes("emergency", {"condition": "身份证 11010519491231002X"})
    _clean, errors = validate_fields("emergency", fields, record_key=KEY)
    assert "national ID number" in errors[0].message
    assert "Patient identifiers may not be recorded" in errors[0].message
    fields = with_changes("emergency", {"condition": "家属 13812345678"})
    _clean, errors = validate_fields("emergency", fields, record_key=KEY)
    assert "mobile phone number" in errors[0].message


def test_unknown_activity_type_is_an_error_on_activity_type() -> None:
    clean, errors = validate_fields("karaoke", {}, record_key=KEY)
    assert clean == {}
    assert codes(errors) == {("activity_type", "unknown_type")}


@pytest.mark.parametrize("fields", [None, [], "session=am", 3])
def test_fields_that_are_not_an_object_are_refused(fields: object) -> None:
    _clean, errors = validate_fields("clinic", fields, record_key=KEY)
    assert codes(errors) == {("fields", "type")}


def test_error_paths_use_the_given_prefix() -> None:
    _clean, errors = validate_fields("lecture", {"hours": 1}, record_key=KEY, prefix="entries.3.fields")
    assert codes(errors) == {("entries.3.fields.title", "required")}


def test_record_numbers_that_look_like_mobiles_are_accepted() -> None:
    # Many hospitals number records with 11 digits; they are hashed, never shown, so they are not refused.
    fields = with_changes("surgery", {"patient_record_number": "13812345678"})
    clean, errors = validate_fields("surgery", fields, record_key=KEY)
    assert errors == []
    record = clean["patient_record_number"]
    assert isinstance(record, dict)
    assert record["masked"] == "****678"
