# SPDX-License-Identifier: Apache-2.0
"""Room aliases: creating, resolving, deleting and listing them.

Spec: client-server-api/#room-aliases and the operations of
`api/client-server/directory.yaml`.
"""
from __future__ import annotations

import secrets

import pytest

from tests.harness.assertions import expect_one_error
from tests.harness.checks import expect_error, expect_ok


def _alias(hs) -> str:
    return f"#a-{secrets.token_hex(5)}:{hs.server_name}"


def _resolve(client, alias: str):
    return client.do("GET", ["directory", "room", alias])


def test_alias_resolves_to_its_room(hs):
    """A new alias resolves to the room it was pointed at, for anyone.

    Spec: client-server-api/#put_matrixclientv3directoryroomroomalias creates the mapping;
    client-server-api/#get_matrixclientv3directoryroomroomalias answers with the room ID
    (and needs no access token).
    """
    alice = hs.register()
    room = alice.create_room()
    alias = _alias(hs)
    alice.set_alias(alias, room)
    body = expect_ok(_resolve(hs.client(), alias), f"resolve {alias}")
    assert body.get("room_id") == room, f"{alias} resolved to {body}, expected {room}"


def test_alias_can_be_joined_through(hs):
    """A user can join a public room by one of its aliases.

    Spec: client-server-api/#room-aliases — aliases are human-friendly names for rooms;
    client-server-api/#post_matrixclientv3joinroomidoralias accepts an alias.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    alias = _alias(hs)
    alice.set_alias(alias, room)
    assert bob.join(alias) == room, f"joining {alias} did not join {room}"


def test_existing_alias_cannot_be_taken_again(hs):
    """Creating an alias that already exists is refused with 409 M_UNKNOWN.

    Spec: client-server-api/#put_matrixclientv3directoryroomroomalias — 409 when a room
    alias with that name already exists (errcode M_UNKNOWN).
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room()
    other = bob.create_room()
    alias = _alias(hs)
    alice.set_alias(alias, room)
    expect_error(bob.do("PUT", ["directory", "room", alias], json={"room_id": other}),
                 409, "M_UNKNOWN")
    assert expect_ok(_resolve(bob, alias), "resolve")["room_id"] == room, (
        f"{alias} no longer points at {room}")


def test_creator_can_delete_alias(hs):
    """The alias's creator can delete it; it then no longer resolves nor is listed.

    Spec: client-server-api/#delete_matrixclientv3directoryroomroomalias removes the
    mapping; client-server-api/#get_matrixclientv3directoryroomroomalias answers 404
    M_NOT_FOUND for an alias with no room.
    """
    alice = hs.register()
    room = alice.create_room()
    alias = _alias(hs)
    alice.set_alias(alias, room)
    expect_ok(alice.do("DELETE", ["directory", "room", alias]), f"delete {alias}")
    expect_error(_resolve(alice, alias), 404, "M_NOT_FOUND")
    aliases = expect_ok(alice.do("GET", ["rooms", room, "aliases"]), "list local aliases")
    assert alias not in aliases["aliases"], f"{alias} still listed after deletion: {aliases}"


def test_deleted_alias_can_be_created_again(hs):
    """Once deleted, an alias can be pointed at another room.

    Spec: client-server-api/#delete_matrixclientv3directoryroomroomalias removes the
    mapping, so the name no longer "already exists" for
    client-server-api/#put_matrixclientv3directoryroomroomalias.
    """
    alice = hs.register()
    first, second = alice.create_room(), alice.create_room()
    alias = _alias(hs)
    alice.set_alias(alias, first)
    expect_ok(alice.do("DELETE", ["directory", "room", alias]), f"delete {alias}")
    alice.set_alias(alias, second)
    assert expect_ok(_resolve(alice, alias), "resolve")["room_id"] == second


