"""The message a channel sends and what the provider answered, classified for the delivery log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

ANSWER_LIMIT = 500  # characters of a provider's answer kept in the delivery log


@dataclass(frozen=True, slots=True)
class Message:
    """A short Chinese text with a link into the console or the app."""

    title: str
    body: str
    link: str

    def markdown(self) -> str:
        return f"**{self.title}**\n\n{self.body}\n\n[打开查看]({self.link})"

    def plain(self) -> str:
        return f"{self.title}\n\n{self.body}\n\n{self.link}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """`sent`, or a failure that is worth retrying (429, 5xx, timeouts) or not (bad key, refused address)."""

    sent: bool
    retryable: bool = False
    status: int | None = None
    answer: str = ""
    retry_after: float | None = None
    reason: str | None = None

    @classmethod
    def ok(cls, status: int | None, answer: str) -> Outcome:
        return cls(sent=True, status=status, answer=answer[:ANSWER_LIMIT])

    @classmethod
    def retry(cls, reason: str, status: int | None = None, answer: str = "",
              retry_after: float | None = None) -> Outcome:
        return cls(sent=False, retryable=True, status=status, answer=answer[:ANSWER_LIMIT],
                   retry_after=retry_after, reason=reason)

    @classmethod
    def fail(cls, reason: str, status: int | None = None, answer: str = "") -> Outcome:
        return cls(sent=False, retryable=False, status=status, answer=answer[:ANSWER_LIMIT], reason=reason)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: a number of seconds, or an HTTP date (RFC 9110 §10.2.3); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
