"""Client IP resolution: X-Forwarded-For is believed only from trusted proxies."""

from __future__ import annotations

from etsygen_gateway.domain.network import client_ip, parse_networks

PROXIES = parse_networks(["10.0.0.0/8", "::1"])


def test_a_direct_client_is_its_peer_whatever_it_claims() -> None:
    assert client_ip("203.0.113.9", "198.51.100.1", PROXIES) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_client_is_the_first_untrusted_hop_from_the_right() -> None:
    assert client_ip("10.0.0.5", "198.51.100.1, 203.0.113.9, 10.0.0.7", PROXIES) == "203.0.113.9"


def test_a_spoofed_leftmost_entry_does_not_win() -> None:
    assert client_ip("10.0.0.5", "1.2.3.4, 203.0.113.9", PROXIES) == "203.0.113.9"


def test_garbage_in_the_header_stops_the_walk_at_the_proxy() -> None:
    assert client_ip("10.0.0.5", "nonsense", PROXIES) == "10.0.0.5"


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_ip("10.0.0.5", "203.0.113.9", ()) == "10.0.0.5"
