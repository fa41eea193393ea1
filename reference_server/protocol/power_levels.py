# SPDX-License-Identifier: Apache-2.0
"""Power levels: reading them in every room version's dialect, and the rules for changing them.

Room versions 1-9 accept integers written as strings (v1-stringy-power-levels) and 1-5
also floats (v1-floaty-power-levels); version 10 requires real integers. Version 12
(MSC4289) gives room creators an infinitely high power level. The same helpers serve the
authorisation rules, state resolution and the server's own permission checks, so a
client is never told "allowed" by one and "forbidden" by another.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .errors import AuthError
from .events import content_of
from .room_versions import RoomVersion
from .types import JsonDict

# MSC4289: room creators outrank every integer power level, and each other only equally.
INFINITE_POWER = math.inf

PowerLevel = int | float  # float only ever for INFINITE_POWER

# server-server-api/#definitions and the m.room.power_levels schema: defaults.
NAMED_LEVEL_DEFAULTS: Mapping[str, int] = {
    "users_default": 0,
    "events_default": 0,
    "state_default": 50,
    "ban": 50,
    "kick": 50,
    "redact": 50,
    "invite": 0,
}

_STRINGY_INT = re.compile(r"[+-]?[0-9]+")


def parse_power_level_value(value: Any, version: RoomVersion) -> int | None:
    """The integer a power level value stands for in this room version, or None if invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and version.allows_string_power_levels:
        stripped = value.strip()
        return int(stripped) if _STRINGY_INT.fullmatch(stripped) else None
    if isinstance(value, float) and version.allows_float_power_levels:
        return int(value) if math.isfinite(value) else None  # truncates toward zero
    return None


def _level(content: Mapping[str, Any] | None, name: str, version: RoomVersion) -> int:
    value = parse_power_level_value((content or {}).get(name), version)
    return NAMED_LEVEL_DEFAULTS[name] if value is None else value


def named_power_level(name: str, power_levels: JsonDict | None, version: RoomVersion) -> int:
    """One of `ban`, `kick`, `redact`, `invite`, `*_default`, with the spec's defaults."""
    return _level(power_levels, name, version)


def room_creators(create_event: JsonDict | None, version: RoomVersion) -> set[str]:
    """The room's creators: `creator` (v1-10) or the create `sender` (v11+), plus
    `additional_creators` from v12 (rooms/v12 "Authorisation rules")."""
    if not create_event:
        return set()
    content = content_of(create_event)
    if version.implicit_room_creator:
        creators = {create_event.get("sender")}
    else:
        creators = {content.get("creator")}
    if version.creators_have_infinite_power:
        extra = content.get("additional_creators")
        if isinstance(extra, list):
            creators.update(u for u in extra if isinstance(u, str))
    return {c for c in creators if isinstance(c, str)}


def power_level_of(
    user_id: str,
    power_levels_content: JsonDict | None,
    create_event: JsonDict | None,
    version: RoomVersion,
) -> PowerLevel:
    """A user's power level given the room's power levels content (None if there is none).

    v12 creators have `INFINITE_POWER`. Otherwise the `users` entry or `users_default`
    applies; with no power levels event at all the creator has 100 and everyone else 0.
    """
    creators = room_creators(create_event, version)
    if version.creators_have_infinite_power and user_id in creators:
        return INFINITE_POWER
    if power_levels_content is None:
        return 100 if user_id in creators else 0
    users = power_levels_content.get("users")
    if isinstance(users, dict) and user_id in users:
        level = parse_power_level_value(users[user_id], version)
        if level is not None:
            return level
    return _level(power_levels_content, "users_default", version)


def required_power_level(
    event_type: str,
    *,
    state_key: str | None,
    power_levels_content: JsonDict | None,
    version: RoomVersion,
) -> int:
    """The level needed to send `event_type`: `events[type]`, else `state_default` (state
    events) or `events_default` (others)."""
    events = (power_levels_content or {}).get("events")
    if isinstance(events, dict) and event_type in events:
        level = parse_power_level_value(events[event_type], version)
        if level is not None:
            return level
    default = "state_default" if state_key is not None else "events_default"
    return _level(power_levels_content, default, version)


