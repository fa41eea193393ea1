# SPDX-License-Identifier: Apache-2.0
"""Two homeservers side by side on loopback, federating over TLS, and a scenario between them.

    python -m tools.interop                 # the reference server with a second one
    python -m tools.interop --with synapse  # the reference server with Synapse

Each server hosts the room in turn: a user of the other server joins it by alias, both
users talk (each message must arrive through /sync), device keys are queried and one-time
keys claimed across, the host invites a third user across and they accept, profiles are
looked up across, the visitors leave, and a knock crosses; finally the host sets a server
ACL denying the visitor's server, whose next join must then fail. Server names are
`localhost:<TLS port>` for the reference server and `127.0.0.1:<TLS port>` for the other
(ACLs match names without the port, so the two need different hosts); TLS is not
verified (test networks).
"""
from __future__ import annotations

import argparse
import contextlib
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.harness.e2ee import OTK, DeviceKeys
from tools.synapse_target import free_port, start_synapse

CS = "/_matrix/client/v3"
REFERENCE_CONFIG = """\
[registration]
open = true
[rate_limits]
enabled = false
[federation]
verify_tls = false
allow_private_addresses = true
[passwords]
argon2_time_cost = 1
argon2_memory_kib = 1024
"""


@dataclass
class Server:
    label: str
    client_url: str
    server_name: str


class InteropError(AssertionError):
    """A step of the scenario failed; the message says which and what the server said."""


@contextlib.contextmanager
def reference_server(data_dir: Path, label: str = "reference",
                     host: str = "127.0.0.1") -> Iterator[Server]:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "server.toml").write_text(REFERENCE_CONFIG)
    tls_port, http_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "reference_server", "--server-name", f"{host}:{tls_port}",
         "--listen", f"127.0.0.1:{http_port}", "--federation-listen", f"127.0.0.1:{tls_port}",
         "--data-dir", str(data_dir), "--config", str(data_dir / "server.toml")],
        stdout=subprocess.PIPE, stderr=(data_dir / "server.log").open("w"), text=True)
    try:
        for line in process.stdout:
            if "for federation (TLS)" in line:
                break
        else:
            raise InteropError(f"{label} did not start")
        yield Server(label, f"http://127.0.0.1:{http_port}", f"{host}:{tls_port}")
    finally:
        process.terminate()
        process.wait(timeout=15)


@contextlib.contextmanager
def synapse_server(data_dir: Path) -> Iterator[Server]:
    with start_synapse(data_dir) as handle:
        yield Server("synapse", handle.client_url, handle.server_name)


