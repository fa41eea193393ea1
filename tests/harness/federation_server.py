# SPDX-License-Identifier: Apache-2.0
"""The suite's fake federating homeserver: a remote server a test plays against a target.

It has its own ed25519 key and server name (`127.0.0.1:PORT` unless a public host is
given), serves HTTPS with a certificate from the run's CA, and answers only the routes
the test opted into (`FakeHomeserver(handle_keys(), handle_transactions(...))`).
Anything else the target sends gets 404 `M_UNRECOGNIZED` and is recorded as a fault,
with the handler that would allow it, because a target that asks a peer for something
the scenario does not call for is exactly what a conformance test must notice. Faults
(unexpected requests, bad signatures, requests that break `api/`, handler errors) fail
the test: at once in `wait_until`/`check`, or at teardown.

It is a plain threaded `http.server` with TLS: requests from the target arrive on
worker threads while the test thread waits, so waiting needs no event loop.
"""
from __future__ import annotations

import functools
import json
import secrets
import socket
import ssl
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from jsonschema import Draft202012Validator

from api import load_operations
from tests.harness.crypto import SigningKey, sign_json
from tests.harness.federation_auth import AuthError, KeyLookup, KeyLookupError, check_request
from tests.harness.federation_room import FakeRoom
from tests.harness.federation_routes import Answer, RawAnswer, Request, Route, hint_for
from tests.harness.federation_tls import PeerCA
from tests.harness.schema import OperationIndex, _format_checker, trim

if TYPE_CHECKING:
    from tests.harness.federation_client import FederationClient, FederationTarget, Joined

JsonDict = dict[str, Any]
Handler = Route | Iterable[Route]
KEY_LIFETIME_MS = 24 * 3600 * 1000  # the spec asks for answers valid at least an hour
IDLE_TIMEOUT = 30.0


@dataclass(frozen=True)
class Exchange:
    """One request the peer received and the status it answered."""

    method: str
    target: str
    origin: str | None
    status: int

    def __str__(self) -> str:
        return f"{self.method} {self.target} → {self.status}"