def test_deletion_by_an_unprivileged_member_is_refused_or_complete(hs):
    """An ordinary member's deletion of someone else's alias is either refused or done.

    Spec: client-server-api/#delete_matrixclientv3directoryroomroomalias — servers may
    restrict who deletes an alias (for example to its creator and administrators). Both
    outcomes are allowed, so the test holds the server to a consistent one: 403
    M_FORBIDDEN with the alias intact, or 200 with the alias gone.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    alias = _alias(hs)
    alice.set_alias(alias, room)
    response = bob.do("DELETE", ["directory", "room", alias])
    if response.status_code == 200:
        expect_error(_resolve(alice, alias), 404, "M_NOT_FOUND")
    else:
        expect_error(response, 403, "M_FORBIDDEN")
        assert expect_ok(_resolve(alice, alias), "resolve")["room_id"] == room, (
            f"{alias} changed although its deletion was refused")


@pytest.mark.parametrize("method", [
    pytest.param("GET", id="resolve"),
    pytest.param("DELETE", id="delete"),
])
def test_unknown_alias_is_not_found(hs, method):
    """Resolving or deleting an alias that does not exist answers 404 M_NOT_FOUND.

    Spec: client-server-api/#get_matrixclientv3directoryroomroomalias and
    client-server-api/#delete_matrixclientv3directoryroomroomalias — 404 when there is no
    mapped room ID for the alias.
    """
    alice = hs.register()
    expect_error(alice.do(method, ["directory", "room", _alias(hs)]), 404, "M_NOT_FOUND")


def test_alias_on_another_server_cannot_be_created(hs):
    """Creating an alias on another server's domain is refused with 400.

    Spec: client-server-api/#room-aliases — aliases are scoped to a homeserver's domain and
    the spec gives no way to create one on another server;
    client-server-api/#put_matrixclientv3directoryroomroomalias answers such an alias,
    one this server cannot hold, with 400. The spec does not fix the errcode (its example
    is M_INVALID_PARAM) so only the status is checked.
    """
    alice = hs.register()
    room = alice.create_room()
    alias = f"#a-{secrets.token_hex(5)}:elsewhere.invalid"
    expect_error(alice.do("PUT", ["directory", "room", alias], json={"room_id": room}), 400)


@pytest.mark.parametrize("method", [
    pytest.param("PUT", id="create"),
    pytest.param("GET", id="resolve"),
    pytest.param("DELETE", id="delete"),
])
@pytest.mark.parametrize("alias", [
    pytest.param("#no-server-name", id="without-server-name"),
    pytest.param("no-sigil:{server}", id="without-sigil"),
    pytest.param("@looks-like-a-user:{server}", id="user-id"),
])
def test_malformed_alias_is_rejected(hs, method, alias):
    """A roomAlias that is not a room alias is refused with 400 M_INVALID_PARAM.

    Spec: client-server-api/#put_matrixclientv3directoryroomroomalias (and the GET and
    DELETE operations) — 400 M_INVALID_PARAM when `roomAlias` is not a valid room alias
    (client-server appendix: `#localpart:server_name`).
    """
    alice = hs.register()
    body = {"room_id": alice.create_room()} if method == "PUT" else None
    alias = alias.format(server=hs.server_name)
    expect_error(alice.do(method, ["directory", "room", alias], json=body),
                 400, "M_INVALID_PARAM")


def test_alias_request_without_room_id_is_rejected(hs):
    """Creating an alias without `room_id` in the body is refused with 400.

    Spec: client-server-api/#put_matrixclientv3directoryroomroomalias — `room_id` is
    required; a missing required key is M_BAD_JSON per the common error codes
    (client-server-api/#common-error-codes), and M_MISSING_PARAM names exactly this case,
    so either is accepted.
    """
    alice = hs.register()
    alias = _alias(hs)
    expect_one_error(alice.do("PUT", ["directory", "room", alias], json={}),
                     (400, "M_BAD_JSON"), (400, "M_MISSING_PARAM"))
    expect_error(_resolve(alice, alias), 404, "M_NOT_FOUND")


def test_members_can_list_local_aliases(hs):
    """A room member can list every local alias of the room.

    Spec: client-server-api/#get_matrixclientv3roomsroomidaliases — members of the room
    may call it; it lists the aliases this server maintains for the room.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    first, second = _alias(hs), _alias(hs)
    alice.set_alias(first, room)
    alice.set_alias(second, room)
    aliases = expect_ok(bob.do("GET", ["rooms", room, "aliases"]), "list local aliases")
    assert {first, second} <= set(aliases["aliases"]), f"expected {first}, {second}: {aliases}"


def test_non_member_cannot_list_aliases_of_a_private_room(hs):
    """A user outside a room whose history is not world-readable is refused with 403.

    Spec: client-server-api/#get_matrixclientv3roomsroomidaliases — users who are not in
    the room receive M_FORBIDDEN, unless its history visibility is world_readable.
    """
    alice, eve = hs.register(), hs.register()
    room = alice.create_room(preset="private_chat")
    alice.set_alias(_alias(hs), room)
    expect_error(eve.do("GET", ["rooms", room, "aliases"]), 403, "M_FORBIDDEN")


def test_anyone_can_list_aliases_of_a_world_readable_room(hs):
    """Any user may list the aliases of a room whose history is world_readable.

    Spec: client-server-api/#get_matrixclientv3roomsroomidaliases — if the room's
    m.room.history_visibility is world_readable, any user can call this endpoint.
    """
    alice, eve = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    alice.send_state(room, "m.room.history_visibility", {"history_visibility": "world_readable"})
    alias = _alias(hs)
    alice.set_alias(alias, room)
    aliases = expect_ok(eve.do("GET", ["rooms", room, "aliases"]), "list local aliases")
    assert alias in aliases["aliases"], f"{alias} not listed: {aliases}"
