# SPDX-License-Identifier: Apache-2.0
"""What a fake peer's handlers are made of: requests, routes, and the answers they give.

A handler (`handle_keys()`, `handle_transactions(...)`, …) is a list of routes. A test
opts into exactly the routes it expects the target to use; `HINTS` lets the peer say,
for any request it was not given a route for, which handler would have answered it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    from tests.harness.federation_server import FakeHomeserver

JsonDict = dict[str, Any]
FEDERATION_V1 = "/_matrix/federation/v1"
FEDERATION_V2 = "/_matrix/federation/v2"
KEY_V2 = "/_matrix/key/v2"


@dataclass
class Request:
    """One request the target sent to a peer, as the handlers see it."""

    method: str
    target: str  # the raw request target: path and query, as signed by X-Matrix
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    json: Any = None
    origin: str | None = None  # the verified X-Matrix origin of a signed route

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        return self.query.get(name, [default])[0]

    def describe(self) -> str:
        return f"{self.method} {unquote(self.target)}"


@dataclass(frozen=True)
class Route:
    """One method and path template (`/_matrix/federation/v1/send/{txnId}`) and its answer.

    `respond(peer, request, params)` returns the JSON body of a 200 answer or raises
    `Answer`. `signed` routes are refused with 401 unless the target's X-Matrix
    signature verifies. A `fallback` route answers only requests that no other route
    of the peer matches, whatever the order the test gave its handlers in.
    """

    method: str
    template: str
    respond: Callable[[FakeHomeserver, Request, dict[str, str]], Any] = field(compare=False)
    signed: bool = True
    fallback: bool = False

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters, unescaped, if the request is for this route."""
        if method != self.method:
            return None
        want, got = self.template.split("/"), path.split("/")
        if len(want) != len(got):
            return None
        params: dict[str, str] = {}
        for pattern, segment in zip(want, got):
            if pattern.startswith("{") and pattern.endswith("}"):
                params[pattern[1:-1]] = unquote(segment)
            elif pattern != segment:
                return None
        return params


@dataclass(frozen=True)
class RawAnswer:
    """A 200 answer that is not JSON (media): a handler returns it instead of a dict."""

    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # any others to send


class Answer(Exception):
    """A non-200 answer from a handler: `Answer(404, "M_NOT_FOUND", "Unknown room")`.

    With `target_at_fault`, the target asked for something the spec forbids it to ask
    (a wrongly signed join, a transaction from another origin): the peer answers as a
    real server would and also records the fault, so the test fails.
    """

    def __init__(self, status: int, errcode: str, error: str, *,
                 target_at_fault: bool = False, **extra: Any) -> None:
        super().__init__(f"{status} {errcode}: {error}")
        self.status = status
        self.body: JsonDict = {"errcode": errcode, "error": error, **extra}
        self.target_at_fault = target_at_fault


def target_fault(error: str, errcode: str = "M_INVALID_PARAM", status: int = 400) -> Answer:
    """An `Answer` recording that the target broke the spec: `raise target_fault("…")`."""
    return Answer(status, errcode, error, target_at_fault=True)


# Which handler constructor serves which request, for the "add handle_…()" message.
HINTS: list[tuple[str, str, str]] = [
    ("GET", KEY_V2 + "/server", "handle_keys()"),
    ("GET", KEY_V2 + "/query/{serverName}", "handle_keys()"),
    ("POST", KEY_V2 + "/query", "handle_keys()"),
    ("GET", FEDERATION_V1 + "/version", "handle_version()"),
    ("PUT", FEDERATION_V1 + "/send/{txnId}", "handle_transactions(on_pdu=..., on_edu=...)"),
    ("GET", FEDERATION_V1 + "/make_join/{roomId}/{userId}", "handle_make_join()"),
    ("PUT", FEDERATION_V2 + "/send_join/{roomId}/{eventId}", "handle_send_join()"),
    ("PUT", FEDERATION_V2 + "/invite/{roomId}/{eventId}", "handle_invite(on_invite=...)"),
    ("GET", FEDERATION_V1 + "/make_leave/{roomId}/{userId}", "handle_make_leave()"),
    ("GET", FEDERATION_V1 + "/make_knock/{roomId}/{userId}", "handle_make_send_knock()"),
    ("PUT", FEDERATION_V1 + "/send_knock/{roomId}/{eventId}", "handle_make_send_knock()"),
    ("PUT", FEDERATION_V2 + "/send_leave/{roomId}/{eventId}", "handle_send_leave()"),
    ("GET", FEDERATION_V1 + "/query/directory", "handle_query_directory({alias: room_id})"),
    ("GET", FEDERATION_V1 + "/state/{roomId}", "handle_state()"),
    ("GET", FEDERATION_V1 + "/state_ids/{roomId}", "handle_state_ids()"),
    ("GET", FEDERATION_V1 + "/backfill/{roomId}", "handle_backfill()"),
    ("POST", FEDERATION_V1 + "/get_missing_events/{roomId}", "handle_get_missing_events()"),
    ("GET", FEDERATION_V1 + "/event/{eventId}", "handle_event()"),
    ("GET", FEDERATION_V1 + "/query/profile", "handle_query_profile({user_id: profile})"),
    ("GET", FEDERATION_V1 + "/hierarchy/{roomId}", "handle_hierarchy() (federation_spaces)"),
    ("GET", FEDERATION_V1 + "/timestamp_to_event/{roomId}",
     "handle_timestamp_to_event() (federation_history)"),
    ("GET", FEDERATION_V1 + "/media/download/{mediaId}", "handle_media({media_id: PeerMedia}) (tests.harness.media)"),
    ("GET", FEDERATION_V1 + "/user/devices/{userId}", "handle_user_keys(PeerKeys())"),
    ("POST", FEDERATION_V1 + "/user/keys/query", "handle_user_keys(PeerKeys())"),
    ("POST", FEDERATION_V1 + "/user/keys/claim", "handle_user_keys(PeerKeys())"),
]


def hint_for(method: str, path: str) -> str:
    """The sentence telling a test author how to allow a request the peer was not given."""
    for hint_method, template, constructor in HINTS:
        if Route(hint_method, template, lambda *_: None).match(method, path) is not None:
            return f"add {constructor} to fake_homeserver(...)"
    return ("the suite has no handler for it yet: write one in "
            "tests/harness/federation_handlers.py and pass it to fake_homeserver(...)")
