# SPDX-License-Identifier: Apache-2.0
"""Building spaces and reading their hierarchy, for the spaces tests on both APIs.

    space = create_space(alice, name="Harbour")
    add_child(alice, space, room, via=[hs.server_name], order="a")
    rooms = walk(alice, space)  # every page of GET /hierarchy, in order

Spec: client-server-api/#spaces.
"""
from __future__ import annotations

from typing import Any

from tests.harness.assertions import expect_ok
from tests.harness.client import Client

JsonDict = dict[str, Any]
CLIENT_V1 = "/_matrix/client/v1"
MAX_PAGES = 50  # a walk that pages longer than this is not converging


def create_space(client: Client, **body: Any) -> str:
    """A room of type `m.space` (public unless `body` says otherwise)."""
    creation = {"type": "m.space", **body.pop("creation_content", {})}
    return client.create_room(**{"preset": "public_chat", **body,
                                 "creation_content": creation})


def add_child(client: Client, space: str, child: str, *, via: list[str],
              **content: Any) -> str:
    """Sends the `m.space.child` event naming `child` (with `order`, `suggested`, ...)."""
    return client.send_state(space, "m.space.child", {"via": via, **content}, state_key=child)


def hierarchy(client: Client, room: str, **params: Any):
    """One raw GET /hierarchy request; `from_` stands for the `from` parameter."""
    if "from_" in params:
        params["from"] = params.pop("from_")
    return client.do("GET", ["rooms", room, "hierarchy"], params=_query(params),
                     prefix=CLIENT_V1)


def hierarchy_page(client: Client, room: str, **params: Any) -> JsonDict:
    """One page of GET /hierarchy; fails the test on an error."""
    return expect_ok(hierarchy(client, room, **params), f"get the hierarchy of {room}")


def walk(client: Client, room: str, **params: Any) -> list[JsonDict]:
    """Every room of the hierarchy, following `next_batch` to the last page."""
    rooms: list[JsonDict] = []
    page = hierarchy_page(client, room, **params)
    for _ in range(MAX_PAGES):
        rooms += page["rooms"]
        if "next_batch" not in page:
            return rooms
        page = hierarchy_page(client, room, from_=page["next_batch"], **params)
    raise AssertionError(f"GET /hierarchy of {room} still had a next_batch after "
                         f"{MAX_PAGES} pages: {[r.get('room_id') for r in rooms][:20]}")


def room_ids(rooms: list[JsonDict]) -> list[str]:
    return [room["room_id"] for room in rooms]


def children_of(rooms: list[JsonDict], room_id: str) -> list[str]:
    """The state keys of a listed room's `children_state`, in the order given."""
    for room in rooms:
        if room["room_id"] == room_id:
            return [child["state_key"] for child in room["children_state"]]
    raise AssertionError(f"{room_id} is not among the rooms listed: {room_ids(rooms)}")


def _query(params: dict[str, Any]) -> dict[str, Any]:
    """Booleans as the query string spells them."""
    return {k: ("true" if v else "false") if isinstance(v, bool) else v
            for k, v in params.items()}
