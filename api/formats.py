# SPDX-License-Identifier: Apache-2.0
"""Checkers for the Matrix string formats used in `api/` (`format: mx-...`).

Each checker answers whether a string is a well-formed identifier of that kind, per the
spec's appendix on identifier grammar. They are lenient where the spec asks receivers to
be (historical user IDs) and strict where it does not.
"""
from __future__ import annotations

import re
from collections.abc import Callable

_SERVER_NAME = re.compile(
    r"^(?:"
    r"\[[0-9A-Fa-f:.]{2,45}\]"  # IPv6 literal
    r"|[0-9]{1,3}(?:\.[0-9]{1,3}){3}"  # IPv4 literal
    r"|[A-Za-z0-9\-.]{1,255}"  # DNS name
    r")(?::[0-9]{1,5})?$"
)
_UNPADDED_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]*$")


def is_server_name(value: str) -> bool:
    return bool(_SERVER_NAME.match(value))


def _sigil_with_server(sigil: str, value: str, *, localpart: re.Pattern[str]) -> bool:
    if not value.startswith(sigil) or ":" not in value:
        return False
    local, _, server = value[1:].partition(":")
    return bool(localpart.match(local)) and is_server_name(server)


# Historical user IDs may hold any printable ASCII except ':' (spec: appendices, user identifiers).
_USER_LOCALPART = re.compile(r"^[\x21-\x39\x3b-\x7e]+$")
_ANY_LOCALPART = re.compile(r"^[^:\x00]*$")


def is_user_id(value: str) -> bool:
    return len(value.encode()) <= 255 and _sigil_with_server("@", value, localpart=_USER_LOCALPART)


def is_room_alias(value: str) -> bool:
    return len(value.encode()) <= 255 and _sigil_with_server("#", value, localpart=_ANY_LOCALPART)


def is_room_id(value: str) -> bool:
    """Room IDs are opaque after the sigil; from room version 12 they carry no server name."""
    return value.startswith("!") and len(value) > 1 and len(value.encode()) <= 255


def is_event_id(value: str) -> bool:
    """`$` then either an opaque `localpart:server` (v1, v2) or a base64 hash (v3+)."""
    return value.startswith("$") and len(value) > 1 and len(value.encode()) <= 255


def is_room_id_or_alias(value: str) -> bool:
    return is_room_id(value) or is_room_alias(value)


def is_mxc_uri(value: str) -> bool:
    if not value.startswith("mxc://"):
        return False
    server, _, media_id = value[len("mxc://") :].partition("/")
    return is_server_name(server) and bool(re.match(r"^[A-Za-z0-9_-]+$", media_id))


def is_unpadded_base64(value: str) -> bool:
    return bool(_UNPADDED_BASE64.match(value)) and len(value) % 4 != 1


FORMAT_CHECKERS: dict[str, Callable[[str], bool]] = {
    "mx-user-id": is_user_id,
    "mx-room-id": is_room_id,
    "mx-event-id": is_event_id,
    "mx-room-alias": is_room_alias,
    "mx-room-id-or-alias": is_room_id_or_alias,
    "mx-server-name": is_server_name,
    "mx-mxc-uri": is_mxc_uri,
    "mx-unpadded-base64": is_unpadded_base64,
}
