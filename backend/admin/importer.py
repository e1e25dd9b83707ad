"""Roster import: every row goes through the same service as the API, inside one all-or-nothing transaction.

Each row runs in its own savepoint so one bad row is reported and the others are still checked (including
conflicts between rows of the same file); afterwards the whole batch is rolled back when any row failed or
when it was a dry run. Nothing is half-written.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.admin import accounts, deployments, institutions
from backend.admin import cells as c
from backend.admin import schemas as s
from backend.admin.tabular import Columns, Table, read_table
from backend.audit.writer import record
from backend.auth.principal import Principal
from backend.errors import Conflict, DomainError, FieldError, InvalidInput, NotFound
from backend.models import Institution, User
from backend.security.passwords import check_password_strength, hash_password

Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class Kind:
    columns: Columns
    parsers: dict[str, Parser]
    struct: type[msgspec.Struct]
    key: str  # the column a conflict is blamed on
    rename: dict[str, str]  # service field → sheet column, so errors name what the person sees
    create: Callable[..., Awaitable[Any]]


def _text(value: Any) -> str:
    return str(value)


KINDS: dict[str, Kind] = {
    "institutions": Kind(
        columns=Columns(aliases={
            "code": ("编码", "机构编码", "医院编码", "机构代码"), "name": ("名称", "机构名称", "医院名称"),
            "kind": ("类型", "机构类型"), "level": ("等级", "级别", "医院等级"),
            "province_code": ("省编码", "省份编码"), "city_code": ("市编码", "地市编码"),
            "county_code": ("县编码", "区县编码"), "is_tcm": ("tcm", "中医", "是否中医", "是否中医医院"),
            "timezone": ("时区",)}, required=frozenset({"code", "name", "kind", "level"})),
        parsers={"kind": lambda v: c.choice("kind", v), "level": lambda v: c.choice("level", v), "is_tcm": c.boolean},
        struct=s.InstitutionCreate, key="code", rename={}, create=institutions.create_institution),
    "users": Kind(
        columns=Columns(aliases={
            "username": ("用户名", "工号", "工号或用户名", "账号"), "name": ("姓名",), "password": ("密码", "初始密码"),
            "title": ("职称",), "specialty": ("专业", "专科"), "phone": ("手机", "手机号", "电话", "联系电话"),
            "home_code": ("派出医院编码", "所属机构编码", "单位编码", "工作单位编码"), "roles": ("role", "角色")},
            required=frozenset({"username", "name"})),
        parsers={"title": lambda v: c.choice("title", v), "roles": c.roles},
        struct=s.UserCreate, key="username", rename={"home_institution_id": "home_code", "roles": "roles"},
        create=accounts.create_account),
    "deployments": Kind(
        columns=Columns(aliases={
            "username": ("expert_username", "专家", "专家用户名", "用户名", "工号", "工号或用户名"),
            "recipient_code": ("受援医院编码", "派驻医院编码"), "department": ("科室", "派驻科室"),
            "post": ("职务", "岗位", "派驻职务"), "starts_on": ("start", "开始日期", "派驻开始日期"),
            "planned_end": ("计划结束日期", "结束日期", "计划结束"), "status": ("状态",),
            "agreement_id": ("协议id", "协议编号")},
            required=frozenset({"username", "recipient_code", "department", "post", "starts_on"})),
        parsers={"post": lambda v: c.choice("post", v), "status": lambda v: c.choice("status", v),
                 "starts_on": c.day, "planned_end": c.day},
        struct=s.DeploymentCreate, key="username",
        rename={"expert_id": "username", "recipient_id": "recipient_code"},
        create=deployments.create_deployment),
}


class _Lookups:
    """Codes and usernames of the sheet resolved in one query each, not one per row."""

    def __init__(self, institutions: dict[str, uuid.UUID], users: dict[str, uuid.UUID]) -> None:
        self.institutions = institutions
        self.users = users

    @classmethod
    async def load(cls, session: AsyncSession, table: Table) -> _Lookups:
        codes = {str(r.get(k)) for _, r in table.rows for k in ("home_code", "recipient_code") if r.get(k)}
        codes |= {code for _, r in table.rows if r.get("roles") for code in _role_codes(r["roles"])}
        names = {str(r["username"]).lower() for _, r in table.rows if r.get("username") and "recipient_code" in r}
        inst = dict((await session.execute(select(Institution.code, Institution.id).where(Institution.code.in_(codes))
                                           )).all()) if codes else {}
        users = dict((await session.execute(select(User.username, User.id).where(User.username.in_(names))
                                            )).all()) if names else {}
        return cls(inst, users)


def _role_codes(value: Any) -> list[str]:
    try:
        return [code for _, code in c.roles(value) if code]
    except c.CellError:
        return []


# A dry run checks everything but the hash, so it stays fast; this value is never stored.
_DRY_RUN_HASH = "$argon2id$dry-run"
_HASHERS = asyncio.Semaphore(4)


async def _hash(password: str) -> str:
    async with _HASHERS:
        return await asyncio.to_thread(hash_password, password)


async def _password_hashes(passwords: list[str | None], dry_run: bool) -> list[str | None]:
    """Argon2 dominates a user import; hash every row's password up front, several at a time (it frees the GIL)."""
    if dry_run:
        return [_DRY_RUN_HASH if p else None for p in passwords]
    return list(await asyncio.gather(*(_hash(p) if p else asyncio.sleep(0, None) for p in passwords)))


def _new_password() -> str:
    while True:
        candidate = secrets.token_urlsafe(12)
        if check_password_strength(candidate) is None:
            return candidate


