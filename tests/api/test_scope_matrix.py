"""The scope matrix: every route of the published schema, called by people who must not reach side A.

Side A is expert_a's work at hospital A: three entries (draft, submitted with a photo, approved), the
photo, a trainee, a refused sync mutation, an export HR made, the deployment, the agreement, the hospital,
a closed month and the expert's account; plus a deployment of expert_a to hospital B that the admin
cancelled, which must give hospital B no reach (entries and trainees already treat a cancelled deployment
as none). Each operation of /schema/openapi.json is either in OPEN (with the reason it is open) or in
ROUTES, which says which role guard it has and what a caller past the guard but outside the scope gets. Path parameters, and query parameters named `*_id`, are filled by name from PARAMS.
A route added later, or a parameter nobody mapped, fails `test_every_operation_is_in_the_matrix`.

Each case sends the request as every intruder and as an anonymous caller, checks that nothing of side A
came back or changed, then sends the very same request as a legitimate caller and expects success, so a
refusal for a broken reason (a wrong URL, a bad body) cannot pass unnoticed.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import text

from backend.job_catalog import drain_database
from backend.runtime import Runtime
from tests.api.test_entries import entry_body
from tests.factories import World
from tests.sync import Phone, clinic, phone

TODAY = date.today()
NOTE = "甲院随访记录-勿外传"
TRAINEE = "甲院骨干王某"
FILE = b"\xff\xd8\xff\xe0 fieldlog scope matrix sign-in sheet " * 8
SHA = hashlib.sha256(FILE).hexdigest()

ROLE = {"expert_a": "expert", "expert_a2": "expert", "expert_b": "expert", "supervisor_a": "supervisor",
        "supervisor_b": "supervisor", "hr": "hr", "other_hr": "hr", "admin": "admin"}
INTRUDERS = ("expert_b", "supervisor_b", "other_hr")
NON_ADMINS = tuple(who for who, role in ROLE.items() if role != "admin")
ANONYMOUS = "anonymous"

# Operations that reach no object of anyone else, each with the reason.
OPEN = {
    "health": "public liveness probe; no data",
    "ready": "public readiness probe; no data",
    "login": "public; signs in with the caller's own credentials (a device of another user: test_auth.py)",
    "refresh_token": "public; acts only on the session of the refresh token sent (reuse: test_auth.py)",
    "logout": "ends the caller's own session; names no object",
    "get_me": "the caller's own profile",
    "get_catalog": "the activity-type catalogue is the same for every signed-in user",
    "sync_config": "the limits every phone is told; the same for everyone",
    "verify_document": "public by design: the unguessable code printed on a document is the key (PRODUCT.md)",
    "verify_document_page": "the HTML form of verify_document; public for the same reason",
    "verify_document_file": "public like verify_document: says only whether the sent file is one issued under the code",
    "get_my_notification_preferences": "the caller's own notification preferences",
    "put_my_notification_preferences": "sets only the caller's own notification preferences",
}


@dataclass
class SideA:
    """expert_a's objects, and the signed-in phones of everyone a case needs."""

    world: World
    phones: dict[str, Phone]
    draft: dict[str, Any]
    submitted: dict[str, Any]
    approved: dict[str, Any]
    attachment: dict[str, Any]
    trainee: dict[str, Any]
    refused_id: str
    grant_id: str
    export: dict[str, Any] = field(default_factory=dict)
    promotion_round: dict[str, Any] = field(default_factory=dict)  # HR's round of A's home hospital, done
    reports: dict[str, str] = field(default_factory=dict)  # summaries and appraisals (arranged when needed)
    held_job: str = ""  # a job the queue holds as failed (arranged when needed)

    def markers(self, who: str) -> set[str]:
        """What must never come back to `who` unless they sent it themselves."""
        w = self.world
        found = {self.draft["id"], self.submitted["id"], self.approved["id"], self.attachment["id"], SHA,
                 self.trainee["id"], TRAINEE, NOTE, self.refused_id, self.phones["expert_a"].device_id,
                 str(w.expert_a.id), str(w.deployment_a.id)}
        if who not in COLLEAGUE:  # the colleague is stationed at hospital A under the same agreement
            found |= {str(w.hospital_a.id), str(w.agreement_a.id)}
        if self.export:
            found |= {self.export["id"], self.export["verification_code"],
                      self.export["verification_code"].replace("-", "")}
        return found


