"""Whether a host is on the public internet: where the server may send requests that a
third party chose the address of (webhook endpoints, training organisations' identity
providers), so that they cannot be used to reach the network the server sits in."""

import ipaddress
import socket

# IPv6 forms that carry an IPv4 address (NAT64, 6to4, IPv4-compatible): judged by that address.
_EMBEDDING = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("::/96"))


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6:
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and any(ip in network for network in _EMBEDDING):
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return _private(str(inner))
    return not ip.is_global or ip.is_multicast


def private_host(host: str) -> bool:
    """Whether `host` is, or resolves to, an address outside the public internet (loopback,
    private networks, link-local such as 169.254.169.254): not a place a request chosen by a third
    party goes (webhooks unless WEBHOOKS_ALLOW_PRIVATE_ADDRESSES, identity providers unless
    OIDC_ALLOW_PRIVATE_ADDRESSES). A name that does not resolve is not private (the
    delivery then fails and says so)."""
    host = host.strip("[]").rstrip(".").lower()
    try:
        return _private(host)
    except ValueError:
        pass
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        found = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    return any(_private(info[4][0]) for info in found)
