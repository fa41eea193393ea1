# SPDX-License-Identifier: Apache-2.0
"""Application service namespaces where the server enforces them: aliases a service may
create, and the network directories it keeps apart from the server's own."""
from __future__ import annotations

import re

import pytest

from reference_server.appservices.registration import AppService, Namespace
from reference_server.appservices.registry import AppServiceRegistry
from reference_server.errors import MatrixError
from reference_server.services.directory import DirectoryService
from reference_server.storage.database import Database
from reference_server.storage.rooms import RoomStore

SENDER = "@bot:hs.example"
BRIDGE = AppService(id="bridge", url=None, as_token="as", hs_token="hs", sender=SENDER,
                    users=(Namespace(re.compile("@_bridge_.*"), True),),
                    aliases=(Namespace(re.compile("#_bridge_.*"), True),), rooms=(),
                    rate_limited=False, receive_ephemeral=False, protocols=())


def directory() -> DirectoryService:
    return DirectoryService(db=None, aliases=None, rooms=None, room_events=None,
                            server_name="hs.example", appservices=AppServiceRegistry([BRIDGE]))


@pytest.mark.parametrize("user_id, alias, appservice_id, refused", [
    pytest.param(SENDER, "#_bridge_x:hs.example", "bridge", False, id="service-inside"),
    pytest.param("@_bridge_a:hs.example", "#_bridge_x:hs.example", "bridge", False,
                 id="masqueraded-user-inside"),
    pytest.param(SENDER, "#plain:hs.example", "bridge", True, id="service-outside"),
    pytest.param("@alice:hs.example", "#_bridge_x:hs.example", None, True,
                 id="ordinary-user-inside-exclusive"),
    pytest.param("@alice:hs.example", "#plain:hs.example", None, False,
                 id="ordinary-user-outside"),
])
def test_alias_creation_respects_namespaces(user_id, alias, appservice_id, refused) -> None:
    check = directory().check_alias_not_reserved
    if refused:
        with pytest.raises(MatrixError) as caught:
            check(user_id, alias, appservice_id=appservice_id)
        assert (caught.value.status, caught.value.errcode) == (400, "M_EXCLUSIVE")
    else:
        check(user_id, alias, appservice_id=appservice_id)


def test_network_listing_is_apart_from_the_public_directory() -> None:
    db = Database(":memory:")
    rooms = RoomStore(db)
    for number, room_id in enumerate(["!a:hs", "!b:hs"]):
        rooms.create(room_id, "12", SENDER, now_ms=number)
    rooms.set_public("!a:hs", True)
    rooms.set_network_listing("bridge", "irc", "!b:hs", True)
    assert rooms.public_rooms() == ["!a:hs"]
    assert rooms.network_rooms() == rooms.network_rooms("irc") == ["!b:hs"]
    assert rooms.network_rooms("other") == []
    rooms.set_network_listing("bridge", "irc", "!b:hs", False)
    assert rooms.network_rooms() == []
