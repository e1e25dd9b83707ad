"""Wire types of the back office: `Thing` / `ThingCreate` / `ThingUpdate` sets.

Input Structs forbid unknown fields (a misspelt field in an admin form must not be silently dropped).
Updates use UNSET so that a PATCH can tell "leave it" from "clear it" (null).
The Literal choices repeat backend/vocab.py so the OpenAPI schema lists them; a unit test keeps both equal.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import available_timezones

import msgspec
from msgspec import UNSET, UnsetType

from backend.errors import FieldError

InstitutionKind = Literal["supporting_hospital", "county_hospital", "township_centre", "community_centre"]
InstitutionLevel = Literal[
    "tertiary_a", "tertiary_b", "tertiary", "secondary_a", "secondary_b", "secondary", "primary", "unrated"
]
Programme = Literal[
    "counterpart_support", "team_support", "medical_alliance", "rural_physician", "regional_aid", "other"
]
Title = Literal[
    "resident_physician", "attending_physician", "associate_chief_physician", "chief_physician",
    "nurse", "senior_nurse", "supervisor_nurse", "associate_chief_nurse", "chief_nurse",
    "technician", "senior_technician", "supervisor_technician", "associate_chief_technician", "chief_technician",
    "pharmacist", "manager", "other",
]
Role = Literal["expert", "supervisor", "hr", "admin"]
Post = Literal[
    "president", "vice_president", "department_head", "deputy_department_head", "head_nurse",
    "clinical_expert", "nursing_expert", "technical_expert", "management_expert",
]
DeploymentStatus = Literal["planned", "active", "ended", "cancelled"]

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
RegionCode = Annotated[str, msgspec.Meta(min_length=2, max_length=12, pattern=r"^[0-9]+$")]
# Checked against the IANA names (rules.timezone_error, code invalid_timezone); the same names are published.
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64,
                                       extra_json_schema={"enum": sorted(available_timezones())})]
Username = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")]
PersonName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9][0-9 -]{4,19}$")]
# The strength rule (backend/security/passwords.py) answers `weak_password`; its length is published here too.
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256, extra_json_schema={
    "allOf": [{"minLength": 10}, {"pattern": "\\D"}, {"pattern": "[0-9\\W_]"}],
    "description": "at least 10 characters, not only digits and not only letters"})]
Department = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Count = Annotated[int, msgspec.Meta(ge=0, le=10_000)]


class _In(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Back-office input: unknown fields are refused with the field named."""


# ---- institutions -------------------------------------------------------------------------------


class InstitutionCreate(_In, kw_only=True):
    code: Code
    name: Name
    kind: InstitutionKind
    level: InstitutionLevel
    province_code: RegionCode | None = None
    city_code: RegionCode | None = None
    county_code: RegionCode | None = None
    is_tcm: bool = False
    timezone: TimeZone = "Asia/Shanghai"


class InstitutionUpdate(_In, kw_only=True):
    code: Code | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    kind: InstitutionKind | UnsetType = UNSET
    level: InstitutionLevel | UnsetType = UNSET
    province_code: RegionCode | None | UnsetType = UNSET
    city_code: RegionCode | None | UnsetType = UNSET
    county_code: RegionCode | None | UnsetType = UNSET
    is_tcm: bool | UnsetType = UNSET
    timezone: TimeZone | UnsetType = UNSET


