"""Refusing robot URLs that could reach inside the network (SSRF): https only, public addresses only.

A host on the explicit allow-list (FIELDLOG_NOTIFY_ALLOW_HOSTS: an on-site mail relay or webhook receiver,
or the tests' local fake servers) may be private and plain http. Names are resolved: a public-looking name
that resolves to a private address is refused too, and the check runs again right before each send.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from backend.errors import FieldError


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def _addresses(host: str, port: int) -> list[str]:
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def url_problems(url: str, allow_hosts: tuple[str, ...], field: str = "url") -> list[FieldError]:
    """Why `url` may not be used for outgoing notifications; empty when it may."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return [FieldError(field=field, code="invalid_url", message="not a valid URL")]
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("https", "http"):
        return [FieldError(field=field, code="invalid_url", message="must be an https:// URL with a host")]
    if parts.username or parts.password:
        return [FieldError(field=field, code="invalid_url", message="credentials in the URL are not accepted")]
    if host in allow_hosts:
        return []
    if parts.scheme != "https":
        return [FieldError(field=field, code="https_required", message="robot and webhook URLs must use https")]
    try:
        addresses = await asyncio.wait_for(_addresses(host, port or 443), timeout=5)
    except (OSError, TimeoutError):
        return [FieldError(field=field, code="unresolvable_host", message=f"{host} does not resolve")]
    if not addresses or any(_private(a) for a in addresses):
        return [FieldError(field=field, code="private_address",
                           message=f"{host} is a private, loopback or link-local address; add it to "
                                   "FIELDLOG_NOTIFY_ALLOW_HOSTS if it is an on-site service")]
    return []
