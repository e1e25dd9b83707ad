"""The versioned catalogue of activity types the phone draws its forms from.

Validation of an entry's fields against this catalogue lives in `backend.worklog.validation`
(`validate_fields`).
"""

from __future__ import annotations

import functools
import hashlib
from typing import Literal

import msgspec

FieldType = Literal[
    "int", "number", "text", "bool", "enum", "multi_enum", "date", "time", "uuid", "record_number"
]

# The phone caches forms by this number; bump it whenever a field or bound changes meaning.
CATALOG_VERSION = 1
TEXT_MAX_LENGTH = 500
LONG_TEXT_MAX_LENGTH = 2000


class Choice(msgspec.Struct, kw_only=True, frozen=True):
    """One allowed value of an enum field, with its labels."""

    value: str
    label_zh: str
    label_en: str


class FieldSpec(msgspec.Struct, kw_only=True, frozen=True):
    """One field of an activity type: its type, labels and the bounds the server enforces."""

    name: str
    type: FieldType
    label_zh: str
    label_en: str
    required: bool = False
    unit: str | None = None
    choices: list[Choice] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    help_en: str | None = None
    # A regular expression (Python and JavaScript compatible) the trimmed text must match in full.
    pattern: str | None = None


class ActivityType(msgspec.Struct, kw_only=True, frozen=True):
    """A kind of work an expert logs; `figures` names the statistics figures it adds to."""

    key: str
    label_zh: str
    label_en: str
    fields: list[FieldSpec]
    figures: list[str]


class Catalog(msgspec.Struct, kw_only=True, frozen=True):
    """Every activity type, under one version number."""

    version: int
    activity_types: list[ActivityType]


def _choices(*items: str) -> list[Choice]:
    # Each item is "value 中文 English label": compact enough to read the catalogue as a table.
    triples = (item.split(" ", 2) for item in items)
    return [Choice(value=value, label_zh=zh, label_en=en) for value, zh, en in triples]


def _enum(name: str, zh: str, en: str, *choices: str, required: bool = False) -> FieldSpec:
    return FieldSpec(
        name=name, type="enum", label_zh=zh, label_en=en, required=required, choices=_choices(*choices)
    )


def _int(
    name: str, zh: str, en: str, lo: int, hi: int, *, required: bool = False, unit: str | None = None
) -> FieldSpec:
    return FieldSpec(
        name=name, type="int", label_zh=zh, label_en=en, required=required, unit=unit, minimum=lo, maximum=hi
    )


def _hours(*, required: bool = False) -> FieldSpec:
    return FieldSpec(
        name="hours",
        type="number",
        label_zh="学时",
        label_en="Hours",
        required=required,
        unit="h",
        minimum=0.25,
        maximum=24,
    )


def _text(
    name: str, zh: str, en: str, *, required: bool = False, long: bool = False, max_length: int | None = None
) -> FieldSpec:
    length = max_length or (LONG_TEXT_MAX_LENGTH if long else TEXT_MAX_LENGTH)
    return FieldSpec(name=name, type="text", label_zh=zh, label_en=en, required=required, max_length=length)


def _name(name: str, zh: str, en: str) -> FieldSpec:
    help_en = "A colleague's name is fine; never write a patient's name."
    return FieldSpec(name=name, type="text", label_zh=zh, label_en=en, max_length=100, help_en=help_en)


def _bool(name: str, zh: str, en: str) -> FieldSpec:
    return FieldSpec(name=name, type="bool", label_zh=zh, label_en=en)


def _activity(key: str, zh: str, en: str, figures: list[str], *fields: FieldSpec) -> ActivityType:
    return ActivityType(key=key, label_zh=zh, label_en=en, fields=list(fields), figures=figures)


_SURGEON_ROLES = ("primary 主刀 Primary surgeon", "first_assistant 第一助手 First assistant")
_DEPARTMENTS = _choices(
    "internal_medicine 内科 Internal medicine",
    "surgery 外科 Surgery",
    "obstetrics_gynaecology 妇产科 Obstetrics and gynaecology",
    "paediatrics 儿科 Paediatrics",
    "emergency 急诊科 Emergency",
    "critical_care 重症医学科 Critical care",
    "anaesthesia 麻醉科 Anaesthesia",
    "imaging 医学影像科 Medical imaging",
    "laboratory 检验科 Laboratory",
    "pathology 病理科 Pathology",
    "pharmacy 药剂科 Pharmacy",
    "tcm 中医科 Traditional Chinese medicine",
    "rehabilitation 康复医学科 Rehabilitation",
    "ophthalmology 眼科 Ophthalmology",
    "ent 耳鼻咽喉科 ENT",
    "stomatology 口腔科 Stomatology",
    "dermatology 皮肤科 Dermatology",
    "psychiatry 精神科 Psychiatry",
    "oncology 肿瘤科 Oncology",
    "infectious_diseases 感染科 Infectious diseases",
    "nursing 护理部 Nursing",
    "other 其他 Other",
)

