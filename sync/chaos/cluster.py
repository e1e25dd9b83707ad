"""Several server processes on one PostgreSQL, and the load balancer in front of them (`--nodes N`).

Each node is its own uvicorn process with its own data folder and the same settings otherwise, as nodes are
in production. The balancer sends each phone to its home node, and sometimes to another one (balancers do
not promise stickiness), so one device's pushes and pulls land on different processes; a request that
cannot connect (the node is down) goes to the next node, as a balancer's health check would route it. A
request that reached a node and lost its reply is not retried here: that is the phone's job.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import httpx

from sync.chaos.world import ServerProcess
from sync.client.transport import Reply, TransportError


class Cluster:
    """`nodes` server processes on the same database; `restart(k)` SIGKILLs node k and starts it again."""

    def __init__(self, database_url: str, work: Path, *, nodes: int, workers: int,
                 extra_env: dict[str, str] | None = None) -> None:
        dirs = [work / "server"] if nodes == 1 else [work / f"server{k}" for k in range(nodes)]
        self.nodes = [ServerProcess(database_url, d, extra_env=dict(extra_env or {}), workers=workers) for d in dirs]

    async def start(self) -> None:
        await asyncio.gather(*(node.start() for node in self.nodes))

    async def restart(self, k: int, downtime: float = 0.5) -> None:
        await self.nodes[k % len(self.nodes)].restart(downtime=downtime)

    async def ensure_up(self) -> None:
        """Start every node that is not running (a run can end while one is down)."""
        await asyncio.gather(*(n.start() for n in self.nodes if n.proc is None or n.proc.poll() is not None))

    @property
    def restarts(self) -> int:
        return sum(n.restarts for n in self.nodes)

    def node_stats(self) -> dict[str, int]:
        return {f"node{k}_restarts": n.restarts for k, n in enumerate(self.nodes)} if len(self.nodes) > 1 else {}

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class BalancedTransport:
    """The phone's HTTP link through the balancer: home node first, another node now and then, failover on refusal."""

    def __init__(self, cluster: Cluster, home: int, rng: random.Random, stats: Counter[str], *,
                 p_other_node: float = 0.2, timeout: float = 30.0) -> None:
        self.urls = [n.base_url for n in cluster.nodes]
        self.clients = [httpx.AsyncClient(base_url=u, timeout=timeout) for u in self.urls]
        self.home, self.rng, self.stats, self.p_other_node = home % len(self.urls), rng, stats, p_other_node
        self.used: set[int] = set()  # the nodes that answered this phone

    async def send(self, method: str, path: str, *, headers: dict[str, str], body: bytes | None = None,
                   params: dict[str, str] | None = None) -> Reply:
        n = len(self.clients)
        first = self.home
        if n > 1 and self.rng.random() < self.p_other_node:
            first = (self.home + self.rng.randrange(1, n)) % n
        for step in range(n):
            k = (first + step) % n
            try:
                r = await self.clients[k].request(method, path, headers=headers, content=body, params=params)
            except httpx.ConnectError as exc:
                if step + 1 < n:
                    self.stats["requests_failed_over"] += 1
                    continue
                raise TransportError(f"{type(exc).__name__}: {exc}") from exc
            except httpx.HTTPError as exc:
                raise TransportError(f"{type(exc).__name__}: {exc}") from exc
            if n > 1:
                self.stats[f"requests_node{k}"] += 1
                self.used.add(k)
            return Reply(r.status_code, r.headers, r.content)
        raise TransportError("no node answered")  # unreachable: the loop returns or raises

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()
