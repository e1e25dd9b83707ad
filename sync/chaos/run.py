"""The chaos run: many reference clients against a real server process, with everything that goes wrong in a county.

    python -m sync.chaos --phones 200 --mutations 500

Each phone edits offline and syncs through a transport that drops replies after the server committed, sends
the same batch twice, goes offline for a while, and sometimes delivers a later batch before an earlier one.
Clocks are hours off, access tokens expire mid-run, the server process is killed and restarted (with
several nodes on one database behind a balancer, one node at a time: `--nodes 2`), and in the meantime
another session of the same expert and a supervisor edit, approve and return the very records the
phones are editing. At the end `sync.chaos.checks` compares every phone with the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sync.chaos.checks import ChaosResult, check_run
from sync.chaos.cluster import BalancedTransport, Cluster
from sync.chaos.meddler import Meddler
from sync.chaos.world import (
    CHAOS_PASSWORD,
    ChaosPeople,
    Person,
    forge_expired,
    local_today,
    make_people,
)
from sync.client.phone import SyncClient
from sync.client.store import ClientStore
from sync.client.transport import (
    AuthRequired,
    ProtocolError,
    Reply,
    RetryLater,
    TransportError,
)


@dataclass
class ChaosOptions:
    phones: int = 8
    mutations: int = 40
    seed: int = 1
    burst: int = 8  # local edits between two sync attempts, at most
    pause: float = 0.05  # seconds a phone idles between rounds, at most
    p_offline: float = 0.15
    p_drop_reply: float = 0.08
    p_send_twice: float = 0.08
    p_reorder: float = 0.08
    p_expire: float = 0.05
    restarts: tuple[float, ...] = (0.3, 0.65)  # progress fractions at which the server is killed
    meddle_every: float = 0.05
    pull_limit: int = 100
    access_token_minutes: int | None = None
    work_dir: Path | None = None
    workers: int = 1  # uvicorn worker processes of each server node
    nodes: int = 1  # server processes on the same database, behind a balancer (sync.chaos.cluster)
    p_other_node: float = 0.2  # chance that a request goes to another node than the phone's home node


class ChaosTransport:
    """The network between one phone and the server, with its faults."""

    def __init__(self, inner: BalancedTransport, rng: random.Random, opts: ChaosOptions, stats: Counter[str]) -> None:
        self.inner, self.rng, self.opts, self.stats = inner, rng, opts, stats
        self.offline = False
        self.faults = True

    async def send(self, method: str, path: str, *, headers: dict[str, str], body: bytes | None = None,
                   params: dict[str, str] | None = None) -> Reply:
        if self.offline:
            self.stats["attempts_while_offline"] += 1
            raise TransportError("no signal")
        faulty = self.faults and not path.endswith("/login")
        if faulty and path.endswith("/push") and self.rng.random() < self.opts.p_send_twice:
            self.stats["batches_sent_twice"] += 1
            with contextlib.suppress(TransportError):
                await self.inner.send(method, path, headers=headers, body=body, params=params)
        reply = await self.inner.send(method, path, headers=headers, body=body, params=params)
        if faulty and self.rng.random() < self.opts.p_drop_reply:
            self.stats["replies_dropped_after_commit"] += 1
            raise TransportError("the reply was lost on the way back")
        return reply


@dataclass
class Phone:
    index: int
    person: Person
    client: SyncClient
    transport: ChaosTransport
    rng: random.Random
    made: int = 0
    offline_rounds: int = 0
    errors: list[str] = field(default_factory=list)
    last_error: str = ""

    @property
    def device_id(self) -> str:
        return self.client.store.device_id


def _content(phone: Phone, *, invalid: bool = False) -> dict[str, Any]:
    rng = phone.rng
    return {
        "deployment_id": str(phone.person.deployment_id),
        "work_date": (local_today() - timedelta(days=rng.randint(1, 100))).isoformat(),
        "activity_type": "clinic",
        "fields": {"session": rng.choice(["am", "pm", "full_day"]),
                   "patients_first_visit": 999 if invalid else rng.randint(0, 40)},
        # A token unique to this create: the checks find duplicated rows by it.
        "note": f"ck{phone.index}n{phone.made}",
        "device_time": phone.client.clock().isoformat(),
    }


def make_mutation(phone: Phone) -> None:
    """One local edit, as an expert would make it (a few are invalid or hit locked entries on purpose)."""
    rng, client = phone.rng, phone.client
    live = [r for r in client.store.records("entry") if not r.data.get("deleted") and r.state != "rejected"]
    editable = [r for r in live if r.data.get("status") in ("draft", "returned")]
    roll = rng.random()
    if roll < 0.45 or not live:
        client.create_entry(_content(phone, invalid=rng.random() < 0.04))
    elif roll < 0.75:
        rec = rng.choice(editable if editable and rng.random() < 0.85 else live)
        token = str(rec.data.get("note", "")).split(" ")[0]
        client.update_entry(rec.id, {"note": f"{token} phone-edit {phone.made}",
                                     "fields": {"patients_follow_up": rng.randint(0, 30)}})
    elif roll < 0.9 and editable:
        client.submit_entry(rng.choice(editable).id)
    elif editable:
        client.delete_entry(rng.choice(editable).id)
    else:
        client.create_entry(_content(phone))
    phone.made += 1


async def _sync_once(phone: Phone, stats: Counter[str]) -> bool:
    try:
        await phone.client.sync()
        return True
    except RetryLater as exc:
        stats["overload_answers"] += 1
        await asyncio.sleep(min(exc.retry_after, 2.0))
    except TransportError as exc:
        stats["failed_sync_attempts"] += 1
        phone.last_error = str(exc)[:120]
    except AuthRequired:
        stats["sign_ins_required"] += 1
        await _login(phone)
    except ProtocolError as exc:
        phone.errors.append(str(exc))
        stats["protocol_errors"] += 1
    return False


async def _login(phone: Phone) -> None:
    for _ in range(30):
        try:
            await phone.client.login(phone.person.username, CHAOS_PASSWORD)
            return
        except (TransportError, RetryLater):
            await asyncio.sleep(0.3)


async def drive(phone: Phone, opts: ChaosOptions, stats: Counter[str], restarts_done: asyncio.Event) -> None:
    """Edit and sync until this phone has made its share of mutations and the server has been killed enough."""
    rng, client = phone.rng, phone.client
    while phone.made < opts.mutations or not restarts_done.is_set():
        for _ in range(min(rng.randint(1, opts.burst), opts.mutations - phone.made)):
            make_mutation(phone)
        if phone.offline_rounds == 0 and rng.random() < opts.p_offline:
            phone.offline_rounds = rng.randint(1, 4)
            stats["offline_periods"] += 1
        phone.transport.offline = phone.offline_rounds > 0
        phone.offline_rounds = max(phone.offline_rounds - 1, 0)
        if rng.random() < opts.p_expire and (token := client.store.get_meta("access_token")):
            client.store.set_meta("access_token", forge_expired(token))
            stats["tokens_expired"] += 1
        pending = client.store.pending()
        if len(pending) >= 2 and not phone.transport.offline and rng.random() < opts.p_reorder:
            # A later batch arrives first (two requests racing on a flaky link): the server answers with a gap.
            stats["batches_out_of_order"] += 1
            try:
                await client.load_config()
                await client.push_batch(pending[len(pending) // 2:])
            except (TransportError, AuthRequired, ProtocolError):
                pass
        await _sync_once(phone, stats)
        # Done editing but the server is still to be killed: keep syncing, at a calmer pace.
        await asyncio.sleep(rng.uniform(0, opts.pause) + (0.2 if phone.made >= opts.mutations else 0))


async def settle(phone: Phone, stats: Counter[str]) -> None:
    """Faults off, signal back: sync until the outbox is empty and one full pull has succeeded."""
    phone.transport.faults = False
    phone.transport.offline = False
    for _ in range(60):
        if await _sync_once(phone, stats) and not phone.client.store.pending():
            return
        await asyncio.sleep(0.2)
    phone.errors.append(f"did not settle: {phone.last_error}")


async def _killer(cluster: Cluster, phones: list[Phone], opts: ChaosOptions, total: int,
                  done: asyncio.Event) -> None:
    try:
        for fraction in opts.restarts:
            while sum(p.made for p in phones) < fraction * total:  # noqa: ASYNC110 - polling a plain counter
                await asyncio.sleep(0.05)
            # One node at a time, in turn: with several, the others keep serving while it is down.
            await cluster.restart(opts.restarts.index(fraction), downtime=0.5)
            await asyncio.sleep(0.5)  # let the phones reach the new process before it dies again
    finally:
        done.set()


async def run_chaos(opts: ChaosOptions, database_url: str) -> ChaosResult:
    """Start the server, drive the phones, settle, check; returns the counts (see ChaosResult.ok)."""
    work = opts.work_dir or Path(tempfile.mkdtemp(prefix="fieldlog-chaos-"))
    people: ChaosPeople = await make_people(database_url, opts.phones)
    extra = {"FIELDLOG_ACCESS_TOKEN_MINUTES": str(opts.access_token_minutes)} if opts.access_token_minutes else {}
    cluster = Cluster(database_url, work, nodes=opts.nodes, workers=opts.workers, extra_env=extra)
    await cluster.start()
    stats: Counter[str] = Counter()
    master = random.Random(opts.seed)
    phones: list[Phone] = []
    started = time.monotonic()
    try:
        for i, person in enumerate(people.experts):
            rng = random.Random(master.random())
            skew = timedelta(minutes=rng.choice([-480, -180, -45, 0, 0, 3]))
            link = BalancedTransport(cluster, i, rng, stats, p_other_node=opts.p_other_node)
            transport = ChaosTransport(link, rng, opts, stats)
            client = SyncClient(ClientStore(work / f"phone{i}.db"), transport, pull_limit=opts.pull_limit,
                                clock=lambda skew=skew: datetime.now(UTC) + skew, reauthenticate=None)
            phone = Phone(i, person, client, transport, rng)

            async def relogin(c: SyncClient, phone: Phone = phone) -> None:
                stats["sessions_revoked_then_signed_in"] += 1
                await _login(phone)

            client.reauthenticate = relogin
            phones.append(phone)
        await asyncio.gather(*(_login(p) for p in phones))
        meddler = Meddler(database_url, people, phones, stats, rng=random.Random(opts.seed + 1))
        restarts_done = asyncio.Event()
        background = [asyncio.create_task(meddler.run(opts.meddle_every)),
                      asyncio.create_task(_killer(cluster, phones, opts, opts.phones * opts.mutations, restarts_done))]
        await asyncio.gather(*(drive(p, opts, stats, restarts_done) for p in phones))
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await meddler.close()
        await cluster.ensure_up()
        driven = time.monotonic() - started
        await asyncio.gather(*(settle(p, stats) for p in phones))
        stats["server_restarts"] = cluster.restarts
        stats.update(cluster.node_stats())
        if opts.nodes > 1:
            stats["phones_on_several_nodes"] = sum(1 for p in phones if len(p.transport.inner.used) > 1)
        result = await check_run(database_url, phones, stats, seconds=driven)
    finally:
        cluster.stop()
        for p in phones:
            await p.transport.inner.aclose()
            p.client.store.close()
    return result
