# SPDX-License-Identifier: Apache-2.0
"""An application service's published room directories: one per network it bridges,
kept with PUT /directory/list/appservice/{networkId}/{roomId} and read through
/publicRooms with `include_all_networks`.

Spec: application-service-api/#published-room-directories,
client-server-api/#put_matrixclientv3directorylistappservicenetworkidroomid,
client-server-api/#post_matrixclientv3publicrooms.
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import expect_error, expect_ok

pytestmark = pytest.mark.appservice

NETWORK = "conformance-net"


def named_room(client, tag: str) -> tuple[str, str]:
    """A public room whose name no other test uses, so a directory search finds only it.

    Public, because servers MAY leave invite-only rooms that are not world-readable out
    of a listing whatever their visibility (client-server-api/#published-room-directory).
    """
    name = f"bridged room {tag}"
    return client.create_room(name=name, preset="public_chat"), name


def listed_rooms(client, name: str, **query) -> list[str]:
    body = expect_ok(client.do("POST", ["publicRooms"], json={
        "filter": {"generic_search_term": name}, **query}), f"search the directory for {name!r}")
    return [room["room_id"] for room in body["chunk"]]


def set_network_visibility(client, room: str, visibility: str):
    return client.do("PUT", ["directory", "list", "appservice", NETWORK, room],
                     json={"visibility": visibility})


def test_appservice_publishes_room_in_its_network_directory(hs, appservice):
    """A room the service publishes appears when a client asks for every network's rooms.

    Spec: application-service-api/#published-room-directories — services keep their own
    directories, which clients reach through /publicRooms parameters;
    client-server-api/#post_matrixclientv3publicrooms — `include_all_networks` includes
    the application services' networks.
    """
    bot = appservice.as_client()
    room, name = named_room(bot, appservice.tag)
    expect_ok(set_network_visibility(bot, room, "public"), "publish the room in the network")
    assert room in listed_rooms(hs.register(), name, include_all_networks=True)


def test_network_directory_stays_out_of_the_default_listing(hs, appservice):
    """A room only the service's network lists is not in the server's own directory.

    Spec: client-server-api/#post_matrixclientv3publicrooms — `include_all_networks`
    (false by default) is what brings in application services' networks; without it the
    server's own published rooms are listed.
    """
    bot = appservice.as_client()
    room, name = named_room(bot, appservice.tag)
    expect_ok(set_network_visibility(bot, room, "public"), "publish the room in the network")
    alice = hs.register()
    assert room in listed_rooms(alice, name, include_all_networks=True)
    assert room not in listed_rooms(alice, name), "a network's room is in the default listing"


def test_appservice_unpublishes_room_from_its_network_directory(hs, appservice):
    """Setting the room's network visibility to private takes it out of the listing.

    Spec: client-server-api/#put_matrixclientv3directorylistappservicenetworkidroomid —
    `visibility` says whether the room is visible (public) or not (private).
    """
    bot = appservice.as_client()
    room, name = named_room(bot, appservice.tag)
    expect_ok(set_network_visibility(bot, room, "public"), "publish the room in the network")
    expect_ok(set_network_visibility(bot, room, "private"), "unpublish the room")
    assert room not in listed_rooms(hs.register(), name, include_all_networks=True)


def test_user_cannot_use_the_appservice_directory_endpoint(hs, appservice):
    """An ordinary user's token cannot update a network directory: 403, nothing listed.

    Spec: client-server-api/#put_matrixclientv3directorylistappservicenetworkidroomid —
    the endpoint requires an as_token and cannot be invoked by users who are not
    application services.
    """
    alice = hs.register()
    room, name = named_room(alice, appservice.tag)
    expect_error(set_network_visibility(alice, room, "public"), 403, "M_FORBIDDEN")
    assert room not in listed_rooms(alice, name, include_all_networks=True)
