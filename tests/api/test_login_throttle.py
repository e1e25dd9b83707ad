"""The sign-in throttle from the victim's side: an attacker spends their own budget, never the supervisor's.

Each request's socket peer is chosen per request (the `x-test-peer` header below plays the network: it sets the
ASGI client address the way a server's socket would), so attacker and victim can sit at different addresses.
The app trusts 10.0.0.0/8 as its proxies, the way docs/operations.md configures an nginx in front.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from backend.app import create_app
from backend.models import LoginAttempt
from backend.settings import Settings, load_settings
from tests.api.test_auth import problem
from tests.conftest import JWT_SECRET
from tests.factories import PASSWORD, World

ATTACKER = "203.0.113.66"
VICTIM_HOME = "198.51.100.7"
PROXY = "10.0.0.5"
PER_PAIR, PER_ADDRESS, PER_ACCOUNT = 3, 8, 12


class Peer:
    """The network in front of the app: the `x-test-peer` header becomes the request's socket peer."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            peer = headers.get(b"x-test-peer")
            if peer:
                scope["client"] = (peer.decode(), 40000)
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def throttle_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("throttle")
    return load_settings({"FIELDLOG_DATA_DIR": str(data), "FIELDLOG_JWT_KEYS": f"t1:{JWT_SECRET}",
                          "FIELDLOG_STORAGE_DIR": str(data / "files"), "FIELDLOG_WORKER_IN_PROCESS": "false",
                          "FIELDLOG_MAX_INFLIGHT": "10000", "FIELDLOG_LOGIN_MAX_FAILURES": str(PER_PAIR),
                          "FIELDLOG_LOGIN_MAX_FAILURES_PER_ADDRESS": str(PER_ADDRESS),
                          "FIELDLOG_LOGIN_MAX_FAILURES_PER_ACCOUNT": str(PER_ACCOUNT),
                          "FIELDLOG_LOGIN_MAX_DELAY_MS": "300", "FIELDLOG_TRUSTED_PROXIES": "10.0.0.0/8"})