# Side A's value for each parameter name a route may have.
PARAMS: dict[str, Callable[[SideA], str]] = {
    "entry_id": lambda a: a.draft["id"],
    "object_id": lambda a: a.draft["id"],
    "attachment_id": lambda a: a.attachment["id"],
    "expert_id": lambda a: str(a.world.expert_a.id),
    "user_id": lambda a: str(a.world.expert_a.id),
    "institution_id": lambda a: str(a.world.hospital_a.id),
    "recipient_id": lambda a: str(a.world.hospital_a.id),
    "supporting_id": lambda a: str(a.world.home.id),
    "agreement_id": lambda a: str(a.world.agreement_a.id),
    "deployment_id": lambda a: str(a.world.deployment_a.id),
    "export_id": lambda a: a.export["id"],
    "round_id": lambda a: a.promotion_round["id"],
    "code": lambda a: a.export["verification_code"],
    "grant_id": lambda a: a.grant_id,
    "device_id": lambda a: a.phones["expert_a"].device_id,
    "fmt": lambda a: "pdf",
    "kind": lambda a: "institutions",
    "year": lambda a: str(TODAY.year),
    "month": lambda a: a.reports["month"],
    "period_start": lambda a: a.reports["period_1"],
    "channel_kind": lambda a: "wecom",
    "rule": lambda a: "supervisor_digest",
    "job_id": lambda a: a.held_job,
}

Body = Callable[[SideA, Phone], Any]
Check = Callable[[SideA, Any], None]


@dataclass(frozen=True)
class Route:
    """How one operation is called on side A, who passes its role guard, and what an intruder gets."""

    guard: frozenset[str] | None  # roles let past the role guard (403 for the rest); None: anyone signed in
    past_guard: int  # the answer to a caller past the guard but outside the scope
    owner: str  # a legitimate caller: the very same request must succeed for them
    ok: int = 200
    body: Body | None = None
    content: bytes | None = None  # a raw body (sent with the headers below)
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    also: tuple[str, ...] = ()  # intruders beyond INTRUDERS for this route
    path: Mapping[str, Callable[[SideA], str]] = field(default_factory=dict)  # PARAMS overrides
    refused: Check | None = None  # more to check in an intruder's answer past the guard
    shows: Callable[[SideA], str] | None = None  # what the owner's answer must contain

    def intruders(self) -> tuple[str, ...]:
        if self.guard == ADMIN:
            return NON_ADMINS
        return (*INTRUDERS, *self.also)

    def expected(self, who: str) -> int:
        if who == ANONYMOUS:
            return 401
        return 403 if self.guard is not None and ROLE[who] not in self.guard else self.past_guard


ADMIN = frozenset({"admin"})
EXPERT = frozenset({"expert"})
SUPERVISOR = frozenset({"supervisor"})
REVIEWER = frozenset({"supervisor", "admin"})
READER = frozenset({"supervisor", "hr", "admin"})
COLLEAGUE = ("expert_a2",)  # the other expert at hospital A: still not the owner
NOT_AUTHOR = ("expert_a2", "supervisor_a", "hr")  # only the expert writes their log; A's reviewers read it
NOT_OWNER = ("expert_a2", "supervisor_a", "hr")  # upload state is the owner's alone
NOT_EXPORTER = ("expert_a2", "supervisor_a")  # an export is the expert's, their home HR's and the admin's


def admin(ok: int = 200, **kw: Any) -> Route:
    """An admin-only route: every other role is refused by the guard, before anything is looked up."""
    return Route(ADMIN, 403, "admin", ok, **kw)


# -- bodies -------------------------------------------------------------------------------------------


def new_entry(a: SideA, _: Phone) -> dict[str, Any]:
    return entry_body(a.world, work_date=str(TODAY - timedelta(days=4)), note="新记录")


def revision(a: SideA, _: Phone) -> dict[str, Any]:
    return entry_body(a.world, work_date=a.approved["work_date"], note="更正")


def approve_submitted(a: SideA, _: Phone) -> dict[str, Any]:
    return {"decisions": [{"entry_id": a.submitted["id"], "version": a.submitted["version"], "action": "approve"}]}


def push(a: SideA, p: Phone) -> dict[str, Any]:
    """Change, submit and delete A's draft, reuse the id of A's submitted entry, write at A's deployment."""
    return p.body([p.mutation("update", a.draft["id"], {"note": "改写"}, base_version=1),
                   p.mutation("submit", a.draft["id"], base_version=1),
                   p.mutation("delete", a.draft["id"], base_version=1),
                   p.mutation("create", a.submitted["id"], clinic(a.world.deployment_a.id)),
                   p.mutation("create", uuid.uuid4(), clinic(a.world.deployment_a.id))])


def hospital_a(**extra: Any) -> Body:
    return lambda a, _: {"institution_id": str(a.world.hospital_a.id), **extra}


def fixed(value: dict[str, Any]) -> Body:
    return lambda a, _: value


# -- what an intruder past the guard must get -------------------------------------------------------------


def field_error(name: str) -> Check:
    def check(a: SideA, r: Any) -> None:
        assert name in [e["field"] for e in r.json()["errors"]], r.text
    return check


def not_in_scope(a: SideA, r: Any) -> None:
    assert [(x["outcome"], x["status"], x["version"]) for x in r.json()["results"]] == [
        ("not_in_scope", None, None)], r.text


