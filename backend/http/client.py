"""Who is calling, from a trustworthy source, and the headers every answer carries.

The caller's address is the socket peer, unless that peer is one of the configured trusted proxies
(`FIELDLOG_TRUSTED_PROXIES`): then the address is read from `X-Forwarded-For`, right to left, skipping the
trusted hops, so a client cannot pick its own address by sending the header itself. The sign-in throttle, the
verify-page limit and the audit trail all read the address this middleware leaves in the ASGI scope.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.netaddr import TrustedProxies, parse_ip

_NOSNIFF = (b"x-content-type-options", b"nosniff")


def trusted_client(networks: Sequence[str]) -> Callable[[ASGIApp], ASGIApp]:
    """Middleware: put the real client address (and scheme) into the scope when the peer is a trusted proxy."""
    proxies = TrustedProxies(networks)

    def factory(app: ASGIApp) -> ASGIApp:
        if not (proxies.networks or proxies.any):
            return app

        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            client = scope.get("client")
            if scope["type"] in ("http", "websocket") and client and proxies.trusts(parse_ip(client[0])):
                headers = scope.get("headers") or []
                forwarded = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-for"]
                address = proxies.client(client[0], forwarded)
                if address is not None:
                    scope["client"] = (address, 0)
                proto = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-proto"]
                if proto and proto[-1].split(",")[-1].strip().lower() in ("http", "https"):
                    scope["scheme"] = proto[-1].split(",")[-1].strip().lower()
            await app(scope, receive, send)

        return middleware

    return factory


def client_address(scope: Scope) -> str:
    """The caller's address as the middleware left it ("unknown" when the server gave none)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def nosniff(message: Message, scope: Scope) -> None:
    """A `before_send` hook: every answer of the app says `X-Content-Type-Options: nosniff`, once."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or [])
    if not any(k.lower() == _NOSNIFF[0] for k, _ in headers):
        headers.append(_NOSNIFF)
    message["headers"] = headers
