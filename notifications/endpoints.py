"""Which Web Push endpoints the worker may contact: no request forgery through a subscription (issue 9, item 3).

A subscription's endpoint is a URL the client chooses, and the worker POSTs to it. Two checks:

* `endpoint_refusal(endpoint)`, on the URL alone: the scheme is https (`PUSH_REQUIRE_HTTPS`, on
  outside tests), and the host is on `PUSH_ALLOWED_HOSTS` — the browsers' push services by
  default. An entry is a host name (`fcm.googleapis.com`), a suffix on a dot boundary
  (`*.notify.windows.com` matches `wns2-par02p.notify.windows.com`, not `notify.windows.com`
  nor `evilnotify.windows.com`), or an IP literal (`127.0.0.1`, `::1`: matches that address
  written in its standard form only). The URL must also be in the plain form browsers give,
  so that every URL parser reads the same host: lowercase, no user info, no backslash, no
  percent-encoded or numeric-looking host names (`2130706433`, `0x7f.1`), no trailing dot.
  The serializer answers a refusal with a 400; the worker deletes a stored endpoint that no
  longer passes (registered before the rule, or the list changed) without contacting it.
* `resolved_refusal(host)`, at send time, for a host name: every address it resolves to
  must be public — not loopback, private, link-local, unique-local, reserved, multicast or
  shared, nor an IPv6 form that embeds an IPv4 address (mapped, 6to4, NAT64, Teredo). An
  allow-listed name whose DNS points inward is refused the same way. Only an allow-listed IP
  literal skips it: an operator wrote that address down (the tests' push service on 127.0.0.1).
  The connection itself then goes to a vetted address (providers, requests-hardened), so a
  second DNS answer cannot swap in an internal one.

The 201-vs-200 of registering stays (201 new for the caller, 200 already theirs): with only
browser push services reachable it tells a user nothing about our network, only about their
own subscription.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from dataclasses import dataclass

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# scheme://host[:port][/path][?query] in RFC 3986's characters; no user info (an "@" before the
# first "/" does not match), no fragment, no backslash, no space: one reading for every parser.
_URL = re.compile(
    r"(?P<scheme>[a-z]+)://"
    r"(?P<host>\[[0-9a-f:.]+\]|[a-z0-9.-]+)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<rest>[/?][A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*)?",
    re.ASCII,
)
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
_TOP_LABEL = re.compile(r"[a-z][a-z0-9-]*", re.ASCII)  # no TLD is numeric: "127.1" or "0x7f.1" is no name

# Not public whatever `is_global` says on this Python: shared, 6to4 relay, benchmarking, and
# the IPv6 forms that carry an IPv4 address to some translator.
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "::/96",
        "::ffff:0:0/96",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "2001::/32",
        "2001:20::/28",
        "2002::/16",
        "3fff::/20",
        "5f00::/16",
        "fec0::/10",
    )
)


class EndpointRefused(Exception):
    """The endpoint must not be contacted (its message says why, without the endpoint's secret path)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # a lowercase name, or an IP address in standard form (IPv6 without brackets)
    port: int
    address: IPAddress | None  # set when the host is an IP literal

    @property
    def allow_listed_literal(self) -> bool:
        return self.address is not None and self.address in _allow_list(tuple(settings.PUSH_ALLOWED_HOSTS))[2]


def is_public_address(address: IPAddress) -> bool:
    """Whether a connection to `address` leaves for the public internet (and only there)."""
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not any(address in net for net in _NOT_PUBLIC if net.version == address.version)
    )


def parse_endpoint(endpoint: str) -> Target:
    """The endpoint's scheme, host and port, or EndpointRefused when it is not a plain push URL."""
    shape = "Must be an https URL." if settings.PUSH_REQUIRE_HTTPS else "Must be an http(s) URL."
    match = _URL.fullmatch(endpoint) if isinstance(endpoint, str) else None
    if match is None:
        raise EndpointRefused(shape)
    scheme, host, port_text = match["scheme"], match["host"], match["port"]
    if scheme != "https" and not (scheme == "http" and not settings.PUSH_REQUIRE_HTTPS):
        raise EndpointRefused(shape)
    port = int(port_text) if port_text else (443 if scheme == "https" else 80)
    if not 0 < port < 65536:
        raise EndpointRefused(shape)
    address = _ip_literal(host)
    if address is not None:
        return Target(scheme=scheme, host=str(address), port=port, address=address)
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels) or not _TOP_LABEL.fullmatch(labels[-1]):
        raise EndpointRefused("Must be the endpoint of a known browser push service.")
    return Target(scheme=scheme, host=host, port=port, address=None)


def endpoint_refusal(endpoint: str) -> str | None:
    """Why the worker must not contact `endpoint` (URL shape, scheme, allow-list), or None."""
    try:
        target = parse_endpoint(endpoint)
    except EndpointRefused as exc:
        return str(exc)
    names, suffixes, addresses = _allow_list(tuple(settings.PUSH_ALLOWED_HOSTS))
    if target.address is not None:
        allowed = target.address in addresses
    else:
        allowed = target.host in names or any(target.host.endswith(suffix) for suffix in suffixes)
    return None if allowed else "Must be the endpoint of a known browser push service."


def resolved_refusal(target: Target) -> str | None:
    """At send time: why the host's addresses must not be contacted, or None. Raises OSError when
    the name does not resolve now (a temporary failure: the job retries)."""
    if target.allow_listed_literal:
        return None
    if target.address is not None:  # a literal not on the list: endpoint_refusal refuses it first
        return None if is_public_address(target.address) else f"{target.address} is not a public address"
    answers = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    addresses = {ipaddress.ip_address(answer[4][0].partition("%")[0]) for answer in answers}
    inward = sorted(str(address) for address in addresses if not is_public_address(address))
    if not addresses or inward:
        return f"{target.host} resolves to an address that is not public ({', '.join(inward) or 'none'})"
    return None


def _ip_literal(host: str) -> IPAddress | None:
    if host.startswith("["):
        try:
            return ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise EndpointRefused("Must be the endpoint of a known browser push service.") from None
    try:
        return ipaddress.IPv4Address(host)  # dotted decimal only: octal, hex or short forms raise
    except ValueError:
        return None


@functools.lru_cache(maxsize=8)
def _allow_list(entries: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...], frozenset[IPAddress]]:
    """PUSH_ALLOWED_HOSTS as (exact names, ".suffix"es of `*.` entries, IP literals)."""
    names: set[str] = set()
    suffixes: list[str] = []
    addresses: set[IPAddress] = set()
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        try:
            addresses.add(ipaddress.ip_address(entry.removeprefix("[").removesuffix("]")))
        except ValueError:
            if entry.startswith("*."):
                suffixes.append(entry[1:])
            else:
                names.add(entry)
    return frozenset(names), tuple(suffixes), frozenset(addresses)
