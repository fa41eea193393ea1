# SPDX-License-Identifier: Apache-2.0
"""Room tags: a user's own labels on rooms, kept as the room's `m.tag` account data.

Spec: client-server-api/#room-tagging and the operations of `api/client-server/tags.yaml`.
"""
from __future__ import annotations

import secrets

from tests.harness.checks import account_data_has, expect_error, expect_ok


def _tag() -> str:
    return f"u.test-{secrets.token_hex(4)}"


def _tags_path(user, room: str, tag: str | None = None, owner=None) -> list[str]:
    path = ["user", (owner or user).user_id, "rooms", room, "tags"]
    return path if tag is None else [*path, tag]


def _set_tag(user, room: str, tag: str, data: dict) -> None:
    expect_ok(user.do("PUT", _tags_path(user, room, tag), json=data), f"put tag {tag}")


def _tags(user, room: str) -> dict:
    return expect_ok(user.do("GET", _tags_path(user, room)), "list tags")["tags"]


def test_tags_round_trip_with_their_order(hs):
    """Tags put on a room are listed with the data stored for each.

    Spec: client-server-api/#put_matrixclientv3useruseridroomsroomidtagstag adds the tag;
    client-server-api/#get_matrixclientv3useruseridroomsroomidtags lists the tags.
    """
    alice = hs.register()
    room = alice.create_room()
    work = _tag()
    _set_tag(alice, room, "m.favourite", {"order": 0.25})
    _set_tag(alice, room, work, {})
    assert _tags(alice, room) == {"m.favourite": {"order": 0.25}, work: {}}


def test_room_without_tags_lists_none(hs):
    """A room the user never tagged has an empty tag list.

    Spec: client-server-api/#get_matrixclientv3useruseridroomsroomidtags — the list of
    tags the user set on the room.
    """
    alice = hs.register()
    room = alice.create_room()
    assert _tags(alice, room) == {}


def test_putting_a_tag_again_replaces_its_data(hs):
    """A second PUT of the same tag replaces its order rather than adding a second tag.

    Spec: client-server-api/#room-tagging — the tags are a map from name to the data
    for that tag.
    """
    alice = hs.register()
    room = alice.create_room()
    tag = _tag()
    _set_tag(alice, room, tag, {"order": 0.1})
    _set_tag(alice, room, tag, {"order": 0.9})
    assert _tags(alice, room) == {tag: {"order": 0.9}}


def test_deleted_tag_is_no_longer_listed(hs):
    """Deleting a tag removes it and leaves the room's other tags alone.

    Spec: client-server-api/#delete_matrixclientv3useruseridroomsroomidtagstag.
    """
    alice = hs.register()
    room = alice.create_room()
    kept, gone = _tag(), _tag()
    _set_tag(alice, room, kept, {"order": 0.5})
    _set_tag(alice, room, gone, {})
    expect_ok(alice.do("DELETE", _tags_path(alice, room, gone)), f"delete tag {gone}")
    assert _tags(alice, room) == {kept: {"order": 0.5}}


def test_tags_are_per_room(hs):
    """A tag put on one room is not listed for another room.

    Spec: client-server-api/#room-tagging — users add tags to rooms.
    """
    alice = hs.register()
    tagged, other = alice.create_room(), alice.create_room()
    _set_tag(alice, tagged, _tag(), {})
    assert _tags(alice, other) == {}


def test_tag_reaches_sync_as_room_account_data(hs):
    """After a tag is set, /sync carries an `m.tag` event with it in the room's account data.

    Spec: client-server-api/#room-tagging — the tags on a room are received as a single
    `m.tag` event in the `account_data` section of the room.
    """
    alice = hs.register()
    room = alice.create_room()
    tag = _tag()
    _set_tag(alice, room, tag, {"order": 0.5})
    alice.sync_until(account_data_has(
        "m.tag", room_id=room,
        predicate=lambda e: e.get("content", {}).get("tags", {}).get(tag) == {"order": 0.5}))


def test_tag_removal_reaches_sync(hs):
    """After a tag is deleted, the room's `m.tag` event in /sync no longer has it.

    Spec: client-server-api/#room-tagging — the `m.tag` event's `tags` map the name of
    each tag on the room.
    """
    alice = hs.register()
    room = alice.create_room()
    kept, gone = _tag(), _tag()
    _set_tag(alice, room, kept, {})
    _set_tag(alice, room, gone, {})
    expect_ok(alice.do("DELETE", _tags_path(alice, room, gone)), f"delete tag {gone}")
    alice.sync_until(account_data_has(
        "m.tag", room_id=room,
        predicate=lambda e: set(e.get("content", {}).get("tags", {})) == {kept}))


def test_tags_are_private_to_their_user(hs):
    """Another user's tags on a shared room are not among one's own.

    Spec: client-server-api/#room-tagging — tags are only visible to the user that set them.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    _set_tag(alice, room, _tag(), {})
    assert _tags(bob, room) == {}


def test_cannot_read_another_users_tags(hs):
    """Listing the tags of another user is refused with 403.

    Spec: client-server-api/#get_matrixclientv3useruseridroomsroomidtags — the access
    token must be authorised to make requests for `userId`.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room()
    expect_error(bob.do("GET", _tags_path(bob, room, owner=alice)), 403, "M_FORBIDDEN")


def test_cannot_set_another_users_tags(hs):
    """Putting a tag for another user is refused with 403 and does not tag their room.

    Spec: client-server-api/#put_matrixclientv3useruseridroomsroomidtagstag — the access
    token must be authorised to make requests for `userId`.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room()
    expect_error(bob.do("PUT", _tags_path(bob, room, _tag(), owner=alice), json={}),
                 403, "M_FORBIDDEN")
    assert _tags(alice, room) == {}


def test_cannot_delete_another_users_tags(hs):
    """Deleting another user's tag is refused with 403 and the tag stays.

    Spec: client-server-api/#delete_matrixclientv3useruseridroomsroomidtagstag — the
    access token must be authorised to make requests for `userId`.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room()
    tag = _tag()
    _set_tag(alice, room, tag, {})
    expect_error(bob.do("DELETE", _tags_path(bob, room, tag, owner=alice)), 403, "M_FORBIDDEN")
    assert _tags(alice, room) == {tag: {}}
