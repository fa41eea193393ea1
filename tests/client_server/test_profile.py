# SPDX-License-Identifier: Apache-2.0
"""User profiles: display name, avatar, custom fields, and their propagation into rooms.

Spec: client-server-api/#profiles and the operations of `api/client-server/profile.yaml`.
"""
from __future__ import annotations

import secrets

import pytest

from tests.harness.assertions import expect_one_error
from tests.harness.checks import expect_error, expect_ok, state_has


def _mxc(hs) -> str:
    return f"mxc://{hs.server_name}/{secrets.token_hex(8)}"


def _member_has(field: str, value: str):
    return lambda event: event.get("content", {}).get(field) == value


def test_display_name_round_trips(hs):
    """A display name the user sets is what the display name field then returns.

    Spec: client-server-api/#put_matrixclientv3profileuseridkeyname — sets the field;
    client-server-api/#get_matrixclientv3profileuseridkeyname returns `{keyName: value}`.
    """
    alice = hs.register()
    name = f"Alice {secrets.token_hex(3)}"
    alice.set_displayname(name)
    body = expect_ok(alice.do("GET", ["profile", alice.user_id, "displayname"]),
                     "get the display name")
    assert body.get("displayname") == name, f"set {name!r}, read back {body}"


def test_avatar_url_round_trips(hs):
    """An MXC URI set as the avatar is what the avatar_url field then returns.

    Spec: client-server-api/#put_matrixclientv3profileuseridkeyname — `avatar_url` takes
    an MXC URI; client-server-api/#get_matrixclientv3profileuseridkeyname returns it.
    """
    alice = hs.register()
    avatar = _mxc(hs)
    expect_ok(alice.do("PUT", ["profile", alice.user_id, "avatar_url"],
                       json={"avatar_url": avatar}), "set the avatar")
    body = expect_ok(alice.do("GET", ["profile", alice.user_id, "avatar_url"]),
                     "get the avatar")
    assert body.get("avatar_url") == avatar, f"set {avatar!r}, read back {body}"


