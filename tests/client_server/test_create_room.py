# SPDX-License-Identifier: Apache-2.0
"""POST /createRoom: presets, initial state, aliases, room versions and invites.

Spec: client-server-api/#post_matrixclientv3createroom (api/client-server/create_room.yaml).
"""
from __future__ import annotations

import secrets

import pytest

from tests.harness.checks import expect_error, expect_ok, invited_to

JsonDict = dict


def state_event(client, room: str, event_type: str, state_key: str = "") -> JsonDict:
    """The full client-format state event (type, key), from GET /rooms/{roomId}/state."""
    for event in client.room_state(room):
        if event.get("type") == event_type and event.get("state_key") == state_key:
            return event
    pytest.fail(f"{event_type}/{state_key!r} is not in the state of {room}", pytrace=False)


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


@pytest.mark.parametrize(
    ("preset", "join_rule", "history_visibility", "guest_access"),
    [
        pytest.param("private_chat", "invite", "shared", "can_join", id="private_chat"),
        pytest.param("trusted_private_chat", "invite", "shared", "can_join",
                     id="trusted_private_chat"),
        pytest.param("public_chat", "public", "shared", "forbidden", id="public_chat"),
    ],
)
def test_preset_sets_join_rules_history_visibility_and_guest_access(
        hs, preset, join_rule, history_visibility, guest_access):
    """Each preset gives the room the join rule, history visibility and guest access of its row.

    Spec: client-server-api/#post_matrixclientv3createroom — the preset table. An absent
    m.room.guest_access means `forbidden` (client-server-api/#mroomguest_access), so for
    `forbidden` the event may be missing or say so; `can_join` must be sent.
    """
    alice = hs.register()
    room = alice.create_room(preset=preset)
    assert alice.get_state(room, "m.room.join_rules")["join_rule"] == join_rule
    history = alice.get_state(room, "m.room.history_visibility")
    assert history["history_visibility"] == history_visibility
    response = alice.do("GET", ["rooms", room, "state", "m.room.guest_access", ""])
    if response.status_code == 404:
        effective = "forbidden"  # what an absent m.room.guest_access means
    else:
        effective = expect_ok(response, "get m.room.guest_access")["guest_access"]
    assert effective == guest_access, f"{preset}: guest access is {effective}"


@pytest.mark.parametrize(
    ("visibility", "join_rule"),
    [
        pytest.param("public", "public", id="public-means-public_chat"),
        pytest.param("private", "invite", id="private-means-private_chat"),
    ],
)
def test_visibility_chooses_preset_when_none_given(hs, visibility, join_rule):
    """Without a preset, `public` visibility acts as public_chat and `private` as private_chat.

    Spec: client-server-api/#post_matrixclientv3createroom — `preset`: if unspecified the
    server should pick the preset from `visibility`.
    """
    alice = hs.register()
    room = alice.create_room(visibility=visibility)
    assert alice.get_state(room, "m.room.join_rules")["join_rule"] == join_rule