def push_refused(a: SideA, r: Any) -> None:
    results = r.json()["results"]
    assert [(x["outcome"], x.get("reason")) for x in results[:4]] == [
        ("rejected", "not_found"), ("rejected", "not_found"), ("rejected", "not_found"), ("conflict", "id_taken")]
    assert [e["field"] for e in results[4]["errors"]] == ["deployment_id"], r.text
    assert all("server_copy" not in x for x in results), r.text


def own_pending_upload(a: SideA, r: Any) -> None:
    # The same hash declared by someone else is their own upload: nobody gets A's stored file for free.
    body = r.json()
    assert (body["status"], body["received_bytes"]) == ("pending", 0), r.text
    assert body["id"] != a.attachment["id"]


ROUTES: dict[str, Route] = {
    # Entries: another person's entry answers 404 as if it did not exist; writing needs the expert role.
    "get_entry": Route(None, 404, "expert_a", also=COLLEAGUE),
    "update_entry": Route(EXPERT, 404, "expert_a", body=fixed({"note": "改写"}), headers={"If-Match": '"1"'},
                          also=NOT_AUTHOR),
    "delete_entry": Route(EXPERT, 404, "expert_a", 204, headers={"If-Match": '"1"'}, also=NOT_AUTHOR),
    "submit_entry": Route(EXPERT, 404, "expert_a", body=fixed({"expected_version": 1}), also=NOT_AUTHOR),
    "create_revision": Route(EXPERT, 404, "expert_a", 201, body=revision, also=NOT_AUTHOR,
                             path={"entry_id": lambda a: a.approved["id"]}),
    "get_entry_history": Route(None, 404, "supervisor_a", also=COLLEAGUE),
    "list_entries": Route(None, 200, "expert_a", also=COLLEAGUE, shows=lambda a: a.draft["id"]),
    "create_entry": Route(EXPERT, 422, "expert_a", 201, body=new_entry, also=NOT_AUTHOR,
                          refused=field_error("deployment_id")),
    "submit_week": Route(EXPERT, 404, "expert_a", also=NOT_AUTHOR, shows=lambda a: a.draft["id"],
                         body=lambda a, _: {"deployment_id": str(a.world.deployment_a.id),
                                            "week_start": a.draft["work_date"]}),
    # Review: a supervisor reaches only entries at their own hospitals.
    "get_review_queue": Route(SUPERVISOR, 200, "supervisor_a", shows=lambda a: a.submitted["id"]),
    "decide_entries": Route(SUPERVISOR, 200, "supervisor_a", body=approve_submitted, refused=not_in_scope,
                            shows=lambda a: '"outcome":"applied"'),
    "unapprove_entry": Route(REVIEWER, 404, "supervisor_a",
                             body=lambda a, _: {"entry_id": a.approved["id"], "reason": "复核"}),
    "list_audit_events": Route(REVIEWER, 200, "supervisor_a", query={"object_type": "entry"},
                               shows=lambda a: "entry.create"),
    "close_month": admin(body=hospital_a(month=TODAY.strftime("%Y-%m"), reason="月结")),
    "reopen_month": admin(body=hospital_a(month="2020-01", reason="复核")),
    # Statistics: an expert's figures for the expert, their supervisors and home HR; a hospital's for its own.
    "get_expert_stats": Route(None, 404, "expert_a", also=COLLEAGUE),
    "get_institution_stats": Route(None, 404, "supervisor_a"),
    "get_agreement_stats": Route(None, 404, "hr"),
    # Monthly summaries: the expert writes their own; supervisors where they were that month review; HR reads.
    "get_monthly_summary": Route(None, 404, "expert_a", also=COLLEAGUE),
    "download_monthly_summary": Route(None, 404, "hr", also=COLLEAGUE),
    "list_monthly_summaries": Route(None, 200, "supervisor_a", also=COLLEAGUE,
                                    shows=lambda a: str(a.world.expert_a.id)),
    "review_monthly_summary": Route(SUPERVISOR, 404, "supervisor_a", body=fixed({"action": "approve"})),
    "save_monthly_summary": Route(EXPERT, 404, "expert_a", body=fixed({"narrative": "改写"}), also=NOT_AUTHOR,
                                  path={"month": lambda a: a.reports["open_month"]}),
    "submit_monthly_summary": Route(EXPERT, 404, "expert_a", body=fixed({"narrative": "小结"}), also=NOT_AUTHOR,
                                    path={"month": lambda a: a.reports["open_month"]}),
    # The annual programme report: admins and HR of the supporting hospital only.
    "get_annual_report": Route(frozenset({"hr", "admin"}), 404, "hr", also=("supervisor_a", "expert_a")),
    "download_annual_report": Route(frozenset({"hr", "admin"}), 404, "hr", also=("supervisor_a", "expert_a")),
    # Appraisals of a past stay of expert_a at A: the expert signs, A's supervisor rates, home HR countersigns.
    "list_appraisals": Route(None, 404, "supervisor_a", also=COLLEAGUE,
                             path={"deployment_id": lambda a: a.reports["past_stay"]}),
    "self_assess_appraisal": Route(EXPERT, 404, "expert_a", 201, also=NOT_AUTHOR,
                                   path={"deployment_id": lambda a: a.reports["past_stay"]},
                                   body=lambda a, _: {"period_start": a.reports["period_3"],
                                                      "self_assessment": "自评"}),
    "rate_appraisal": Route(SUPERVISOR, 404, "supervisor_a", body=fixed({"rating": "excellent", "comment": "好"}),
                            path={"deployment_id": lambda a: a.reports["past_stay"],
                                  "period_start": lambda a: a.reports["period_2"]}),
    "countersign_appraisal": Route(frozenset({"hr"}), 404, "hr", body=fixed({"comment": "同意"}),
                                   path={"deployment_id": lambda a: a.reports["past_stay"]}),
    "download_appraisal": Route(None, 404, "hr", also=COLLEAGUE,
                                path={"deployment_id": lambda a: a.reports["past_stay"]}),
    # Exports: narrower than reading entries (backend/export/access.py).
    "create_export": Route(None, 404, "hr", 202, also=NOT_EXPORTER,
                           body=lambda a, _: {"expert_id": str(a.world.expert_a.id),
                                              "date_from": str(TODAY - timedelta(days=60)), "date_to": str(TODAY)}),
    "get_export": Route(None, 404, "hr", also=NOT_EXPORTER),
    "download_export_file": Route(None, 404, "expert_a", also=NOT_EXPORTER),
    # HR's promotion round: HR of the home hospital (and admins) only; another hospital's HR finds nothing.
    "create_promotion_round": Route(frozenset({"hr", "admin"}), 404, "hr", 202, body=lambda a, _: {
        "institution_id": str(a.world.home.id), "date_from": str(TODAY - timedelta(days=60)), "date_to": str(TODAY)}),
    "get_promotion_round": Route(None, 404, "hr", also=NOT_EXPORTER + ("expert_a",)),
    "download_promotion_round": Route(None, 404, "hr", also=NOT_EXPORTER + ("expert_a",)),
    # Attachments: uploading is the owner's; the file is also for whoever may read an entry naming it.
    "get_attachment": Route(None, 404, "expert_a", also=NOT_OWNER),
    "get_upload_offset": Route(None, 404, "expert_a", also=NOT_OWNER),
    "upload_attachment_content": Route(None, 404, "expert_a", also=NOT_OWNER, content=FILE,
                                       headers={"Content-Type": "application/octet-stream",
                                                "Content-Range": f"bytes 0-{len(FILE) - 1}/{len(FILE)}"}),
    "complete_attachment": Route(None, 404, "expert_a", also=NOT_OWNER),
    "download_attachment": Route(None, 404, "supervisor_a", also=COLLEAGUE),
    "declare_attachment": Route(EXPERT, 201, "expert_a", also=COLLEAGUE, refused=own_pending_upload,
                                body=fixed({"sha256": SHA, "size": len(FILE), "content_type": "image/jpeg",
                                            "file_name": "签到表.jpg"})),
    # Trainees: seen at the hospitals of one's deployments or supervision; recorded only there.
    "list_trainees": Route(None, 200, "expert_a", shows=lambda a: a.trainee["id"]),
    "create_trainee": Route(EXPERT, 422, "expert_a", 201, body=hospital_a(name="李骨干"),
                            refused=field_error("institution_id")),
    # Experts as supervisors and HR see them.
    "get_expert": Route(READER, 404, "supervisor_a"),
    "list_experts": Route(READER, 200, "hr", shows=lambda a: str(a.world.expert_a.id)),
    # Sync: a phone holds its own work (and a supervisor's hospitals); pushes touch only the pusher's records.
    "sync_pull": Route(None, 200, "expert_a", also=COLLEAGUE, shows=lambda a: a.draft["id"]),
    "sync_push": Route(None, 200, "expert_a", body=push, refused=push_refused,
                       shows=lambda a: '"outcome":"applied"'),
    "sync_devices": Route(frozenset(ROLE.values()), 200, "supervisor_a", also=COLLEAGUE,
                          shows=lambda a: a.phones["expert_a"].device_id),
    "sync_rejected": Route(frozenset({"expert", "supervisor", "admin"}), 200, "supervisor_a", also=COLLEAGUE,
                           shows=lambda a: a.refused_id),
    # The back office: admins only.
    "admin_list_jobs": admin(),
    "admin_retry_job": admin(202, shows=lambda a: '"status":"queued"'),
    "admin_list_notify_channels": admin(),
    "admin_put_notify_channel": admin(body=fixed({"url": "http://127.0.0.1:9/cgi-bin/webhook/send?key=k"})),
    "admin_delete_notify_channel": admin(204),
    "admin_list_notify_rules": admin(),
    "admin_put_notify_rule": admin(body=fixed({"send_hour": 7})),
    "admin_list_notify_deliveries": admin(),
    "admin_list_institutions": admin(shows=lambda a: str(a.world.hospital_a.id)),
    "admin_create_institution": admin(201, body=fixed({"code": "SCOPE-NEW", "name": "新乡镇卫生院",
                                                       "kind": "township_centre", "level": "primary"})),
    "admin_get_institution": admin(),
    "admin_update_institution": admin(body=fixed({"name": "甲县人民医院（改名）"})),
    "admin_list_agreements": admin(shows=lambda a: str(a.world.agreement_a.id)),
    "admin_create_agreement": admin(201, body=lambda a, _: {
        "name": "新协议", "programme": "counterpart_support", "supporting_id": str(a.world.home.id),
        "recipient_id": str(a.world.hospital_a.id), "starts_on": str(TODAY)}),
    "admin_get_agreement": admin(),
    "admin_update_agreement": admin(body=fixed({"name": "改名协议"})),
    "admin_put_agreement_targets": admin(body=fixed({"min_staff": 6})),
    "admin_list_deployments": admin(shows=lambda a: str(a.world.deployment_a.id)),
    "admin_create_deployment": admin(201, body=lambda a, _: {
        "expert_id": str(a.world.expert_a.id), "recipient_id": str(a.world.hospital_a.id), "department": "骨科",
        "post": "clinical_expert", "starts_on": str(TODAY + timedelta(days=400))}),
    "admin_get_deployment": admin(),
    "admin_update_deployment": admin(body=fixed({"department": "骨科"})),
    "admin_list_users": admin(),
    "admin_create_user": admin(201, body=lambda a, _: {
        "username": "scope-new-user", "name": "新专家", "password": "new-horse-42",
        "home_institution_id": str(a.world.home.id), "roles": [{"role": "expert"}]}),
    "admin_get_user": admin(),
    "admin_update_user": admin(body=fixed({"name": "专家甲（改）"})),
    "admin_disable_user": admin(),
    "admin_enable_user": admin(),
    "admin_grant_role": admin(201, body=hospital_a(role="supervisor")),
    "admin_reset_password": admin(204, body=fixed({"password": "new-horse-42"})),
    "admin_revoke_role": admin(204),
    "admin_release_device": admin(204),
    "admin_import": admin(content="code,name,kind,level\nSCOPE-CSV,导入卫生院,township_centre,primary\n".encode(),
                          headers={"Content-Type": "text/csv"}),
}

