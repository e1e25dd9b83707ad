"""Client addresses and trusted proxies, pure (no I/O, nothing of backend): which hop of a request is the client.

The caller's address is the socket peer, unless that peer is one of the configured trusted proxies
(`FIELDLOG_TRUSTED_PROXIES`): then it is read from `X-Forwarded-For`, right to left, skipping the trusted hops,
so a client cannot pick its own address by sending the header itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
ANY = "*"


def parse_trusted_proxies(raw: str) -> tuple[str, ...]:
    """`10.0.0.5, 172.16.0.0/12` (or `*`: every peer is a proxy) as normalised networks; ValueError names a bad one."""
    found: list[str] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        if part == ANY:
            return (ANY,)
        try:
            found.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or network (such as 10.0.0.0/8)") from None
    return tuple(found)


def parse_ip(raw: str) -> Address | None:
    """An address from a header or a socket (with or without a port); IPv4-mapped IPv6 as IPv4; None if not one."""
    text = raw.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class TrustedProxies:
    """Decides which hops of a request's path are our own proxies."""

    def __init__(self, networks: Sequence[str]) -> None:
        self.any = ANY in networks
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in networks if n != ANY)

    def trusts(self, ip: Address | None) -> bool:
        if ip is None:
            return False
        return self.any or any(ip in net for net in self.networks)

    def client(self, peer: str | None, forwarded_for: Iterable[str]) -> str | None:
        """The calling client's address: the first hop, from the right, that is not a trusted proxy."""
        if peer is None or not (self.networks or self.any):
            return peer
        peer_ip = parse_ip(peer)
        if not self.trusts(peer_ip):
            return peer
        hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
        current = str(peer_ip)
        for hop in reversed(hops):
            ip = parse_ip(hop)
            if ip is None:
                return current  # a broken header: the last hop we could read is as far as we can trust
            current = str(ip)
            if not self.trusts(ip):
                return current
        return current  # every hop is a proxy (`*`): the leftmost one is the client