# A data table reads best one field per line, so the formatter is told to leave it alone.
# fmt: off
CATALOG = Catalog(
    version=CATALOG_VERSION,
    activity_types=[
        _activity(
            "clinic", "专家门诊", "Expert clinic", ["patients"],
            _enum("session", "时段", "Session",
                  "am 上午 Morning", "pm 下午 Afternoon", "full_day 全天 Full day", required=True),
            _int("patients_first_visit", "初诊人数", "First-visit patients", 0, 300),
            _int("patients_follow_up", "复诊人数", "Follow-up patients", 0, 300),
            _int("difficult_cases", "疑难病例数", "Difficult cases", 0, 300),
            _int("referred_up", "上转人数", "Patients referred up", 0, 300),
            _int("referred_down", "下转人数", "Patients referred down", 0, 300),
            _name("local_doctor", "跟诊本地医生", "Local doctor seeing patients with you"),
        ),
        _activity(
            "surgery", "手术", "Surgery", ["surgeries"],
            _text("procedure_name", "手术名称", "Procedure", required=True, max_length=200),
            FieldSpec(name="procedure_code", type="text", label_zh="手术编码", label_en="Procedure code",
                      max_length=20, pattern=r"^\d{2}(\.[0-9A-Za-z]{1,8})?$",
                      help_en="ICD-9-CM-3 code if known, e.g. 47.09 or 47.0100x001"),
            _enum("grade", "手术分级", "Grade",
                  "grade_1 一级 Grade 1", "grade_2 二级 Grade 2", "grade_3 三级 Grade 3", "grade_4 四级 Grade 4",
                  required=True),
            _enum("role", "本人角色", "Your role", *_SURGEON_ROLES,
                  "supervising 指导 Supervising at the table", "demonstrating 示教 Demonstrating", required=True),
            _name("local_surgeon", "本地术者", "Local surgeon"),
            _enum("local_surgeon_role", "本地术者角色", "Local surgeon's role", *_SURGEON_ROLES,
                  "second_assistant 第二助手 Second assistant", "observer 观摩 Observer"),
            _enum("urgency", "手术类型", "Urgency", "elective 择期 Elective", "emergency 急诊 Emergency"),
            _enum("anaesthesia", "麻醉方式", "Anaesthesia", "general 全身麻醉 General",
                  "regional 椎管内/区域阻滞 Regional", "local 局部麻醉 Local", "sedation 镇静 Sedation", "none 无 None"),
            _int("duration_minutes", "手术时长", "Duration", 1, 1440, unit="min"),
            _bool("first_case_of_new_technique", "本院首例新技术", "First case of a new technique here"),
            _text("complication", "并发症", "Complication"),
            FieldSpec(name="patient_record_number", type="record_number", label_zh="病案号/住院号",
                      label_en="Patient record number", max_length=32,
                      help_en="Stored only as a keyed hash with a masked display."),
            _enum("patient_sex", "患者性别", "Patient sex",
                  "male 男 Male", "female 女 Female", "unknown 未知 Unknown"),
            _int("patient_age", "患者年龄", "Patient age", 0, 120, unit="years"),
        ),
        _activity(
            "teaching_round", "教学查房", "Teaching round", ["attendees"],
            _text("ward", "病区", "Ward", max_length=100),
            _int("cases", "查房病例数", "Cases", 1, 50),
            _int("attendees", "参加人数", "Attendees", 1, 200, required=True),
            _text("teaching_points", "教学要点", "Teaching points", long=True),
        ),
        _activity(
            "lecture", "业务培训/学术讲座", "Lecture or training", ["teaching_hours", "attendees"],
            _text("title", "题目", "Title", required=True, max_length=200),
            _hours(required=True),
            _enum("mode", "形式", "Mode", "on_site 现场 On site", "online 线上 Online"),
            _int("audience_count", "听课人数", "Audience", 0, 2000),
            _enum("audience_level", "听众层级", "Audience level",
                  "county 县级 County", "township 乡镇 Township", "village 村级 Village", "mixed 混合 Mixed"),
            FieldSpec(name="credits", type="number", label_zh="继续教育学分", label_en="CME credits",
                      minimum=0, maximum=50),
        ),
        _activity(
            "case_discussion", "病例讨论/MDT/会诊", "Case discussion", [],
            _enum("kind", "类型", "Kind", "difficult_case 疑难病例讨论 Difficult case", "mdt 多学科会诊 MDT",
                  "consultation 会诊 Consultation", "death_review 死亡病例讨论 Death review"),
            _text("diagnosis", "诊断", "Diagnosis", required=True, max_length=200),
            FieldSpec(name="departments", type="multi_enum", label_zh="参与科室", label_en="Departments",
                      choices=_DEPARTMENTS),
            _text("conclusion", "讨论结论", "Conclusion", long=True),
            _bool("plan_changed", "是否调整诊疗方案", "Treatment plan changed"),
        ),
        _activity(
            "free_clinic", "义诊", "Free clinic", ["people_served"],
            _text("place", "地点", "Place", required=True, max_length=200),
            _enum("place_level", "地点层级", "Place level",
                  "village 村 Village", "township 乡镇 Township", "county 县城 County town"),
            _int("people_served", "服务人数", "People served", 1, 3000, required=True),
            _int("health_talks", "健康讲座次数", "Health talks", 0, 50),
            _int("free_tests", "免费检查人次", "Free tests", 0, 5000),
        ),
        _activity(
            "remote_consultation", "远程会诊", "Remote consultation", [],
            _text("requesting_institution", "申请机构", "Requesting institution", required=True, max_length=200),
            _enum("kind", "会诊类型", "Kind", "clinical 临床会诊 Clinical", "imaging 影像会诊 Imaging",
                  "ecg 心电会诊 ECG", "pathology 病理会诊 Pathology"),
            _int("duration_minutes", "时长", "Duration", 1, 1440, unit="min"),
            _text("advice", "会诊意见", "Advice", long=True),
        ),
        _activity(
            "new_technique", "新技术新项目", "New technique", ["new_techniques"],
            _text("name", "项目名称", "Name", required=True, max_length=200),
            _enum("category", "类别", "Category", "surgical 手术类 Surgical", "interventional 介入类 Interventional",
                  "diagnostic 诊断检查类 Diagnostic", "therapeutic 治疗类 Therapeutic", "nursing 护理类 Nursing",
                  "other 其他 Other"),
            _bool("committee_approved", "医院技术委员会已批准", "Approved by the hospital committee"),
            FieldSpec(name="first_case_date", type="date", label_zh="首例日期", label_en="First case date"),
            _int("cases", "开展例数", "Cases", 0, 1000),
            _int("local_staff_performing", "可独立开展的本地人员数", "Local staff now performing it", 0, 200),
        ),
        _activity(
            "mentoring", "骨干培养/带教", "Mentoring", ["trainees"],
            FieldSpec(name="trainee_id", type="uuid", label_zh="带教对象", label_en="Trainee", required=True,
                      help_en="A local staff member recorded once and referred to by id."),
            _enum("trainee_post", "岗位", "Trainee's post", "physician 医师 Physician", "nurse 护士 Nurse",
                  "technician 技师 Technician", "pharmacist 药师 Pharmacist", "manager 管理人员 Manager"),
            _text("goals", "带教目标与内容", "Goals", long=True),
            _enum("assessment", "考核结果", "Assessment",
                  "excellent 优秀 Excellent", "good 良好 Good", "pass 合格 Pass", "fail 不合格 Fail"),
            _hours(),
        ),
        _activity(
            "management", "管理工作", "Management", [],
            _int("meetings_chaired", "主持会议数", "Meetings chaired", 0, 50),
            _int("rules_drafted", "制定制度数", "Rules drafted", 0, 50),
            _int("departments_built", "新建科室数", "Departments built", 0, 10),
            _hours(),
            _text("summary", "工作摘要", "Summary", long=True),
        ),
        _activity(
            "emergency", "急危重症抢救", "Emergency rescue", ["patients"],
            _text("condition", "病情", "Condition", required=True, max_length=200),
            _enum("outcome", "结果", "Outcome", "survived 抢救成功 Survived", "transferred 转院 Transferred",
                  "died 死亡 Died", "ongoing 抢救中 Ongoing"),
            _int("patients", "抢救人数", "Patients", 1, 100),
        ),
        _activity(
            "attendance", "在岗考勤", "Attendance", ["on_site_days"],
            _enum("status", "状态", "Status",
                  "present 在岗 Present", "leave 请假 Leave", "travel 出差 Travel", "off 休息 Off", required=True),
            FieldSpec(name="check_in", type="time", label_zh="签到时间", label_en="Check-in"),
            FieldSpec(name="check_out", type="time", label_zh="签退时间", label_en="Check-out"),
        ),
    ],
)
# fmt: on

_BY_KEY: dict[str, ActivityType] = {t.key: t for t in CATALOG.activity_types}


def get_type(key: str) -> ActivityType | None:
    """The activity type with this key, or None."""
    return _BY_KEY.get(key)


@functools.cache
def catalog_json() -> bytes:
    """The catalogue as JSON bytes, encoded once."""
    return msgspec.json.encode(CATALOG)


@functools.cache
def catalog_etag() -> str:
    """A strong ETag for `catalog_json()`, changing whenever its bytes change."""
    digest = hashlib.sha256(catalog_json()).hexdigest()
    return f'"c{CATALOG.version}-{digest[:16]}"'
