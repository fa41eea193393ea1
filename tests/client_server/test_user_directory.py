# SPDX-License-Identifier: Apache-2.0
"""User directory search: finding users by user ID or display name.

Spec: client-server-api/#user-directory and `api/client-server/users.yaml`. Which users
a search covers is up to the server beyond a minimum (users sharing a room with the
requester, and members of public or world-readable rooms), so these tests only look for
users in that minimum and never assert that someone is left out.
"""
from __future__ import annotations

import secrets

from tests.harness.assertions import MISSING_KEY
from tests.harness.checks import expect_error, expect_ok, state_has


def _search(user, term: str, **extra) -> dict:
    return expect_ok(user.do("POST", ["user_directory", "search"],
                             json={"search_term": term, **extra}), f"search users for {term!r}")


def _found(answer: dict) -> dict[str, dict]:
    return {result["user_id"]: result for result in answer["results"]}


def _named_member(hs, searcher, name: str, *, avatar: bool = True):
    """A user called `name` (with an avatar unless told otherwise) who joined a room of the
    searcher's; returns the user once the searcher has seen them join with that name."""
    user = hs.register()
    user.set_displayname(name)
    if avatar:
        user.set_avatar_url(f"mxc://{hs.server_name}/{secrets.token_hex(8)}")
    room_id = searcher.create_room(preset="public_chat")
    user.join(room_id)
    searcher.sync_until(state_has(room_id, "m.room.member", user.user_id,
                                  predicate=lambda e: e.get("content", {}).get("displayname") == name))
    return user


def test_room_mate_is_found_by_display_name(hs):
    """A user sharing a room with the searcher is found by their display name.

    Spec: client-server-api/#post_matrixclientv3user_directorysearch — the server MUST
    consider users who share a room with the requester; names are searched.
    """
    alice = hs.register()
    name = f"Zebulon {secrets.token_hex(4)}"
    bob = _named_member(hs, alice, name)
    found = _found(_search(alice, name))
    assert bob.user_id in found, f"{bob.user_id} missing from {found}"
    assert found[bob.user_id].get("display_name") == name


def test_user_without_avatar_is_listed_without_one(hs):
    """A found user who has no avatar is listed with no `avatar_url` (never a non-string).

    Spec: client-server-api/#post_matrixclientv3user_directorysearch — `avatar_url` is an
    mxc:// URI string, present if the user has an avatar.
    """
    alice = hs.register()
    name = f"Plain {secrets.token_hex(4)}"
    bob = _named_member(hs, alice, name, avatar=False)
    found = _found(_search(alice, name))
    assert bob.user_id in found, f"{bob.user_id} missing from {found}"
    assert "avatar_url" not in found[bob.user_id], found[bob.user_id]


def test_room_mate_is_found_by_user_id(hs):
    """A user sharing a room with the searcher is found by their user ID's localpart.

    Spec: client-server-api/#post_matrixclientv3user_directorysearch — the search is
    performed on user IDs and display names.
    """
    alice = hs.register()
    bob = _named_member(hs, alice, f"Someone {secrets.token_hex(4)}")
    localpart = bob.user_id[1:].split(":", 1)[0]
    assert bob.user_id in _found(_search(alice, localpart))


def test_search_ignores_case(hs):
    """A display name is found whatever the case of the search term.

    Spec: client-server-api/#post_matrixclientv3user_directorysearch — the search is
    performed case-insensitively.
    """
    alice = hs.register()
    token = secrets.token_hex(4)
    bob = _named_member(hs, alice, f"Quentin{token}")
    assert bob.user_id in _found(_search(alice, f"QUENTIN{token.upper()}"))


def test_member_of_a_public_room_is_found_without_sharing_it(hs):
    """A member of a public room is found by someone who is not in that room.

    Spec: client-server-api/#post_matrixclientv3user_directorysearch — the server MUST
    consider users joined to rooms with a `public` join rule.
    """
    alice, bob = hs.register(), hs.register()
    name = f"Publicus {secrets.token_hex(4)}"
    bob.set_displayname(name)
    bob.set_avatar_url(f"mxc://{hs.server_name}/{secrets.token_hex(8)}")
    room = bob.create_room(preset="public_chat")
    bob.sync_until(state_has(room, "m.room.member", bob.user_id,
                             predicate=lambda e: e.get("content", {}).get("displayname") == name))
    assert bob.user_id in _found(_search(alice, name))


def test_limit_truncates_results_and_sets_limited(hs):
    """With more matches than `limit`, only `limit` results come back and `limited` is true.

    Spec: client-server-api/#post_matrixclientv3user_directorysearch — `limit` is the
    maximum number of results; `limited` says the list was truncated by it.
    """
    alice = hs.register()
    token = secrets.token_hex(4)
    for number in range(3):
        _named_member(hs, alice, f"Trunc{token} {number}")
    answer = _search(alice, f"Trunc{token}", limit=2)
    assert len(answer["results"]) == 2, answer
    assert answer["limited"] is True, answer


def test_all_matches_within_limit_are_not_limited(hs):
    """When every match fits within `limit`, `limited` is false.

    Spec: client-server-api/#post_matrixclientv3user_directorysearch — `limited`
    indicates whether the limit truncated the results.
    """
    alice = hs.register()
    name = f"Solo{secrets.token_hex(4)}"
    bob = _named_member(hs, alice, name)
    answer = _search(alice, name, limit=5)
    assert list(_found(answer)) == [bob.user_id], answer
    assert answer["limited"] is False, answer


def test_search_needs_a_search_term(hs):
    """A search without `search_term` is refused with 400.

    Spec: client-server-api/#post_matrixclientv3user_directorysearch — `search_term` is
    required.
    """
    alice = hs.register()
    expect_error(alice.do("POST", ["user_directory", "search"], json={"limit": 5}),
                 400, MISSING_KEY)