class FakeHomeserver:
    """A remote homeserver with its own key, answering only the routes it was given."""

    def __init__(self, *handlers: Handler, ca: PeerCA, bind: str = "127.0.0.1",
                 public_host: str | None = None, port: int = 0, key: SigningKey | None = None,
                 keys: KeyLookup | None = None, target: FederationTarget | None = None) -> None:
        # Key versions are [a-zA-Z0-9_] (spec: server-server-api/#publishing-keys); `generate()`'s
        # default version may hold a `-`, which the key document's schema rightly refuses.
        self.key = key or SigningKey.generate("peer_" + secrets.token_hex(3))
        self.key_lookup = keys  # how to fetch the keys of servers that call us
        self.target = target  # the server under test, for `client()`
        self.ca = ca
        self.routes: list[Route] = [r for h in handlers for r in _routes_of(h)]
        self.rooms: dict[str, FakeRoom] = {}
        self.room_versions: dict[str, str] = {}  # learned from joins and invites
        self.requests: list[Exchange] = []
        self.errors: list[str] = []
        self.tls_failures: list[str] = []
        self._reported = 0
        self._changed = threading.Condition()
        self._handling = threading.RLock()  # one handler at a time: rooms are not thread-safe
        self._connections: set[ssl.SSLSocket] = set()
        self._thread: threading.Thread | None = None
        self._clients: list[FederationClient] = []
        host = public_host or ("127.0.0.1" if _is_wildcard(bind) else bind)
        self._server = _TLSServer((bind.strip("[]"), port), self)
        self.port = self._server.server_address[1]
        self.server_name = f"{_bracketed(host)}:{self.port}"
        self.base_url = f"https://{self.server_name}"
        self._server.context = ca.server_context(host, bind)

    def __repr__(self) -> str:
        return f"<FakeHomeserver {self.server_name}>"

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeHomeserver:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                            name=f"peer-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving and drops open connections, so nothing reaches a finished test."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        for client in self._clients:
            client.close()
        for connection in list(self._connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> FakeHomeserver:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def allow(self, *handlers: Handler) -> FakeHomeserver:
        """Opts into more handlers after creation (e.g. ones that need `user_id(...)`)."""
        self.routes += [r for h in handlers for r in _routes_of(h)]
        return self

    # -- identity and rooms --------------------------------------------------------------

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"

    def key_document(self) -> JsonDict:
        """This server's `/_matrix/key/v2/server` answer, signed by itself."""
        document = {
            "server_name": self.server_name,
            "verify_keys": {self.key.key_id: {"key": self.key.public_key_base64}},
            "old_verify_keys": {},
            "valid_until_ts": int(time.time() * 1000) + KEY_LIFETIME_MS,
        }
        return sign_json(document, self.server_name, self.key)

    def keys_of(self, server_name: str) -> dict[str, str]:
        """The verify keys of a server (ourselves included); raises `KeyLookupError`."""
        if server_name == self.server_name:
            return {self.key.key_id: self.key.public_key_base64}
        if self.key_lookup is None:
            raise KeyLookupError("this peer was given no way to look keys up (keys=...)")
        return dict(self.key_lookup(server_name))

    def create_room(self, version: str = "12", *, creator: str | None = None,
                    **options: Any) -> FakeRoom:
        """A room hosted by this peer (created by `creator`, default `@alice` here)."""
        room = FakeRoom(self.server_name, self.key, version=version,
                        creator=creator or self.user_id("alice"), **options)
        self.rooms[room.room_id] = room
        return room

    def track(self, joined: Joined) -> FakeRoom:
        """The room one of our users joined on another server (`FederationClient.join`),
        kept like a hosted one: its events from transactions join the graph, and
        `room.message(...)` builds the joined user's next events."""
        room = FakeRoom.joined(self.server_name, self.key, room_id=joined.room_id,
                               version=joined.room_version, event=joined.event,
                               state=joined.state, auth_chain=joined.auth_chain)
        with self._handling:
            self.rooms[room.room_id] = room
        return room

    def room_version_of(self, room_id: str) -> str | None:
        room = self.rooms.get(room_id)
        return room.version.identifier if room else self.room_versions.get(room_id)

    def client(self, **options: Any) -> FederationClient:
        """A `FederationClient` that sends this peer's signed requests to the target."""
        from tests.harness.federation_client import FederationClient

        if self.target is None:
            raise RuntimeError("this peer has no target; make it with the fake_homeserver "
                               "fixture or pass target=FederationTarget(...)")
        client = FederationClient.for_peer(self, self.target, **options)
        self._clients.append(client)
        return client

    def requests_to(self, method: str, operation: str) -> list[str]:
        """The targets (path and query) of the federation requests the peer got for one
        operation, named by the path segment after the version (`make_join`, `state_ids`)."""
        with self._changed:
            exchanges = list(self.requests)
        return [r.target for r in exchanges if r.method == method
                and r.target.startswith("/_matrix/federation/")
                and r.target.split("?")[0].split("/")[4] == operation]

    # -- waiting and faults --------------------------------------------------------------

    def fault(self, message: str) -> None:
        """Records that the target broke the spec or the scenario; the test will fail."""
        with self._changed:
            self.errors.append(message)
            self._changed.notify_all()

    def unreported_faults(self) -> str:
        """The faults no failure has shown yet, as one message ("" if none)."""
        new, self._reported = self.errors[self._reported:], len(self.errors)
        if not new:
            return ""
        return f"fake homeserver {self.server_name}:\n" + "\n".join(f"  - {e}" for e in new)

    def check(self) -> None:
        """Fails the test now if faults were recorded that no failure has shown yet."""
        message = self.unreported_faults()
        if message:
            pytest.fail(message, pytrace=False)

    def wait_until(self, condition: Callable[[], Any], *, timeout: float = 10.0,
                   what: str | None = None) -> Any:
        """Waits, woken by each request, until `condition()` is truthy; returns its value.

        Fails at once on a recorded fault, and after `timeout` seconds with what the
        peer did receive, so a target that never called says so.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                self.check()
                result = condition()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(self._waited_in_vain(what or repr(condition), timeout),
                                pytrace=False)
                self._changed.wait(remaining)

    def _waited_in_vain(self, what: str, timeout: float) -> str:
        lines = [f"waited {timeout:g} s for {what} at fake homeserver {self.server_name}"]
        if self.requests:
            lines.append("  it received: " + "; ".join(str(r) for r in self.requests[-10:]))
        else:
            lines.append(f"  it received no request: the target must reach {self.base_url} "
                         f"and trust the CA in {self.ca.pem_path} (or not verify TLS)")
        lines += [f"  TLS handshake failed: {failure}" for failure in self.tls_failures[-3:]]
        return "\n".join(lines)

    # -- answering -------------------------------------------------------------------------

    def dispatch(self, request: Request) -> tuple[int, JsonDict]:
        """Answers one request; every outcome is recorded and wakes `wait_until`."""
        status, body = self._answer(request)
        with self._changed:
            self.requests.append(Exchange(request.method, request.target, request.origin, status))
            self._changed.notify_all()
        return status, body

    def _answer(self, request: Request) -> tuple[int, JsonDict]:
        path = request.path
        for route in sorted(self.routes, key=lambda r: r.fallback):  # stable: given order
            params = route.match(request.method, path)
            if params is not None:
                break
        else:
            self.fault(f"the target sent {request.describe()} but this test did not opt into "
                       f"it: {hint_for(request.method, path)}")
            return 404, {"errcode": "M_UNRECOGNIZED", "error": "not served by this test's peer"}
        try:
            request.json = _parse_json(request.body)
            if route.signed:
                request.origin = self._authenticate(request)
            self._check_schema(request)
            with self._handling:
                body = route.respond(self, request, params)
            return 200, {} if body is None else body
        except Answer as answer:
            if answer.target_at_fault:
                self.fault(f"{request.describe()}: {answer.body['error']}")
            return answer.status, answer.body
        except (Exception, pytest.fail.Exception) as error:  # a bug or a failed assertion
            where = "".join(traceback.format_exception(error)[-3:])
            self.fault(f"the peer's handler for {request.describe()} failed: {where.strip()}")
            return 500, {"errcode": "M_UNKNOWN", "error": f"the handler failed: {error}"}

    def _authenticate(self, request: Request) -> str:
        try:
            auth = check_request(request.method, request.target, request.headers.get(
                "authorization"), request.json, receiver=self.server_name, keys=self.keys_of)
        except AuthError as error:
            raise Answer(401, "M_UNAUTHORIZED", f"X-Matrix authorization refused: {error}",
                         target_at_fault=True) from None
        if auth.destination is None:
            self.fault(f"{request.describe()}: the X-Matrix header has no destination, which "
                       "senders MUST include since v1.3 "
                       "(server-server-api/#request-authentication)")
        return auth.origin

    def _check_schema(self, request: Request) -> None:
        index, validators = _request_checks()
        operation = index.match(request.method, request.path)
        schema = operation.request_schema if operation else None
        if schema is None or request.json is None:
            return
        cache_key = f"{operation.feature}#{operation.operation_id}"  # IDs repeat across APIs
        validator = validators.get(cache_key)
        if validator is None:
            validator = Draft202012Validator(schema, format_checker=_format_checker())
            validators[cache_key] = validator
        error = next(iter(validator.iter_errors(request.json)), None)
        if error is not None:
            raise Answer(400, "M_BAD_JSON", f"the body does not match the request schema of "
                         f"{operation.operation_id} ({operation.feature}.yaml) at "
                         f"{error.json_path}: {trim(error.message, 300)}", target_at_fault=True)

    def note_tls_failure(self, address: Any, error: BaseException) -> None:
        with self._changed:
            self.tls_failures.append(f"from {address[0]}: {error}")
            self._changed.notify_all()


@functools.cache
def _request_checks() -> tuple[OperationIndex, dict[str, Draft202012Validator]]:
    return OperationIndex(load_operations()), {}


def _parse_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise Answer(400, "M_NOT_JSON", "the body is not JSON", target_at_fault=True) from None


def _routes_of(handler: Handler) -> list[Route]:
    return [handler] if isinstance(handler, Route) else list(handler)


def _is_wildcard(host: str) -> bool:
    return host.strip("[]") in ("0.0.0.0", "::", "")


def _bracketed(host: str) -> str:
    host = host.strip("[]")
    return f"[{host}]" if ":" in host else host


class _TLSServer(ThreadingHTTPServer):
    """A threaded HTTP server whose connections do their TLS handshake on their own thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], peer: FakeHomeserver) -> None:
        self.peer = peer
        self.context: ssl.SSLContext | None = None
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _RequestHandler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        assert self.context is not None
        request.settimeout(IDLE_TIMEOUT)
        try:
            connection = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as error:
            self.peer.note_tls_failure(client_address, error)
            return
        self.peer._connections.add(connection)
        try:
            _RequestHandler(connection, client_address, self)
        except OSError:
            pass  # the target hung up, or `stop()` cut the connection
        finally:
            self.peer._connections.discard(connection)
            connection.close()


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as federation senders expect
    server: _TLSServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the peer's record of requests is `requests`, not stderr

    def _handle(self) -> None:
        request = Request(self.command, self.path,
                          {k.lower(): v for k, v in self.headers.items()}, self._read_body())
        status, body = self.server.peer.dispatch(request)
        extra: dict[str, str] = {}
        if isinstance(body, RawAnswer):
            content_type, data, extra = body.content_type, body.body, body.headers
        else:
            content_type, data = "application/json", json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers, up to the blank line
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if len(body) < length:  # the connection was cut (the target hung up, or `stop()`)
            raise ConnectionAbortedError(f"the body ended after {len(body)} of {length} bytes")
        return body

    do_GET = do_PUT = do_POST = do_DELETE = _handle