# (operation, caller) pairs where the app lets the caller through: kept as strict xfails, each with what happens.
# Empty: the four found when this matrix was written (a supervisor reading an expert through a *cancelled*
# deployment at their hospital: stats, profile, experts list, device health) were fixed in backend.scope.
LEAKS: dict[tuple[str, str], str] = {}


# -- the schema ---------------------------------------------------------------------------------------------

_SCHEMA: dict[str, Any] = {}


async def operations(client: Any) -> dict[str, tuple[str, str, list[dict[str, Any]]]]:
    """operationId → (method, path, parameters), from the published schema."""
    if not _SCHEMA:
        response = await client.get("/schema/openapi.json")
        assert response.status_code == 200
        _SCHEMA.update(response.json())
    return {op["operationId"]: (method.upper(), path, op.get("parameters", []))
            for path, item in _SCHEMA["paths"].items() for method, op in item.items()
            if isinstance(op, dict) and "operationId" in op}


def filled(param: dict[str, Any]) -> bool:
    """Path parameters, and query parameters naming an object, are pointed at side A."""
    return param["in"] == "path" or (param["in"] == "query" and param["name"].endswith("_id"))


def urls_for(a: SideA, route: Route, where: str, path: str, params: list[dict[str, Any]]) -> list[str]:
    """The request pointed at side A; a list is also asked without its `*_id` filters (browsing, not asking)."""
    query = dict(route.query)
    for p in filter(filled, params):
        value_of = route.path.get(p["name"]) or PARAMS.get(p["name"])
        if value_of is None:
            pytest.fail(f"{where}: no side-A value for {p['in']} parameter {p['name']!r}; add it to PARAMS")
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", value_of(a))
        else:
            query[p["name"]] = value_of(a)
    urls = [f"{path}?{urlencode(query)}" if query else path]
    if query != route.query:
        urls.append(f"{path}?{urlencode(route.query)}" if route.query else path)
    return urls


