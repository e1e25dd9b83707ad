"""POST /sync/push: apply a phone's queued mutations exactly once, each with its own answer.

Order of work, all in the request's one transaction (committed before the reply is sent, so no answer is
ever given for something that was rolled back):
1. lock the device row (concurrent pushes of one phone queue up here, which makes exactly-once hold);
2. numbers already acknowledged get their stored answer, a skipped number stops the batch;
3. runs of creates are written set-based (bulk.py), everything else one by one in savepoints (single.py);
4. all answers are stored in one statement, with the device's new acknowledged number and health.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend import feed
from backend.auth.principal import Principal
from backend.errors import Conflict, FieldError, Forbidden, InvalidInput, PayloadTooLarge
from backend.settings import Settings
from backend.worklog.service import EntryContext, load_context
from sync.protocol import PROTOCOL, Mutation, MutationResult, PushRequest, PushResponse
from sync.server.answers import raw_connection, rejected, store_answers, stored_answers
from sync.server.bulk import bulk_create
from sync.server.rules import batch_shape_errors, clock_skew_ms, device_time_errors, plan_batch
from sync.server.single import apply_one

_UPDATE_DEVICE = """
UPDATE devices SET last_ack_seq = GREATEST(last_ack_seq, $2), last_sync_at = now(), last_seen_at = now(),
       last_device_time = COALESCE($3, last_device_time), clock_skew_ms = COALESCE($4, clock_skew_ms),
       pending_count = $5, oldest_pending_at = $6, app_version = COALESCE($7, app_version)
WHERE id = $1
"""


def check_request(req: PushRequest, settings: Settings, now: datetime) -> None:
    """Refuse the whole push, before anything is read or written, when its shape or clock is wrong."""
    errors = batch_shape_errors([m.seq for m in req.mutations], settings.sync_max_batch)
    if len(req.mutations) > settings.sync_max_batch:
        raise PayloadTooLarge(f"A push holds at most {settings.sync_max_batch} mutations",
                              errors=errors, extra={"limit": settings.sync_max_batch, "reason": "batch_too_large"})
    if errors:
        raise InvalidInput(errors=errors)
    if clock := device_time_errors(req.device_time, now):
        raise InvalidInput(errors=clock, extra={"reason": "device_clock_in_future", "server_time": now.isoformat()})


async def _lock_device(session: AsyncSession, principal: Principal, device_id: str) -> int:
    # Through the session: its first statement also opens the transaction the raw statements then join.
    row = (await session.execute(text("SELECT user_id, last_ack_seq FROM devices WHERE id = :d FOR UPDATE"),
                                 {"d": device_id})).mappings().one_or_none()
    if row is None or row["user_id"] != principal.user_id:
        raise Forbidden("This device is not registered to you; sign in on it first",
                        extra={"reason": "device_not_registered"})
    if principal.device_id != device_id:
        raise Conflict("The access token was issued to another device; sign in on this one",
                       extra={"reason": "device_mismatch"})
    return int(row["last_ack_seq"])


async def _apply(session: AsyncSession, raw: object, principal: Principal, mutations: list[Mutation],
                 settings: Settings) -> dict[int, MutationResult]:
    results: dict[int, MutationResult] = {}
    ctx: EntryContext | None = None
    i = 0
    while i < len(mutations):
        if mutations[i].kind != "create":
            results[mutations[i].seq] = await apply_one(session, principal, mutations[i], settings)
            i += 1
            continue
        j = i
        while j < len(mutations) and mutations[j].kind == "create":
            j += 1
        # Loaded once per batch: nothing a phone sends changes deployments or consent.
        ctx = ctx or await load_context(session, principal.user_id, settings)
        done, fallback = await bulk_create(session, raw, principal, mutations[i:j], ctx, settings)
        results.update(done)
        for m in fallback:
            results[m.seq] = await apply_one(session, principal, m, settings)
        i = j
    return results


def _quarantine(mutations: list[Mutation]) -> dict[int, MutationResult]:
    error = FieldError(field="user", code="user_disabled",
                       message="The account is disabled; this change is kept on the server for an administrator")
    return {m.seq: rejected(m, [error], "quarantined") for m in mutations}


async def push(session: AsyncSession, principal: Principal, req: PushRequest, settings: Settings, *,
               disabled: bool = False) -> PushResponse:
    """Apply a push; `disabled`: the account was disabled, so its mutations are kept aside, never applied."""
    now = datetime.now(UTC)
    check_request(req, settings, now)
    last_ack = await _lock_device(session, principal, req.device_id)
    raw = await raw_connection(session)
    plan = plan_batch([m.seq for m in req.mutations], last_ack)
    results = await stored_answers(raw, req.device_id, plan.replay)
    to_apply = [m for m in req.mutations if plan.apply and plan.apply[0] <= m.seq <= plan.apply[-1]]
    fresh = _quarantine(to_apply) if disabled else await _apply(session, raw, principal, to_apply, settings)
    answered = [(m, fresh[m.seq]) for m in to_apply]
    await store_answers(raw, req.device_id, principal.user_id, req.request_id, answered, quarantined=disabled)
    if not disabled:
        refused = [(principal.user_id, f"{req.device_id}:{m.seq}") for m, r in answered if r.outcome == "rejected"]
        await feed.touch_many(session, refused, "mutation")
    results.update(fresh)
    acked = plan.apply[-1] if plan.apply else last_ack
    # The phone counted its queue before sending; what this push acknowledged is no longer pending.
    pending = None if req.pending_count is None else max(req.pending_count - len(plan.replay) - len(to_apply), 0)
    await raw.execute(_UPDATE_DEVICE, req.device_id, acked, req.device_time, clock_skew_ms(req.device_time, now),
                      pending, req.oldest_pending_at if pending else None, req.app_version)
    ordered = [results[m.seq] for m in req.mutations if m.seq in results]
    missing = [m.seq for m in req.mutations if m.seq <= last_ack and m.seq not in results]
    for seq in missing:  # acknowledged long ago and its answer purged: it certainly happened once
        m = next(x for x in req.mutations if x.seq == seq)
        ordered.append(MutationResult(seq=seq, record_id=m.record_id, outcome="duplicate", reason="acknowledged",
                                      replayed=True))
    ordered.sort(key=lambda r: r.seq)
    return PushResponse(protocol=PROTOCOL, request_id=req.request_id, device_id=req.device_id,
                        acknowledged_seq=max(acked, last_ack), results=ordered, gap=plan.gap_at is not None,
                        expected_seq=plan.expected_seq if plan.gap_at is not None else None, server_time=now)


def record_id_of_mutation_feed(record_id: str) -> tuple[str, int]:
    device_id, _, seq = record_id.rpartition(":")
    return device_id, int(seq)

