"""The sign-in throttle: hard on what an attacker controls, soft on the account, never on its own devices.

Failed sign-ins are rows of `login_attempts`, shared by every API node. Within the window
(`FIELDLOG_LOGIN_WINDOW_SECONDS`) a sign-in is refused with 429 + Retry-After when

- its address already has `login_max_failures_per_address` failures (any account): the attacker's own address;
- the pair account × address already has `login_max_failures` failures: the attacker's own guesses at one account;
- the account has `login_max_failures_per_account` failures from all addresses together (a spread-out attack)
  and the device is not registered to the account.

Below that, an account with `login_max_failures` or more failures is only slowed down: a delay that doubles from
250 ms with each further failure, up to `login_max_delay_ms`. Nobody else's failures can refuse the right password.

A device registered to the account (its id has signed in to this account with the right password before and an
administrator has not released it) skips the address, pair and account rules and the delay: it has its own budget
of `login_max_failures` per account × device × address, so its owner's typos are limited but a stranger's are not
counted against it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import delete, func, insert, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import TooManyRequests
from backend.metrics.series import LOGIN_DELAYED, LOGIN_THROTTLED
from backend.models import LoginAttempt
from backend.settings import Settings

FIRST_DELAY = 0.25
_REFUSED = {
    "address": "Too many failed sign-ins from this address; wait before trying again",
    "pair": "Too many failed sign-ins to this account from this address; wait before trying again",
    "account": "Too many failed sign-ins to this account; wait, or sign in from a device you used before",
    "device": "Too many failed sign-ins from this device; wait before trying again",
}


class Budgets(msgspec.Struct, kw_only=True, frozen=True):
    """The throttle's limits, from the settings."""

    window_seconds: int
    per_pair: int
    per_address: int
    per_account: int
    max_delay: float

    @classmethod
    def of(cls, settings: Settings) -> Budgets:
        return cls(window_seconds=settings.login_window_seconds, per_pair=settings.login_max_failures,
                   per_address=settings.login_max_failures_per_address,
                   per_account=settings.login_max_failures_per_account,
                   max_delay=settings.login_max_delay_ms / 1000)


class Tally(msgspec.Struct, kw_only=True, frozen=True):
    """Earlier failures in the window, per key, and when the oldest of each leaves the window."""

    address: int = 0
    pair: int = 0
    account: int = 0
    device: int = 0
    oldest: dict[str, datetime] = msgspec.field(default_factory=dict)


class Verdict(msgspec.Struct, kw_only=True, frozen=True):
    refused: str | None = None  # the key whose budget is spent: address, pair, account or device
    delay: float = 0.0


def decide(tally: Tally, registered: bool, budgets: Budgets) -> Verdict:
    """What the throttle does with one sign-in (pure)."""
    if registered:
        return Verdict(refused="device" if tally.device >= budgets.per_pair else None)
    for key, count, limit in (("address", tally.address, budgets.per_address),
                              ("pair", tally.pair, budgets.per_pair),
                              ("account", tally.account, budgets.per_account)):
        if count >= limit:
            return Verdict(refused=key)
    if tally.account < budgets.per_pair:
        return Verdict()
    return Verdict(delay=min(FIRST_DELAY * 2 ** (tally.account - budgets.per_pair), budgets.max_delay))


_REGISTERED = text("SELECT EXISTS (SELECT 1 FROM devices d JOIN users u ON u.id = d.user_id "
                   "WHERE d.id = :device AND u.username = :username)")


async def _tally(session: AsyncSession, username: str, address: str, device_id: str, window: timedelta,
                 own: int) -> tuple[Tally, datetime]:
    """Earlier failures per key, and the database's now (the rows' clock, whichever node is asking)."""
    a = LoginAttempt
    keys = {"address": a.address == address, "pair": (a.username == username) & (a.address == address),
            "account": a.username == username,
            "device": (a.username == username) & (a.address == address) & (a.device_id == device_id)}
    columns = [c for cond in keys.values()
               for c in (func.count().filter(cond), func.min(a.at).filter(cond))]
    row = (await session.execute(select(func.now(), *columns).where(
        a.at > func.now() - window, a.id != own, or_(a.address == address, a.username == username)))).one()
    counts = dict(zip(keys, row[1::2], strict=True))
    oldest = {k: v for k, v in zip(keys, row[2::2], strict=True) if v is not None}
    return Tally(**counts, oldest=oldest), row[0]


class Attempt(msgspec.Struct, kw_only=True, frozen=True):
    """One sign-in under way: its row (counted at once by every node) and whether its device is registered."""

    id: int
    username: str
    address: str
    device_id: str
    registered: bool


async def admit(session: AsyncSession, settings: Settings, *, username: str, address: str,
                device_id: str) -> Attempt:
    """Count this sign-in, then refuse it (429) or let it through, after the account's delay if any.

    The attempt is written and committed before the others are counted: of many concurrent guesses on several
    nodes, each sees every one committed before it, so no more than the budget get to check a password.
    """
    budgets = Budgets.of(settings)
    registered = bool((await session.execute(_REGISTERED, {"device": device_id, "username": username})).scalar())
    own = (await session.execute(insert(LoginAttempt).values(username=username, address=address,
                                                             device_id=device_id).returning(LoginAttempt.id)))\
        .scalar_one()
    await session.commit()
    window = timedelta(seconds=budgets.window_seconds)
    tally, now = await _tally(session, username, address, device_id, window, own)
    verdict = decide(tally, registered, budgets)
    if verdict.refused is not None:
        # A refused sign-in checked no password: it is not a failure and leaves nothing behind.
        await session.execute(delete(LoginAttempt).where(LoginAttempt.id == own))
        await session.commit()
        LOGIN_THROTTLED.labels(verdict.refused).inc()
        # The budget frees up when the oldest failure it counts leaves the window.
        oldest = tally.oldest.get(verdict.refused, now)
        retry = max(int((oldest + window - now).total_seconds()) + 1, 1)
        raise TooManyRequests(
            _REFUSED[verdict.refused],
            headers={"Retry-After": str(retry)},
            extra={"retry_after": retry, "limit": verdict.refused},
        )
    if verdict.delay > 0:
        LOGIN_DELAYED.inc()
        await session.commit()  # the pooled connection is not held while the caller waits
        await asyncio.sleep(verdict.delay)
    return Attempt(id=own, username=username, address=address, device_id=device_id, registered=registered)


async def failed(session: AsyncSession, attempt: Attempt, settings: Settings) -> None:
    """Keep the attempt as a failure (committed although the request answers an error); drop expired ones."""
    window = timedelta(seconds=settings.login_window_seconds)
    await session.execute(delete(LoginAttempt).where(
        LoginAttempt.at <= func.now() - window,
        or_(LoginAttempt.username == attempt.username, LoginAttempt.address == attempt.address)))
    await session.commit()


async def succeeded(session: AsyncSession, attempt: Attempt) -> None:
    """The right password: forget the failures of this pair (of this device, for a registered one).

    Failures from other addresses stay counted, and a registered device sharing an attacker's address (one NAT)
    does not give the attacker a fresh budget by signing in.
    """
    a = LoginAttempt
    mine = (a.username == attempt.username) & (
        (a.device_id == attempt.device_id) if attempt.registered else (a.address == attempt.address))
    await session.execute(delete(a).where(or_(a.id == attempt.id, mine)))
