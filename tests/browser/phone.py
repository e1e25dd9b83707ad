"""Steps the phone-app tests share: open the app, sign in, wait for sync, read the server's database."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Awaitable
from typing import Any

from playwright.async_api import Page
from sqlalchemy import text

from backend.runtime import Runtime
from tests.factories import PASSWORD

APP = "/app/"


async def open_app(page: Page) -> None:
    await page.goto(APP)
    await page.wait_for_function("() => document.body.dataset.ready === 'true'")


async def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in on the app's login screen and wait for the first sync to finish."""
    await open_app(page)
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("form.login button[type=submit]")
    await page.wait_for_selector(".attendance .att:not([disabled])")
    await synced(page)
    # The service worker has cached the shell once it controls the page.
    await page.evaluate("async () => { await navigator.serviceWorker.ready; }")


async def synced(page: Page, *, pending: int = 0, within_ms: int = 15_000) -> None:
    """Wait until no sync runs and the outbox holds `pending` mutations."""
    try:
        await _synced(page, pending, within_ms)
    except Exception as exc:
        line = page.locator("#sync-state")
        state = await line.evaluate("el => ({...el.dataset, text: el.textContent})")
        raise AssertionError(f"sync state never reached pending={pending}: {state}") from exc


async def _synced(page: Page, pending: int, within_ms: int) -> None:
    await page.wait_for_function(
        "(n) => { const s = document.getElementById('sync-state'); return s.dataset.running === 'false' "
        "&& s.dataset.pending === String(n); }", arg=pending, timeout=within_ms)


async def sync_now(page: Page, *, pending: int = 0) -> None:
    await after_sync(page, page.click("#sync-now"), pending=pending)


async def after_sync(page: Page, action: Awaitable[Any], *, pending: int = 0, within_ms: int = 15_000) -> None:
    """Do something that starts a sync (a tap, a save) and wait until a sync that began after it has finished."""
    runs = int(await page.locator("#sync-state").get_attribute("data-runs") or "0")
    await action
    await page.wait_for_function("(n) => Number(document.getElementById('sync-state').dataset.runs) > n", arg=runs,
                                 timeout=within_ms)
    await synced(page, pending=pending, within_ms=within_ms)


async def rows(runtime: Runtime, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with runtime.engine.connect() as conn:
        result = await conn.execute(text(sql), params)
        return [dict(r._mapping) for r in result]


async def entries_of(runtime: Runtime, expert_id: uuid.UUID) -> list[dict[str, Any]]:
    return await rows(runtime, "SELECT id, activity_type, fields, status, version, review_comment, work_date "
                               "FROM entries WHERE expert_id = :e ORDER BY created_at", e=expert_id)


def photo_bytes(width: int = 2400, height: int = 1800, seed: int = 1) -> bytes:
    """A camera-sized JPEG with enough detail that the scaled copy spans several upload chunks."""
    import io
    import random

    from PIL import Image

    rng = random.Random(seed)
    small = Image.frombytes("RGB", (width // 8, height // 8), rng.randbytes((width // 8) * (height // 8) * 3))
    out = io.BytesIO()
    small.resize((width, height), Image.Resampling.NEAREST).save(out, "JPEG", quality=92)
    return out.getvalue()


async def new_entry(page: Page, type_key: str, values: dict[str, str], *, photo: bytes | None = None,
                    quick: bool = True) -> None:
    """Open the form of a type (quick entry or the all-types list), fill it and save it."""
    if quick:
        await page.click(f".quick-btn[data-type={type_key}]")
    else:
        await page.click(".all-types summary")
        await page.click(f".type-btn[data-type={type_key}]")
    await page.wait_for_selector(f"form.entry-form[data-type={type_key}]")
    await fill(page, values)
    if photo is not None:
        await page.set_input_files("#f-photos", files=[{"name": "签到表.jpg", "mimeType": "image/jpeg",
                                                        "buffer": photo}])
    await page.click("form.entry-form button[type=submit]")
    await page.wait_for_selector("form.entry-form", state="detached")


async def fill(page: Page, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = page.locator(f'[name="{name}"]')
        await field.wait_for()
        if await field.evaluate("el => el.tagName") == "SELECT":
            await field.select_option(value)
        else:
            await field.fill(value)


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (the test reads what the server issued to the app)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# Read and write the app's IndexedDB `meta` store from a test (page.evaluate with a key, or [key, value]).
READ_META = """async (key) => {
  const db = await new Promise((ok, no) => { const r = indexedDB.open('fieldlog-phone'); r.onsuccess = () => ok(r.result);
                                             r.onerror = () => no(r.error); });
  return await new Promise((ok) => { const r = db.transaction('meta').objectStore('meta').get(key);
                                     r.onsuccess = () => ok(r.result ? r.result.value : null); });
}"""
WRITE_META = """async ([key, value]) => {
  const db = await new Promise((ok, no) => { const r = indexedDB.open('fieldlog-phone'); r.onsuccess = () => ok(r.result);
                                             r.onerror = () => no(r.error); });
  await new Promise((ok) => { const tx = db.transaction('meta', 'readwrite'); tx.objectStore('meta').put({key, value});
                              tx.oncomplete = () => ok(); });
}"""