class User:
    def __init__(self, server: Server, http: httpx.Client) -> None:
        self.server = server
        self._http = http
        body = {"username": f"interop{secrets.token_hex(4)}", "password": secrets.token_hex(8)}
        first = http.post(server.client_url + CS + "/register", json=body)
        body["auth"] = {"type": "m.login.dummy", "session": first.json().get("session")}
        answer = self._ok(http.post(server.client_url + CS + "/register", json=body),
                          "register")
        self.user_id = answer["user_id"]
        self.device_id = answer["device_id"]
        self._headers = {"Authorization": f"Bearer {answer['access_token']}"}
        self._since: str | None = None

    def attempt(self, method: str, path: str, **kwargs) -> httpx.Response:
        """The raw answer, for steps that expect a refusal."""
        return self._http.request(method, self.server.client_url + CS + path,
                                  headers=self._headers, timeout=60, **kwargs)

    def call(self, method: str, path: str, doing: str, **kwargs) -> dict:
        return self._ok(self.attempt(method, path, **kwargs), doing)

    def _ok(self, response: httpx.Response, doing: str) -> dict:
        if response.status_code >= 300:
            raise InteropError(f"{self.server.label}: {doing} failed: {response.status_code} "
                               f"{response.text[:300]}")
        return response.json()

    def wait_for(self, what: str, found: Callable[[dict], bool], timeout_s: float = 30) -> None:
        """Incremental /sync until `found` accepts an answer (long-polling, no sleeps)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            params = {"timeout": 2000, **({"since": self._since} if self._since else {})}
            body = self.call("GET", "/sync", "sync", params=params)
            self._since = body["next_batch"]
            if found(body):
                return
        raise InteropError(f"{self.server.label}: {self.user_id} never saw {what}")


def _timeline(body: dict, room_id: str) -> list[dict]:
    return body.get("rooms", {}).get("join", {}).get(room_id, {}).get("timeline", {}).get(
        "events", [])


def _says(room_id: str, text: str) -> Callable[[dict], bool]:
    return lambda body: any(e.get("content", {}).get("body") == text
                            for e in _timeline(body, room_id))


def host_and_visit(host: Server, visitor: Server, http: httpx.Client) -> list[str]:
    """The scenario with the room on `host`; returns the steps that passed."""
    steps = []
    owner, guest, third = User(host, http), User(visitor, http), User(visitor, http)
    alias_name = f"interop{secrets.token_hex(4)}"
    room = owner.call("POST", "/createRoom", "create a room",
                      json={"preset": "public_chat", "room_alias_name": alias_name})["room_id"]
    alias = quote(f"#{alias_name}:{host.server_name}", safe="")
    guest.call("POST", f"/join/{alias}", "join by alias over federation", json={})
    steps.append(f"{visitor.label} user joined a {host.label} room by alias")
    guest.call("PUT", f"/rooms/{quote(room)}/send/m.room.message/v1", "send",
               json={"msgtype": "m.text", "body": "from the visitor"})
    owner.wait_for("the visitor's message", _says(room, "from the visitor"))
    owner.call("PUT", f"/rooms/{quote(room)}/send/m.room.message/h1", "send",
               json={"msgtype": "m.text", "body": "from the host"})
    guest.wait_for("the host's message", _says(room, "from the host"))
    steps.append("messages crossed both ways through /sync")
    steps.append(_device_keys_cross(owner, guest))
    owner.call("POST", f"/rooms/{quote(room)}/invite", "invite across",
               json={"user_id": third.user_id})
    third.wait_for("the invite", lambda b: room in b.get("rooms", {}).get("invite", {}))
    third.call("POST", f"/join/{quote(room)}?server_name={host.server_name}", "accept", json={})
    owner.wait_for("the invitee's join", lambda b: any(
        e.get("state_key") == third.user_id and e.get("content", {}).get("membership") == "join"
        for e in _timeline(b, room)))
    steps.append("an invite crossed and was accepted")
    owner.call("PUT", f"/profile/{quote(owner.user_id)}/displayname", "set a name",
               json={"displayname": "Host Owner"})
    profile = guest.call("GET", f"/profile/{quote(owner.user_id)}", "remote profile lookup")
    if profile.get("displayname") != "Host Owner":
        raise InteropError(f"remote profile lookup answered {profile}")
    steps.append("a profile was looked up across")
    for visiting in (guest, third):  # the visitor's server ends up with no one in the room
        visiting.call("POST", f"/rooms/{quote(room)}/leave", "leave", json={})
        owner.wait_for("the visitor's leave", lambda b: any(
            e.get("state_key") == visiting.user_id and
            e.get("content", {}).get("membership") == "leave" for e in _timeline(b, room)))
    steps.append("leaves crossed")
    steps.append(_knock_crosses(owner, User(visitor, http)))
    steps.append(_acl_shuts_out(owner, room, alias, visitor, http))
    return steps


def _device_keys_cross(owner: User, guest: User) -> str:
    """Each user uploads device keys; the other queries them and claims a one-time key.

    Spec (client-server, end-to-end encryption): /keys/query and /keys/claim for users of
    other servers are answered over federation (/user/keys/query and /user/keys/claim).
    """
    keys = {}
    for user in (owner, guest):
        keys[user.user_id] = DeviceKeys.for_device(user.user_id, user.device_id)
        user.call("POST", "/keys/upload", "upload device keys",
                  json={"device_keys": keys[user.user_id].device_keys(),
                        "one_time_keys": keys[user.user_id].one_time_keys(1)})
    for asking, other in ((owner, guest), (guest, owner)):
        answer = asking.call("POST", "/keys/query", "query remote device keys",
                             json={"device_keys": {other.user_id: []}})
        device = answer.get("device_keys", {}).get(other.user_id, {}).get(other.device_id, {})
        wanted = keys[other.user_id].ed25519
        if device.get("keys", {}).get(f"ed25519:{other.device_id}") != wanted:
            raise InteropError(f"{asking.server.label}: /keys/query for {other.user_id} "
                               f"answered {answer}")
        claimed = asking.call("POST", "/keys/claim", "claim a remote one-time key",
                              json={"one_time_keys": {other.user_id: {other.device_id: OTK}}})
        if not claimed.get("one_time_keys", {}).get(other.user_id, {}).get(other.device_id):
            raise InteropError(f"{asking.server.label}: /keys/claim for {other.user_id} "
                               f"answered {claimed}")
    return "device keys were queried and one-time keys claimed both ways"


def _knock_crosses(owner: User, knocker: User) -> str:
    """A user of the visiting server knocks on a knock-only room of the host.

    Spec (server-server, knocking upon a room): make_knock then send_knock; the room's
    members see the knock membership.
    """
    room = owner.call("POST", "/createRoom", "create a knock-only room", json={
        "room_version": "10", "initial_state": [{"type": "m.room.join_rules", "state_key": "",
                                                 "content": {"join_rule": "knock"}}]})["room_id"]
    knocker.call("POST", f"/knock/{quote(room)}?via={owner.server.server_name}",
                 "knock across", json={"reason": "interop"})
    owner.wait_for("the knock", lambda b: any(
        e.get("state_key") == knocker.user_id and
        e.get("content", {}).get("membership") == "knock" for e in _timeline(b, room)))
    return "a knock crossed"


def _acl_shuts_out(owner: User, room: str, alias: str, visitor: Server,
                   http: httpx.Client) -> str:
    """An m.room.server_acl denying the visitor's server makes the host refuse its joins.

    Spec (server-server, Server Access Control Lists): a denied server's requests for
    the room, make_join included, are refused.
    """
    visitor_host = visitor.server_name.rsplit(":", 1)[0]  # ACLs match names without a port
    owner.call("PUT", f"/rooms/{quote(room)}/state/m.room.server_acl/", "set a server ACL",
               json={"allow": ["*"], "deny": [visitor_host], "allow_ip_literals": True})
    answer = User(visitor, http).attempt("POST", f"/join/{alias}", json={})
    if answer.status_code < 400:
        raise InteropError(f"{visitor.label} joined a room whose ACL denies it: {answer.text[:300]}")
    return f"an ACL denying {visitor.label} made its next join fail ({answer.status_code})"


def run(other: str, scratch: Path) -> list[str]:
    """Both directions between the reference server and `other` ("reference" or "synapse")."""
    with contextlib.ExitStack() as stack, httpx.Client() as http:
        # Distinct host names: ACL entries match the server name without its port.
        ours = stack.enter_context(reference_server(scratch / "a", "reference", "localhost"))
        theirs = stack.enter_context(
            synapse_server(scratch / "synapse") if other == "synapse"
            else reference_server(scratch / "b", "reference-2"))
        report = [f"[{ours.label} hosts] " + s for s in host_and_visit(ours, theirs, http)]
        report += [f"[{theirs.label} hosts] " + s for s in host_and_visit(theirs, ours, http)]
        return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--with", dest="other", choices=("reference", "synapse"),
                        default="reference")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            for step in run(args.other, Path(scratch)):
                print("ok  ", step)
        except InteropError as error:
            print("FAIL", error)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
