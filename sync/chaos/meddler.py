"""The server side of the chaos run: another session of the same expert edits, and a supervisor reviews,
the very records the phones are editing, through the core's own services and state machine."""

from __future__ import annotations

import asyncio
import random
import tempfile
import uuid
from collections import Counter
from typing import Any

from sqlalchemy import select

from backend.auth.principal import Principal
from backend.db.engine import make_engine, make_sessionmaker
from backend.errors import DomainError
from backend.models import Entry
from backend.review.decisions import decide
from backend.review.schemas import Decision
from backend.settings import load_settings
from backend.worklog.schemas import EntryPatch
from backend.worklog.service import update_entry
from sync.chaos.world import CHAOS_JWT_SECRET, ChaosPeople


class Meddler:
    """Edits records concurrently with the phones: an expert's second session, a supervisor's review."""

    def __init__(self, database_url: str, people: ChaosPeople, phones: list[Any], stats: Counter[str], *,
                 rng: random.Random) -> None:
        self.engine = make_engine(database_url, pool_size=2)
        self.sessionmaker = make_sessionmaker(self.engine)
        self.settings = load_settings({"FIELDLOG_JWT_KEYS": f"chaos:{CHAOS_JWT_SECRET}",
                                       "FIELDLOG_DATA_DIR": tempfile.gettempdir()})
        self.people, self.phones, self.stats, self.rng = people, phones, stats, rng
        self.supervisor = Principal(user_id=people.supervisor_id, username="supervisor", name="", device_id=None,
                                    session_id=None, roles=frozenset({"supervisor"}),
                                    supervised=frozenset({people.institution_id}))

    async def run(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.meddle_once()
            except DomainError:
                self.stats["server_edits_refused"] += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a lock timeout or the like must not stop the run
                self.stats["server_edit_errors"] += 1

    async def close(self) -> None:
        await self.engine.dispose()

    async def meddle_once(self) -> None:
        phone = self.rng.choice(self.phones)
        known = [r for r in phone.client.store.records("entry") if r.server_version]
        if not known:
            return
        entry_id = uuid.UUID(self.rng.choice(known).id)
        async with self.sessionmaker() as s, s.begin():
            entry = (await s.execute(select(Entry).where(Entry.id == entry_id, Entry.deleted_at.is_(None))
                                     .with_for_update())).scalar_one_or_none()
            if entry is None:
                return
            if entry.status in ("draft", "returned"):
                await self._edit_elsewhere(s, entry)
            elif entry.status == "submitted":
                await self._review(s, entry)

    async def _edit_elsewhere(self, s: Any, entry: Entry) -> None:
        principal = Principal(user_id=entry.expert_id, username="other-session", name="", device_id=None,
                              session_id=None, roles=frozenset({"expert"}))
        token = (entry.note or "").split(" ")[0]
        patch = EntryPatch(note=f"{token} server-edit", fields={**entry.fields, "difficult_cases": self.rng.randint(0, 9)})
        await update_entry(s, principal, entry.id, patch, entry.version, self.settings)
        self.stats["server_edits"] += 1

    async def _review(self, s: Any, entry: Entry) -> None:
        action = "approve" if self.rng.random() < 0.6 else "return"
        comment = None if action == "approve" else "请补充门诊人数"
        answer = await decide(s, self.supervisor, [Decision(entry_id=entry.id, version=entry.version, action=action,
                                                            comment=comment)], self.settings)
        if answer.applied:
            self.stats["supervisor_approvals" if action == "approve" else "supervisor_returns"] += 1
        else:
            self.stats["server_edits_refused"] += 1
