# SPDX-License-Identifier: Apache-2.0
"""Server access control lists (`m.room.server_acl`): validating content and matching servers.

Spec (client-server, server access control lists): `allow` and `deny` are lists of
server-name globs (`*` any run of characters, `?` one character), matched against the
server name without its port; `allow_ip_literals` (default true) says whether servers
named by an IP literal may take part. Deny wins over allow, and a server that matches
no allow entry is denied — so content without `allow` denies everyone.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

from .types import JsonDict


class InvalidAcl(ValueError):
    """The content is not a usable ACL; a server should refuse to send it."""


@dataclass(frozen=True)
class ServerAcl:
    allow: tuple[str, ...]
    deny: tuple[str, ...]
    allow_ip_literals: bool


def parse_acl(content: JsonDict, *, strict: bool = True) -> ServerAcl:
    """An ACL from event content. `strict` refuses malformed entries (for events we send);
    otherwise non-string entries are ignored, as the spec asks receivers to do."""
    lists = {}
    for key in ("allow", "deny"):
        value = content.get(key, [])
        if not isinstance(value, list):
            if strict:
                raise InvalidAcl(f"`{key}` must be a list of server-name globs")
            value = []
        if strict and any(not isinstance(entry, str) for entry in value):
            raise InvalidAcl(f"every entry of `{key}` must be a string")
        lists[key] = tuple(entry for entry in value if isinstance(entry, str))
    allow_ip = content.get("allow_ip_literals", True)
    if not isinstance(allow_ip, bool):
        if strict:
            raise InvalidAcl("`allow_ip_literals` must be a boolean")
        allow_ip = True
    return ServerAcl(lists["allow"], lists["deny"], allow_ip)


def server_allowed(acl: ServerAcl, server_name: str) -> bool:
    host = _host_of(server_name)
    if _is_ip_literal(host) and not acl.allow_ip_literals:
        return False
    if any(_glob(pattern).fullmatch(host) for pattern in acl.deny):
        return False
    return any(_glob(pattern).fullmatch(host) for pattern in acl.allow)


def _host_of(server_name: str) -> str:
    if server_name.startswith("["):
        return server_name[: server_name.index("]") + 1]
    return server_name.rsplit(":", 1)[0] if server_name.count(":") == 1 else server_name


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE)