@pytest.fixture(scope="module")
async def nodes(throttle_settings: Settings, database_url: str) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Two API nodes on the one database, each reached through the network above."""
    apps = [create_app(throttle_settings, database_url) for _ in range(2)]
    # The start-up hooks are run here, in the tests' loop (a lifespan task group cannot span fixture set-up and
    # tear-down, and the test client's portal runs the app on a loop of its own).
    for app in apps:
        for hook in app.on_startup:
            await hook(app)
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=Peer(app)), base_url="http://node")
               for app in apps]
    yield clients
    for c in clients:
        await c.aclose()
    for app in apps:
        for hook in app.on_shutdown:
            await hook(app)


async def sign_in(node: httpx.AsyncClient, username: str, *, peer: str, password: str = PASSWORD,
                  device: str = "device-stranger-1", headers: dict[str, str] | None = None) -> httpx.Response:
    return await node.post("/api/v1/auth/login", headers={"x-test-peer": peer, **(headers or {})},
                           json={"username": username, "password": password, "device_id": device})


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_attacker_is_refused_while_the_victim_signs_in_elsewhere_and_on_her_phone(
        db: Any, nodes: list[httpx.AsyncClient], world: World) -> None:
    node = nodes[0]
    victim = world.supervisor_a.username
    # Her phone signed in once, last week: it is registered to her.
    assert (await sign_in(node, victim, peer=VICTIM_HOME, device="sup-phone-0001")).status_code == 200
    pair_before = counted("fieldlog_login_throttled_total", key="pair")
    for _ in range(PER_PAIR):
        assert (await sign_in(node, victim, peer=ATTACKER, password="guess-123456")).status_code == 401
    for password in ("guess-999999", PASSWORD):  # even a right guess from there is refused now
        r = await sign_in(node, victim, peer=ATTACKER, password=password)
        refused = problem(r, 429)
        assert refused["limit"] == "pair"
        assert 0 < refused["retry_after"] <= 901
        assert r.headers["retry-after"] == str(refused["retry_after"])
    problem(await sign_in(node, victim, peer=ATTACKER, password="guess-000000"), 429)
    assert counted("fieldlog_login_throttled_total", key="pair") - pair_before == 3
    # The victim, from her hospital, on a browser she never used: signed in (slowed a little, not refused).
    delayed_before = counted("fieldlog_login_delayed_total")
    started = time.monotonic()
    assert (await sign_in(node, victim, peer=VICTIM_HOME, device="web-new-browser-1")).status_code == 200
    assert time.monotonic() - started >= 0.24  # the first step of the delay: 250 ms
    assert counted("fieldlog_login_delayed_total") - delayed_before == 1
    # Her registered phone signs in even from the attacker's own address (one hospital NAT), without a delay.
    assert (await sign_in(node, victim, peer=ATTACKER, device="sup-phone-0001")).status_code == 200
    assert counted("fieldlog_login_delayed_total") - delayed_before == 1
    # The attacker's budget was not refreshed by her success at the same address.
    assert problem(await sign_in(node, victim, peer=ATTACKER, password="guess-1"), 429)["limit"] == "pair"


async def test_an_address_spraying_many_accounts_is_refused_but_others_are_not(
        db: Any, nodes: list[httpx.AsyncClient], world: World) -> None:
    node = nodes[0]
    for n in range(PER_ADDRESS):
        assert (await sign_in(node, f"nobody{n}", peer=ATTACKER, password="x")).status_code == 401
    assert problem(await sign_in(node, world.expert_a.username, peer=ATTACKER), 429)["limit"] == "address"
    assert (await sign_in(node, world.expert_a.username, peer=VICTIM_HOME)).status_code == 200


async def test_a_spread_out_attack_refuses_new_devices_but_never_her_registered_one(
        db: Any, nodes: list[httpx.AsyncClient], world: World) -> None:
    node = nodes[0]
    victim = world.supervisor_a.username
    assert (await sign_in(node, victim, peer=VICTIM_HOME, device="sup-phone-0002")).status_code == 200
    # A botnet: one guess from each of many addresses, under every per-address budget.
    guesses = [sign_in(node, victim, peer=f"192.0.2.{n}", password="guess-x") for n in range(PER_ACCOUNT)]
    assert [r.status_code for r in await asyncio.gather(*guesses)] == [401] * PER_ACCOUNT
    refused = problem(await sign_in(node, victim, peer=VICTIM_HOME, device="web-new-browser-2"), 429)
    assert refused["limit"] == "account"
    assert "device you used before" in refused["detail"]
    assert (await sign_in(node, victim, peer=VICTIM_HOME, device="sup-phone-0002")).status_code == 200
    assert (await sign_in(node, victim, peer="192.0.2.200", device="sup-phone-0002")).status_code == 200


async def test_a_registered_device_has_its_own_small_budget(db: Any, nodes: list[httpx.AsyncClient],
                                                            world: World) -> None:
    node = nodes[0]
    who = world.expert_a.username
    assert (await sign_in(node, who, peer=VICTIM_HOME, device="phone-expert-a1")).status_code == 200
    for _ in range(PER_PAIR):
        assert (await sign_in(node, who, peer=VICTIM_HOME, device="phone-expert-a1", password="typo")).status_code \
            == 401
    assert problem(await sign_in(node, who, peer=VICTIM_HOME, device="phone-expert-a1"), 429)["limit"] == "device"


async def test_failures_count_across_nodes_and_concurrent_guesses_do_not_overrun_the_budget(
        db: Any, nodes: list[httpx.AsyncClient], world: World) -> None:
    victim = world.supervisor_b.username
    guesses = [sign_in(nodes[n % 2], victim, peer=ATTACKER, password=f"guess-{n}") for n in range(10)]
    statuses = [r.status_code for r in await asyncio.gather(*guesses)]
    assert set(statuses) <= {401, 429}
    # Then one at a time, alternating nodes, until refused: in all, exactly the budget got to check a password.
    for n in range(PER_PAIR + 1):
        status = (await sign_in(nodes[n % 2], victim, peer=ATTACKER, password=f"again-{n}")).status_code
        statuses.append(status)
        if status == 429:
            break
    assert statuses.count(401) == PER_PAIR
    assert statuses[-1] == 429
    assert problem(await sign_in(nodes[1], victim, peer=ATTACKER), 429)["limit"] == "pair"
    assert problem(await sign_in(nodes[0], victim, peer=ATTACKER), 429)["limit"] == "pair"


async def test_the_address_comes_from_the_socket_unless_a_trusted_proxy_forwards_it(
        db: Any, nodes: list[httpx.AsyncClient], session: Any) -> None:
    node = nodes[0]
    # Straight from the internet, a forged X-Forwarded-For changes nothing: the peer is counted.
    await sign_in(node, "ghost", peer=ATTACKER, password="x", headers={"X-Forwarded-For": "192.0.2.1"})
    # Through the proxy, the hop the proxy appended is the client, not what the client wrote before it.
    await sign_in(node, "ghost", peer=PROXY, password="x",
                  headers={"X-Forwarded-For": "192.0.2.1, 198.51.100.23"})
    await sign_in(node, "ghost", peer=PROXY, password="x", headers={"X-Forwarded-For": "198.51.100.24, 10.0.0.9"})
    addresses = (await session.execute(select(LoginAttempt.address).order_by(LoginAttempt.id))).scalars().all()
    assert addresses == [ATTACKER, "198.51.100.23", "198.51.100.24"]
    # A forged header cannot spread one attacker over many addresses to dodge the budget.
    for n in range(PER_PAIR):
        await sign_in(node, "ghost2", peer=ATTACKER, password="x", headers={"X-Forwarded-For": f"192.0.2.{n}"})
    spoofed = await sign_in(node, "ghost2", peer=ATTACKER, password="x", headers={"X-Forwarded-For": "192.0.2.99"})
    assert problem(spoofed, 429)["limit"] == "pair"