def is_valid_user_id(value: Any) -> bool:
    """A user ID as the auth rules need it: "@localpart:domain", at most 255 bytes.

    Historical user IDs (appendices/#historical-user-ids) may use more characters in the
    localpart, so only the shape is checked here.
    """
    if not isinstance(value, str) or not value.startswith("@") or ":" not in value:
        return False
    localpart, _, domain = value[1:].partition(":")
    return bool(localpart) and bool(domain) and len(value.encode("utf-8")) <= 255


def _check_shape(content: JsonDict, version: RoomVersion) -> None:
    """Rules 10.1-10.3 (9.1 before v10): the values must be (string-)integers."""
    if version.enforce_int_power_levels:
        # 10.1 Named properties present must be integers.
        for name in NAMED_LEVEL_DEFAULTS:
            if name in content and parse_power_level_value(content[name], version) is None:
                raise AuthError(f"power levels: {name} is not an integer")
        # 10.2 `events` and `notifications` must be objects of integers.
        for name in ("events", "notifications"):
            if name in content:
                _require_int_map(content[name], name, version, user_keys=False)
    # 10.3 `users` must map valid user IDs to integers.
    if "users" in content:
        _require_int_map(content["users"], "users", version, user_keys=True)


def _require_int_map(value: Any, name: str, version: RoomVersion, *, user_keys: bool) -> None:
    if not isinstance(value, dict):
        raise AuthError(f"power levels: {name} is not an object")
    for key, level in value.items():
        if user_keys and not is_valid_user_id(key):
            raise AuthError(f"power levels: {key!r} in users is not a user ID")
        if parse_power_level_value(level, version) is None:
            raise AuthError(f"power levels: {name}[{key!r}] is not an integer")


def check_power_levels_change(
    event: JsonDict,
    previous: JsonDict | None,
    create_event: JsonDict | None,
    version: RoomVersion,
) -> None:
    """Rule 10 (9 in v6-v11, 10 in v1-v5 and v12) for an m.room.power_levels event.

    `previous` is the content of the current power levels event, if any.
    """
    new = content_of(event)
    _check_shape(new, version)
    if version.creators_have_infinite_power:
        # 10.4 (v12) Creators may not appear in `users`.
        users = new.get("users") or {}
        listed = room_creators(create_event, version).intersection(users)
        if listed:
            raise AuthError(f"power levels: creators {sorted(listed)} may not be in users")
    # 10.5 No previous power levels event: allow.
    if previous is None:
        return
    sender = event.get("sender", "")
    sender_level = power_level_of(sender, previous, create_event, version)
    # 10.6 Named levels added, changed or removed: old and new must be <= sender's level.
    for name in NAMED_LEVEL_DEFAULTS:
        _check_entry(name, _parse(previous, name, version), _parse(new, name, version), sender_level)
    # 10.7/10.8 `events`, and `notifications` from v6, entries likewise.
    maps = ("events", "notifications") if version.limit_notifications_power_levels else ("events",)
    for name in maps:
        old_map, new_map = _int_map(previous, name, version), _int_map(new, name, version)
        for key in old_map.keys() | new_map.keys():
            _check_entry(f"{name}[{key}]", old_map.get(key), new_map.get(key), sender_level)
    # 10.9/10.10 `users`: others' old levels must be below the sender's; new ones not above.
    old_users, new_users = _int_map(previous, "users", version), _int_map(new, "users", version)
    for user in old_users.keys() | new_users.keys():
        old, new_level = old_users.get(user), new_users.get(user)
        if old == new_level:
            continue
        if user != sender and old is not None and old >= sender_level:
            raise AuthError(f"power levels: cannot change {user}, who has level {old}")
        if new_level is not None and new_level > sender_level:
            raise AuthError(f"power levels: cannot give {user} level {new_level} above own")


def _parse(content: JsonDict, name: str, version: RoomVersion) -> int | None:
    return parse_power_level_value(content.get(name), version) if name in content else None


def _int_map(content: JsonDict, name: str, version: RoomVersion) -> dict[str, int]:
    value = content.get(name)
    if not isinstance(value, dict):
        return {}
    parsed = {k: parse_power_level_value(v, version) for k, v in value.items()}
    return {k: v for k, v in parsed.items() if v is not None}


def _check_entry(label: str, old: int | None, new: int | None, sender_level: PowerLevel) -> None:
    if old == new:
        return
    if old is not None and old > sender_level:
        raise AuthError(f"power levels: cannot change {label} from {old}, above own level")
    if new is not None and new > sender_level:
        raise AuthError(f"power levels: cannot set {label} to {new}, above own level")
