# SPDX-License-Identifier: Apache-2.0
"""What other servers may look up: profiles, room aliases, the published room directory.

Spec: server-server-api/#querying-for-information, #published-room-directory.
"""
from __future__ import annotations

import secrets

import pytest

from tests.harness.assertions import expect_error, expect_ok, expect_one_error

AVATAR = "mxc://example.org/federatedAvatar"


def profiled_user(hs):
    """A fresh local user with a display name and an avatar."""
    user = hs.register()
    user.set_displayname("Federated Fran")
    expect_ok(user.do("PUT", ["profile", user.user_id, "avatar_url"],
                      json={"avatar_url": AVATAR}), "set the avatar")
    return user


def test_profile_query_returns_a_local_users_profile(hs, federation):
    """A profile query for a local user answers their display name and avatar.

    Spec: server-server-api/#get_matrixfederationv1queryprofile — without `field` the
    server MUST return the user's full public profile. (A server may refuse profile
    look-ups over federation altogether with 403; this test is for one that serves
    them.)
    """
    fran = profiled_user(hs)

    profile = federation.query_profile(fran.user_id)

    assert profile.get("displayname") == "Federated Fran", profile
    assert profile.get("avatar_url") == AVATAR, profile


@pytest.mark.parametrize("field, value", [
    pytest.param("displayname", "Federated Fran", id="displayname"),
    pytest.param("avatar_url", AVATAR, id="avatar_url"),
])
def test_profile_query_for_one_field_returns_only_that_field(hs, federation, field, value):
    """A profile query with `field` answers that field and nothing else.

    Spec: server-server-api/#get_matrixfederationv1queryprofile — if `field` is given,
    the response MUST only include that field.
    """
    fran = profiled_user(hs)

    assert federation.query_profile(fran.user_id, field=field) == {field: value}


def test_profile_query_for_an_unknown_user_is_not_found(hs, federation):
    """A profile query for a local user ID nobody registered answers 404 M_NOT_FOUND.

    Spec: server-server-api/#get_matrixfederationv1queryprofile — 404 when the user does
    not exist; a server that refuses profile look-ups over federation answers 403
    M_FORBIDDEN instead, which is read as allowed too.
    """
    nobody = f"@nobody-{secrets.token_hex(6)}:{hs.server_name}"
    response = federation.do("GET", ["query", "profile"], params={"user_id": nobody})
    expect_one_error(response, (404, "M_NOT_FOUND"), (403, "M_FORBIDDEN"))


def test_directory_query_resolves_a_local_alias(hs, federation):
    """A directory query for a local alias answers the room's ID and servers.

    Spec: server-server-api/#get_matrixfederationv1querydirectory — the room ID the
    alias maps to, and a list of servers that are likely to be in the room.
    """
    alice = hs.register()
    room = alice.create_room()
    alias = f"#fed-{secrets.token_hex(6)}:{hs.server_name}"
    alice.set_alias(alias, room)

    answer = federation.query_directory(alias)

    assert answer["room_id"] == room, f"{alias} resolved to {answer['room_id']}, not {room}"
    assert isinstance(answer["servers"], list), answer


def test_directory_query_for_an_unknown_alias_is_not_found(hs, federation):
    """A directory query for an alias nobody set answers 404 M_NOT_FOUND.

    Spec: server-server-api/#get_matrixfederationv1querydirectory — 404 when the room
    alias was not found.
    """
    alias = f"#nowhere-{secrets.token_hex(6)}:{hs.server_name}"
    response = federation.do("GET", ["query", "directory"], params={"room_alias": alias})
    expect_error(response, 404, "M_NOT_FOUND")


def search_public_rooms(federation, term: str) -> list[str]:
    response = federation.do("POST", ["publicRooms"],
                             json={"filter": {"generic_search_term": term}, "limit": 50})
    return [entry["room_id"] for entry in expect_ok(response, "search published rooms")["chunk"]]


def test_public_rooms_lists_a_published_room(hs, federation):
    """The server's published room directory, read over federation, lists a published room.

    Spec: server-server-api/#post_matrixfederationv1publicrooms — the rooms this server
    has published, filtered by `generic_search_term` (matched against the room name).
    """
    alice = hs.register()
    name = f"Published over federation {secrets.token_hex(6)}"
    room = alice.create_room(visibility="public", name=name)

    assert room in search_public_rooms(federation, name), (
        f"the directory search for {name!r} does not list {room}")


def test_public_rooms_leaves_out_an_unpublished_room(hs, federation):
    """A room that was not published is not in the server's published room directory.

    Spec: server-server-api/#post_matrixfederationv1publicrooms — only the rooms this
    server has published are listed; client-server-api/#post_matrixclientv3createroom —
    `visibility: private` keeps a new room out of the published directory.
    """
    alice = hs.register()
    name = f"Unpublished {secrets.token_hex(6)}"
    room = alice.create_room(visibility="private", preset="public_chat", name=name)

    assert room not in search_public_rooms(federation, name), (
        f"the unpublished room {room} is listed in the published room directory")


def test_public_rooms_get_lists_a_published_room(hs, federation):
    """GET /publicRooms over federation pages through the published rooms to a new one.

    Spec: server-server-api/#get_matrixfederationv1publicrooms — the rooms this server
    has published, a page at a time (`next_batch` leads to the next page).
    """
    alice = hs.register()
    room = alice.create_room(visibility="public", name=f"Paged {secrets.token_hex(6)}")

    listed, since, pages = [], None, 0
    while pages < 50 and room not in listed:
        page = expect_ok(federation.do("GET", ["publicRooms"],
                                       params={"limit": 100, "since": since}),
                         "list published rooms")
        listed += [entry["room_id"] for entry in page["chunk"]]
        since, pages = page.get("next_batch"), pages + 1
        if not since:
            break

    assert room in listed, f"{room} is not on any of the {pages} pages of published rooms"
