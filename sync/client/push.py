"""Pushing the outbox: batching, the envelope, and what the phone does with each kind of result.

| result    | the phone ...                                                                             |
| --------- | ----------------------------------------------------------------------------------------- |
| applied   | drops the mutation from the outbox, remembers the new version                             |
| duplicate | the same: the server had it already (our earlier reply was lost)                          |
| conflict  | takes the server copy as the base, replays what is still queued, tells the user           |
| locked    | the same (approved, under review, month closed, window over): the user makes a revision   |
| rejected  | keeps the field errors for the user and drops the mutation: one bad record never blocks   |
|           | the queue, and the server keeps the payload where the expert and supervisor can see it    |

A result kind this client does not know (a newer server) leaves the mutation queued rather than guess.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sync.client.records import OutboxItem
from sync.client.transport import EnvelopeError, ProtocolError, gzip_json

if TYPE_CHECKING:
    from sync.client.connection import Connection

SUCCESS = ("applied", "duplicate")
ANSWERED = ("applied", "duplicate", "conflict", "locked", "rejected")


async def push_outbox(client: Connection) -> int:
    """Push every queued mutation, oldest first, in batches of the advertised maximum."""
    config = await client.load_config()
    max_batch = max(int(config.get("max_batch") or 100), 1)
    max_body = int(config.get("max_body_bytes") or 1024 * 1024)
    answered = 0
    stalls = 0
    while batch := client.store.pending(limit=max_batch):
        answer = await send_batch(client, batch, max_body=max_body)
        settled = sum(1 for r in answer.get("results") or [] if r.get("outcome") in ANSWERED)
        answered += settled
        if settled:
            stalls = 0
            continue
        # A gap answer names the first number the server is missing; the outbox is ordered, so the next
        # batch starts at our oldest unanswered mutation, which is that number (or an older one it will
        # answer from its stored results).
        expected = answer.get("expected_seq")
        if answer.get("gap") and expected is not None and expected < batch[0].seq:
            raise ProtocolError(409, {"detail": f"the server expects mutation {expected}, which this phone "
                                                f"already had answered; the device history is inconsistent"})
        stalls += 1
        if stalls >= 3:
            raise ProtocolError(409, {"detail": "the push makes no progress", "answer": answer})
    return answered


def _body(client: Connection, items: list[OutboxItem], request_id: str) -> bytes:
    count, oldest = client.store.pending_stats()
    return gzip_json({
        "request_id": request_id,
        "device_id": client.store.device_id,
        "app_version": client.app_version,
        "schema_version": client.schema_version,
        # Recorded by the server to show clock skew; never used to order anything.
        "device_time": client.clock().isoformat(),
        "pending_count": count,
        "oldest_pending_at": oldest,
        "mutations": [item.wire() for item in items],
    })


async def send_batch(client: Connection, items: list[OutboxItem], *, max_body: int | None = None) -> dict[str, Any]:
    """Send these mutations in one request (fewer if the body would pass the size limit) and settle the answer."""
    request_id = uuid.uuid4().hex
    body = _body(client, items, request_id)
    while max_body and len(body) > max_body and len(items) > 1:
        items = items[: len(items) // 2]
        body = _body(client, items, request_id)
    answer = await client.call("POST", "/api/v1/sync/push", body=body, request_id=request_id)
    if answer.get("device_id") not in (None, client.store.device_id):
        raise EnvelopeError("the push answer is for another device")
    settle(client, items, answer)
    client.report.pushed += len(items)
    if answer.get("gap"):
        client.report.gaps += 1
    return answer


def settle(client: Connection, items: list[OutboxItem], answer: dict[str, Any]) -> None:
    """Apply every per-mutation result in one local transaction (all or nothing, like the reply itself)."""
    store = client.store
    by_seq = {item.seq: item for item in items}
    with store.tx() as conn:
        for result in answer.get("results") or []:
            item = by_seq.get(result.get("seq"))
            outcome = result.get("outcome")
            if item is None or outcome not in ANSWERED:
                continue
            if str(result.get("record_id")) != item.record_id:
                raise EnvelopeError(f"result for mutation {item.seq} names another record")
            store.ack(conn, item.seq, outcome, result)
            client.report.outcomes[outcome] = client.report.outcomes.get(outcome, 0) + 1
            if outcome in SUCCESS:
                store.confirm(conn, item, result.get("version"))
                continue
            store.add_issue(conn, item.seq, item.record_id, outcome, result.get("reason"),
                            result.get("errors") or [], result.get("server_copy"))
            store.rebase(conn, item.record_id, result.get("server_copy"), state=outcome)
