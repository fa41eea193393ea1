# SPDX-License-Identifier: Apache-2.0
"""Capabilities: what the server says a user may do, held against what it then does.

Spec: client-server-api/#capabilities-negotiation and the operation of
`api/client-server/capabilities.yaml`.
"""
from __future__ import annotations

import secrets

from tests.harness.checks import expect_error, expect_ok

# client-server-api/#mroom_versions-capability: without the capability, clients assume
# version "1" is the default and only stable version.
ROOM_VERSIONS_WHEN_ABSENT = {"default": "1", "available": {"1": "stable"}}


def _capabilities(client) -> dict:
    return expect_ok(client.do("GET", ["capabilities"]), "get the capabilities")["capabilities"]


def _room_versions(client) -> dict:
    return _capabilities(client).get("m.room_versions", ROOM_VERSIONS_WHEN_ABSENT)


def test_capabilities_need_an_access_token(hs):
    """GET /capabilities without an access token is refused with 401 M_MISSING_TOKEN.

    Spec: client-server-api/#get_matrixclientv3capabilities — the endpoint requires
    authentication; client-server-api/#common-error-codes — M_MISSING_TOKEN.
    """
    expect_error(hs.client().do("GET", ["capabilities"], auth=False), 401, "M_MISSING_TOKEN")


def test_default_room_version_is_available(hs):
    """The default room version is one of the available room versions.

    Spec: client-server-api/#mroom_versions-capability — `available` lists every room
    version the server supports and `default` is the one it creates rooms with.
    """
    versions = _room_versions(hs.register())
    assert versions["default"] in versions["available"], (
        f"default {versions['default']!r} is not in available {sorted(versions['available'])}")


def test_new_rooms_use_the_default_room_version(hs):
    """A room created without `room_version` has the advertised default version.

    Spec: client-server-api/#mroom_versions-capability — `default` is the version the
    server uses to create new rooms ("1" when the capability is absent).
    """
    alice = hs.register()
    default = _room_versions(alice)["default"]
    room = alice.create_room()
    create = alice.get_state(room, "m.room.create")
    # m.room.create content omits room_version only in version 1 rooms.
    assert create.get("room_version", "1") == default, (
        f"the room was created with version {create.get('room_version')!r}; "
        f"capabilities say the default is {default!r}")


def test_every_stable_room_version_can_be_created(hs):
    """Rooms can be created in each room version the server lists as stable.

    Spec: client-server-api/#mroom_versions-capability — `available` lists the room
    versions the server supports; client-server-api/#post_matrixclientv3createroom
    creates a room of the requested supported version.
    """
    alice = hs.register()
    stable = [v for v, s in _room_versions(alice)["available"].items() if s == "stable"]
    made = {version: alice.create_room(room_version=version) for version in stable}
    wrong = {version: alice.get_state(room, "m.room.create").get("room_version", "1")
             for version, room in made.items()}
    wrong = {asked: got for asked, got in wrong.items() if asked != got}
    assert not wrong, f"rooms got other versions than asked for (asked: got): {wrong}"


def test_change_password_capability_matches_behaviour(hs):
    """A password change succeeds exactly when m.change_password does not say otherwise.

    Spec: client-server-api/#mchange_password-capability — `enabled` says whether the user
    can use POST /account/password; an absent capability means changes are possible.
    """
    alice = hs.register()
    enabled = _capabilities(alice).get("m.change_password", {"enabled": True})["enabled"]
    new_password = f"pw-{secrets.token_hex(8)}"
    response = alice.uia_request("POST", ["account", "password"],
                                 {"new_password": new_password, "logout_devices": False})
    changed = 200 <= response.status_code < 300
    assert changed == enabled, (
        f"m.change_password enabled={enabled}, but changing the password answered "
        f"{response.status_code} {response.text[:200]}")
