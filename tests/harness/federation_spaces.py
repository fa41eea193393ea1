# SPDX-License-Identifier: Apache-2.0
"""A fake peer's side of spaces: answering GET /hierarchy about the rooms it hosts.

    peer = fake_homeserver(handle_keys(), handle_hierarchy())
    space = peer.create_room("10", room_type="m.space")
    space.send_state("m.space.child", {"via": [peer.server_name]}, state_key=room.room_id)

The peer answers as a resident server would: the space with its m.space.child events,
the children it hosts that anyone may reach (public, or world-readable history) under
`children`, the other children it hosts under `inaccessible_children`, and nothing for
children it does not host.

Spec: server-server-api/#get_matrixfederationv1hierarchyroomid.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.harness.federation_room import FakeRoom
from tests.harness.federation_routes import FEDERATION_V1, Answer, Request, Route

if TYPE_CHECKING:
    from tests.harness.federation_server import FakeHomeserver

JsonDict = dict[str, Any]
Handler = tuple[Route, ...]


def handle_hierarchy(on_request: Any = None) -> Handler:
    """Answers GET /hierarchy/{roomId} for rooms the peer hosts; 404 for others.

    `on_request` gets each asked room ID with the `suggested_only` value the target sent.
    """
    def respond(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        room = peer.rooms.get(params["roomId"])
        suggested_only = request.arg("suggested_only") == "true"
        if on_request is not None:
            on_request((params["roomId"], suggested_only))
        if room is None:
            raise Answer(404, "M_NOT_FOUND", f"{peer.server_name} does not host that room")
        children = child_events(room, suggested_only=suggested_only)
        reachable, unreachable = [], []
        for child in children:
            hosted = peer.rooms.get(child["state_key"])
            if hosted is not None:
                (reachable if open_to_anyone(hosted) else unreachable).append(hosted)
        return {"room": {**summary(room), "children_state": children},
                "children": [summary(r) for r in reachable],
                "inaccessible_children": [r.room_id for r in unreachable]}

    return (Route("GET", FEDERATION_V1 + "/hierarchy/{roomId}", respond),)


def summary(room: FakeRoom) -> JsonDict:
    """The room as a hierarchy answer describes it."""
    state = room.state_map()
    entry: JsonDict = {
        "room_id": room.room_id,
        "num_joined_members": sum(1 for (t, _k), e in state.items() if t == "m.room.member"
                                  and room.pdu(e)["content"].get("membership") == "join"),
        "world_readable": _world_readable(room),
        "guest_can_join": False,
        "join_rule": room.join_rule() or "invite",
        "room_version": room.version.identifier,
    }
    name = room.state_content("m.room.name").get("name")
    if isinstance(name, str):
        entry["name"] = name
    room_type = room.state_content("m.room.create").get("type")
    if isinstance(room_type, str):
        entry["room_type"] = room_type
    return entry


def child_events(room: FakeRoom, *, suggested_only: bool = False) -> list[JsonDict]:
    """The room's m.space.child events with a `via`, stripped, with their timestamps."""
    found = []
    for (event_type, state_key), event_id in room.state_map().items():
        pdu = room.pdu(event_id)
        content = pdu["content"]
        if event_type != "m.space.child" or not content.get("via"):
            continue
        if suggested_only and content.get("suggested") is not True:
            continue
        found.append({"type": event_type, "state_key": state_key, "sender": pdu["sender"],
                      "content": content, "origin_server_ts": pdu["origin_server_ts"]})
    return found


def open_to_anyone(room: FakeRoom) -> bool:
    return room.join_rule() == "public" or _world_readable(room)


def _world_readable(room: FakeRoom) -> bool:
    return room.state_content("m.room.history_visibility").get(
        "history_visibility") == "world_readable"