# -- side A ---------------------------------------------------------------------------------------------


async def arrange_reports(call: Any, world: World) -> dict[str, str]:
    """expert_a's last month summarised and submitted, and a past stay at A with three appraisal periods:
    the first rated, the second self-assessed, the third not written yet."""
    from backend.appraisal.states import periods

    last_month = TODAY.replace(day=1) - timedelta(days=1)
    open_month = last_month.replace(day=1) - timedelta(days=1)
    month, before = last_month.strftime("%Y-%m"), open_month.strftime("%Y-%m")
    expert = world.expert_a.id
    await call("PUT", f"/api/v1/experts/{expert}/summaries/{month}/text", json={"narrative": NOTE})
    await call("POST", f"/api/v1/experts/{expert}/summaries/{month}/submit", json={})
    start, end = TODAY - timedelta(days=1000), TODAY - timedelta(days=200)
    stay = await call("POST", "/api/v1/admin/deployments", "admin", expect=201, json={
        "expert_id": str(expert), "recipient_id": str(world.hospital_a.id), "department": "心内科",
        "post": "clinical_expert", "starts_on": str(start), "planned_end": str(end)})
    await call("PATCH", f"/api/v1/admin/deployments/{stay['id']}", "admin",
               json={"actual_end": str(end), "status": "ended"})
    p1, p2, p3 = (str(p.start) for p in periods(start, end, ended=True))
    base = f"/api/v1/deployments/{stay['id']}/appraisals"
    for p in (p1, p2):
        await call("POST", f"{base}/self-assessment", expect=201, json={"period_start": p, "self_assessment": NOTE})
    await call("POST", f"{base}/{p1}/rating", "supervisor_a", json={"rating": "qualified", "comment": NOTE})
    return {"month": month, "open_month": before, "past_stay": stay["id"], "period_1": p1, "period_2": p2,
            "period_3": p3}