def _payload(kind: str, cells: dict[str, Any], look: _Lookups, errors: list[FieldError]) -> dict[str, Any]:
    """Sheet columns → the API's field names, with codes resolved to ids."""
    data = dict(cells)
    def resolve(column: str, table: dict[str, uuid.UUID], target: str, what: str) -> None:
        value = data.pop(column, None)
        if value is None:
            return
        found = table.get(str(value).lower() if table is look.users else str(value))
        if found is None:
            errors.append(FieldError(field=column, code="not_found", message=f"No {what} {value!r}"))
        data[target] = found
    if kind == "users":
        resolve("home_code", look.institutions, "home_institution_id", "institution has the code")
        grants = []
        for role, code in data.pop("roles", None) or [("expert", None)]:
            inst = look.institutions.get(code) if code else None
            if code and inst is None:
                errors.append(FieldError(field="roles", code="not_found", message=f"No institution has the code {code!r}"))
            grants.append({"role": role, "institution_id": inst})
        data["roles"] = grants
    if kind == "deployments":
        resolve("username", look.users, "expert_id", "user is called")
        resolve("recipient_code", look.institutions, "recipient_id", "institution has the code")
    return data


def _build(kind: Kind, name: str, cells: dict[str, Any], look: _Lookups) -> tuple[Any, list[FieldError]]:
    """Parse cells and check each field against the API's own types, so every bad cell is reported at once."""
    errors: list[FieldError] = []
    parsed: dict[str, Any] = {}
    for column, value in cells.items():
        if value is None:
            continue
        try:
            parsed[column] = kind.parsers.get(column, _text)(value)
        except c.CellError as exc:
            errors.append(FieldError(field=column, code=exc.code, message=str(exc)))
    data = _payload(name, parsed, look, errors)
    reverse = {v: k for k, v in kind.rename.items()}
    for info in msgspec.structs.fields(kind.struct):
        if info.name in data and data[info.name] is not None and reverse.get(info.name) is None:
            try:
                msgspec.convert(data[info.name], info.type)
            except msgspec.ValidationError as exc:
                errors.append(FieldError(field=info.name, code="invalid", message=str(exc).split(" - at ")[0]))
        elif info.required and data.get(info.name) is None and not any(e.field == kind.rename.get(info.name, info.name)
                                                                       for e in errors):
            errors.append(FieldError(field=kind.rename.get(info.name, info.name), code="required", message="Required"))
    if errors:
        return None, errors
    return msgspec.convert({k: v for k, v in data.items() if v is not None}, kind.struct), []


def _renamed(kind: Kind, errors: list[FieldError]) -> list[FieldError]:
    def column(field: str) -> str:
        head = field.split("[")[0].split(".")[0]
        return kind.rename.get(head, head)
    return [FieldError(field=column(e.field), code=e.code, message=e.message) for e in errors]


async def import_rows(session: AsyncSession, actor: Principal, kind_name: str, body: bytes, media_type: str,
                      *, dry_run: bool) -> s.ImportReport:
    """Validate every row and write them all, or write nothing and say which rows failed and why."""
    kind = KINDS.get(kind_name)
    if kind is None:
        raise NotFound(f"No import of {kind_name!r}; use one of {', '.join(KINDS)}")
    table = read_table(body, media_type, kind.columns)
    look = await _Lookups.load(session, table)
    report: list[s.ImportRow] = []
    generated: dict[int, str] = {}
    if kind_name == "users":
        for number, cells in table.rows:
            if not cells.get("password"):
                generated[number] = cells["password"] = _new_password()
    hashes = await _password_hashes([c.get("password") for _, c in table.rows], dry_run) \
        if kind_name == "users" else [None] * len(table.rows)
    created_ids: list[str] = []
    batch = await session.begin_nested()
    for (number, cells), password_hash in zip(table.rows, hashes, strict=True):
        item, errors = _build(kind, kind_name, cells, look)
        created = None
        if item is not None:
            extra = {"password_hash": password_hash} if password_hash else {}
            try:
                async with session.begin_nested():
                    # One audit event for the batch, written last: the audit chain's lock is then held for
                    # the moment of the commit, not for the whole import.
                    created = await kind.create(session, actor, item, audited=False, **extra)
            except Conflict as exc:
                errors = [FieldError(field=kind.key, code=str(exc.extra.get("reason", "conflict")), message=exc.detail)]
            except DomainError as exc:
                errors = _renamed(kind, exc.errors) or [FieldError(field=kind.key, code="invalid", message=exc.detail)]
        if errors:
            report.append(s.ImportRow(row=number, status="error", errors=errors))
        else:
            created_ids.append(str(created.id))
            report.append(s.ImportRow(row=number, status="ok", id=str(created.id),
                                      initial_password=None if dry_run else generated.get(number)))
    failed = sum(r.status == "error" for r in report)
    commit = not dry_run and failed == 0 and bool(report)
    if commit:
        await batch.commit()
        await record(session, actor, "import", "import", uuid.uuid4(),
                     detail={"kind": kind_name, "rows": len(report), "created_ids": created_ids})
    else:
        await batch.rollback()
    message = (f"{len(report)} rows written" if commit else
               f"Nothing written: {failed} of {len(report)} rows failed" if failed else
               "Dry run: every row is valid; nothing written" if dry_run else "Nothing written: the sheet has no rows")
    result = s.ImportReport(kind=kind_name, dry_run=dry_run, committed=commit, total=len(report),
                            ok=len(report) - failed, failed=failed, message=message, rows=report)
    if failed and not dry_run:
        flat = [FieldError(field=f"rows[{r.row}].{e.field}", code=e.code, message=e.message)
                for r in report for e in r.errors]
        raise InvalidInput(message, errors=flat, extra={"report": msgspec.to_builtins(result)})
    return result
