"""Where messages go: group robots (WeCom, DingTalk), a signed webhook, e-mail. Each send answers an Outcome."""

from __future__ import annotations

from backend.notifications.channels.base import Message, Outcome, retry_after_seconds

__all__ = ["Message", "Outcome", "retry_after_seconds"]
