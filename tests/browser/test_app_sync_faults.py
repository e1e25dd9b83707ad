"""Scenarios 2 and 5: a push whose reply is lost after the server committed, and a token that expired while
the phone was offline. Both end with every entry on the server exactly once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.browser.conftest import LiveServer, RequestLog, wait_for
from tests.browser.phone import READ_META, WRITE_META, claims_of, entries_of, new_entry, rows, sign_in, synced

MUTATIONS = ("SELECT m.seq, m.outcome, m.record_id FROM sync_mutations m JOIN devices d ON d.id = m.device_id "
             "WHERE d.user_id = :u ORDER BY m.seq")


async def _log_two_entries_offline(context: Any, page: Any) -> None:
    await context.set_offline(True)
    await page.click(".att[data-status=present]")
    await page.wait_for_selector(".att.chosen[data-status=present]")
    await new_entry(page, "clinic", {"fields.session": "pm", "fields.patients_first_visit": "8"})
    await synced(page, pending=2)


async def test_a_lost_push_reply_is_answered_from_memory_without_duplicates(
        context: Any, world: Any, db: Any, server_log: RequestLog) -> None:
    page = await context.new_page()
    await sign_in(page, world.expert_a.username)
    replies: list[dict[str, Any]] = []

    async def lose_the_first_reply(route: Any) -> None:
        response = await route.fetch()  # the request reaches the server, which commits and answers
        replies.append(await response.json())
        if len(replies) == 1:
            await route.abort("connectionreset")  # ... and the answer never reaches the phone
        else:
            # The body was decoded for us: pass it on without the compression headers.
            headers = {k: v for k, v in response.headers.items() if k not in ("content-encoding", "content-length")}
            await route.fulfill(status=response.status, headers=headers, body=await response.body())

    await _log_two_entries_offline(context, page)
    # Routed only now: a routed request is sent by Playwright itself, past the offline emulation.
    await page.route("**/api/v1/sync/push", lose_the_first_reply)
    await context.set_offline(False)

    async def pushed_once() -> bool:
        return len(replies) >= 1

    await wait_for(pushed_once, what="the first push")
    # The phone saw no answer, so its outbox is unchanged; the sync queued behind this one, the expert's
    # 立即同步 or the timer sends the same numbers again.
    await page.wait_for_function("() => { const s = document.getElementById('sync-state').dataset; "
                                 "return s.running === 'false' && (s.pending === '0' || s.error === 'true'); }")
    if len(replies) < 2:
        await page.click("#sync-now")
    await synced(page, pending=0)
    assert [r["outcome"] for r in replies[0]["results"]] == ["applied", "applied"]
    assert [(r["seq"], r["outcome"], r.get("replayed")) for r in replies[1]["results"]] == [
        (1, "applied", True), (2, "applied", True)]
    saved = await entries_of(db, world.expert_a.id)
    assert sorted(e["activity_type"] for e in saved) == ["attendance", "clinic"]
    assert [m["seq"] for m in await rows(db, MUTATIONS, u=world.expert_a.id)] == [1, 2]
    assert [h.status for h in server_log.matching("POST", "/api/v1/sync/push")] == [200, 200]


async def test_a_token_that_expired_offline_is_refreshed_and_the_same_batch_sent_once(
        context: Any, world: Any, db: Any, live_server: LiveServer, server_log: RequestLog) -> None:
    page = await context.new_page()
    await sign_in(page, world.expert_a.username)
    claims = claims_of(await page.evaluate(READ_META, "access_token"))
    expired = live_server.signer.issue(uuid.UUID(claims["sub"]), claims["dev"], uuid.UUID(claims["sid"]),
                                       now=datetime.now(UTC) - timedelta(hours=3))
    await _log_two_entries_offline(context, page)
    await page.evaluate(WRITE_META, ["access_token", expired])  # it ran out while the phone was offline

    bodies: list[bytes] = []

    async def record(route: Any) -> None:
        bodies.append(route.request.post_data_buffer)
        await route.continue_()

    await page.route("**/api/v1/sync/push", record)
    server_log.clear()
    await context.set_offline(False)
    await synced(page, pending=0)
    pushes = [h.status for h in server_log.matching("POST", "/api/v1/sync/push")]
    assert pushes == [401, 200]
    assert [h.status for h in server_log.matching("POST", "/api/v1/auth/refresh")] == [200]
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]  # the very same bytes, answered once
    assert [m["outcome"] for m in await rows(db, MUTATIONS, u=world.expert_a.id)] == ["applied", "applied"]
    assert len(await entries_of(db, world.expert_a.id)) == 2
    assert await page.evaluate(READ_META, "access_token") != expired
