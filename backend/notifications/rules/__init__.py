"""The reminder and digest rules: pure functions of facts and a clock, tested without a database."""

from __future__ import annotations

from backend.notifications.rules.schedule import DEFAULTS, Notice, RuleSettings, due, period_of

__all__ = ["DEFAULTS", "Notice", "RuleSettings", "due", "period_of"]