def test_initial_state_overrides_preset_state(hs):
    """Events in `initial_state` win over the state the preset would set.

    Spec: client-server-api/#post_matrixclientv3createroom — `initial_state` takes
    precedence over events set by `preset`.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat", initial_state=[
        {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "invite"}},
        {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}},
    ])
    assert alice.get_state(room, "m.room.join_rules")["join_rule"] == "invite"
    assert alice.get_state(room, "m.room.history_visibility")["history_visibility"] == "joined"


def test_initial_state_sets_custom_state(hs):
    """A custom state event listed in `initial_state` is part of the new room's state.

    Spec: client-server-api/#post_matrixclientv3createroom — `initial_state` lists state
    events (type, optional state_key, content) to set in the new room.
    """
    alice = hs.register()
    room = alice.create_room(initial_state=[
        {"type": "org.example.setting", "state_key": "colour", "content": {"value": "teal"}},
    ])
    assert alice.get_state(room, "org.example.setting", "colour") == {"value": "teal"}


def test_name_and_topic_become_state_events(hs):
    """`name` and `topic` become the room's m.room.name and m.room.topic.

    Spec: client-server-api/#post_matrixclientv3createroom — `name` and `topic` send
    m.room.name and m.room.topic state events.
    """
    alice = hs.register()
    room = alice.create_room(name="The Grand Duke Pub", topic="All about happy hour")
    assert alice.get_state(room, "m.room.name")["name"] == "The Grand Duke Pub"
    assert alice.get_state(room, "m.room.topic")["topic"] == "All about happy hour"


def test_name_overrides_initial_state_name(hs):
    """`name` wins over an m.room.name given in `initial_state`.

    Spec: client-server-api/#post_matrixclientv3createroom — `name` overwrites any
    m.room.name event in `initial_state` (and `initial_state` is overridden by name/topic).
    """
    alice = hs.register()
    room = alice.create_room(name="From name", initial_state=[
        {"type": "m.room.name", "state_key": "", "content": {"name": "From initial_state"}},
    ])
    assert alice.get_state(room, "m.room.name")["name"] == "From name"


def test_room_alias_name_creates_resolvable_canonical_alias(hs):
    """`room_alias_name` makes an alias on this server that resolves to the room and is canonical.

    Spec: client-server-api/#post_matrixclientv3createroom — `room_alias_name`: the alias
    `#name:server` is mapped to the new room and becomes its canonical alias.
    """
    alice = hs.register()
    localpart = unique("pub")
    room = alice.create_room(room_alias_name=localpart)
    alias = f"#{localpart}:{hs.server_name}"
    resolved = expect_ok(alice.do("GET", ["directory", "room", alias]), f"resolve {alias}")
    assert resolved["room_id"] == room, f"{alias} resolves to {resolved}, not {room}"
    assert alice.get_state(room, "m.room.canonical_alias")["alias"] == alias


def test_taken_alias_is_refused(hs):
    """Asking for an alias that already exists fails with 400 M_ROOM_IN_USE.

    Spec: client-server-api/#post_matrixclientv3createroom — 400 `M_ROOM_IN_USE` when the
    room alias is already taken.
    """
    alice, bob = hs.register(), hs.register()
    localpart = unique("taken")
    alice.create_room(room_alias_name=localpart)
    response = bob.do("POST", ["createRoom"], json={"room_alias_name": localpart})
    expect_error(response, 400, "M_ROOM_IN_USE")


@pytest.mark.parametrize(
    "localpart",
    [
        pytest.param("has:colon", id="colon-in-localpart"),
        pytest.param("x" * 256, id="alias-longer-than-255-bytes"),
    ],
)
def test_invalid_alias_name_is_refused(hs, localpart):
    """A `room_alias_name` that cannot form a valid alias is refused with 400.

    Spec: client-server-api/#post_matrixclientv3createroom — 400 for an invalid request;
    appendices/#room-aliases — the localpart may not contain `:` and the whole alias MUST
    NOT exceed 255 bytes. The spec names no errcode for this case, so only the status is checked.
    """
    alice = hs.register()
    expect_error(alice.do("POST", ["createRoom"], json={"room_alias_name": localpart}), 400)


def test_unknown_room_version_is_refused(hs):
    """A room version the server does not support is refused with 400 M_UNSUPPORTED_ROOM_VERSION.

    Spec: client-server-api/#post_matrixclientv3createroom — `room_version`: the server
    returns 400 `M_UNSUPPORTED_ROOM_VERSION` if it does not support the version.
    """
    alice = hs.register()
    response = alice.do("POST", ["createRoom"], json={"room_version": "no.such.version.9000"})
    expect_error(response, 400, "M_UNSUPPORTED_ROOM_VERSION")


@pytest.mark.parametrize("version", [pytest.param(v, id=f"v{v}") for v in ("10", "11", "12")])
def test_room_version_is_recorded_in_create_event(hs, version):
    """The requested room version is the `room_version` of the room's m.room.create event.

    Spec: client-server-api/#post_matrixclientv3createroom — `room_version` sets the room
    version; `creation_content`: the server overwrites `room_version`.
    """
    alice = hs.register()
    room = alice.create_room(room_version=version)
    assert alice.get_state(room, "m.room.create")["room_version"] == version


@pytest.mark.parametrize(
    ("version", "has_creator_key"),
    [
        pytest.param("10", True, id="v10-content-names-creator"),
        pytest.param("11", False, id="v11-sender-is-creator"),
        pytest.param("12", False, id="v12-sender-is-creator"),
    ],
)
def test_create_event_is_sent_by_the_creator(hs, version, has_creator_key):
    """m.room.create is sent by the requesting user; only rooms before v11 carry `creator`.

    Spec: client-server-api/#post_matrixclientv3createroom — the server creates
    m.room.create with the requesting user as the creator; client-server-api/#mroomcreate —
    `creator` is required for, and only present in, room versions 1 to 10.
    """
    alice = hs.register()
    room = alice.create_room(room_version=version)
    create = state_event(alice, room, "m.room.create")
    assert create["sender"] == alice.user_id, f"m.room.create was sent by {create['sender']}"
    if has_creator_key:
        assert create["content"].get("creator") == alice.user_id, create["content"]
    else:
        assert "creator" not in create["content"], (
            f"room version {version} has no `creator` in m.room.create: {create['content']}")


@pytest.mark.parametrize(
    ("version", "creator_listed"),
    [
        pytest.param("10", True, id="v10-creator-at-100"),
        pytest.param("11", True, id="v11-creator-at-100"),
        pytest.param("12", False, id="v12-creator-not-listed"),
    ],
)
def test_creator_power_level_depends_on_room_version(hs, version, creator_listed):
    """Before v12 the creator has power 100 in m.room.power_levels; from v12 it is not listed.

    Spec: client-server-api/#post_matrixclientv3createroom (step 3) and
    client-server-api/#permissions — creators have level 100 by default in versions 1-11;
    in version 12 they have infinite power and cannot appear in `users`.
    """
    alice = hs.register()
    room = alice.create_room(room_version=version)
    users = alice.get_state(room, "m.room.power_levels").get("users", {})
    if creator_listed:
        assert users.get(alice.user_id) == 100, f"power levels users: {users}"
    else:
        assert alice.user_id not in users, f"a v12 creator must not be in users: {users}"


@pytest.mark.spec("1.16")
def test_v12_tombstone_level_is_above_state_default(hs):
    """In a v12 room the level for m.room.tombstone is explicitly above `state_default`.

    Spec: client-server-api/#post_matrixclientv3createroom (step 3) — for room versions
    12 and later the m.room.tombstone level MUST explicitly be higher than `state_default`.
    """
    alice = hs.register()
    room = alice.create_room(room_version="12")
    levels = alice.get_state(room, "m.room.power_levels")
    tombstone = levels.get("events", {}).get("m.room.tombstone")
    assert tombstone is not None, f"no explicit m.room.tombstone level: {levels}"
    assert tombstone > levels.get("state_default", 50), f"power levels: {levels}"


def test_power_level_content_override_is_applied(hs):
    """`power_level_content_override` is applied on top of the default power levels.

    Spec: client-server-api/#post_matrixclientv3createroom — `power_level_content_override`
    is applied over the generated m.room.power_levels content before it is sent.
    """
    alice = hs.register()
    room = alice.create_room(power_level_content_override={
        "kick": 77, "invite": 33, "events": {"org.example.thing": 20},
    })
    levels = alice.get_state(room, "m.room.power_levels")
    assert (levels.get("kick"), levels.get("invite")) == (77, 33), f"power levels: {levels}"
    assert levels.get("events") == {"org.example.thing": 20}, f"power levels: {levels}"


@pytest.mark.parametrize("version", [pytest.param(v, id=f"v{v}") for v in ("10", "11", "12")])
def test_power_level_override_can_grant_users(hs, version):
    """Users given a level in the override have it in the room's power levels.

    Spec: client-server-api/#post_matrixclientv3createroom — the override replaces the
    generated content's keys (here `users`); in v12 the creator need not be listed.
    """
    alice, bob = hs.register(), hs.register()
    users = {bob.user_id: 60}
    if version != "12":
        users[alice.user_id] = 100  # before v12 the creator's power comes from this map
    room = alice.create_room(room_version=version,
                             power_level_content_override={"users": users})
    assert alice.get_state(room, "m.room.power_levels")["users"] == users


def test_creation_content_is_kept_in_create_event(hs):
    """Keys given in `creation_content` appear in the m.room.create content.

    Spec: client-server-api/#post_matrixclientv3createroom — `creation_content`: extra
    keys (such as `m.federate`) added to the m.room.create content.
    """
    alice = hs.register()
    room = alice.create_room(creation_content={"m.federate": False,
                                               "org.example.flavour": "vanilla"})
    content = alice.get_state(room, "m.room.create")
    assert content.get("m.federate") is False, f"m.room.create content: {content}"
    assert content.get("org.example.flavour") == "vanilla", f"m.room.create content: {content}"


def test_creation_content_cannot_override_room_version(hs):
    """A `room_version` inside `creation_content` is overwritten by the server.

    Spec: client-server-api/#post_matrixclientv3createroom — `creation_content`: the
    server overwrites the keys `creator` and `room_version`.
    """
    alice = hs.register()
    room = alice.create_room(room_version="11", creation_content={"room_version": "1"})
    assert alice.get_state(room, "m.room.create")["room_version"] == "11"


def test_room_type_from_creation_content(hs):
    """A `type` in `creation_content` becomes the room type in m.room.create.

    Spec: client-server-api/#types — to give a room a type, put it in `creation_content`.
    """
    alice = hs.register()
    room = alice.create_room(creation_content={"type": "org.example.whiteboard"})
    assert alice.get_state(room, "m.room.create").get("type") == "org.example.whiteboard"


def test_invite_list_invites_each_user(hs):
    """Users listed in `invite` are invited, and see the invite in /sync.

    Spec: client-server-api/#post_matrixclientv3createroom — `invite`: the server invites
    everyone in the list to the new room.
    """
    alice, bob, carol = hs.register(), hs.register(), hs.register()
    room = alice.create_room(invite=[bob.user_id, carol.user_id])
    for user in (bob, carol):
        member = alice.get_state(room, "m.room.member", user.user_id)
        assert member["membership"] == "invite", f"{user.user_id}: {member}"
    bob.sync_until(invited_to(room))


def test_is_direct_is_set_on_invites(hs):
    """With `is_direct`, the invite member events carry `is_direct: true`.

    Spec: client-server-api/#post_matrixclientv3createroom — `is_direct` makes the server
    set the `is_direct` flag on the m.room.member events sent to the invitees.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(invite=[bob.user_id], is_direct=True, preset="trusted_private_chat")
    member = alice.get_state(room, "m.room.member", bob.user_id)
    assert member.get("is_direct") is True, f"the invite's content is {member}"


