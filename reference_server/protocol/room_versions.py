# SPDX-License-Identifier: Apache-2.0
"""Room versions as records of named behaviours.

Room version identifiers are opaque strings (rooms/#room-version-grammar), and versions are
not ordered, so code never compares identifiers: it asks a `RoomVersion` about the one
behaviour it cares about. Each flag below names the spec section that introduced it.
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass


class EventIdFormat(enum.Enum):
    """How event IDs are made (rooms/v1 "Event IDs", rooms/v3, rooms/v4)."""

    V1_SERVER_GENERATED = "v1"  # "$opaque:domain", carried in the PDU's event_id field
    V2_BASE64 = "v2"  # "$" + standard unpadded base64 of the reference hash
    V3_URLSAFE_BASE64 = "v3"  # "$" + URL-safe unpadded base64 of the reference hash


class StateResAlgorithm(enum.Enum):
    """Which state resolution algorithm a room uses."""

    V1 = "v1"  # rooms/v1 "State resolution"
    V2 = "v2"  # rooms/v2, the v2-state-res fragment
    V2_1 = "v2.1"  # rooms/v12 (MSC4297): empty starting state, conflicted state subgraph


@dataclass(frozen=True)
class RoomVersion:
    """Everything that differs between room versions, as named flags."""

    identifier: str
    event_id_format: EventIdFormat
    state_res: StateResAlgorithm
    # v5: signing keys must be valid at the event's origin_server_ts.
    enforce_key_validity: bool
    # v1-v2: auth rule 11 checks m.room.redaction events against the redact level
    # (rooms/v3 "Handling redactions" moved this out of the auth rules).
    auth_checks_redactions: bool
    # v1-v5: auth rule 4 for m.room.aliases (sender's domain must match state_key).
    special_case_aliases_auth: bool
    # v1-v5: m.room.aliases keeps `aliases` when redacted (removed in v6).
    redaction_keeps_aliases: bool
    # v6: events must be strictly canonical JSON (no floats, ints within 2**53).
    strict_canonical_json: bool
    # v6: power level rules also guard the `notifications` property.
    limit_notifications_power_levels: bool
    # v7: `knock` join rule and membership.
    knock_join_rule: bool
    # v8: `restricted` join rule with join_authorised_via_users_server.
    restricted_join_rule: bool
    # v9: m.room.member keeps join_authorised_via_users_server when redacted.
    redaction_keeps_join_authorised: bool
    # v10: `knock_restricted` join rule.
    knock_restricted_join_rule: bool
    # v10: power level values must be real integers, not strings.
    enforce_int_power_levels: bool
    # v11: m.room.create has no `creator`; the create event's sender is the creator.
    implicit_room_creator: bool
    # v11: the clarified redaction algorithm (rooms/v11 "Redactions").
    updated_redaction_rules: bool
    # v11: m.room.redaction carries `redacts` in content rather than top-level.
    redacts_in_content: bool
    # v12 (MSC4291): room ID is "!" + the create event's reference hash; create has no room_id.
    room_id_from_create_event: bool
    # v12 (MSC4289): create sender and additional_creators have infinite power.
    creators_have_infinite_power: bool
    # v12: the create event is never listed in auth_events (implied by the room ID).
    auth_events_exclude_create: bool

    @property
    def event_id_in_pdu(self) -> bool:
        """Whether PDUs carry `event_id` and (id, hashes) pairs for edges (v1, v2)."""
        return self.event_id_format is EventIdFormat.V1_SERVER_GENERATED

    @property
    def max_depth(self) -> int:
        """Largest allowed `depth`: 2**63-1 before v6, 2**53-1 once canonical JSON is strict."""
        return 2**53 - 1 if self.strict_canonical_json else 2**63 - 1

    @property
    def allows_string_power_levels(self) -> bool:
        """v1-v9 accept power levels written as strings (v1-stringy-power-levels)."""
        return not self.enforce_int_power_levels

    @property
    def allows_float_power_levels(self) -> bool:
        """v1-v5 accept power levels written as floats (v1-floaty-power-levels)."""
        return not self.strict_canonical_json


_V1 = RoomVersion(
    identifier="1",
    event_id_format=EventIdFormat.V1_SERVER_GENERATED,
    state_res=StateResAlgorithm.V1,
    enforce_key_validity=False,
    auth_checks_redactions=True,
    special_case_aliases_auth=True,
    redaction_keeps_aliases=True,
    strict_canonical_json=False,
    limit_notifications_power_levels=False,
    knock_join_rule=False,
    restricted_join_rule=False,
    redaction_keeps_join_authorised=False,
    knock_restricted_join_rule=False,
    enforce_int_power_levels=False,
    implicit_room_creator=False,
    updated_redaction_rules=False,
    redacts_in_content=False,
    room_id_from_create_event=False,
    creators_have_infinite_power=False,
    auth_events_exclude_create=False,
)


def _derive(base: RoomVersion, identifier: str, **changes: object) -> RoomVersion:
    """Each room version is described by the spec as "version N-1 plus these changes"."""
    return dataclasses.replace(base, identifier=identifier, **changes)  # type: ignore[arg-type]


_V2 = _derive(_V1, "2", state_res=StateResAlgorithm.V2)
_V3 = _derive(_V2, "3", event_id_format=EventIdFormat.V2_BASE64, auth_checks_redactions=False)
_V4 = _derive(_V3, "4", event_id_format=EventIdFormat.V3_URLSAFE_BASE64)
_V5 = _derive(_V4, "5", enforce_key_validity=True)
_V6 = _derive(
    _V5,
    "6",
    special_case_aliases_auth=False,
    redaction_keeps_aliases=False,
    strict_canonical_json=True,
    limit_notifications_power_levels=True,
)
_V7 = _derive(_V6, "7", knock_join_rule=True)
_V8 = _derive(_V7, "8", restricted_join_rule=True)
_V9 = _derive(_V8, "9", redaction_keeps_join_authorised=True)
_V10 = _derive(_V9, "10", knock_restricted_join_rule=True, enforce_int_power_levels=True)
_V11 = _derive(
    _V10, "11", implicit_room_creator=True, updated_redaction_rules=True, redacts_in_content=True
)
_V12 = _derive(
    _V11,
    "12",
    state_res=StateResAlgorithm.V2_1,
    room_id_from_create_event=True,
    creators_have_infinite_power=True,
    auth_events_exclude_create=True,
)

KNOWN_ROOM_VERSIONS: dict[str, RoomVersion] = {
    v.identifier: v for v in (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9, _V10, _V11, _V12)
}

# rooms/#complete-list-of-room-versions: "Servers SHOULD use room version 12 as the default
# room version when creating new rooms" (made default by MSC4304).
DEFAULT_ROOM_VERSION: str = "12"


def room_version(identifier: str) -> RoomVersion | None:
    """The known room version with this identifier, or None for an unknown one."""
    return KNOWN_ROOM_VERSIONS.get(identifier)
