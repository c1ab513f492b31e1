"""Which client a request comes from, believing X-Forwarded-For only as far as trusted proxies vouch.

``X-Forwarded-For`` is a list each proxy appends to, so only the entries added by our own proxies are
trustworthy. Walking it from the right, every address that is a trusted proxy is skipped; the first one
that is not is the client. A peer that is not a trusted proxy is the client itself, whatever it claims.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """Parse CIDRs (``10.0.0.0/8``, ``::1``) into networks.

    Raises:
        ValueError: a value is not an address or network.
    """
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client's address.

    Args:
        peer: the TCP peer's address (``scope["client"][0]``).
        forwarded_for: the ``X-Forwarded-For`` header, if any.
        trusted: networks of proxies whose header is believed.
    """
    address = peer or "unknown"
    if not forwarded_for or not trusted or not _is_trusted(address, trusted):
        return address
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a malformed entry: stop believing the chain
        if not _is_trusted(hop, trusted):
            return hop
        address = hop
    return address