async def held_job(db: Runtime) -> str:
    """A job the queue holds as failed. Only a worker fails jobs (none runs here): its end state is written as is."""
    from backend.jobs import enqueue

    async with db.sessionmaker() as s, s.begin():
        job_id = await enqueue(s, "notify.tick", {"period": "2020-01-01T00"})
        await s.execute(text("UPDATE jobs.pgqueuer SET status = 'failed', attempts = 2 WHERE id = :id"), {"id": job_id})
    return str(job_id)


async def arrange(client: Any, world: World, callers: set[str], *, with_export: bool,
                  with_reports: bool = False, with_round: bool = False) -> SideA:
    """Side A, made through the public API by the people who would make it."""
    needed = callers | {"expert_a", "supervisor_a", "admin"} | ({"hr"} if with_export or with_round else set())
    phones = {who: await phone(client, getattr(world, who).username) for who in sorted(needed)}

    async def call(method: str, url: str, who: str = "expert_a", expect: int = 200, **kw: Any) -> Any:
        r = await client.request(method, url, headers={**phones[who].headers, **kw.pop("headers", {})}, **kw)
        assert r.status_code == expect, r.text
        return r.json()

    trainee = await call("POST", "/api/v1/trainees", expect=201,
                         json={"institution_id": str(world.hospital_a.id), "name": TRAINEE})
    declared = await call("POST", "/api/v1/attachments", expect=201,
                          json={"sha256": SHA, "size": len(FILE), "content_type": "image/jpeg", "file_name": "a.jpg"})
    attachment = await call("PUT", declared["upload"]["url"], content=FILE,
                            headers={"Content-Type": "application/octet-stream",
                                     "Content-Range": f"bytes 0-{len(FILE) - 1}/{len(FILE)}"})
    assert attachment["status"] == "complete"

    async def entry(days_ago: int, **kw: Any) -> dict[str, Any]:
        body = entry_body(world, work_date=str(TODAY - timedelta(days=days_ago)), note=NOTE, **kw)
        return dict(await call("POST", "/api/v1/entries", json=body, expect=201))

    async def submit(e: dict[str, Any]) -> dict[str, Any]:
        return dict(await call("POST", f"/api/v1/entries/{e['id']}/submit", json={"expected_version": e["version"]}))

    draft = await entry(1)
    submitted = await submit(await entry(2, attachments=[SHA]))
    approved = await submit(await entry(3))
    decided = await call("POST", "/api/v1/review/decisions", "supervisor_a", json={"decisions": [
        {"entry_id": approved["id"], "version": approved["version"], "action": "approve"}]})
    assert decided["applied"] == 1
    approved = await call("GET", f"/api/v1/entries/{approved['id']}")

    refused_id = str(uuid.uuid4())  # a push the server refuses (no patients) is kept where A's people see it
    reply = await phones["expert_a"].push([phones["expert_a"].mutation(
        "create", refused_id, clinic(world.deployment_a.id, fields={"session": "am"}))])
    assert [r["outcome"] for r in reply["results"]] == ["rejected"]

    export: dict[str, Any] = {}
    if with_export:
        job = await call("POST", "/api/v1/exports", "hr", expect=202, json={
            "expert_id": str(world.expert_a.id), "date_from": str(TODAY - timedelta(days=30)), "date_to": str(TODAY)})
        runtime = client.app.state["runtime"]  # exports run on the job queue: work off what is queued
        await drain_database(runtime.settings, runtime.database_url)
        export = await call("GET", f"/api/v1/exports/{job['id']}", "hr")
        assert export["status"] == "done", export

    promotion_round: dict[str, Any] = {}
    if with_round:
        started = await call("POST", "/api/v1/exports/rounds", "hr", expect=202, json={
            "date_from": str(TODAY - timedelta(days=30)), "date_to": str(TODAY)})
        runtime = client.app.state["runtime"]
        await drain_database(runtime.settings, runtime.database_url)
        promotion_round = await call("GET", f"/api/v1/exports/rounds/{started['id']}", "hr")
        assert promotion_round["status"] == "done", promotion_round

    # A stay at hospital B that never happened: the admin planned it and cancelled it.
    planned = await call("POST", "/api/v1/admin/deployments", "admin", expect=201, json={
        "expert_id": str(world.expert_a.id), "recipient_id": str(world.hospital_b.id), "department": "普外科",
        "post": "clinical_expert", "starts_on": str(TODAY - timedelta(days=30))})
    await call("PATCH", f"/api/v1/admin/deployments/{planned['id']}", "admin", json={"status": "cancelled"})
    await call("POST", "/api/v1/admin/months/close", "admin", json={
        "institution_id": str(world.hospital_a.id), "month": "2020-01", "reason": "历史月份"})
    account = await call("GET", f"/api/v1/admin/users/{world.expert_a.id}", "admin")
    grant_id = next(g["id"] for g in account["roles"] if g["role"] == "expert")
    reports = await arrange_reports(call, world) if with_reports else {}
    return SideA(world=world, phones=phones, draft=draft, submitted=submitted, approved=approved,
                 attachment=attachment, trainee=trainee, refused_id=refused_id, grant_id=grant_id, export=export,
                 reports=reports, promotion_round=promotion_round)


