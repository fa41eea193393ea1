# SPDX-License-Identifier: Apache-2.0
"""The published room directory: a room's visibility, listing, searching and paging.

Spec: client-server-api/#published-room-directory and the operations of
`api/client-server/list_public_rooms.yaml`. Every test names its rooms with a fresh
random word and searches for it, so rooms made by other tests never interfere.
"""
from __future__ import annotations

import secrets


from tests.harness.checks import expect_error, expect_ok

PAGE = 100
MAX_PAGES = 200  # a bound on paging through a large shared directory


def _word() -> str:
    return f"w{secrets.token_hex(6)}"


def _search(client, term: str, **body) -> dict:
    query = {"filter": {"generic_search_term": term}, **body}
    return expect_ok(client.do("POST", ["publicRooms"], json=query),
                     f"search the room directory for {term!r}")


def _found(client, term: str) -> list[str]:
    return [room["room_id"] for room in _search(client, term)["chunk"]]


def _publish(client, room: str, visibility: str = "public") -> None:
    expect_ok(client.do("PUT", ["directory", "list", "room", room],
                        json={"visibility": visibility}), f"set {room} to {visibility}")


def _visibility(client, room: str) -> str:
    body = expect_ok(client.do("GET", ["directory", "list", "room", room]),
                     f"get the directory visibility of {room}")
    return body.get("visibility")


def test_new_room_is_not_published_by_default(hs):
    """A room created without `visibility` is private in the directory and not listed.

    Spec: client-server-api/#post_matrixclientv3createroom — `visibility` defaults to
    private; client-server-api/#get_matrixclientv3directorylistroomroomid reports it.
    """
    alice = hs.register()
    word = _word()
    room = alice.create_room(name=f"Room {word}", preset="public_chat")
    assert _visibility(alice, room) == "private"
    assert room not in _found(alice, word), f"unpublished {room} is listed"


def test_room_created_public_is_listed(hs):
    """A room created with visibility `public` is public in the directory and listed.

    Spec: client-server-api/#published-room-directory — clients can set the initial
    visibility with `visibility` in createRoom; a public room is shown in the directory.
    """
    alice = hs.register()
    word = _word()
    room = alice.create_room(name=f"Room {word}", preset="public_chat", visibility="public")
    assert _visibility(alice, room) == "public"
    assert room in _found(alice, word), f"{room} is not listed"


def test_published_room_is_listed(hs):
    """Publishing a room makes it public and lists it in a search of the directory.

    Spec: client-server-api/#put_matrixclientv3directorylistroomroomid sets the visibility;
    client-server-api/#post_matrixclientv3publicrooms lists the published rooms matching
    `generic_search_term`.
    """
    alice = hs.register()
    word = _word()
    room = alice.create_room(name=f"Room {word}", preset="public_chat")
    _publish(alice, room)
    assert _visibility(alice, room) == "public"
    assert room in _found(alice, word), f"published {room} is not listed"


def test_unpublished_room_is_no_longer_listed(hs):
    """Setting a published room back to private removes it from the directory.

    Spec: client-server-api/#published-room-directory — a `private` room is hidden from
    the published room directory.
    """
    alice = hs.register()
    word = _word()
    room = alice.create_room(name=f"Room {word}", preset="public_chat", visibility="public")
    _publish(alice, room, "private")
    assert _visibility(alice, room) == "private"
    assert room not in _found(alice, word), f"unpublished {room} is still listed"


def test_search_term_filters_the_listing(hs):
    """A search lists rooms whose name matches the term and leaves out the others.

    Spec: client-server-api/#post_matrixclientv3publicrooms — `filter.generic_search_term`
    narrows the listing to rooms matching it (name, topic, canonical alias, ...).
    """
    alice = hs.register()
    word, other_word = _word(), _word()
    wanted = alice.create_room(name=f"Room {word}", preset="public_chat", visibility="public")
    other = alice.create_room(name=f"Room {other_word}", preset="public_chat",
                              visibility="public")
    found = _found(alice, word)
    assert wanted in found and other not in found, (
        f"searching {word!r} found {found}; expected {wanted} and not {other}")


def test_search_matches_the_topic(hs):
    """A search term found only in a room's topic lists the room.

    Spec: client-server-api/#post_matrixclientv3publicrooms — the generic search term is
    matched against the room's name, topic and canonical alias.
    """
    alice = hs.register()
    word = _word()
    room = alice.create_room(name="Unrelated name", topic=f"All about {word}",
                             preset="public_chat", visibility="public")
    assert room in _found(alice, word), f"{room} with {word!r} in its topic is not listed"


