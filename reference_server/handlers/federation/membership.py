# SPDX-License-Identifier: Apache-2.0
"""invites-v1/v2, joins-v1/v2, leaving-v1/v2 (make_* and send_*) on the resident server."""
from __future__ import annotations

from ...http.request import Request
from ...services.federated_invites import FederatedInvites
from ...services.federation_membership import FederatedMembership
from ...types import JsonDict


class FederationMembershipHandlers:
    def __init__(self, *, membership: FederatedMembership, invites: FederatedInvites,
                 room_state) -> None:
        self._membership = membership
        self._invites = invites
        self._room_state = room_state

    async def send_invite_v2(self, request: Request) -> JsonDict:
        return await self._invites.receive_invite(request.server, request.path["roomId"],
                                                  request.path["eventId"], request.body)

    async def send_invite_v1(self, request: Request) -> list:
        answer = await self._invites.receive_invite_v1(
            request.server, request.path["roomId"], request.path["eventId"], request.body)
        return [200, answer]  # the v1 API's historical two-item array

    async def make_join(self, request: Request) -> JsonDict:
        # Spec: a missing `ver` means the remote server only supports room version 1.
        versions = request.query.get("ver") or ["1"]
        return self._membership.make(request.server, request.path["roomId"],
                                     request.path["userId"], "join", versions)

    async def send_join_v2(self, request: Request) -> JsonDict:
        room_id = request.path["roomId"]
        event, state, auth_chain = await self._membership.accept(
            request.server, room_id, request.path["eventId"], request.body, "join")
        return {"event": event, "state": state, "auth_chain": auth_chain,
                "members_omitted": False,
                "servers_in_room": self._membership.servers_in_room(room_id),
                "origin": self._membership_origin()}

    async def make_knock(self, request: Request) -> JsonDict:
        return self._membership.make(request.server, request.path["roomId"],
                                     request.path["userId"], "knock", request.query["ver"])

    async def send_knock(self, request: Request) -> JsonDict:
        room_id = request.path["roomId"]
        await self._membership.accept(request.server, room_id, request.path["eventId"],
                                      request.body, "knock")
        # Spec 1.16: full events (the create event among them) the knocker's server checks.
        return {"knock_room_state": self._room_state(room_id)}

    async def make_leave(self, request: Request) -> JsonDict:
        room_id = request.path["roomId"]
        version = self._membership.room_version_of(room_id)
        return self._membership.make(request.server, room_id, request.path["userId"], "leave",
                                     [version])

    async def send_leave_v2(self, request: Request) -> JsonDict:
        await self._membership.accept(request.server, request.path["roomId"],
                                      request.path["eventId"], request.body, "leave")
        return {}

    def _membership_origin(self) -> str:
        return self._membership.server_name
