# SPDX-License-Identifier: Apache-2.0
"""Small helpers for room-model tests: room versions, power levels, sync room entries,
server ACLs.

Room versions are the server's choice (it lists what it offers in /capabilities), so a
test about version N runs only where version N is offered, and says so when it is not.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.harness.checks import Check
from tests.harness.client import Client, user_id_of

JsonDict = dict[str, Any]

STABLE_ROOM_VERSIONS = [str(v) for v in range(1, 13)]


def versions(first: int, last: int = 12) -> list[Any]:
    """`pytest.param("7", id="v7")` … for room versions first..last inclusive."""
    return [pytest.param(str(v), id=f"v{v}") for v in range(first, last + 1)]


def require_room_version(client: Client, version: str) -> None:
    """Skips (with the reason) unless the target offers this room version."""
    body = client.do("GET", ["capabilities"]).json()
    available = (body.get("capabilities", {}).get("m.room_versions", {}) or {}).get("available")
    if version not in (available or {}):
        pytest.skip(f"the target does not offer room version {version} in /capabilities")


def power_level(client: Client, room: str, user: Client | str) -> float:
    """The user's power level in the room, by the rules of its room version.

    Creators of rooms of version 12 and later have infinite power; otherwise the level is
    the `users` entry, else `users_default` (0 if absent).
    """
    user_id = user_id_of(user)
    create = next(e for e in client.room_state(room)
                  if e["type"] == "m.room.create" and e["state_key"] == "")
    version = create["content"].get("room_version", "1")
    if version.isdigit() and int(version) >= 12:
        creators = {create["sender"], *create["content"].get("additional_creators", [])}
        if user_id in creators:
            return float("inf")
    levels = client.get_state(room, "m.room.power_levels")
    return float(levels.get("users", {}).get(user_id, levels.get("users_default", 0)))


def named_level(client: Client, room: str, name: str, default: int) -> float:
    """A named level (`invite`, `kick`, `ban`, …) from the power levels, or its default."""
    return float(client.get_state(room, "m.room.power_levels").get(name, default))


def room_entry(client: Client, section: str, room: str, timeout: float = 10.0) -> JsonDict:
    """Waits until /sync lists the room under `rooms.<section>`; returns that entry."""
    found: JsonDict = {}

    def test(body: JsonDict) -> str | None:
        entries = (body.get("rooms") or {}).get(section) or {}
        if room in entries:
            found.update(entries[room])
            return None
        return f"{room} is not in rooms.{section} (which has {sorted(entries) or 'nothing'})"
    client.sync_until(Check(f"{room} in rooms.{section}", test), timeout=timeout)
    return found


def stripped_events(entry: JsonDict, key: str) -> list[JsonDict]:
    """The events of `invite_state` / `knock_state` in a sync room entry."""
    return list((entry.get(key) or {}).get("events") or [])


def membership_is(user: Client | str, membership: str) -> Any:
    """A predicate for `timeline_has`: the m.room.member event setting this membership."""
    user_id = user_id_of(user)
    return lambda e: (e.get("type") == "m.room.member" and e.get("state_key") == user_id
                      and (e.get("content") or {}).get("membership") == membership)


def host_of(server_name: str) -> str:
    """The server name without its port: ACLs never consider ports."""
    host, _, port = server_name.rpartition(":")
    return host if port.isdigit() and host else server_name


def deny_server(client: Client, room: str, server_name: str) -> None:
    """Sets an ACL that allows every server but `server_name`'s host.

    Spec: client-server-api/#mroomserver_acl — patterns match server names without ports.
    """
    client.send_state(room, "m.room.server_acl",
                      {"allow": ["*"], "deny": [host_of(server_name)], "allow_ip_literals": True})
