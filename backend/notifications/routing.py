"""Which channel a message takes for one recipient: their preference, the institution's robots, e-mail. Pure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

ROBOT_ORDER = ("wecom", "dingtalk", "webhook")


@dataclass(frozen=True, slots=True)
class Preference:
    channel: str = "auto"  # auto | wecom | dingtalk | webhook | email
    email: str | None = None
    digests: bool = True


@dataclass(frozen=True, slots=True)
class Route:
    """The channel chosen, or why the message is suppressed (it is still logged, once)."""

    channel: str
    channel_id: uuid.UUID | None = None
    address: str | None = None
    suppressed: str | None = None


def choose(pref: Preference | None, robots: dict[str, uuid.UUID], *, digest: bool, smtp_ready: bool) -> Route:
    """Route one message. Digests honour the opt-out; returned-work notices (digest=False) always go out."""
    pref = pref or Preference()
    if digest and not pref.digests:
        return Route("none", suppressed="opted_out_of_digests")
    if pref.channel == "email" or (pref.channel == "auto" and not robots and pref.email):
        if not pref.email:
            return Route("email", suppressed="no_email_address")
        if not smtp_ready:
            return Route("email", address=pref.email, suppressed="smtp_not_configured")
        return Route("email", address=pref.email)
    if pref.channel in ROBOT_ORDER:
        if pref.channel not in robots:
            return Route(pref.channel, suppressed=f"no_{pref.channel}_robot_configured")
        return Route(pref.channel, channel_id=robots[pref.channel])
    for kind in ROBOT_ORDER:
        if kind in robots:
            return Route(kind, channel_id=robots[kind])
    return Route("none", suppressed="no_channel_configured")
