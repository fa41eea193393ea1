# SPDX-License-Identifier: Apache-2.0
"""create_room, the membership documents (joining, inviting, leaving, kicking, banning),
list_joined_rooms, rooms, room_state, room_send, redaction, message_pagination."""
from __future__ import annotations

from ... import errors
from ...appservices.calls import AppServiceQueries
from ...http.request import Request
from ...services.events import NewEvent, RoomEvents
from ...services.filtering import event_allowed, parse_filter_param
from ...services.federated_invites import FederatedInvites
from ...services.joins import JoinService
from ...services.membership import MembershipService
from ...services.rooms import RoomCreator
from ...services.timeline import RoomReader
from ...types import JsonDict


class RoomHandlers:
    def __init__(self, *, creator: RoomCreator, membership: MembershipService,
                 room_events: RoomEvents, reader: RoomReader, load_filter,
                 joins: JoinService, invites: FederatedInvites, is_local,
                 appservice_queries: AppServiceQueries) -> None:
        self._creator = creator
        self._membership = membership
        self._events = room_events
        self._reader = reader
        self._load_filter = load_filter
        self._joins = joins
        self._invites = invites
        self._is_local = is_local
        self._appservice_queries = appservice_queries

    async def create_room(self, request: Request) -> JsonDict:
        return {"room_id": self._creator.create(request.user.user_id, request.body,
                                                appservice_id=request.user.appservice_id)}

    async def join_room(self, request: Request) -> JsonDict:
        via = _via(request)
        if request.path["roomIdOrAlias"].startswith("#"):
            await self._appservice_queries.alias(request.path["roomIdOrAlias"])
        room_id = await self._joins.join(request.user.user_id, request.path["roomIdOrAlias"],
                                         via=via, reason=request.body.get("reason"))
        return {"room_id": room_id}

    async def join_room_by_id(self, request: Request) -> JsonDict:
        room_id = await self._joins.join(request.user.user_id, request.path["roomId"], via=[],
                                         reason=request.body.get("reason"))
        return {"room_id": room_id}

    async def knock_room(self, request: Request) -> JsonDict:
        via = _via(request)
        room_id = await self._joins.knock(request.user.user_id, request.path["roomIdOrAlias"],
                                          via=via, reason=request.body.get("reason"))
        return {"room_id": room_id}

    async def invite_user(self, request: Request) -> JsonDict:
        sender, room_id = request.user.user_id, request.path["roomId"]
        target, reason = request.body["user_id"], request.body.get("reason")
        if self._is_local(target):
            await self._appservice_queries.user(target)
            self._membership.invite(sender, room_id, target, reason=reason)
        else:
            content = self._membership.invite_content(sender, room_id, target, reason=reason)
            await self._invites.invite_remote(sender, room_id, target, content)
        return {}

    async def leave_room(self, request: Request) -> JsonDict:
        await self._joins.leave(request.user.user_id, request.path["roomId"],
                                reason=request.body.get("reason"))
        return {}

    async def forget_room(self, request: Request) -> JsonDict:
        self._membership.forget(request.user.user_id, request.path["roomId"])
        return {}

    async def kick(self, request: Request) -> JsonDict:
        self._membership.kick(request.user.user_id, request.path["roomId"],
                              request.body["user_id"], request.body.get("reason"))
        return {}

    async def ban(self, request: Request) -> JsonDict:
        self._membership.ban(request.user.user_id, request.path["roomId"],
                             request.body["user_id"], request.body.get("reason"))
        return {}

    async def unban(self, request: Request) -> JsonDict:
        self._membership.unban(request.user.user_id, request.path["roomId"],
                               request.body["user_id"], request.body.get("reason"))
        return {}

    async def get_joined_rooms(self, request: Request) -> JsonDict:
        rooms = self._events.state.rooms_for_user(request.user.user_id)
        return {"joined_rooms": sorted(r for r, (m, _, _) in rooms.items() if m == "join")}

    # sending --------------------------------------------------------------------
    async def send_message(self, request: Request) -> JsonDict:
        return {"event_id": self._send(request, request.path["eventType"], None, request.body)}

    async def set_room_state_with_key(self, request: Request) -> JsonDict:
        state_key = request.path.get("stateKey", "")
        return {"event_id": self._send(request, request.path["eventType"], state_key, request.body)}

    async def redact_event(self, request: Request) -> JsonDict:
        content = dict(request.body)
        content["redacts"] = request.path["eventId"]
        self._events.check_may_redact(request.path["roomId"], request.user.user_id,
                                      request.path["eventId"])
        event_id = self._send(request, "m.room.redaction", None, content,
                              redacts=request.path["eventId"])
        return {"event_id": event_id}

    def _send(self, request: Request, event_type: str, state_key: str | None, content: JsonDict,
              redacts: str | None = None) -> str:
        user = request.user
        room_id = request.path["roomId"]
        txn_id = request.path.get("txnId")
        txn = (user.user_id, user.device_id or "", _txn_path(request), txn_id) if txn_id else None
        if txn is not None:
            existing = self._events.events.by_txn(*txn)
            if existing is not None:
                return existing
        if self._membership.membership(room_id, user.user_id) != "join" and \
                event_type != "m.room.member":
            self._events.version(room_id)
            raise errors.forbidden("You are not joined to this room.")
        stored = self._events.append(room_id, NewEvent(
            user.user_id, event_type, content, state_key=state_key, redacts=redacts, txn=txn))
        return stored.event_id

    # reading ---------------------------------------------------------------------
    async def get_one_room_event(self, request: Request) -> JsonDict:
        user = request.user
        return self._reader.event(request.path["roomId"], request.path["eventId"],
                                  user.user_id, user.device_id)

    async def get_room_state(self, request: Request) -> list[JsonDict]:
        return self._reader.state(request.path["roomId"], request.user.user_id)

    async def get_room_state_with_key(self, request: Request) -> JsonDict:
        stored = self._reader.state_event(request.path["roomId"], request.user.user_id,
                                          request.path["eventType"],
                                          request.path.get("stateKey", ""))
        if request.query.get("format") == "event":
            return self._reader.format(request.path["roomId"], stored, request.user.user_id, None)
        return stored.pdu["content"]

    async def get_members_by_room(self, request: Request) -> JsonDict:
        chunk = self._reader.members(request.path["roomId"], request.user.user_id,
                                     membership=request.query.get("membership"),
                                     not_membership=request.query.get("not_membership"))
        return {"chunk": chunk}

    async def get_joined_members_by_room(self, request: Request) -> JsonDict:
        return {"joined": self._reader.joined_members(request.path["roomId"],
                                                      request.user.user_id)}

    async def get_room_events(self, request: Request) -> JsonDict:
        user = request.user
        room_filter = parse_filter_param(request.query.get("filter"),
                                         lambda fid: self._load_filter(user.user_id, fid))
        return self._reader.messages(
            request.path["roomId"], user.user_id, user.device_id,
            from_token=request.query.get("from"), to_token=request.query.get("to"),
            backwards=request.query.get("dir", "b") == "b",
            limit=request.query.get("limit", 10),
            event_filter=(lambda pdu: event_allowed(room_filter, pdu)) if room_filter else None)

    async def get_event_context(self, request: Request) -> JsonDict:
        user = request.user
        room_filter = parse_filter_param(request.query.get("filter"),
                                         lambda fid: self._load_filter(user.user_id, fid))
        return self._reader.context(
            request.path["roomId"], request.path["eventId"], user.user_id, user.device_id,
            limit=request.query.get("limit", 10),
            event_filter=(lambda pdu: event_allowed(room_filter, pdu)) if room_filter else None)


def _txn_path(request: Request) -> str:
    """The endpoint and path parameters other than the txnId: a retry must match them all."""
    params = sorted((k, v) for k, v in request.path.items() if k != "txnId")
    return "\n".join([request.operation_id, *(f"{k}={v}" for k, v in params)])


def _via(request: Request) -> list[str]:
    """The servers a client names to reach a room through: `via`, or the deprecated
    `server_name` (client-server-api/#post_matrixclientv3joinroomidoralias)."""
    return request.query.get("via") or request.query.get("server_name") or []
