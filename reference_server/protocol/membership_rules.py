# SPDX-License-Identifier: Apache-2.0
"""The `m.room.member` authorisation rules (rule 5 in v1-v5 and v12, rule 4 in v6-v11).

Comments number the sub-rules as in room version 12; earlier versions have the same
sub-rules minus the ones their flags switch off (knocking from v7, restricted joins
from v8, knock_restricted from v10).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import nacl.exceptions
import nacl.signing

from .canonical_json import encode_canonical_json
from .errors import AuthError
from .event_ids import compute_event_id
from .events import content_of, prev_event_ids
from .power_levels import named_power_level, power_level_of
from .room_versions import RoomVersion
from .signing import unpadded_base64_decode
from .types import JsonDict, StateKey


class _Room:
    """Read-only view of the state an event is checked against."""

    def __init__(
        self, state: Mapping[StateKey, JsonDict], create: JsonDict, version: RoomVersion
    ) -> None:
        self.state = state
        self.create = create
        self.version = version
        pl_event = state.get(("m.room.power_levels", ""))
        self.power_levels: JsonDict | None = content_of(pl_event) if pl_event else None

    def membership(self, user_id: str) -> str | None:
        member = self.state.get(("m.room.member", user_id))
        value = content_of(member).get("membership")
        return value if isinstance(value, str) else None

    def join_rule(self) -> str | None:
        rules = self.state.get(("m.room.join_rules", ""))
        value = content_of(rules).get("join_rule")
        return value if isinstance(value, str) else None

    def level(self, user_id: str) -> int | float:
        return power_level_of(user_id, self.power_levels, self.create, self.version)

    def named(self, name: str) -> int:
        return named_power_level(name, self.power_levels, self.version)


def check_membership(
    event: JsonDict, state: Mapping[StateKey, JsonDict], create: JsonDict, version: RoomVersion
) -> None:
    """Allow (return) or reject (raise `AuthError`) an m.room.member event."""
    content = content_of(event)
    target = event.get("state_key")
    membership = content.get("membership")
    # 5.1 There must be a state_key and a membership.
    if not isinstance(target, str) or "membership" not in content:
        raise AuthError("member event without state_key or membership")
    # 5.2 (v8+) A join_authorised_via_users_server must have signed the event. The caller's
    # signature verification must include that server; here we check it is present.
    authoriser = content.get("join_authorised_via_users_server")
    if version.restricted_join_rule and authoriser is not None:
        _require_authoriser_signature(event, authoriser)
    room = _Room(state, create, version)
    sender = event.get("sender", "")
    if membership == "join":
        _check_join(event, room, sender, target, authoriser)
    elif membership == "invite":
        _check_invite(event, room, sender, target)
    elif membership == "leave":
        _check_leave(room, sender, target)
    elif membership == "ban":
        _check_ban(room, sender, target)
    elif membership == "knock" and version.knock_join_rule:
        _check_knock(room, sender, target)
    else:
        # 5.8 Unknown membership (knock before v7 included).
        raise AuthError(f"unknown membership {membership!r}")


def _require_authoriser_signature(event: JsonDict, authoriser: Any) -> None:
    if not isinstance(authoriser, str) or ":" not in authoriser:
        raise AuthError("join_authorised_via_users_server is not a user ID")
    server = authoriser.split(":", 1)[1]
    signatures = event.get("signatures")
    if not isinstance(signatures, dict) or not signatures.get(server):
        raise AuthError(f"join not signed by authorising server {server}")


def _check_join(
    event: JsonDict, room: _Room, sender: str, target: str, authoriser: Any
) -> None:
    version = room.version
    # 5.3.1 The creator's own join straight after the create event.
    create_id = compute_event_id(room.create, version)
    if prev_event_ids(event) == [create_id] and target == _original_creator(room):
        return
    # 5.3.2 Only the user themselves can join.
    if sender != target:
        raise AuthError("cannot join on behalf of another user")
    current = room.membership(sender)
    # 5.3.3 Banned users cannot join.
    if current == "ban":
        raise AuthError("user is banned")
    join_rule = room.join_rule()
    invite_like = {"invite", "knock"} if version.knock_join_rule else {"invite"}
    restricted_like = set()
    if version.restricted_join_rule:
        restricted_like.add("restricted")
    if version.knock_restricted_join_rule:
        restricted_like.add("knock_restricted")
    # 5.3.4 invite (and knock, v7+): only after an invite, or a repeat join.
    if join_rule in invite_like:
        if current in ("invite", "join"):
            return
        raise AuthError(f"join rule is {join_rule} and user is not invited")
    # 5.3.5 restricted (v8+) and knock_restricted (v10+).
    if join_rule in restricted_like:
        if current in ("invite", "join"):
            return
        if not isinstance(authoriser, str) or room.membership(authoriser) != "join":
            raise AuthError("restricted join without a joined authorising user")
        if room.level(authoriser) < room.named("invite"):
            raise AuthError("authorising user cannot invite")
        return
    # 5.3.6 public: anyone may join.
    if join_rule == "public":
        return
    # 5.3.7 Otherwise, reject.
    raise AuthError(f"cannot join with join rule {join_rule!r}")


def _original_creator(room: _Room) -> str | None:
    """The single creator rule 5.3.1 means: `creator` (v1-10) or the create sender."""
    if room.version.implicit_room_creator:
        return room.create.get("sender")
    return content_of(room.create).get("creator")


def _check_invite(event: JsonDict, room: _Room, sender: str, target: str) -> None:
    content = content_of(event)
    # 5.4.1 Invites on the strength of a third-party invite.
    if "third_party_invite" in content:
        _check_third_party_invite(event, content["third_party_invite"], room, target)
        return
    # 5.4.2 The inviter must be joined.
    if room.membership(sender) != "join":
        raise AuthError("inviter is not joined")
    # 5.4.3 Joined or banned users cannot be invited.
    if room.membership(target) in ("join", "ban"):
        raise AuthError(f"invitee is already {room.membership(target)}")
    # 5.4.4 / 5.4.5 The inviter needs the invite level.
    if room.level(sender) < room.named("invite"):
        raise AuthError("inviter lacks the invite level")


def _check_third_party_invite(event: JsonDict, invite: Any, room: _Room, target: str) -> None:
    # 5.4.1.1 A banned target cannot be invited.
    if room.membership(target) == "ban":
        raise AuthError("invitee is banned")
    # 5.4.1.2 / 5.4.1.3 `signed` with `mxid` and `token`.
    signed = invite.get("signed") if isinstance(invite, dict) else None
    if not isinstance(signed, dict) or "mxid" not in signed or "token" not in signed:
        raise AuthError("third_party_invite lacks signed.mxid/signed.token")
    # 5.4.1.4 The mxid must be the invitee.
    if signed["mxid"] != target:
        raise AuthError("third_party_invite mxid does not match state_key")
    # 5.4.1.5 There must be a matching m.room.third_party_invite.
    token = signed["token"]
    tpi = room.state.get(("m.room.third_party_invite", token)) if isinstance(token, str) else None
    if tpi is None:
        raise AuthError("no m.room.third_party_invite for the token")
    # 5.4.1.6 Sent by the same user.
    if event.get("sender") != tpi.get("sender"):
        raise AuthError("sender did not send the m.room.third_party_invite")
    # 5.4.1.7 / 5.4.1.8 Some signature in `signed` must verify with one of its public keys.
    if not _signed_by_any(signed, _public_keys(content_of(tpi))):
        raise AuthError("third_party_invite signature does not match any public key")


def _public_keys(content: JsonDict) -> list[bytes]:
    encoded = [content.get("public_key")]
    listed = content.get("public_keys")
    for entry in listed if isinstance(listed, list) else []:
        if isinstance(entry, dict):
            encoded.append(entry.get("public_key"))
    keys = []
    for text in encoded:
        if not isinstance(text, str):
            continue
        for urlsafe in (False, True):  # identity servers have used both alphabets
            try:
                keys.append(unpadded_base64_decode(text, urlsafe=urlsafe))
                break
            except ValueError:
                continue
    return keys


def _signed_by_any(signed: JsonDict, keys: list[bytes]) -> bool:
    signatures = signed.get("signatures")
    if not isinstance(signatures, dict):
        return False
    message = encode_canonical_json(
        {k: v for k, v in signed.items() if k not in ("signatures", "unsigned")}, strict=False
    )
    for by_key in signatures.values():
        for encoded in by_key.values() if isinstance(by_key, dict) else ():
            try:
                signature = unpadded_base64_decode(encoded)
            except (ValueError, TypeError, AttributeError):
                continue
            for key in keys:
                try:
                    nacl.signing.VerifyKey(key).verify(message, signature)
                    return True
                except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
                    continue
    return False


def _check_leave(room: _Room, sender: str, target: str) -> None:
    # 5.5.1 Leaving yourself: only from invite, join (or knock, v7+).
    if sender == target:
        allowed = {"invite", "join", "knock"} if room.version.knock_join_rule else {"invite", "join"}
        if room.membership(sender) in allowed:
            return
        raise AuthError(f"cannot leave from membership {room.membership(sender)!r}")
    # 5.5.2 Kicking needs the sender joined.
    if room.membership(sender) != "join":
        raise AuthError("sender is not joined")
    sender_level, target_level = room.level(sender), room.level(target)
    # 5.5.3 Unbanning needs the ban level.
    if room.membership(target) == "ban" and sender_level < room.named("ban"):
        raise AuthError("unban needs the ban level")
    # 5.5.4 / 5.5.5 Kicking needs the kick level and to outrank the target.
    if sender_level >= room.named("kick") and target_level < sender_level:
        return
    raise AuthError("kick needs the kick level and a higher level than the target")


def _check_ban(room: _Room, sender: str, target: str) -> None:
    # 5.6.1 The sender must be joined.
    if room.membership(sender) != "join":
        raise AuthError("sender is not joined")
    # 5.6.2 / 5.6.3 Ban level, and a higher level than the target.
    sender_level = room.level(sender)
    if sender_level >= room.named("ban") and room.level(target) < sender_level:
        return
    raise AuthError("ban needs the ban level and a higher level than the target")


def _check_knock(room: _Room, sender: str, target: str) -> None:
    rules = {"knock", "knock_restricted"} if room.version.knock_restricted_join_rule else {"knock"}
    # 5.7.1 The join rule must allow knocking.
    if room.join_rule() not in rules:
        raise AuthError(f"cannot knock with join rule {room.join_rule()!r}")
    # 5.7.2 Only for yourself.
    if sender != target:
        raise AuthError("cannot knock on behalf of another user")
    # 5.7.3 / 5.7.4 Not when banned, invited or joined.
    if room.membership(sender) in ("ban", "invite", "join"):
        raise AuthError(f"cannot knock from membership {room.membership(sender)!r}")
