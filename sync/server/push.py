"""POST /sync/push: apply a phone's queued mutations exactly once, each with its own answer.

Order of work, all in the request's one transaction (committed before the reply is sent, so no answer is
ever given for something that was rolled back):
1. lock the device row (concurrent pushes of one phone queue up here, which makes exactly-once hold);
2. numbers already acknowledged get their stored answer, a skipped number stops the batch;
3. runs of creates are written set-based (bulk.py), everything else one by one in savepoints (single.py);
   should a set-based statement fail, the transaction is rolled back and the push redone one by one;
4. all answers are stored in one statement, with the device's new acknowledged number and health.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Conflict, FieldError, Forbidden, InvalidInput, PayloadTooLarge
from backend.metrics.series import record_push
from backend.settings import Settings
from sync.server.answers import DeviceHealth, raw_connection, rejected, store_answers, stored_answers
from sync.server.bulk import BulkWriteFailed, bulk_create
from sync.server.context import PushContext, load_push_context
from sync.server.protocol import (
    PROTOCOL,
    Mutation,
    MutationResult,
    PushRequest,
    PushResponse,
    check_schema_version,
)
from sync.server.rules import batch_shape_errors, clock_skew_ms, device_time_errors, plan_batch
from sync.server.single import apply_one

log = logging.getLogger("fieldlog.sync")


def check_request(req: PushRequest, settings: Settings, now: datetime) -> None:
    """Refuse the whole push, before anything is read or written, when its schema, shape or clock is wrong."""
    check_schema_version(req.schema_version)
    errors = batch_shape_errors([m.seq for m in req.mutations], settings.sync_max_batch)
    if len(req.mutations) > settings.sync_max_batch:
        raise PayloadTooLarge(f"A push holds at most {settings.sync_max_batch} mutations",
                              errors=errors, extra={"limit": settings.sync_max_batch, "reason": "batch_too_large"})
    if errors:
        raise InvalidInput(errors=errors)
    if clock := device_time_errors(req.device_time, now):
        raise InvalidInput(errors=clock, extra={"reason": "device_clock_in_future", "server_time": now.isoformat()})


_LOCK = "SELECT user_id, last_ack_seq FROM devices WHERE id = $1 FOR UPDATE"


async def _lock_device(raw: Any, principal: Principal, device_id: str) -> int:
    row = await raw.fetchrow(_LOCK, device_id)
    if row is None or row["user_id"] != principal.user_id:
        raise Forbidden("This device is not registered to you; sign in on it first",
                        extra={"reason": "device_not_registered"})
    if principal.device_id != device_id:
        raise Conflict("The access token was issued to another device; sign in on this one",
                       extra={"reason": "device_mismatch"})
    return int(row["last_ack_seq"])


async def _apply(session: AsyncSession, raw: Any, principal: Principal, mutations: list[Mutation],
                 settings: Settings, *, set_based: bool) -> dict[int, MutationResult]:
    results: dict[int, MutationResult] = {}
    pctx: PushContext | None = None
    i = 0
    while i < len(mutations):
        if mutations[i].kind != "create" or not set_based:
            results[mutations[i].seq] = await apply_one(session, principal, mutations[i], settings)
            i += 1
            continue
        j = i
        while j < len(mutations) and mutations[j].kind == "create":
            j += 1
        # Loaded once per batch: nothing a phone sends changes deployments, consent or closed months.
        pctx = pctx or await load_push_context(
            session, raw, principal.user_id, settings,
            with_trainees=any(m.data.get("activity_type") == "mentoring" for m in mutations))
        done, fallback = await bulk_create(session, raw, principal, mutations[i:j], pctx, settings)
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
    try:
        response = await _push(session, principal, req, settings, now, disabled=disabled, set_based=True)
    except BulkWriteFailed:
        # A set-based write hit something its checks did not foresee and aborted the transaction. Nothing of
        # this push stays; redo it with a savepoint per mutation, so only the mutation at fault is refused.
        log.warning("set-based push fell back to per-mutation writes", exc_info=True)
        await session.rollback()
        response = await _push(session, principal, req, settings, now, disabled=disabled, set_based=False)
    record_push(r.outcome for r in response.results)
    return response


async def _push(session: AsyncSession, principal: Principal, req: PushRequest, settings: Settings, now: datetime, *,
                disabled: bool, set_based: bool) -> PushResponse:
    raw = await raw_connection(session)
    last_ack = await _lock_device(raw, principal, req.device_id)
    plan = plan_batch([m.seq for m in req.mutations], last_ack)
    results = await stored_answers(raw, req.device_id, plan.replay)
    to_apply = [m for m in req.mutations if plan.apply and plan.apply[0] <= m.seq <= plan.apply[-1]]
    fresh = (_quarantine(to_apply) if disabled
             else await _apply(session, raw, principal, to_apply, settings, set_based=set_based))
    answered = [(m, fresh[m.seq]) for m in to_apply]
    acked = plan.apply[-1] if plan.apply else last_ack
    # The phone counted its queue before sending; what this push acknowledged is no longer pending.
    pending = None if req.pending_count is None else max(req.pending_count - len(plan.replay) - len(to_apply), 0)
    health = DeviceHealth(acked=acked, device_time=req.device_time, clock_skew_ms=clock_skew_ms(req.device_time, now),
                          pending=pending, oldest_pending_at=req.oldest_pending_at if pending else None,
                          app_version=req.app_version)
    await store_answers(raw, req.device_id, principal.user_id, req.request_id, answered, health,
                        quarantined=disabled)
    results.update(fresh)
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