def test_listing_describes_the_room(hs):
    """A listed room's entry carries its name, topic, alias, member count and join rule.

    Spec: client-server-api/#post_matrixclientv3publicrooms — each chunk entry describes
    the room: `name`, `topic`, `canonical_alias`, `num_joined_members`, `join_rule`,
    `world_readable`, `guest_can_join`.
    """
    alice = hs.register()
    word = _word()
    room = alice.create_room(name=f"Room {word}", topic=f"Topic {word}", room_alias_name=word,
                             preset="public_chat", visibility="public")
    entries = [e for e in _search(alice, word)["chunk"] if e["room_id"] == room]
    assert entries, f"{room} is not listed"
    entry = entries[0]
    expected = {"name": f"Room {word}", "topic": f"Topic {word}",
                "canonical_alias": f"#{word}:{hs.server_name}", "num_joined_members": 1,
                "world_readable": False, "guest_can_join": False, "join_rule": "public"}
    wrong = {k: entry.get(k) for k, v in expected.items() if entry.get(k) != v}
    assert not wrong, f"entry {entry} differs from {expected} at {wrong}"


def test_search_pages_with_limit_and_since(hs):
    """`limit` caps each page and `next_batch` leads through every match exactly once.

    Spec: client-server-api/#post_matrixclientv3publicrooms — `limit` bounds the rooms
    returned and `since` takes a `next_batch` from an earlier page; the last page has no
    `next_batch` (appendices, pagination conventions).
    """
    alice = hs.register()
    word = _word()
    rooms = {alice.create_room(name=f"Room {word} {n}", preset="public_chat",
                               visibility="public") for n in range(3)}
    seen: list[str] = []
    page = _search(alice, word, limit=1)
    for _ in range(len(rooms) + 1):
        assert len(page["chunk"]) <= 1, f"limit 1 answered {len(page['chunk'])} rooms"
        seen += [entry["room_id"] for entry in page["chunk"]]
        if "next_batch" not in page:
            break
        page = _search(alice, word, limit=1, since=page["next_batch"])
    assert sorted(seen) == sorted(rooms), f"pages listed {seen}, expected each of {rooms} once"


def test_published_room_is_in_the_unauthenticated_listing(hs):
    """GET /publicRooms answers without an access token and lists a published room.

    Spec: client-server-api/#get_matrixclientv3publicrooms — the endpoint needs no
    authentication and lists the server's published rooms, page by page with `limit`
    and `since`.
    """
    alice = hs.register()
    room = alice.create_room(name=f"Room {_word()}", preset="public_chat", visibility="public")
    anonymous = hs.client()
    listed: list[str] = []
    page = {"next_batch": None}
    for _ in range(MAX_PAGES):
        if room in listed or "next_batch" not in page:
            break
        page = expect_ok(anonymous.do("GET", ["publicRooms"], auth=False,
                                      params={"limit": PAGE, "since": page["next_batch"]}),
                         "list the room directory anonymously")
        assert len(page["chunk"]) <= PAGE, f"limit {PAGE} answered {len(page['chunk'])} rooms"
        listed += [entry["room_id"] for entry in page["chunk"]]
    assert room in listed, f"published {room} is not among the {len(listed)} rooms listed"


def test_visibility_of_unknown_room_is_not_found(hs):
    """Asking for the directory visibility of an unknown room answers 404 M_NOT_FOUND.

    Spec: client-server-api/#get_matrixclientv3directorylistroomroomid — 404 when the
    room is not known to the server.
    """
    alice = hs.register()
    ghost = f"!nowhere{secrets.token_hex(8)}:{hs.server_name}"
    expect_error(alice.do("GET", ["directory", "list", "room", ghost]), 404, "M_NOT_FOUND")


def test_publishing_by_an_unprivileged_member_is_refused_or_applied(hs):
    """An ordinary member's change of a room's visibility is either refused or applied.

    Spec: client-server-api/#put_matrixclientv3directorylistroomroomid — servers may
    restrict who changes the visibility (for example to the room's creator or
    administrators). Both outcomes are allowed, so the test holds the server to a
    consistent one: 403 M_FORBIDDEN with the visibility unchanged, or 200 with it set.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(name=f"Room {_word()}", preset="public_chat")
    bob.join(room)
    response = bob.do("PUT", ["directory", "list", "room", room], json={"visibility": "public"})
    if response.status_code == 200:
        assert _visibility(alice, room) == "public", "accepted, yet the room is not public"
    else:
        expect_error(response, 403, "M_FORBIDDEN")
        assert _visibility(alice, room) == "private", "refused, yet the visibility changed"


def test_room_creator_can_publish_without_naming_visibility(hs):
    """A PUT without `visibility` publishes the room.

    Spec: client-server-api/#put_matrixclientv3directorylistroomroomid — `visibility`
    defaults to public when absent.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    expect_ok(alice.do("PUT", ["directory", "list", "room", room], json={}), "publish")
    assert _visibility(alice, room) == "public"