# Every row of side A, whole, plus row counts of what an intruder could have created.
SIDE_A_STATE = {
    "entries": "SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM entries t WHERE t.expert_id = :expert",
    "entry versions": "SELECT count(*) FROM entry_versions v JOIN entries e ON e.id = v.entry_id "
                      "WHERE e.expert_id = :expert",
    "entry files": "SELECT jsonb_agg(to_jsonb(t) ORDER BY t.entry_id, t.sha256) FROM entry_attachments t "
                   "JOIN entries e ON e.id = t.entry_id WHERE e.expert_id = :expert",
    "attachments": "SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM attachments t WHERE t.owner_id = :expert",
    "trainees": "SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM trainees t WHERE t.institution_id = :hospital",
    "exports": "SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM exports t WHERE t.expert_id = :expert",
    "deployments": "SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM deployments t "
                   "WHERE t.expert_id = :expert OR t.recipient_id = :hospital",
    "hospital": "SELECT to_jsonb(t) FROM institutions t WHERE t.id = :hospital",
    "agreement": "SELECT to_jsonb(t) FROM agreements t WHERE t.id = :agreement",
    "targets": "SELECT jsonb_agg(to_jsonb(t) ORDER BY t.year) FROM agreement_targets t "
               "WHERE t.agreement_id = :agreement",
    "account": "SELECT to_jsonb(t) FROM users t WHERE t.id = :expert",
    "roles": "SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM role_grants t "
             "WHERE t.user_id = :expert OR t.institution_id = :hospital",
    "devices": "SELECT jsonb_agg(t.id ORDER BY t.id) FROM devices t WHERE t.user_id = :expert",
    "sessions": "SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM refresh_tokens t WHERE t.user_id = :expert",
    "closed months": "SELECT jsonb_agg(to_jsonb(t) ORDER BY t.month) FROM month_closures t "
                     "WHERE t.institution_id = :hospital",
    "sync mutations": "SELECT jsonb_agg(to_jsonb(t) ORDER BY t.device_id, t.seq) FROM sync_mutations t "
                      "WHERE t.user_id = :expert",
    "row counts": "SELECT jsonb_build_array((SELECT count(*) FROM institutions), (SELECT count(*) FROM agreements), "
                  "(SELECT count(*) FROM deployments), (SELECT count(*) FROM users), "
                  "(SELECT count(*) FROM entries), (SELECT count(*) FROM trainees), (SELECT count(*) FROM exports))",
    "summaries": "SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM monthly_summaries t WHERE t.expert_id = :expert",
    "appraisals": "SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM appraisals t "
                  "JOIN deployments d ON d.id = t.deployment_id WHERE d.expert_id = :expert",
    "audit trail": "SELECT count(*) FROM audit_events",
    "held jobs": "SELECT jsonb_agg(jsonb_build_array(id, status, attempts) ORDER BY id) FROM jobs.pgqueuer "
                 "WHERE status = 'failed'",
}


