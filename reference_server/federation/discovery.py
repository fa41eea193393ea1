# SPDX-License-Identifier: Apache-2.0
"""Server discovery (server-server, resolving server names): where to connect for a name.

The steps, in the spec's order: an IP literal or an explicit port is used as is; else
`/.well-known/matrix/server` may delegate to another host, whose own IP literal or port
is again used as is; else SRV records (`_matrix-fed._tcp`, then the deprecated
`_matrix._tcp`); else port 8448. The TLS name to check is the server name, or the
delegated name after a well-known delegation — never an SRV target.
"""
from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.resolver

DEFAULT_PORT = 8448

WellKnownFetcher = Callable[[str], Awaitable[bytes | None]]


@dataclass(frozen=True)
class Destination:
    """Where to open the connection and what to present/check over it."""

    connect_host: str  # host or IP literal to connect to
    port: int
    tls_name: str  # the name the certificate must be valid for (SNI)
    host_header: str  # the Host header to send

    @property
    def base_url(self) -> str:
        host = f"[{self.connect_host}]" if ":" in self.connect_host else self.connect_host
        return f"https://{host}:{self.port}"


def split_host_port(name: str) -> tuple[str, int | None]:
    if name.startswith("["):
        host, _, rest = name[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    host, sep, port = name.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, int(port)
    return name, None


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def resolve_server_name(server_name: str, *, fetch_well_known: WellKnownFetcher,
                              srv_lookup: Callable[[str], Awaitable[tuple[str, int] | None]]
                              | None = None) -> Destination:
    srv = srv_lookup or lookup_srv
    host, port = split_host_port(server_name)
    # 1 / 2: IP literal, or an explicit port: connect directly.
    if is_ip_literal(host) or port is not None:
        return Destination(host, port or DEFAULT_PORT, host, server_name)
    # 3: a well-known delegation.
    delegated = await _well_known(host, fetch_well_known)
    if delegated is not None:
        d_host, d_port = split_host_port(delegated)
        if is_ip_literal(d_host) or d_port is not None:
            return Destination(d_host, d_port or DEFAULT_PORT, d_host, delegated)
        found = await srv(f"_matrix-fed._tcp.{d_host}") or await srv(f"_matrix._tcp.{d_host}")
        if found:
            return Destination(found[0], found[1], d_host, d_host)
        return Destination(d_host, DEFAULT_PORT, d_host, d_host)
    # 4 / 5: SRV for the server name itself, else port 8448.
    found = await srv(f"_matrix-fed._tcp.{host}") or await srv(f"_matrix._tcp.{host}")
    if found:
        return Destination(found[0], found[1], host, host)
    return Destination(host, DEFAULT_PORT, host, host)


async def _well_known(host: str, fetch: WellKnownFetcher) -> str | None:
    body = await fetch(host)
    if body is None:
        return None
    try:
        value = json.loads(body).get("m.server")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


async def lookup_srv(name: str) -> tuple[str, int] | None:
    """The best-priority SRV target, or None when there is no record."""
    try:
        answer = await dns.asyncresolver.resolve(name, "SRV", lifetime=5)
    except (dns.exception.DNSException, dns.resolver.NoAnswer):
        return None
    records = sorted(answer, key=lambda r: (r.priority, -r.weight))
    if not records:
        return None
    return str(records[0].target).rstrip("."), records[0].port