@pytest.mark.parametrize("version", [pytest.param(v, id=f"v{v}") for v in ("10", "11")])
def test_trusted_private_chat_gives_invitees_the_creators_level(hs, version):
    """With trusted_private_chat, invitees get the same power level as the creator (v1-v11).

    Spec: client-server-api/#post_matrixclientv3createroom — preset table: all invitees are
    given the same power level as the room creator.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="trusted_private_chat", invite=[bob.user_id],
                             room_version=version)
    users = alice.get_state(room, "m.room.power_levels").get("users", {})
    assert users.get(bob.user_id) == users.get(alice.user_id) == 100, f"users: {users}"


@pytest.mark.spec("1.16")
def test_trusted_private_chat_makes_invitees_additional_creators_in_v12(hs):
    """In a v12 trusted_private_chat room, invitees become additional creators.

    Spec: client-server-api/#post_matrixclientv3createroom (step 3 and `creation_content`) —
    for trusted_private_chat the server SHOULD add the invitees to `additional_creators`.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="trusted_private_chat", invite=[bob.user_id],
                             room_version="12")
    create = alice.get_state(room, "m.room.create")
    assert bob.user_id in create.get("additional_creators", []), f"m.room.create: {create}"
    users = alice.get_state(room, "m.room.power_levels").get("users", {})
    assert bob.user_id not in users, f"a v12 creator must not be in users: {users}"


