# SPDX-License-Identifier: Apache-2.0
"""The routes a test can opt a fake peer into, one constructor per behaviour.

    peer = fake_homeserver(handle_keys(), handle_transactions(on_pdu=seen.append))

Each constructor returns the routes of one behaviour of a real homeserver, answering as
the spec says one would. What the target sends is checked on the way in (signatures,
hashes, event IDs, who may send what): a target that sends a bad join or a forged PDU
is answered as a real server would answer it, and the fault fails the test.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tests.harness.crypto import SignatureError, compute_event_id, content_hash, \
    encode_base64, verify_event_signature
from tests.harness.federation_auth import KeyLookupError
from tests.harness.federation_room import FakeRoom, countersign, now_ms, server_of
from tests.harness.federation_routes import FEDERATION_V1, FEDERATION_V2, KEY_V2, Answer, \
    Request, Route, target_fault

if TYPE_CHECKING:
    from tests.harness.federation_server import FakeHomeserver

JsonDict = dict[str, Any]
Callback = Callable[[JsonDict], Any]
Handler = tuple[Route, ...]


def handle_keys() -> Handler:
    """Publishes the peer's signing key, and answers notary queries about itself.

    Needed by any test in which the target checks the peer's signatures.
    Spec: server-server-api/#publishing-keys, #querying-keys-through-another-server.
    """
    def own(peer: FakeHomeserver, names: Any) -> JsonDict:
        return {"server_keys": [peer.key_document()] if peer.server_name in names else []}

    return (
        Route("GET", KEY_V2 + "/server", lambda peer, req, p: peer.key_document(), signed=False),
        Route("GET", KEY_V2 + "/query/{serverName}",
              lambda peer, req, p: own(peer, [p["serverName"]]), signed=False),
        Route("POST", KEY_V2 + "/query",
              lambda peer, req, p: own(peer, (req.json or {}).get("server_keys", {})),
              signed=False),
    )


def handle_version(name: str = "matrix-conformance fake peer", version: str = "0") -> Handler:
    """Answers GET /_matrix/federation/v1/version."""
    body = {"server": {"name": name, "version": version}}
    return (Route("GET", FEDERATION_V1 + "/version", lambda *_: body, signed=False),)


def handle_transactions(on_pdu: Callback | None = None, on_edu: Callback | None = None, *,
                        on_transaction: Callback | None = None, failures: int = 0) -> Handler:
    """Accepts transactions, handing each (the body), its PDUs and EDUs to the callbacks.

    PDUs of rooms whose version the peer knows (rooms it hosts, joined or was invited
    to) are checked: content hash, the sending server's signature. PDUs of hosted rooms
    join the room's graph. A retried transaction ID is answered again without calling
    back twice (spec: server-server-api/#transactions). The first `failures`
    transactions are answered 500 M_UNKNOWN unread, as by a server that is briefly
    down; `peer.requests` shows what the target sent next.
    """
    answered: dict[tuple[str, str], JsonDict] = {}
    lock = threading.Lock()
    failed = [0]

    def respond(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        origin, body = request.origin or "", request.json or {}
        with lock:
            key = (origin, params["txnId"])
            if key in answered:
                return answered[key]
            if failed[0] < failures:
                failed[0] += 1
                raise Answer(500, "M_UNKNOWN", "this test's peer fails this transaction")
            if body.get("origin") != origin:
                raise target_fault(f"the transaction's origin {body.get('origin')!r} is not "
                                   f"the server that signed the request ({origin})", "M_BAD_JSON")
            if on_transaction is not None:
                on_transaction(body)
            results = {}
            for pdu in body.get("pdus", []):
                event_id, result = _receive_pdu(peer, pdu, origin)
                results[event_id] = result
                if on_pdu is not None:
                    on_pdu(pdu)
            for edu in body.get("edus", []) if on_edu is not None else []:
                on_edu(edu)
            answered[key] = {"pdus": results}
            return answered[key]

    return (Route("PUT", FEDERATION_V1 + "/send/{txnId}", respond),)


def _receive_pdu(peer: FakeHomeserver, pdu: JsonDict, origin: str) -> tuple[str, JsonDict]:
    """The PDU's event ID and result; faults if a PDU of a known room does not verify."""
    room_id = pdu.get("room_id", "")
    version = peer.room_version_of(room_id)
    # Unknown room: the ID is computed as for v11 (it is only a key in the answer).
    event_id = compute_event_id(pdu, version or "11")
    if version is None:
        return event_id, {}
    problem = _pdu_problem(peer, pdu, origin, version)
    if problem:
        peer.fault(f"the target sent PDU {event_id} in {room_id}: {problem}")
        return event_id, {"error": problem}
    if room_id in peer.rooms:
        peer.rooms[room_id].add(pdu)
    return event_id, {}


def _pdu_problem(peer: FakeHomeserver, pdu: JsonDict, origin: str, version: str) -> str | None:
    expected = encode_base64(content_hash(pdu))
    if (pdu.get("hashes") or {}).get("sha256") != expected:
        return f"its content hash is {pdu.get('hashes')}, but the content hashes to {expected}"
    sender_server = server_of(pdu.get("sender", ":"))
    if sender_server != origin:
        return None  # relayed from elsewhere: the peer cannot fetch that server's keys
    try:
        verify_event_signature(pdu, origin, peer.keys_of(origin), version)
    except (SignatureError, KeyLookupError) as error:
        return f"the signature of {origin} does not verify: {error}"
    return None


def _hosted(peer: FakeHomeserver, room_id: str) -> FakeRoom:
    room = peer.rooms.get(room_id)
    if room is None:
        raise Answer(404, "M_NOT_FOUND", f"{peer.server_name} does not host {room_id}")
    return room


def handle_make_join() -> Handler:
    """Answers make_join for rooms the peer hosts (`peer.create_room()`).

    Spec: server-server-api/#joining-rooms (GET /make_join).
    """
    def respond(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        room, user_id = _hosted(peer, params["roomId"]), params["userId"]
        versions = request.query.get("ver", ["1"])
        if room.version.identifier not in versions:
            raise Answer(400, "M_INCOMPATIBLE_ROOM_VERSION",
                         f"the room is version {room.version.identifier}, not one of {versions}",
                         room_version=room.version.identifier)
        if ":" not in user_id or server_of(user_id) != request.origin:
            raise target_fault(f"{request.origin} asked to join {user_id}, who is not its user",
                               "M_FORBIDDEN", 403)
        if room.join_rule() != "public" and room.membership(user_id) not in ("invite", "join"):
            raise Answer(403, "M_FORBIDDEN", f"{user_id} is not invited to {room.room_id}")
        return {"room_version": room.version.identifier, "event": room.make_join_template(user_id)}

    return (Route("GET", FEDERATION_V1 + "/make_join/{roomId}/{userId}", respond),)


def handle_send_join(on_join: Callback | None = None) -> Handler:
    """Accepts joins to rooms the peer hosts: checks, countersigns and adds them.

    Spec: server-server-api/#joining-rooms (PUT /v2/send_join).
    """
    def respond(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        room, event = _hosted(peer, params["roomId"]), request.json or {}
        problems = room.join_problems(event, params["eventId"], request.origin or "")
        problem = None if problems else _pdu_problem(peer, event, request.origin or "",
                                                     room.version.identifier)
        if problems or problem:
            raise target_fault("the join event is not acceptable: " +
                               "; ".join(problems or [problem or ""]))
        answer = room.accept_join(event)
        if on_join is not None:
            on_join(answer["event"])
        return answer

    return (Route("PUT", FEDERATION_V2 + "/send_join/{roomId}/{eventId}", respond),)


def handle_make_send_join(on_join: Callback | None = None) -> Handler:
    """Both halves of the join handshake for rooms the peer hosts."""
    return handle_make_join() + handle_send_join(on_join)


def _add_membership(peer: FakeHomeserver, request: Request, params: dict[str, str],
                    membership: str, callback: Callback | None) -> FakeRoom:
    """Checks a membership event sent to send_knock/send_leave and adds it to the hosted
    room (failing the test when the target built it wrong); returns the room."""
    room, event = _hosted(peer, params["roomId"]), request.json or {}
    origin = request.origin or ""
    problems = room.join_problems(event, params["eventId"], origin, membership=membership)
    problem = None if problems else _pdu_problem(peer, event, origin, room.version.identifier)
    if problems or problem:
        raise target_fault(f"the {membership} event is not acceptable: " +
                           "; ".join(problems or [problem or ""]))
    room.add(event)
    if callback is not None:
        callback(event)
    return room


def handle_make_send_knock(on_knock: Callback | None = None) -> Handler:
    """Both halves of knocking on rooms the peer hosts whose join rule allows it.

    Spec: server-server-api/#knocking-upon-a-room (GET /make_knock, PUT /send_knock: the
    answer holds the room's stripped state).
    """
    def make(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        room, user_id = _hosted(peer, params["roomId"]), params["userId"]
        versions = request.query.get("ver", [])
        if room.version.identifier not in versions:
            raise Answer(400, "M_INCOMPATIBLE_ROOM_VERSION",
                         f"the room is version {room.version.identifier}, not one of {versions}",
                         room_version=room.version.identifier)
        if ":" not in user_id or server_of(user_id) != request.origin:
            raise target_fault(f"{request.origin} asked to knock for {user_id}, who is not "
                               "its user", "M_FORBIDDEN", 403)
        if room.join_rule() not in ("knock", "knock_restricted"):
            raise Answer(403, "M_FORBIDDEN", f"{room.room_id} does not allow knocking")
        return {"room_version": room.version.identifier,
                "event": room.make_join_template(user_id, "knock")}

    def send(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        room = _add_membership(peer, request, params, "knock", on_knock)
        return {"knock_room_state": room.stripped_state()}

    return (Route("GET", FEDERATION_V1 + "/make_knock/{roomId}/{userId}", make),
            Route("PUT", FEDERATION_V1 + "/send_knock/{roomId}/{eventId}", send))


def handle_make_leave() -> Handler:
    """Answers make_leave for rooms the peer hosts, for users of the caller with a
    membership there to give up (an invite, typically).

    Spec: server-server-api/#leaving-rooms-rejecting-invites (GET /make_leave).
    """
    def respond(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        room, user_id = _hosted(peer, params["roomId"]), params["userId"]
        if ":" not in user_id or server_of(user_id) != request.origin:
            raise target_fault(f"{request.origin} asked to leave for {user_id}, who is not its "
                               "user", "M_FORBIDDEN", 403)
        if room.membership(user_id) not in ("invite", "join", "knock"):
            raise Answer(403, "M_FORBIDDEN", f"{user_id} has no membership in {room.room_id}")
        return {"room_version": room.version.identifier,
                "event": room.make_join_template(user_id, "leave")}

    return (Route("GET", FEDERATION_V1 + "/make_leave/{roomId}/{userId}", respond),)


def handle_send_leave(on_leave: Callback | None = None) -> Handler:
    """Accepts leaves to rooms the peer hosts: checks and adds them.

    Spec: server-server-api/#leaving-rooms-rejecting-invites (PUT /v2/send_leave).
    """
    def respond(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        _add_membership(peer, request, params, "leave", on_leave)
        return {}

    return (Route("PUT", FEDERATION_V2 + "/send_leave/{roomId}/{eventId}", respond),)


def handle_make_send_leave(on_leave: Callback | None = None) -> Handler:
    """Both halves of the leave handshake for rooms the peer hosts."""
    return handle_make_leave() + handle_send_leave(on_leave)


def handle_invite(on_invite: Callback | None = None, *, accept: bool = True,
                  versions: Iterable[str] | None = None) -> Handler:
    """Countersigns invites of the peer's users (v2), or refuses them with 403.

    `on_invite` gets the request body with the countersigned event. With `versions`,
    the peer supports only those room versions and answers invites to rooms of others
    400 M_INCOMPATIBLE_ROOM_VERSION. Spec: server-server-api/#inviting-to-a-room
    (PUT /v2/invite).

    A server about to invite a remote user may first look up their profile (Synapse
    does, to show a name in the invite); unless the test also gives
    `handle_query_profile`, the peer answers such lookups as for a user without one.
    """
    supported = None if versions is None else set(versions)

    def respond(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        body, origin = request.json or {}, request.origin or ""
        event, version = body.get("event") or {}, str(body.get("room_version"))
        if supported is not None and version not in supported:
            raise Answer(400, "M_INCOMPATIBLE_ROOM_VERSION",
                         f"this test's peer does not support room version {version}",
                         room_version=version)
        problems = _invite_problems(peer, event, version, params, origin)
        if problems:
            raise target_fault("the invite is not acceptable: " + "; ".join(problems))
        if not accept:
            raise Answer(403, "M_FORBIDDEN", "this test's peer declines the invite")
        signed = countersign(event, peer.server_name, peer.key, version)
        peer.room_versions[params["roomId"]] = version
        if on_invite is not None:
            on_invite({**body, "event": signed})
        return {"event": signed}

    return (Route("PUT", FEDERATION_V2 + "/invite/{roomId}/{eventId}", respond),
            *_no_profiles())


def _no_profiles() -> Handler:
    """A fallback answering every profile query of the peer's users 404 M_NOT_FOUND."""
    return tuple(Route(r.method, r.template, r.respond, fallback=True)
                 for r in handle_query_profile({}))


def _invite_problems(peer: FakeHomeserver, event: JsonDict, version: str,
                     params: dict[str, str], origin: str) -> list[str]:
    try:
        event_id = compute_event_id(event, version)
    except ValueError as error:
        return [str(error)]
    problems = []
    if event_id != params["eventId"]:
        problems.append(f"its event ID is {event_id}, not {params['eventId']}")
    if event.get("type") != "m.room.member" or \
            (event.get("content") or {}).get("membership") != "invite":
        problems.append("it is not an m.room.member event with membership invite")
    if not str(event.get("state_key", "")).endswith(":" + peer.server_name):
        problems.append(f"its state_key {event.get('state_key')!r} is not a user of this peer")
    if server_of(event.get("sender", ":")) != origin:
        problems.append(f"its sender {event.get('sender')!r} is not a user of {origin}")
    return problems or [p for p in [_pdu_problem(peer, event, origin, version)] if p]


def _state_answer(room: FakeRoom, event_id: str | None) -> tuple[list[str], list[JsonDict]]:
    if not event_id or event_id not in room.events:
        raise Answer(404, "M_NOT_FOUND", f"no event {event_id} in {room.room_id}")
    state_ids = list(room.state_before(event_id).values())
    return state_ids, room.auth_chain(state_ids)


def handle_state() -> Handler:
    """Answers GET /state/{roomId}?event_id= for hosted rooms (state before the event)."""
    def respond(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        room = _hosted(peer, params["roomId"])
        state_ids, chain = _state_answer(room, request.arg("event_id"))
        return {"pdus": [room.pdu(e) for e in state_ids], "auth_chain": chain}

    return (Route("GET", FEDERATION_V1 + "/state/{roomId}", respond),)


def handle_state_ids() -> Handler:
    """Answers GET /state_ids/{roomId}?event_id= for hosted rooms."""
    def respond(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        room = _hosted(peer, params["roomId"])
        state_ids, chain = _state_answer(room, request.arg("event_id"))
        return {"pdu_ids": state_ids, "auth_chain_ids": [room.event_id(e) for e in chain]}

    return (Route("GET", FEDERATION_V1 + "/state_ids/{roomId}", respond),)


def _pdu_transaction(peer: FakeHomeserver, pdus: list[JsonDict]) -> JsonDict:
    return {"origin": peer.server_name, "origin_server_ts": now_ms(), "pdus": pdus}


def handle_backfill() -> Handler:
    """Answers GET /backfill/{roomId}?v=…&limit=… for hosted rooms."""
    def respond(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        room = _hosted(peer, params["roomId"])
        limit = _int_arg(request.arg("limit"), "limit")
        return _pdu_transaction(peer, room.backfill(request.query.get("v", []), limit))

    return (Route("GET", FEDERATION_V1 + "/backfill/{roomId}", respond),)


def handle_get_missing_events(*, withhold: Collection[str] = ()) -> Handler:
    """Answers POST /get_missing_events/{roomId} for hosted rooms, leaving out the events
    in `withhold` (a gap the target has to close another way). `withhold` is read at each
    request: a test may pass a set and empty it to give the events later."""
    def respond(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        room, body = _hosted(peer, params["roomId"]), request.json or {}
        events = room.missing_events(body.get("earliest_events", []),
                                     body.get("latest_events", []),
                                     limit=int(body.get("limit", 10)),
                                     min_depth=int(body.get("min_depth", 0)))
        return {"events": [e for e in events if room.event_id(e) not in withhold]}

    return (Route("POST", FEDERATION_V1 + "/get_missing_events/{roomId}", respond),)


def handle_event() -> Handler:
    """Answers GET /event/{eventId} with events of the rooms the peer hosts."""
    def respond(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        for room in peer.rooms.values():
            if params["eventId"] in room.events:
                return _pdu_transaction(peer, [room.pdu(params["eventId"])])
        raise Answer(404, "M_NOT_FOUND", f"no event {params['eventId']} here")

    return (Route("GET", FEDERATION_V1 + "/event/{eventId}", respond),)


def handle_query_profile(profiles: Mapping[str, JsonDict]) -> Handler:
    """Answers profile queries about the peer's users, from `{localpart or user ID: profile}`.

    Spec: server-server-api/#querying-for-information (GET /query/profile).
    """
    def respond(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        user_id, field = request.arg("user_id") or "", request.arg("field")
        if not user_id.endswith(":" + peer.server_name):
            raise target_fault(f"{request.origin} asked this peer for the profile of "
                               f"{user_id!r}, who is not its user")
        localpart = user_id[1:].rsplit(":" + peer.server_name, 1)[0]
        profile = profiles.get(user_id, profiles.get(localpart))
        if profile is None:
            raise Answer(404, "M_NOT_FOUND", f"no profile for {user_id}")
        if field is not None:
            if field not in profile:
                raise Answer(404, "M_NOT_FOUND", f"{user_id} has no {field}")
            return {field: profile[field]}
        return dict(profile)

    return (Route("GET", FEDERATION_V1 + "/query/profile", respond),)


def handle_query_directory(aliases: Mapping[str, str]) -> Handler:
    """Resolves the peer's room aliases, from `{localpart or alias: room ID}`; the peer
    names itself as the server to join through.

    Spec: server-server-api/#get_matrixfederationv1querydirectory.
    """
    def respond(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> JsonDict:
        alias = request.arg("room_alias") or ""
        if not alias.endswith(":" + peer.server_name):
            raise target_fault(f"{request.origin} asked this peer to resolve {alias!r}, "
                               "which is not its alias")
        localpart = alias[1:].rsplit(":" + peer.server_name, 1)[0]
        room_id = aliases.get(alias, aliases.get(localpart))
        if room_id is None:
            raise Answer(404, "M_NOT_FOUND", f"no room has the alias {alias}")
        return {"room_id": room_id, "servers": [peer.server_name]}

    return (Route("GET", FEDERATION_V1 + "/query/directory", respond),)


def _int_arg(value: str | None, name: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise target_fault(f"the {name} parameter is {value!r}, not an integer",
                           "M_INVALID_PARAM") from None
