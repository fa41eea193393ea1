# SPDX-License-Identifier: Apache-2.0
"""A fake peer answering questions about when things happened in the rooms it hosts.

    peer = fake_homeserver(handle_keys(), handle_timestamp_to_event(), handle_event())

Spec: server-server-api/#get_matrixfederationv1timestamp_to_eventroomid.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.harness.federation_routes import FEDERATION_V1, Answer, Request, Route, \
    target_fault

if TYPE_CHECKING:
    from tests.harness.federation_server import FakeHomeserver

JsonDict = dict[str, Any]
Handler = tuple[Route, ...]


def handle_timestamp_to_event() -> Handler:
    """Answers GET /timestamp_to_event/{roomId}?ts=…&dir=… from a hosted room's events:
    the first at or after `ts` (`dir=f`) or the last at or before it (`dir=b`)."""
    def respond(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        room = peer.rooms.get(params["roomId"])
        if room is None:
            raise Answer(404, "M_NOT_FOUND", f"{peer.server_name} does not host that room")
        ts, direction = request.arg("ts") or "", request.arg("dir")
        if not ts.lstrip("-").isdigit() or direction not in ("f", "b"):
            raise target_fault(f"ts={ts!r} dir={direction!r}: ts must be an integer and dir "
                               "f or b")
        found = closest(room.events, int(ts), forwards=direction == "f")
        if found is None:
            raise Answer(404, "M_NOT_FOUND", f"no event {direction} of {ts}")
        return {"event_id": found, "origin_server_ts": room.pdu(found)["origin_server_ts"]}

    return (Route("GET", FEDERATION_V1 + "/timestamp_to_event/{roomId}", respond),)


def closest(events: dict[str, JsonDict], ts: int, *, forwards: bool) -> str | None:
    """The ID of the event nearest `ts` in that direction, by origin_server_ts."""
    times = [(pdu["origin_server_ts"], event_id) for event_id, pdu in events.items()]
    if forwards:
        later = [t for t in times if t[0] >= ts]
        return min(later)[1] if later else None
    earlier = [t for t in times if t[0] <= ts]
    return max(earlier)[1] if earlier else None