def test_full_profile_has_display_name_and_avatar(hs):
    """GET /profile/{userId} returns every field set, to another user who shares a room.

    Spec: client-server-api/#get_matrixclientv3profileuserid — the complete profile;
    client-server-api/#profiles (server behaviour) — look-up MUST be allowed for users
    who share a room with the requester.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    name, avatar = f"Alice {secrets.token_hex(3)}", _mxc(hs)
    alice.set_displayname(name)
    expect_ok(alice.do("PUT", ["profile", alice.user_id, "avatar_url"],
                       json={"avatar_url": avatar}), "set the avatar")
    profile = bob.get_profile(alice)
    assert profile.get("displayname") == name and profile.get("avatar_url") == avatar, (
        f"expected displayname {name!r} and avatar_url {avatar!r}, got {profile}")


def test_profile_lookup_needs_no_access_token(hs):
    """A profile can be read without an access token.

    Spec: client-server-api/#get_matrixclientv3profileuserid — the endpoint requires no
    authentication. The target user is in a public room, so the server must not refuse.
    """
    alice = hs.register()
    alice.create_room(preset="public_chat")
    name = f"Alice {secrets.token_hex(3)}"
    alice.set_displayname(name)
    profile = expect_ok(hs.client().do("GET", ["profile", alice.user_id], auth=False),
                        "get a profile anonymously")
    assert profile.get("displayname") == name, f"expected {name!r}, got {profile}"


@pytest.mark.parametrize("path_tail", [
    pytest.param([], id="full-profile"),
    pytest.param(["displayname"], id="displayname-field"),
])
def test_profile_of_unknown_user_is_refused(hs, path_tail):
    """Looking up a user who does not exist answers 404 M_NOT_FOUND or 403 M_FORBIDDEN.

    Spec: client-server-api/#profiles (server behaviour) — for a user who does not exist
    the server MAY choose 403 or 404; the endpoints document M_FORBIDDEN and M_NOT_FOUND.
    """
    alice = hs.register()
    ghost = f"@nobody-{secrets.token_hex(6)}:{hs.server_name}"
    expect_one_error(alice.do("GET", ["profile", ghost, *path_tail]),
                     (403, "M_FORBIDDEN"), (404, "M_NOT_FOUND"))


def test_unset_field_is_not_found(hs):
    """Asking for a profile field the user never set answers 404 M_NOT_FOUND.

    Spec: client-server-api/#get_matrixclientv3profileuseridkeyname — 404 when the user
    has no profile field with this key.
    """
    alice = hs.register()
    expect_error(alice.do("GET", ["profile", alice.user_id, "avatar_url"]), 404, "M_NOT_FOUND")


@pytest.mark.parametrize("field, value", [
    pytest.param("displayname", "Mallory", id="displayname"),
    pytest.param("avatar_url", "mxc://example.org/mallory", id="avatar_url"),
])
def test_cannot_set_another_users_profile(hs, field, value):
    """Setting a field of another user's profile is refused with 403 M_FORBIDDEN.

    Spec: client-server-api/#put_matrixclientv3profileuseridkeyname — the access token
    must be authorised to change that user's profile; otherwise 403.
    """
    alice, mallory = hs.register(), hs.register()
    alice.set_displayname("Alice")
    expect_error(mallory.do("PUT", ["profile", alice.user_id, field], json={field: value}),
                 403, "M_FORBIDDEN")
    assert alice.get_profile().get("displayname") == "Alice", "the profile changed anyway"


def test_set_field_without_the_key_in_the_body_is_rejected(hs):
    """A body that lacks the property named by keyName is refused with 400 M_MISSING_PARAM.

    Spec: client-server-api/#put_matrixclientv3profileuseridkeyname — M_MISSING_PARAM
    when the required `keyName` property is missing from the body.
    """
    alice = hs.register()
    expect_error(alice.do("PUT", ["profile", alice.user_id, "displayname"],
                          json={"avatar_url": _mxc(hs)}), 400, "M_MISSING_PARAM")


def test_display_name_change_updates_member_event_in_joined_rooms(hs):
    """Changing the display name sends a new join event carrying it to every joined room.

    Spec: client-server-api/#events-on-change-of-profile-information — an m.room.member
    join event with the new `displayname` is sent to every room the user is a member of.
    """
    alice, bob = hs.register(), hs.register()
    first = alice.create_room(preset="public_chat")
    second = alice.create_room(preset="public_chat")
    bob.join(first)
    bob.join(second)
    name = f"Alice {secrets.token_hex(3)}"
    alice.set_displayname(name)
    bob.sync_until(
        state_has(first, "m.room.member", alice.user_id, _member_has("displayname", name)),
        state_has(second, "m.room.member", alice.user_id, _member_has("displayname", name)),
    )
    member = alice.get_state(first, "m.room.member", alice.user_id)
    assert member.get("membership") == "join" and member.get("displayname") == name, (
        f"the current member event of {alice.user_id} is {member}")


def test_avatar_change_updates_member_event_in_joined_rooms(hs):
    """Changing the avatar sends a new join event carrying it to the user's rooms.

    Spec: client-server-api/#events-on-change-of-profile-information — the propagated
    m.room.member event updates `avatar_url` as well as `displayname`.
    """
    alice = hs.register()
    room = alice.create_room()
    avatar = _mxc(hs)
    expect_ok(alice.do("PUT", ["profile", alice.user_id, "avatar_url"],
                       json={"avatar_url": avatar}), "set the avatar")
    alice.sync_until(state_has(room, "m.room.member", alice.user_id,
                               _member_has("avatar_url", avatar)))


def test_join_event_carries_the_profile(hs):
    """A user's join event includes their current display name and avatar.

    Spec: client-server-api/#events-on-change-of-profile-information — servers SHOULD
    include the display name and avatar URL in membership events of their own users.
    """
    alice, bob = hs.register(), hs.register()
    name, avatar = f"Bob {secrets.token_hex(3)}", _mxc(hs)
    bob.set_displayname(name)
    expect_ok(bob.do("PUT", ["profile", bob.user_id, "avatar_url"],
                     json={"avatar_url": avatar}), "set the avatar")
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    member = alice.get_state(room, "m.room.member", bob.user_id)
    assert member.get("displayname") == name and member.get("avatar_url") == avatar, (
        f"expected displayname {name!r} and avatar_url {avatar!r} in {member}")


# -- custom profile fields (v1.16) ---------------------------------------------------

@pytest.mark.spec("1.16")
@pytest.mark.parametrize("value", [
    pytest.param("Engineer", id="string"),
    pytest.param({"team": "core", "floors": [3, 4]}, id="object"),
    pytest.param(42, id="number"),
])
def test_custom_field_round_trips(hs, value):
    """A custom field holds any JSON value and is returned as set, alone and in the profile.

    Spec: client-server-api/#put_matrixclientv3profileuseridkeyname — custom keys in the
    namespaced grammar accept any JSON type (since v1.16);
    client-server-api/#get_matrixclientv3profileuserid lists them with the other fields.
    """
    alice = hs.register()
    key = f"org.example.f{secrets.token_hex(3)}"
    expect_ok(alice.do("PUT", ["profile", alice.user_id, key], json={key: value}),
              f"set {key}")
    field = expect_ok(alice.do("GET", ["profile", alice.user_id, key]), f"get {key}")
    assert field == {key: value}, f"set {value!r}, read back {field}"
    assert alice.get_profile().get(key) == value, f"{key} missing from the full profile"


@pytest.mark.spec("1.16")
def test_time_zone_field_round_trips(hs):
    """The m.tz field holds the user's time zone.

    Spec: client-server-api/#put_matrixclientv3profileuseridkeyname — `m.tz` is a defined
    key since v1.16, its value an IANA time zone identifier.
    """
    alice = hs.register()
    expect_ok(alice.do("PUT", ["profile", alice.user_id, "m.tz"], json={"m.tz": "Europe/Paris"}),
              "set m.tz")
    assert alice.get_profile().get("m.tz") == "Europe/Paris", "m.tz missing from the profile"


@pytest.mark.spec("1.16")
def test_deleted_custom_field_is_gone(hs):
    """DELETE removes a field: it is then not found and absent from the full profile.

    Spec: client-server-api/#delete_matrixclientv3profileuseridkeyname — removes the key
    and its value; client-server-api/#get_matrixclientv3profileuseridkeyname answers 404
    for a field the user does not have.
    """
    alice = hs.register()
    key = f"org.example.f{secrets.token_hex(3)}"
    expect_ok(alice.do("PUT", ["profile", alice.user_id, key], json={key: "x"}), f"set {key}")
    expect_ok(alice.do("DELETE", ["profile", alice.user_id, key]), f"delete {key}")
    expect_error(alice.do("GET", ["profile", alice.user_id, key]), 404, "M_NOT_FOUND")
    assert key not in alice.get_profile(), f"{key} still in the full profile after DELETE"


@pytest.mark.spec("1.16")
def test_deleting_a_field_that_is_not_set_succeeds(hs):
    """Deleting a field the user never set succeeds.

    Spec: client-server-api/#delete_matrixclientv3profileuseridkeyname — 200 when the
    field was deleted or does not exist.
    """
    alice = hs.register()
    expect_ok(alice.do("DELETE", ["profile", alice.user_id, f"org.example.f{secrets.token_hex(3)}"]),
              "delete a field that was never set")


@pytest.mark.spec("1.16")
def test_cannot_delete_another_users_field(hs):
    """Deleting a field of another user's profile is refused with 403 M_FORBIDDEN.

    Spec: client-server-api/#delete_matrixclientv3profileuseridkeyname — 403 when the
    caller may not delete this profile field.
    """
    alice, mallory = hs.register(), hs.register()
    key = f"org.example.f{secrets.token_hex(3)}"
    expect_ok(alice.do("PUT", ["profile", alice.user_id, key], json={key: "kept"}), f"set {key}")
    expect_error(mallory.do("DELETE", ["profile", alice.user_id, key]), 403, "M_FORBIDDEN")
    assert alice.get_profile().get(key) == "kept", f"{key} changed after a refused DELETE"


@pytest.mark.spec("1.16")
def test_key_longer_than_255_bytes_is_rejected(hs):
    """A profile key longer than 255 bytes is refused with 400 M_KEY_TOO_LARGE.

    Spec: client-server-api/#put_matrixclientv3profileuseridkeyname — M_KEY_TOO_LARGE
    when the key exceeds the maximum length of 255 bytes.
    """
    alice = hs.register()
    key = "org.example." + "k" * 250
    expect_error(alice.do("PUT", ["profile", alice.user_id, key], json={key: "x"}),
                 400, "M_KEY_TOO_LARGE")


@pytest.mark.spec("1.16")
def test_profile_over_64_kib_is_rejected(hs):
    """A value that would push the profile past 64 KiB is refused with M_PROFILE_TOO_LARGE.

    Spec: client-server-api/#put_matrixclientv3profileuseridkeyname — the whole profile
    MUST stay under 64 KiB; M_PROFILE_TOO_LARGE when storing the value would exceed it.
    """
    alice = hs.register()
    key = f"org.example.f{secrets.token_hex(3)}"
    expect_error(alice.do("PUT", ["profile", alice.user_id, key], json={key: "x" * 70_000}),
                 400, "M_PROFILE_TOO_LARGE")
    expect_error(alice.do("GET", ["profile", alice.user_id, key]), 404, "M_NOT_FOUND")


@pytest.mark.spec("1.16")
@pytest.mark.parametrize("key", [
    pytest.param("org.Example.title", id="upper-case"),
    pytest.param("1org.example.title", id="leading-digit"),
])
def test_key_outside_the_namespaced_grammar_is_rejected(hs, key):
    """A custom key not in the namespaced identifier grammar is refused with 400.

    Spec: client-server-api/#put_matrixclientv3profileuseridkeyname — keyName MUST be
    avatar_url, displayname, m.tz or a common namespaced identifier; the spec's answer to
    an invalid key is 400 M_INVALID_PARAM.
    """
    alice = hs.register()
    expect_error(alice.do("PUT", ["profile", alice.user_id, key], json={key: "x"}),
                 400, "M_INVALID_PARAM")