def test_public_visibility_publishes_room_in_directory(hs):
    """A room created with `visibility: public` is listed in the published room directory.

    Spec: client-server-api/#post_matrixclientv3createroom — `visibility` is the room's
    visibility in the published room directory (client-server-api/#post_matrixclientv3publicrooms).
    """
    alice = hs.register()
    name = unique("directory-listed")
    room = alice.create_room(visibility="public", preset="public_chat", name=name)
    listing = expect_ok(alice.do("GET", ["directory", "list", "room", room]),
                        "get the room's directory visibility")
    assert listing["visibility"] == "public", f"directory visibility: {listing}"
    found = expect_ok(alice.do("POST", ["publicRooms"],
                               json={"filter": {"generic_search_term": name}}),
                      "search the public room directory")
    assert room in [entry["room_id"] for entry in found["chunk"]], f"/publicRooms: {found}"


def test_default_visibility_is_private(hs):
    """Without `visibility`, the room is not published in the room directory.

    Spec: client-server-api/#post_matrixclientv3createroom — `visibility` defaults to `private`.
    """
    alice = hs.register()
    name = unique("directory-hidden")
    room = alice.create_room(preset="public_chat", name=name)
    listing = expect_ok(alice.do("GET", ["directory", "list", "room", room]),
                        "get the room's directory visibility")
    assert listing["visibility"] == "private", f"directory visibility: {listing}"
    found = expect_ok(alice.do("POST", ["publicRooms"],
                               json={"filter": {"generic_search_term": name}}),
                      "search the public room directory")
    assert room not in [entry["room_id"] for entry in found["chunk"]], f"/publicRooms: {found}"


