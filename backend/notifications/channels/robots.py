"""WeCom and DingTalk group robots and the generic signed webhook, over HTTPS with timeouts.

The robot URL carries its key (`key=` for WeCom, `access_token=` for DingTalk): it is a secret like the signing
secret, so neither is ever logged; the delivery log keeps the provider's answer, not the URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from urllib.parse import quote_plus

import httpx
import msgspec

from backend.notifications.channels.base import Message, Outcome, retry_after_seconds

# httpx logs every request's full URL at INFO, and a robot URL carries its key: keep its loggers quiet.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

# Providers' "too many messages" codes, answered with HTTP 200: retry later like a 429.
_RATE_LIMITED = {"wecom": {45009}, "dingtalk": {130101, 410100}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(secret, "timestamp\\nsecret")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex HMAC of "timestamp." + body>` (the receiver recomputes it and checks the timestamp's age)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def _request(kind: str, url: str, secret: str | None, message: Message, rule: str) -> tuple[str, bytes, dict[str, str]]:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if kind == "wecom":
        body = {"msgtype": "markdown", "markdown": {"content": message.markdown()}}
    elif kind == "dingtalk":
        body = {"msgtype": "markdown", "markdown": {"title": message.title, "text": message.markdown()}}
        if secret:
            ts = int(time.time() * 1000)
            url = f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={dingtalk_sign(secret, ts)}"
    else:
        body = {"rule": rule, "title": message.title, "body": message.body, "link": message.link}
    raw = msgspec.json.encode(body)
    if kind == "webhook" and secret:
        ts = int(time.time())
        headers |= {"X-Fieldlog-Timestamp": str(ts), "X-Fieldlog-Signature": webhook_signature(secret, ts, raw)}
    return url, raw, headers


def _judge(kind: str, response: httpx.Response) -> Outcome:
    answer = response.text
    if response.status_code == 429 or response.status_code >= 500:
        return Outcome.retry(f"http_{response.status_code}", response.status_code, answer,
                             retry_after_seconds(response.headers.get("Retry-After")))
    if response.status_code >= 300:
        return Outcome.fail(f"http_{response.status_code}", response.status_code, answer)
    if kind == "webhook":
        return Outcome.ok(response.status_code, answer)
    try:
        code = int(msgspec.json.decode(response.content).get("errcode", -1))
    except (msgspec.DecodeError, AttributeError, TypeError, ValueError):
        return Outcome.fail("unreadable_answer", response.status_code, answer)
    if code == 0:
        return Outcome.ok(response.status_code, answer)
    if code in _RATE_LIMITED[kind]:
        return Outcome.retry(f"rate_limited_{code}", response.status_code, answer, 60.0)
    return Outcome.fail(f"provider_error_{code}", response.status_code, answer)


async def send_http(kind: str, url: str, secret: str | None, message: Message, *, rule: str,
                    seconds: float, client: httpx.AsyncClient | None = None) -> Outcome:
    """Post one message to a robot or webhook; never raises for the provider's faults."""
    target, raw, headers = _request(kind, url, secret, message, rule)
    own = client is None
    http = client or httpx.AsyncClient(timeout=seconds, follow_redirects=False)
    try:
        response = await http.post(target, content=raw, headers=headers, timeout=seconds)
    except httpx.TimeoutException:
        return Outcome.retry("timeout")
    except httpx.TransportError as exc:
        return Outcome.retry(f"connection_error ({type(exc).__name__})")
    finally:
        if own:
            await http.aclose()
    return _judge(kind, response)
