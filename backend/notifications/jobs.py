"""The notification jobs: the hourly tick that evaluates the rules, and the delivery of one message."""

from __future__ import annotations

from backend.notifications.delivery import MAX_ATTEMPTS, deliver
from backend.notifications.evaluate import tick

__all__ = ["MAX_ATTEMPTS", "deliver", "tick"]