class Institution(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    kind: str
    kind_label_zh: str
    level: str
    level_label_zh: str
    province_code: str | None
    city_code: str | None
    county_code: str | None
    is_tcm: bool
    timezone: str
    created_at: datetime


class InstitutionPage(msgspec.Struct, kw_only=True):
    items: list[Institution]
    total: int
    limit: int
    offset: int


# ---- agreements ---------------------------------------------------------------------------------


class AgreementCreate(_In, kw_only=True):
    name: Name
    programme: Programme
    supporting_id: uuid.UUID
    recipient_id: uuid.UUID
    starts_on: date
    ends_on: date | None = None


class AgreementUpdate(_In, kw_only=True):
    name: Name | UnsetType = UNSET
    programme: Programme | UnsetType = UNSET
    starts_on: date | UnsetType = UNSET
    ends_on: date | None | UnsetType = UNSET


class TargetsPut(_In, kw_only=True):
    """A year's targets; a field left out takes the national default (seed 000, 工作任务(五))."""

    min_staff: Count | None = None
    min_leaders: Count | None = None
    min_continuous_months: Annotated[int, msgspec.Meta(ge=0, le=12)] | None = None
    min_trainees: Count | None = None
    min_new_techniques: Count | None = None
    full_year_coverage: bool | None = None


class Targets(msgspec.Struct, kw_only=True):
    year: int
    min_staff: int
    min_leaders: int
    min_continuous_months: int
    min_trainees: int
    min_new_techniques: int
    full_year_coverage: bool


class Agreement(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    programme: str
    programme_label_zh: str
    supporting_id: uuid.UUID
    supporting_name: str
    recipient_id: uuid.UUID
    recipient_name: str
    starts_on: date
    ends_on: date | None
    targets: list[Targets]
    created_at: datetime


class AgreementPage(msgspec.Struct, kw_only=True):
    items: list[Agreement]
    total: int
    limit: int
    offset: int


# ---- deployments --------------------------------------------------------------------------------


class DeploymentCreate(_In, kw_only=True):
    """A stay. Without `agreement_id` the one agreement between the expert's home and the recipient that
    covers `starts_on` is linked, when there is exactly one."""

    expert_id: uuid.UUID
    recipient_id: uuid.UUID
    agreement_id: uuid.UUID | None = None
    department: Department
    post: Post
    starts_on: date
    planned_end: date | None = None
    status: DeploymentStatus | None = None


class DeploymentUpdate(_In, kw_only=True):
    department: Department | UnsetType = UNSET
    post: Post | UnsetType = UNSET
    planned_end: date | None | UnsetType = UNSET
    actual_end: date | None | UnsetType = UNSET
    status: DeploymentStatus | UnsetType = UNSET


class Deployment(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    expert_id: uuid.UUID
    expert_name: str
    recipient_id: uuid.UUID
    recipient_name: str
    agreement_id: uuid.UUID | None
    department: str
    post: str
    post_label_zh: str
    starts_on: date
    planned_end: date | None
    actual_end: date | None
    status: str
    status_label_zh: str
    created_at: datetime
    updated_at: datetime


class DeploymentPage(msgspec.Struct, kw_only=True):
    items: list[Deployment]
    total: int
    limit: int
    offset: int


# ---- users --------------------------------------------------------------------------------------


class RoleGrantCreate(_In, kw_only=True):
    role: Role
    institution_id: uuid.UUID | None = None


class UserCreate(_In, kw_only=True):
    username: Username
    name: PersonName
    password: Password
    title: Title | None = None
    specialty: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    phone: Phone | None = None
    home_institution_id: uuid.UUID | None = None
    roles: list[RoleGrantCreate] = msgspec.field(default_factory=list)


class UserUpdate(_In, kw_only=True):
    name: PersonName | UnsetType = UNSET
    title: Title | None | UnsetType = UNSET
    specialty: Annotated[str, msgspec.Meta(max_length=100)] | None | UnsetType = UNSET
    phone: Phone | None | UnsetType = UNSET
    home_institution_id: uuid.UUID | None | UnsetType = UNSET


class PasswordReset(_In, kw_only=True):
    password: Password


class RoleGrant(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    role: str
    label_zh: str
    institution_id: uuid.UUID | None
    institution_name: str | None


class DeviceInfo(msgspec.Struct, kw_only=True):
    id: str
    registered_at: datetime
    last_seen_at: datetime | None
    last_sync_at: datetime | None
    app_version: str | None


class User(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    username: str
    name: str
    phone: str | None
    title: str | None
    title_label_zh: str | None
    specialty: str | None
    home_institution_id: uuid.UUID | None
    home_institution_name: str | None
    is_active: bool
    disabled_at: datetime | None
    roles: list[RoleGrant]
    devices: list[DeviceInfo]
    created_at: datetime


class UserPage(msgspec.Struct, kw_only=True):
    items: list[User]
    total: int
    limit: int
    offset: int


# ---- experts (scoped read for supervisors and HR) -----------------------------------------------


class ExpertStay(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    recipient_id: uuid.UUID
    recipient_name: str
    department: str
    post: str
    post_label_zh: str
    starts_on: date
    planned_end: date | None
    actual_end: date | None
    status: str


class Expert(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    username: str
    name: str
    title: str | None
    title_label_zh: str | None
    specialty: str | None
    home_institution_id: uuid.UUID | None
    home_institution_name: str | None
    is_active: bool
    deployments: list[ExpertStay]


class ExpertPage(msgspec.Struct, kw_only=True):
    items: list[Expert]
    total: int
    limit: int
    offset: int


# ---- imports ------------------------------------------------------------------------------------


class ImportRow(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One data row of the sheet, numbered as the spreadsheet shows it (the header is row 1)."""

    row: int
    status: Literal["ok", "error"]
    id: str | None = None
    errors: list[FieldError] = msgspec.field(default_factory=list)
    initial_password: str | None = None


class ImportReport(msgspec.Struct, kw_only=True):
    """The per-row answer of an import. All or nothing: `committed` is true only when every row was written."""

    kind: str
    dry_run: bool
    committed: bool
    all_or_nothing: bool = True
    total: int
    ok: int
    failed: int
    message: str
    rows: list[ImportRow]
