# SPDX-License-Identifier: Apache-2.0
"""Joining by room ID or alias, here or over federation: the one entry point clients use.

A room this server is in is joined locally; any other room is joined through the
servers the client names (`via`), the alias's server, and the room ID's server part
(room versions before 12 carry one).
"""
from __future__ import annotations

from .. import errors
from ..federation.client import FederationClient, FederationError
from ..protocol.events import server_of
from ..types import RoomId, UserId
from .membership import MembershipService
from .remote_join import RemoteJoiner


class JoinService:
    def __init__(self, *, membership: MembershipService, remote: RemoteJoiner,
                 client: FederationClient, is_resident, server_name: str) -> None:
        self._membership = membership
        self._remote = remote
        self._client = client
        self._is_resident = is_resident
        self._server_name = server_name

    async def join(self, user_id: UserId, room_id_or_alias: str, *, via: list[str],
                   reason: str | None = None) -> RoomId:
        room_id, servers = await self._locate(room_id_or_alias, via)
        if self._is_resident(room_id):
            return self._membership.join(user_id, room_id, reason=reason)
        servers += self._inviting_servers(room_id, user_id)
        return await self._remote.join(user_id, room_id, servers)

    async def knock(self, user_id: UserId, room_id_or_alias: str, *, via: list[str],
                    reason: str | None = None) -> RoomId:
        """Knock here when this server is in the room, else through other servers."""
        room_id, servers = await self._locate(room_id_or_alias, via)
        if self._is_resident(room_id):
            return self._membership.knock(user_id, room_id, reason=reason)
        return await self._remote.knock(user_id, room_id, servers, reason=reason)

    async def _locate(self, room_id_or_alias: str, via: list[str]) -> tuple[RoomId, list[str]]:
        """The room ID, and the servers to reach it through when this server is not in
        it: those the client names, the alias's, and the room ID's server part."""
        servers = list(via)
        if room_id_or_alias.startswith("#"):
            room_id, alias_servers = await self._resolve_alias(room_id_or_alias)
            servers += alias_servers
        else:
            room_id = room_id_or_alias
        _, _, room_server = room_id.partition(":")
        return room_id, [*servers, room_server]

    async def leave(self, user_id: UserId, room_id: RoomId, *, reason: str | None = None) -> None:
        """Leave (or reject an invite to) a room; through the inviting server when this
        server is not in the room."""
        if self._is_resident(room_id) or not self._inviting_servers(room_id, user_id):
            self._membership.leave(user_id, room_id, reason=reason)
            return
        await self._remote.leave(user_id, room_id, self._inviting_servers(room_id, user_id),
                                 reason=reason)

    def _inviting_servers(self, room_id: RoomId, user_id: UserId) -> list[str]:
        """The servers to send a leave through when this server is not in the room: the
        inviter's, or for a knock the servers of the room's stripped state senders."""
        invite = self._membership.pending_invite(room_id, user_id)
        if invite is not None:
            return [server_of(invite["sender"])]
        knock = self._membership.pending_knock(room_id, user_id)
        if knock is None:
            return []
        stripped = knock.get("unsigned", {}).get("knock_room_state") or []
        senders = [e.get("sender", "") for e in stripped if isinstance(e, dict)]
        return [s for s in dict.fromkeys(map(server_of, senders))
                if s and s != self._server_name]

    async def _resolve_alias(self, alias: str) -> tuple[RoomId, list[str]]:
        server = server_of(alias)
        if server == self._server_name:
            return self._membership.resolve_room(alias), []
        try:
            answer = await self._client.request("GET", server,
                                                "/_matrix/federation/v1/query/directory",
                                                query={"room_alias": alias})
        except FederationError as error:
            if error.status == 404:
                raise errors.not_found("No room has that alias.") from None
            raise errors.MatrixError(502, "M_UNKNOWN", f"Could not resolve the alias: {error}")
        return answer["room_id"], [*answer.get("servers", []), server]