def test_initial_events_are_sent_in_the_specified_order(hs):
    """The events implied by createRoom are sent in the order the spec lists.

    Spec: client-server-api/#post_matrixclientv3createroom — the server MUST apply them in
    order: create, creator's join, power levels, canonical alias, preset events,
    initial_state, name and topic, invites.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(
        preset="private_chat", room_alias_name=unique("ordered"), name="Ordered",
        topic="In order", invite=[bob.user_id],
        initial_state=[{"type": "org.example.initial", "state_key": "", "content": {}}])
    chunk = alice.messages(room, dir="b", limit=100)["chunk"]
    timeline = [(e["type"], e.get("state_key")) for e in reversed(chunk)]

    def position(event_type: str, state_key: str = "") -> int:
        assert (event_type, state_key) in timeline, (
            f"{event_type}/{state_key!r} is not in the room's history: {timeline}")
        return timeline.index((event_type, state_key))

    steps = [
        [position("m.room.create")],
        [position("m.room.member", alice.user_id)],
        [position("m.room.power_levels")],
        [position("m.room.canonical_alias")],
        [position("m.room.join_rules"), position("m.room.history_visibility"),
         position("m.room.guest_access")],
        [position("org.example.initial")],
        [position("m.room.name"), position("m.room.topic")],
        [position("m.room.member", bob.user_id)],
    ]
    for earlier, later in zip(steps, steps[1:]):
        assert max(earlier) < min(later), f"events out of the specified order: {timeline}"
