# SPDX-License-Identifier: Apache-2.0
"""Exclusive alias namespaces: only the application service (and its users) may create
aliases there, and the service may create aliases only there.

Spec: application-service-api/#registration (exclusive namespaces),
application-service-api/#server-admin-style-permissions,
client-server-api/#put_matrixclientv3directoryroomroomalias,
client-server-api/#post_matrixclientv3createroom.
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import expect_error, expect_ok

pytestmark = pytest.mark.appservice


def localpart_of(alias: str) -> str:
    return alias[1:].split(":", 1)[0]


def resolves_to(client, alias: str) -> str:
    return expect_ok(client.do("GET", ["directory", "room", alias]),
                     f"resolve {alias}")["room_id"]


def test_user_cannot_create_alias_in_exclusive_namespace(hs, appservice):
    """A normal user's PUT /directory/room for an exclusively claimed alias: 400 M_EXCLUSIVE.

    Spec: application-service-api/#server-admin-style-permissions — normal users creating
    aliases inside an exclusive namespace receive M_EXCLUSIVE (400 on this endpoint).
    """
    alice = hs.register()
    room = alice.create_room()
    alias = appservice.fresh_alias()
    expect_error(alice.do("PUT", ["directory", "room", alias], json={"room_id": room}),
                 400, "M_EXCLUSIVE")
    expect_error(alice.do("GET", ["directory", "room", alias]), 404, "M_NOT_FOUND")


def test_user_cannot_create_room_with_alias_in_exclusive_namespace(hs, appservice):
    """createRoom with `room_alias_name` in an exclusive namespace fails with 400 M_EXCLUSIVE.

    Spec: application-service-api/#server-admin-style-permissions — normal users may not
    create aliases in an exclusive namespace; client-server-api/#post_matrixclientv3createroom
    — 400 when the alias cannot be created.
    """
    alice = hs.register()
    alias = appservice.fresh_alias()
    response = alice.do("POST", ["createRoom"], json={"room_alias_name": localpart_of(alias)})
    expect_error(response, 400, "M_EXCLUSIVE")


def test_appservice_creates_alias_in_its_namespace(appservice):
    """The service itself (its sender) may create an alias of its exclusive namespace.

    Spec: application-service-api/#server-admin-style-permissions — the service has full
    control over the aliases of its namespace.
    """
    bot = appservice.as_client()
    room = bot.create_room()
    alias = appservice.fresh_alias()
    bot.set_alias(alias, room)
    assert resolves_to(bot, alias) == room


def test_namespaced_user_creates_alias_in_the_namespace(appservice):
    """A user the service masquerades as may create an alias of the exclusive namespace.

    Spec: application-service-api/#server-admin-style-permissions — the namespace is the
    service's, and identity assertion applies to the whole client-server API.
    """
    user = appservice.register_user()
    room = user.create_room()
    alias = appservice.fresh_alias()
    user.set_alias(alias, room)
    assert resolves_to(user, alias) == room


def test_appservice_creates_room_with_alias_in_its_namespace(appservice):
    """createRoom by the service with `room_alias_name` of its namespace makes the alias.

    Spec: application-service-api/#server-admin-style-permissions — the service controls
    its alias namespace; client-server-api/#post_matrixclientv3createroom creates the alias.
    """
    alias = appservice.fresh_alias()
    room = appservice.make_room_for_alias(alias)
    assert resolves_to(appservice.as_client(), alias) == room


def test_appservice_cannot_create_alias_outside_its_namespace(appservice):
    """The service creating an alias none of its namespaces covers gets 400 M_EXCLUSIVE.

    Spec: application-service-api/#server-admin-style-permissions — application services
    that create aliases outside their namespaces receive M_EXCLUSIVE.
    """
    bot = appservice.as_client()
    room = bot.create_room()
    alias = f"#outside_{appservice.tag}:{appservice.hs.server_name}"
    expect_error(bot.do("PUT", ["directory", "room", alias], json={"room_id": room}),
                 400, "M_EXCLUSIVE")


def test_appservice_cannot_create_room_with_alias_outside_its_namespace(appservice):
    """createRoom by the service with a `room_alias_name` outside its namespaces fails.

    Spec: application-service-api/#server-admin-style-permissions — services creating
    aliases outside their namespaces receive M_EXCLUSIVE (400 on createRoom).
    """
    response = appservice.as_client().do("POST", ["createRoom"],
                                         json={"room_alias_name": f"outside_{appservice.tag}"})
    expect_error(response, 400, "M_EXCLUSIVE")


def test_user_may_still_point_at_rooms_with_ordinary_aliases(hs, appservice):
    """Aliases outside every namespace stay open to normal users.

    Spec: application-service-api/#server-admin-style-permissions — M_EXCLUSIVE applies
    only inside a namespace defined as exclusive.
    """
    alice = hs.register()
    room = alice.create_room()
    alias = f"#ordinary_{appservice.tag}:{hs.server_name}"
    alice.set_alias(alias, room)
    assert resolves_to(alice, alias) == room
