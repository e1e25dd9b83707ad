"""Which hop is the client: the socket peer, or what a trusted proxy says; a client cannot choose its address."""

from __future__ import annotations

import pytest

from backend.netaddr import TrustedProxies, parse_ip, parse_trusted_proxies
from backend.settings import SettingsError, load_settings


def test_without_trusted_proxies_the_socket_peer_is_the_client() -> None:
    assert TrustedProxies(()).client("203.0.113.5", ["198.51.100.1"]) == "203.0.113.5"


def test_an_untrusted_peer_cannot_forward_an_address() -> None:
    proxies = TrustedProxies(parse_trusted_proxies("10.0.0.0/8"))
    assert proxies.client("203.0.113.5", ["198.51.100.1"]) == "203.0.113.5"


@pytest.mark.parametrize(("forwarded", "client"), [
    (["198.51.100.1"], "198.51.100.1"),
    (["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # the client wrote the first entry itself
    (["198.51.100.1, 10.1.2.3"], "198.51.100.1"),  # two proxies in a row
    (["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # several headers are one list
    (["not-an-ip, 198.51.100.1"], "198.51.100.1"),
    (["198.51.100.1, garbage"], "10.0.0.5"),  # a broken last hop: stop at the proxy itself
    ([], "10.0.0.5"),
])
def test_a_trusted_proxy_forwards_the_first_untrusted_hop_from_the_right(forwarded: list[str], client: str) -> None:
    proxies = TrustedProxies(parse_trusted_proxies("10.0.0.0/8, 192.168.1.1"))
    assert proxies.client("10.0.0.5", forwarded) == client


def test_addresses_are_normalised() -> None:
    assert str(parse_ip("::ffff:203.0.113.9")) == "203.0.113.9"
    assert str(parse_ip("203.0.113.9:5555")) == "203.0.113.9"
    assert str(parse_ip("[2001:db8::1]:443")) == "2001:db8::1"
    assert parse_ip("testclient") is None


KEYS = {"FIELDLOG_JWT_KEYS": "t1:" + "k" * 40}


def test_trusted_proxies_setting_is_validated_and_falls_back_to_uvicorns_name() -> None:
    assert load_settings({**KEYS, "FIELDLOG_TRUSTED_PROXIES": "10.0.0.1, 172.16.0.0/12"}).trusted_proxies == (
        "10.0.0.1/32", "172.16.0.0/12")
    assert load_settings({**KEYS, "FORWARDED_ALLOW_IPS": "*"}).trusted_proxies == ("*",)
    assert load_settings(KEYS).trusted_proxies == ()
    with pytest.raises(SettingsError, match="FIELDLOG_TRUSTED_PROXIES.*'nginx'"):
        load_settings({**KEYS, "FIELDLOG_TRUSTED_PROXIES": "nginx"})
