# SPDX-License-Identifier: Apache-2.0
"""The authorisation rules of room versions 1-12 (rooms/vN "Authorisation rules").

Comments number rules as room version 12 does. Older versions lack some rules, which
shifts their numbers: v1-v5 have the same numbering as v12 from rule 3 on, minus v12's
rule 2 (room ID is the create event), plus rule 4 for m.room.aliases and rule 11 for
redactions (v1-v2); v6-v11 drop the aliases rule, so their rule N is v12's rule N+1.

Two entry points mirror the two ways the rules are applied
(server-server-api/#checks-performed-on-receipt-of-a-pdu):
- `check_auth_events` looks at the event's own `auth_events` list (rule 3: no
  duplicates, only the selected types, same room). The caller must also ensure none of
  them was rejected (3.3), which needs storage this module does not have.
- `check_auth` applies every other rule against a state map: the auth events keyed by
  (type, state_key), the state before the event, or the current state.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import AuthError
from .event_ids import compute_event_id
from .events import content_of, prev_event_ids
from .membership_rules import check_membership
from .power_levels import (
    check_power_levels_change,
    is_valid_user_id,
    named_power_level,
    power_level_of,
    required_power_level,
)
from .room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from .types import JsonDict, StateKey

__all__ = [
    "AuthError",
    "auth_types_for_event",
    "check_auth",
    "check_auth_events",
    "needs_create_event",
    "power_level_of",
    "required_power_level",
]

CREATE_KEY: StateKey = ("m.room.create", "")
POWER_LEVELS_KEY: StateKey = ("m.room.power_levels", "")
JOIN_RULES_KEY: StateKey = ("m.room.join_rules", "")


def needs_create_event(version: RoomVersion) -> bool:
    """Whether `check_auth` must be given the create event separately (v12: it is implied
    by the room ID, never listed in `auth_events`, yet every rule needs it)."""
    return version.auth_events_exclude_create


def auth_types_for_event(
    event_type: str,
    sender: str,
    state_key: str | None,
    content: JsonDict,
    version: RoomVersion,
) -> list[StateKey]:
    """The state keys whose current events go in `auth_events`
    (server-server-api/#auth-events-selection)."""
    if event_type == "m.room.create" and state_key == "":
        return []
    keys: list[StateKey] = []
    if not version.auth_events_exclude_create:
        keys.append(CREATE_KEY)
    keys += [POWER_LEVELS_KEY, ("m.room.member", sender)]
    if event_type == "m.room.member" and isinstance(state_key, str):
        membership = content.get("membership")
        keys.append(("m.room.member", state_key))
        if membership in ("join", "invite", "knock"):
            keys.append(JOIN_RULES_KEY)
        invite = content.get("third_party_invite")
        if membership == "invite" and isinstance(invite, dict):
            signed = invite.get("signed")
            token = signed.get("token") if isinstance(signed, dict) else None
            if isinstance(token, str):
                keys.append(("m.room.third_party_invite", token))
        authoriser = content.get("join_authorised_via_users_server")
        if membership == "join" and version.restricted_join_rule and isinstance(authoriser, str):
            keys.append(("m.room.member", authoriser))
    return list(dict.fromkeys(keys))


def check_auth_events(
    event: JsonDict,
    auth_events: Sequence[JsonDict],
    version: RoomVersion,
) -> None:
    """Rule 3 (2 before v12) on the event's actual `auth_events` list.

    3.1 no duplicate (type, state_key); 3.2 only what auth events selection picks (v12:
    never the create event; earlier: the create event must be there, 3.4); 3.5 every
    auth event is in the event's room. 3.3 (none rejected) is the caller's to check.
    """
    if event.get("type") == "m.room.create" and event.get("state_key") == "":
        if auth_events:
            raise AuthError("the create event has no auth events")
        return
    allowed = set(
        auth_types_for_event(
            event.get("type", ""), event.get("sender", ""), event.get("state_key"),
            content_of(event), version,
        )
    )
    seen: set[StateKey] = set()
    for auth_event in auth_events:
        key = (auth_event.get("type"), auth_event.get("state_key"))
        # 3.1 No duplicates.
        if key in seen:
            raise AuthError(f"duplicate auth event for {key}")
        seen.add(key)  # type: ignore[arg-type]
        # 3.2 Only selected entries.
        if key not in allowed:
            raise AuthError(f"auth event {key} is not one auth events selection picks")
        # 3.5 (MSC4307) Same room.
        if auth_event.get("room_id") != event.get("room_id"):
            raise AuthError("auth event from another room")
    # 3.4 (before v12) The create event must be among them.
    if not version.auth_events_exclude_create and CREATE_KEY not in seen:
        raise AuthError("no m.room.create among the auth events")


def check_auth(
    event: JsonDict,
    auth_events: Mapping[StateKey, JsonDict],
    version: RoomVersion,
    *,
    create_event: JsonDict | None = None,
) -> None:
    """Raise `AuthError` unless `event` is allowed against the state map `auth_events`.

    In v12 rooms pass the room's create event as `create_event` (see
    `needs_create_event`); earlier versions read it from `auth_events`.
    """
    # 1. The create event.
    if event.get("type") == "m.room.create":
        _check_create(event, version)
        return
    create = _find_create(event, auth_events, version, create_event)
    sender = event.get("sender", "")
    # 3.5 (MSC4307) State used for the checks must belong to the event's room.
    used = auth_types_for_event(
        event.get("type", ""), sender, event.get("state_key"), content_of(event), version
    )
    for key in used:
        state_event = auth_events.get(key)
        if state_event is not None and state_event.get("room_id") != event.get("room_id"):
            raise AuthError(f"auth event {key} is from another room")
    # 4. m.federate: false keeps other servers out.
    if content_of(create).get("m.federate", True) is False:
        if _domain(sender) != _domain(create.get("sender", "")):
            raise AuthError("room does not federate")
    event_type = event.get("type")
    # v1-v5 rule 4: m.room.aliases is governed by the sender's domain alone.
    if event_type == "m.room.aliases" and version.special_case_aliases_auth:
        state_key = event.get("state_key")
        if not isinstance(state_key, str):
            raise AuthError("m.room.aliases without state_key")
        if state_key != _domain(sender):
            raise AuthError("m.room.aliases state_key must be the sender's domain")
        return
    # 5. Membership events have their own rules.
    if event_type == "m.room.member":
        check_membership(event, auth_events, create, version)
        return
    _check_after_membership(event, auth_events, create, version)


def _check_after_membership(
    event: JsonDict, state: Mapping[StateKey, JsonDict], create: JsonDict, version: RoomVersion
) -> None:
    sender = event.get("sender", "")
    event_type = event.get("type", "")
    state_key = event.get("state_key")
    member = state.get(("m.room.member", sender))
    # 6. The sender must be joined.
    if content_of(member).get("membership") != "join":
        raise AuthError("sender is not joined to the room")
    power_levels = _content_or_none(state.get(POWER_LEVELS_KEY))
    sender_level = power_level_of(sender, power_levels, create, version)
    # 7. m.room.third_party_invite needs the invite level.
    if event_type == "m.room.third_party_invite":
        if sender_level < named_power_level("invite", power_levels, version):
            raise AuthError("sending a third-party invite needs the invite level")
        return
    # 8. The event type's required power level.
    needed = required_power_level(
        event_type, state_key=state_key, power_levels_content=power_levels, version=version
    )
    if needed > sender_level:
        raise AuthError(f"{event_type} needs power level {needed}")
    # 9. State keys that are user IDs belong to that user.
    if isinstance(state_key, str) and state_key.startswith("@") and state_key != sender:
        raise AuthError("cannot set state keyed to another user")
    # 10. Power level changes.
    if event_type == "m.room.power_levels":
        check_power_levels_change(event, power_levels, create, version)
        return
    # v1-v2 rule 11: redactions need the redact level or the same origin.
    if event_type == "m.room.redaction" and version.auth_checks_redactions:
        if sender_level >= named_power_level("redact", power_levels, version):
            return
        if _domain(event.get("redacts", "")) == _domain(event.get("event_id", "")):
            return
        raise AuthError("redaction needs the redact level or the same origin")
    # 11. Otherwise, allow.


def _check_create(event: JsonDict, version: RoomVersion) -> None:
    content = content_of(event)
    # 1.1 No prev_events.
    if prev_event_ids(event) or event.get("prev_events"):
        raise AuthError("the create event cannot have prev_events")
    # 1.2 v12: no room_id at all; earlier: room_id's domain is the sender's.
    if version.room_id_from_create_event:
        if "room_id" in event:
            raise AuthError("the create event cannot have a room_id")
    elif _domain(event.get("room_id", "")) != _domain(event.get("sender", "")):
        raise AuthError("room_id and sender domains differ")
    # 1.3 A known room_version, if given.
    if "room_version" in content and content["room_version"] not in KNOWN_ROOM_VERSIONS:
        raise AuthError(f"unknown room version {content['room_version']!r}")
    # v1-v10 1.4: `creator` is required.
    if not version.implicit_room_creator and "creator" not in content:
        raise AuthError("the create event has no creator")
    # 1.4 (v12) additional_creators must be valid user IDs.
    if version.creators_have_infinite_power and "additional_creators" in content:
        extra = content["additional_creators"]
        if not isinstance(extra, list) or not all(is_valid_user_id(u) for u in extra):
            raise AuthError("additional_creators must be a list of user IDs")


def _find_create(
    event: JsonDict,
    state: Mapping[StateKey, JsonDict],
    version: RoomVersion,
    create_event: JsonDict | None,
) -> JsonDict:
    if version.room_id_from_create_event:
        # 2. (v12) The room ID names the create event.
        if create_event is None:
            raise AuthError("the room's create event is needed to check this event")
        room_id = event.get("room_id")
        if room_id != "!" + compute_event_id(create_event, version)[1:]:
            raise AuthError("room_id is not the create event's ID")
        return create_event
    # 3.4 (before v12) The create event is part of the state.
    create = state.get(CREATE_KEY) or create_event
    if create is None:
        raise AuthError("no m.room.create event")
    if create.get("room_id") != event.get("room_id"):
        raise AuthError("the create event is from another room")
    return create


def _content_or_none(state_event: JsonDict | None) -> JsonDict | None:
    return None if state_event is None else content_of(state_event)


def _domain(identifier: Any) -> str:
    """The server name part of a user, room (v1-11) or event (v1-2) ID."""
    if not isinstance(identifier, str) or ":" not in identifier:
        return ""
    return identifier.split(":", 1)[1]
