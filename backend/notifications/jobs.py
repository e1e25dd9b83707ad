"""The notification jobs: the hourly tick that evaluates the rules, and the delivery of one message.

The names and handlers live with the feature; the catalogue (backend/job_catalog.py) registers them.
"""

from __future__ import annotations

from backend.notifications.delivery import DELIVER, MAX_ATTEMPTS, deliver
from backend.notifications.evaluate import tick

TICK = "notify.tick"

__all__ = ["DELIVER", "MAX_ATTEMPTS", "TICK", "deliver", "tick"]
