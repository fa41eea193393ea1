# SPDX-License-Identifier: Apache-2.0
"""Event IDs and hash-derived room IDs.

Versions 1-2 use server-minted IDs ("$opaque:domain", rooms/v1 "Event IDs"); version 3
uses the reference hash in standard unpadded base64, version 4 onwards the URL-safe
alphabet. From version 12 (MSC4291) the room ID is the create event's ID with "!" in place
of "$".
"""
from __future__ import annotations

import secrets
import string

from .hashes import reference_hash
from .room_versions import EventIdFormat, RoomVersion
from .signing import unpadded_base64_encode
from .types import JsonDict

_OPAQUE_ALPHABET = string.ascii_letters + string.digits


def _opaque(length: int) -> str:
    return "".join(secrets.choice(_OPAQUE_ALPHABET) for _ in range(length))


def compute_event_id(
    event: JsonDict, version: RoomVersion, *, server_name: str | None = None
) -> str:
    """The event ID of `event` in a room of `version`.

    For hash-based versions this is derived from the event. For versions 1-2 the ID is the
    one carried in the event's `event_id` field; if there is none yet, a fresh random
    "$opaque:server_name" is minted (and `server_name` is then required).
    """
    if version.event_id_format is EventIdFormat.V1_SERVER_GENERATED:
        existing = event.get("event_id")
        if isinstance(existing, str):
            return existing
        if not server_name:
            raise ValueError("minting a room version 1/2 event ID needs the server name")
        return f"${_opaque(18)}:{server_name}"
    urlsafe = version.event_id_format is EventIdFormat.V3_URLSAFE_BASE64
    return "$" + unpadded_base64_encode(reference_hash(event, version), urlsafe=urlsafe)


def room_id_for_create_event(create_event: JsonDict, version: RoomVersion) -> str:
    """The room ID a v12-style create event defines: "!" + its URL-safe reference hash.

    Raises ValueError for versions whose room IDs are minted by the server instead (see
    `mint_room_id`).
    """
    if not version.room_id_from_create_event:
        raise ValueError(f"room version {version.identifier} rooms have server-minted IDs")
    return "!" + compute_event_id(create_event, version)[1:]


def create_event_id_for_room(room_id: str, version: RoomVersion) -> str | None:
    """The create event's ID implied by a v12-style room ID, else None."""
    if not version.room_id_from_create_event:
        return None
    return "$" + room_id[1:]


def mint_room_id(server_name: str) -> str:
    """A fresh "!opaque:server_name" room ID for versions 1-11 (appendices/#room-ids)."""
    return f"!{_opaque(18)}:{server_name}"