async def state_of(db: Runtime, world: World) -> dict[str, Any]:
    ids = {"expert": world.expert_a.id, "hospital": world.hospital_a.id, "agreement": world.agreement_a.id}
    async with db.sessionmaker() as s:
        return {name: (await s.execute(text(sql), ids)).scalar() for name, sql in SIDE_A_STATE.items()}


async def send(client: Any, a: SideA, route: Route, method: str, url: str, who: str) -> tuple[Any, str]:
    """The route's request as `who`; returns the answer and the text of what was sent."""
    caller = a.phones.get(who) or Phone(client=client, username=who, device_id="anonymous-device",
                                        headers={}, refresh_token="")
    kw: dict[str, Any] = {"headers": {**caller.headers, **route.headers}}
    if route.body is not None:
        kw["json"] = route.body(a, caller)
    if route.content is not None:
        kw["content"] = route.content
    return await client.request(method, url, **kw), url + json.dumps(kw.get("json"), ensure_ascii=False)


async def intrude(client: Any, a: SideA, route: Route, method: str, url: str, who: str) -> list[str]:
    """What is wrong with the answer `who` gets (nothing, if they were refused as the route promises)."""
    r, sent = await send(client, a, route, method, url, who)
    expected = route.expected(who)
    if r.status_code != expected:
        return [f"{who} {url}: {r.status_code}, expected {expected}: {r.text[:300]}"]
    if method == "HEAD":
        return []
    wrong = []
    leaked = sorted(m for m in a.markers(who) if m in r.text and m not in sent)
    if leaked:
        wrong.append(f"{who} {url}: the answer holds side A's {leaked}: {r.text[:300]}")
    try:
        if expected == 403:
            assert r.json()["reason"] == "role_required", r.text  # refused by the guard, not by chance
        elif expected == route.past_guard and route.refused is not None:
            route.refused(a, r)
    except AssertionError as exc:
        wrong.append(f"{who} {url}: {exc}")
    return wrong


def cases() -> Iterator[Any]:
    for operation, route in sorted(ROUTES.items()):
        callers = [ANONYMOUS, *route.intruders()]
        yield pytest.param(operation, tuple(c for c in callers if (operation, c) not in LEAKS), id=operation)
        for who in (c for c in callers if (operation, c) in LEAKS):
            yield pytest.param(operation, (who,), id=f"{operation}-{who}",
                               marks=pytest.mark.xfail(raises=AssertionError, strict=True,
                                                         reason=LEAKS[operation, who]))


# -- the tests ------------------------------------------------------------------------------------------


async def test_every_operation_is_in_the_matrix(app_client: Any) -> None:
    ops = await operations(app_client)
    missing = []
    for op_id, (method, path, params) in sorted(ops.items()):
        where = f"{method} {path} ({op_id})"
        if op_id in OPEN:
            continue
        if op_id not in ROUTES:
            missing.append(f"{where}: not in the scope matrix; describe it in ROUTES (or OPEN, with a reason)")
        missing += [f"{where}: no side-A value for {p['in']} parameter {p['name']!r}; add it to PARAMS"
                    for p in params if filled(p) and p["name"] not in PARAMS]
    missing += [f"{op_id}: in the matrix but no longer in the schema" for op_id in {*ROUTES, *OPEN} - set(ops)]
    assert set(ROUTES).isdisjoint(OPEN)
    assert missing == [], "\n".join(missing)


@pytest.mark.parametrize(("operation", "callers"), list(cases()))
async def test_no_intruder_reaches_side_a(client: Any, world: World, db: Runtime, operation: str,
                                          callers: tuple[str, ...]) -> None:
    route = ROUTES[operation]
    ops = await operations(client)
    assert operation in ops, f"{operation} is no longer in the schema"
    method, path, params = ops[operation]
    where = f"{method} {path} ({operation})"
    a = await arrange(client, world, {*callers, route.owner} - {ANONYMOUS},
                      with_export="{export_id}" in path or "{code}" in path,
                      with_reports=any(k in path for k in ("/summaries", "/appraisals", "/reports/")),
                      with_round="{round_id}" in path)
    if "{job_id}" in path:
        a.held_job = await held_job(db)
    urls = urls_for(a, route, where, path, params)
    url = urls[0]
    before = await state_of(db, world)

    wrong = [problem for who in callers for u in urls for problem in await intrude(client, a, route, method, u, who)]
    assert wrong == [], f"{where} let an intruder through:\n" + "\n".join(wrong)
    changed = {k: v for k, v in (await state_of(db, world)).items() if v != before[k]}
    assert changed == {}, f"{where}: intruders changed side A: {sorted(changed)}"

    # The very same request from someone entitled to it works, so the refusals above were about scope.
    r, _ = await send(client, a, route, method, url, route.owner)
    assert r.status_code == route.ok, f"{where} as {route.owner}: {r.text[:500]}"
    if route.shows is not None:
        assert route.shows(a) in r.text, f"{where} as {route.owner}: {r.text[:500]}"
