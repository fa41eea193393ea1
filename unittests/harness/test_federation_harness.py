# SPDX-License-Identifier: Apache-2.0
"""The suite's fake federating homeserver and federation client, with no target at all.

Two fakes play both sides: one signs requests as a client, the other checks them as a
server would, fetching the caller's keys over HTTPS from the first. Their answers pass
through the same `api/` checks as a target's, so these tests also hold the fakes to the
spec. Spec: server-server-api/#request-authentication, #publishing-keys, #transactions,
#joining-rooms; rooms/v10 … v12 (event IDs, room IDs, auth events).
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.harness import crypto
from tests.harness.federation_auth import AuthError, KeyFetcher, authorization, \
    check_request, parse_authorization
from tests.harness.federation_client import FederationClient, FederationTarget, \
    federation_url_for, tls_verification
from tests.harness.federation_handlers import handle_event, handle_get_missing_events, \
    handle_backfill, handle_invite, handle_keys, handle_make_send_join, \
    handle_make_send_leave, handle_query_directory, handle_query_profile, handle_state, \
    handle_state_ids, handle_transactions
from tests.harness.federation_room import FakeRoom
from tests.harness.federation_server import FakeHomeserver
from tests.harness.federation_tls import PeerCA
from tests.harness.server import ReferenceServer
from unittests.harness.stub_versions import versions_stub

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return PeerCA.open(tmp_path_factory.mktemp("peer-ca"))


@pytest.fixture
def fakes(ca):
    """Makes started fakes that can fetch each other's keys; stops them afterwards."""
    keys = KeyFetcher(verify=ca.client_context())
    made: list[FakeHomeserver] = []

    def make(*handlers):
        peer = FakeHomeserver(*handlers, ca=ca, keys=keys).start()
        keys.locations[peer.server_name] = peer.base_url
        made.append(peer)
        return peer

    yield make
    for peer in made:
        peer.stop()


def client_of(sender: FakeHomeserver, receiver: FakeHomeserver, ca: PeerCA) -> FederationClient:
    """`sender` as a federation client of `receiver`, checking its TLS through the CA."""
    target = FederationTarget(receiver.base_url, receiver.server_name, ca.client_context())
    return FederationClient.for_peer(sender, target)


# -- TLS and keys ------------------------------------------------------------------------


def test_a_peer_serves_tls_that_only_the_run_ca_vouches_for(ca, fakes):
    peer = fakes(handle_keys())
    assert peer.server_name == f"127.0.0.1:{peer.port}"
    url = peer.base_url + "/_matrix/key/v2/server"
    assert httpx.get(url, verify=ca.client_context()).status_code == 200
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(url, verify=True)


def test_a_ca_directory_is_reused(tmp_path, ca):
    first = PeerCA.open(tmp_path / "ca")
    second = PeerCA.open(tmp_path / "ca")
    assert second.pem_path.read_bytes() == first.pem_path.read_bytes()
    peer = FakeHomeserver(handle_keys(), ca=second).start()
    try:
        httpx.get(peer.base_url + "/_matrix/key/v2/server", verify=first.client_context())
    finally:
        peer.stop()


def test_the_key_document_is_self_signed_and_matches_its_schema(ca, fakes):
    peer = fakes(handle_keys())
    document = client_of(peer, peer, ca).get_server_keys()  # schema-checked on the way
    keys = {kid: entry["key"] for kid, entry in document["verify_keys"].items()}
    assert keys == {peer.key.key_id: peer.key.public_key_base64}
    crypto.verify_signed_json(document, peer.server_name, keys)


def test_a_peer_answers_notary_queries_about_itself_only(ca, fakes):
    peer = fakes(handle_keys())
    client = client_of(peer, peer, ca)
    mine = client.do("GET", ["query", peer.server_name], prefix="/_matrix/key/v2", sign=False)
    other = client.do("POST", ["query"], prefix="/_matrix/key/v2", sign=False,
                      json={"server_keys": {"elsewhere.example": {}}})
    assert [d["server_name"] for d in mine.json()["server_keys"]] == [peer.server_name]
    assert other.json() == {"server_keys": []}


# -- X-Matrix --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        pytest.param('X-Matrix origin="a.example",destination="b.example",key="ed25519:1",'
                     'sig="c2ln"', id="as-senders-write-it"),
        pytest.param('X-Matrix  Origin=a.example , KEY="ed25519:1",\tsig=c2ln,'
                     'destination=b.example', id="any-case-order-and-spacing"),
        pytest.param('x-matrix origin="a\\.example",destination="b.example",key="ed25519:1",'
                     'sig="c2ln",extra="ignored"', id="escapes-and-unknown-params"),
    ],
)
def test_x_matrix_headers_are_read_as_the_spec_allows(header):
    auth = parse_authorization(header)
    assert (auth.origin, auth.destination, auth.key_id, auth.signature) == \
        ("a.example", "b.example", "ed25519:1", "c2ln")


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing"),
        pytest.param('Bearer abc', id="other-scheme"),
        pytest.param('X-Matrix origin="a.example",key="ed25519:1"', id="no-sig"),
        pytest.param('X-Matrix origin="a.example" key="ed25519:1" sig="x"', id="no-commas"),
    ],
)
def test_malformed_x_matrix_headers_are_refused(header):
    with pytest.raises(AuthError):
        parse_authorization(header)


def test_a_signed_request_verifies_only_for_its_destination_and_body():
    key = crypto.SigningKey.generate()
    header = authorization("PUT", "/_matrix/federation/v1/send/1", origin="a.example",
                           destination="b.example", key=key, content={"pdus": []})
    keys = lambda name: {key.key_id: key.public_key_base64}  # noqa: E731
    check_request("PUT", "/_matrix/federation/v1/send/1", header, {"pdus": []},
                  receiver="b.example", keys=keys)
    with pytest.raises(AuthError, match="destination"):
        check_request("PUT", "/_matrix/federation/v1/send/1", header, {"pdus": []},
                      receiver="c.example", keys=keys)
    with pytest.raises(AuthError, match="does not verify"):
        check_request("PUT", "/_matrix/federation/v1/send/1", header, {"pdus": [1]},
                      receiver="b.example", keys=keys)


# -- transactions ---------------------------------------------------------------------


def test_a_signed_transaction_passes_the_receivers_x_matrix_check(ca, fakes):
    sender = fakes(handle_keys())
    pdus, edus = [], []
    receiver = fakes(handle_transactions(on_pdu=pdus.append, on_edu=edus.append))
    room = sender.create_room("12")
    message = room.message("hello")
    typing = {"edu_type": "m.typing", "content": {"room_id": room.room_id,
              "user_id": room.creator, "typing": True}}
    results = client_of(sender, receiver, ca).send_transaction([message], [typing])
    assert results == {"pdus": {room.event_id(message): {}}}
    assert (pdus, edus) == ([message], [typing])
    assert [r.origin for r in receiver.requests] == [sender.server_name]
    assert receiver.errors == []


def test_a_retried_transaction_is_answered_without_processing_it_again(ca, fakes):
    sender = fakes(handle_keys())
    pdus = []
    receiver = fakes(handle_transactions(on_pdu=pdus.append))
    message = sender.create_room("11").message("once")
    client = client_of(sender, receiver, ca)
    first = client.send_transaction([message], txn_id="txn-1")
    assert client.send_transaction([message], txn_id="txn-1") == first
    assert len(pdus) == 1


def test_a_peer_told_to_fail_refuses_the_first_transactions_unread(ca, fakes):
    sender = fakes(handle_keys())
    pdus = []
    receiver = fakes(handle_transactions(on_pdu=pdus.append, failures=1))
    message = sender.create_room("12").message("later")
    client = client_of(sender, receiver, ca)
    body = {"origin": sender.server_name, "origin_server_ts": 1, "pdus": [message]}
    unchecked = FederationClient(client.target, origin=sender.server_name, key=sender.key,
                                 checker=type("Unchecked", (), {"check": lambda *_: None})())
    failed = unchecked.do("PUT", ["send", "txn-1"], json=body)  # 500 is not in api/
    assert failed.status_code == 500 and pdus == []
    client.send_transaction([message], txn_id="txn-1")
    assert pdus == [message] and [r.status for r in receiver.requests] == [500, 200]


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        pytest.param({"sign": False}, "no Authorization header", id="unsigned"),
        pytest.param({"key": crypto.SigningKey.generate("other")}, "does not publish",
                     id="unpublished-key"),
        pytest.param({"key": "same-id-other-key"}, "does not verify", id="wrong-key"),
        pytest.param({"destination": "elsewhere.example"}, "destination", id="wrong-destination"),
    ],
)
def test_a_badly_signed_request_is_refused_and_recorded(ca, fakes, options, reason):
    sender = fakes(handle_keys())
    receiver = fakes(handle_transactions())
    client = client_of(sender, receiver, ca)
    if options.get("key") == "same-id-other-key":
        options = {"key": crypto.SigningKey(sender.key.key_id,
                                            crypto.SigningKey.generate().nacl_key)}
    body = {"origin": sender.server_name, "origin_server_ts": 1, "pdus": []}
    response = client.do("PUT", ["send", "t1"], json=body, **options)
    assert (response.status_code, response.json()["errcode"]) == (401, "M_UNAUTHORIZED")
    assert len(receiver.errors) == 1 and reason in receiver.errors[0]


def test_a_transaction_from_another_origin_than_its_signer_is_a_fault(ca, fakes):
    sender = fakes(handle_keys())
    receiver = fakes(handle_transactions())
    body = {"origin": "impostor.example", "origin_server_ts": 1, "pdus": []}
    response = client_of(sender, receiver, ca).do("PUT", ["send", "t1"], json=body)
    assert response.status_code == 400
    assert "is not the server that signed the request" in receiver.errors[0]


def test_a_request_body_breaking_the_api_schema_is_a_fault(ca, fakes):
    sender = fakes(handle_keys())
    receiver = fakes(handle_transactions())
    body = {"origin": sender.server_name, "origin_server_ts": 1, "pdus": "none"}
    response = client_of(sender, receiver, ca).do("PUT", ["send", "t1"], json=body)
    assert (response.status_code, response.json()["errcode"]) == (400, "M_BAD_JSON")
    assert "request schema of sendTransaction" in receiver.errors[0]


def test_a_forged_pdu_in_a_known_room_is_a_fault(ca, fakes):
    sender = fakes(handle_keys())
    receiver = fakes(handle_transactions())
    room = sender.create_room("12")
    receiver.room_versions[room.room_id] = "12"
    forged = {**room.message("original"), "content": {"msgtype": "m.text", "body": "forged"}}
    results = client_of(sender, receiver, ca).send_transaction([forged])
    assert "error" in results["pdus"][room.event_id(forged)]
    assert "content hash" in receiver.errors[0]


# -- opting in ---------------------------------------------------------------------------


def test_an_unexpected_request_is_refused_and_names_the_handler_to_add(ca, fakes):
    caller = fakes(handle_keys())
    peer = fakes(handle_keys())
    response = client_of(caller, peer, ca).do("GET", ["state_ids", "!r:x"],
                                              params={"event_id": "$e"})
    assert (response.status_code, response.json()["errcode"]) == (404, "M_UNRECOGNIZED")
    assert peer.errors == [
        "the target sent GET /_matrix/federation/v1/state_ids/!r:x?event_id=$e but this test "
        "did not opt into it: add handle_state_ids() to fake_homeserver(...)"]
    with pytest.raises(pytest.fail.Exception, match="add handle_state_ids"):
        peer.check()
    peer.check()  # shown once: teardown does not repeat it


def test_a_request_no_handler_exists_for_says_so(ca, fakes):
    peer = fakes()
    httpx.get(peer.base_url + "/_matrix/federation/v1/exchange_third_party_invite/!r:x",
              verify=ca.client_context())
    assert "the suite has no handler for it yet" in peer.errors[0]


def test_waiting_fails_at_once_on_a_fault(ca, fakes):
    peer = fakes()
    threading.Thread(target=httpx.get, args=(peer.base_url + "/_matrix/federation/v1/version",),
                     kwargs={"verify": ca.client_context()}).start()
    with pytest.raises(pytest.fail.Exception, match="add handle_version"):
        peer.wait_until(lambda: False, timeout=10, what="nothing")


def test_waiting_in_vain_says_what_the_peer_received(ca, fakes):
    peer = fakes()
    with pytest.raises(pytest.fail.Exception) as failure:
        peer.wait_until(lambda: False, timeout=0.05, what="a transaction")
    assert "waited 0.05 s for a transaction" in str(failure.value)
    assert f"trust the CA in {ca.pem_path}" in str(failure.value)


# -- rooms -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_a_fake_rooms_events_are_hashed_signed_and_named_as_the_version_says(version):
    key = crypto.SigningKey.generate()
    room = FakeRoom("peer.example", key, version=version, creator="@alice:peer.example")
    room.message("hello")
    for event_id, event in room.events.items():
        assert event["hashes"]["sha256"] == crypto.encode_base64(crypto.content_hash(event))
        crypto.verify_event_signature(event, "peer.example",
                                      {key.key_id: key.public_key_base64}, version)
        assert crypto.compute_event_id(event, version) == event_id
    assert [e["type"] for e in room.events.values()] == [
        "m.room.create", "m.room.member", "m.room.power_levels", "m.room.join_rules",
        "m.room.history_visibility", "m.room.message"]


@pytest.mark.parametrize("version", ["10", "11"])
def test_before_v12_the_create_event_is_an_auth_event(version):
    room = FakeRoom("peer.example", crypto.SigningKey.generate(), version=version,
                    creator="@alice:peer.example")
    message = room.message("hi")
    assert room.create_event_id in message["auth_events"]
    assert room.room_id.endswith(":peer.example")


def test_in_v12_the_room_id_is_the_create_events_hash():
    room = FakeRoom("peer.example", crypto.SigningKey.generate(), version="12",
                    creator="@alice:peer.example")
    create = room.pdu(room.create_event_id)
    assert "room_id" not in create
    assert room.room_id == crypto.room_id_from_create_event(create, "12")
    assert all(room.create_event_id not in e["auth_events"] for e in room.events.values())
    levels = room.pdu(room.state_map()[("m.room.power_levels", "")])
    assert room.creator not in levels["content"]["users"]


# -- joins, invites, history, queries ------------------------------------------------------


def test_a_remote_join_between_two_fakes(ca, fakes):
    joined = []
    resident = fakes(handle_keys(), handle_make_send_join(on_join=joined.append))
    joiner = fakes(handle_keys())
    room = resident.create_room("12")
    bob = joiner.user_id("bob")
    result = client_of(joiner, resident, ca).join(room.room_id, bob)
    assert result.room_version == "12" and room.membership(bob) == "join"
    assert {e["type"] for e in result.state} >= {"m.room.create", "m.room.join_rules"}
    assert set(result.event["signatures"]) == {joiner.server_name, resident.server_name}
    assert joined == [result.event] and resident.errors == []


def test_make_join_refuses_a_room_version_the_joiner_lacks(ca, fakes):
    resident = fakes(handle_keys(), handle_make_send_join())
    joiner = fakes(handle_keys())
    room = resident.create_room("12")
    response = client_of(joiner, resident, ca).do(
        "GET", ["make_join", room.room_id, joiner.user_id("bob")], params={"ver": ["10", "11"]})
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_INCOMPATIBLE_ROOM_VERSION"
    assert response.json()["room_version"] == "12"


@pytest.mark.parametrize("accept", [True, False], ids=["accepted", "declined"])
def test_an_invite_is_countersigned_by_the_invitees_server(ca, fakes, accept):
    invites = []
    host = fakes(handle_keys())
    invitee = fakes(handle_keys(), handle_invite(on_invite=invites.append, accept=accept))
    room = host.create_room("11")
    event = room.invite(invitee.user_id("carol"))
    client = client_of(host, invitee, ca)
    if not accept:
        response = client.do("PUT", ["invite", room.room_id, room.event_id(event)],
                             prefix="/_matrix/federation/v2",
                             json={"event": event, "room_version": "11"})
        assert response.status_code == 403 and invites == []
        return
    signed = client.invite(room.room_id, event, "11")
    crypto.verify_event_signature(signed, invitee.server_name,
                                  {invitee.key.key_id: invitee.key.public_key_base64}, "11")
    assert invites[0]["event"] == signed and invitee.room_versions[room.room_id] == "11"


def test_an_invite_to_a_room_version_the_invitee_lacks_is_refused(ca, fakes):
    host = fakes(handle_keys())
    invitee = fakes(handle_keys(), handle_invite(versions=["11"]))
    room = host.create_room("12")
    event = room.invite(invitee.user_id("carol"))
    response = client_of(host, invitee, ca).do(
        "PUT", ["invite", room.room_id, room.event_id(event)], prefix="/_matrix/federation/v2",
        json={"event": event, "room_version": "12"})
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_INCOMPATIBLE_ROOM_VERSION"
    assert response.json()["room_version"] == "12" and invitee.errors == []


def test_an_invite_is_rejected_with_the_leave_handshake(ca, fakes):
    leaves = []
    host = fakes(handle_keys(), handle_make_send_leave(on_leave=leaves.append))
    invitee = fakes(handle_keys())
    room = host.create_room("12")
    carol = invitee.user_id("carol")
    room.add(room.invite(carol))
    client = client_of(invitee, host, ca)
    template = client.do("GET", ["make_leave", room.room_id, carol]).json()
    assert template["event"]["content"] == {"membership": "leave"}
    event = crypto.sign_event({**template["event"], "origin_server_ts": 2},
                              invitee.server_name, invitee.key, "12")
    sent = client.do("PUT", ["send_leave", room.room_id, room.event_id(event)], json=event,
                     prefix="/_matrix/federation/v2")
    assert sent.status_code == 200 and room.membership(carol) == "leave"
    assert leaves == [event] and host.errors == []
    again = client.do("GET", ["make_leave", room.room_id, invitee.user_id("dave")])
    assert again.status_code == 403


def test_aliases_are_resolved_for_the_peers_own_aliases(ca, fakes):
    asker = fakes(handle_keys())
    holder = fakes(handle_keys())
    holder.allow(handle_query_directory({"lounge": "!room:elsewhere"}))
    client = client_of(asker, holder, ca)
    assert client.query_directory(f"#lounge:{holder.server_name}") == {
        "room_id": "!room:elsewhere", "servers": [holder.server_name]}
    missing = client.do("GET", ["query", "directory"],
                        params={"room_alias": f"#nowhere:{holder.server_name}"})
    assert missing.status_code == 404 and holder.errors == []


def test_a_hosted_rooms_history_is_served(ca, fakes):
    host = fakes(handle_keys(), handle_state(), handle_state_ids(), handle_backfill(),
                 handle_get_missing_events(), handle_event())
    asker = fakes(handle_keys())
    room = host.create_room("12")
    first, second = room.message("one"), room.message("two")
    first_id, second_id = room.event_id(first), room.event_id(second)
    client = client_of(asker, host, ca)
    assert client.get_event(second_id) == second
    state = client.get_state(room.room_id, second_id)
    assert {e["type"] for e in state["pdus"]} == {
        "m.room.create", "m.room.member", "m.room.power_levels", "m.room.join_rules",
        "m.room.history_visibility"}
    assert set(client.get_state_ids(room.room_id, second_id)["pdu_ids"]) == \
        set(room.state_before(second_id).values())
    assert client.backfill(room.room_id, [second_id], limit=2) == [second, first]
    assert client.get_missing_events(room.room_id, [], [second_id], limit=1) == [first]
    assert client.get_missing_events(room.room_id, [first_id], [second_id]) == []


def test_profiles_are_served_for_the_peers_own_users(ca, fakes):
    asker = fakes(handle_keys())
    holder = fakes(handle_keys())
    holder.allow(handle_query_profile({"alice": {"displayname": "Alice", "avatar_url": None}}))
    alice = holder.user_id("alice")
    client = client_of(asker, holder, ca)
    assert client.query_profile(alice, "displayname") == {"displayname": "Alice"}
    missing = client.do("GET", ["query", "profile"], params={"user_id": holder.user_id("x")})
    assert missing.status_code == 404 and holder.errors == []


@pytest.mark.parametrize("invite_first", [True, False], ids=["invite-first", "profiles-first"])
def test_an_invitees_peer_answers_profile_lookups_unless_given_profiles(ca, fakes, invite_first):
    asker = fakes(handle_keys())
    profiles = handle_query_profile({"carol": {"displayname": "Carol"}})
    plain = fakes(handle_keys(), handle_invite())
    given = fakes(handle_keys(), *([handle_invite(), profiles] if invite_first
                                   else [profiles, handle_invite()]))
    unknown = client_of(asker, plain, ca).do(
        "GET", ["query", "profile"], params={"user_id": plain.user_id("carol")})
    assert unknown.status_code == 404 and plain.errors == []
    assert client_of(asker, given, ca).query_profile(given.user_id("carol")) == {
        "displayname": "Carol"}


# -- finding the target ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server_name", "url"),
    [
        pytest.param("hs.example:8448", "https://hs.example:8448", id="explicit-port"),
        pytest.param("127.0.0.1", "https://127.0.0.1:8448", id="ip-without-port"),
        pytest.param("[::1]:8008", "https://[::1]:8008", id="ipv6-with-port"),
        pytest.param("[::1]", "https://[::1]:8448", id="ipv6-without-port"),
    ],
)
def test_the_federation_url_is_derived_from_the_server_name(server_name, url):
    assert federation_url_for(server_name) == url


@pytest.mark.parametrize(
    ("option", "url", "verify"),
    [
        pytest.param(None, "https://127.0.0.1:8448", False, id="auto-loopback"),
        pytest.param("auto", "https://localhost:8448", False, id="auto-localhost"),
        pytest.param(None, "https://matrix.example.org", True, id="auto-remote"),
        pytest.param("yes", "https://127.0.0.1:8448", True, id="forced-on"),
        pytest.param("no", "https://matrix.example.org", False, id="forced-off"),
    ],
)
def test_tls_verification_is_off_only_for_loopback_targets_by_default(option, url, verify):
    assert tls_verification(option, url) is verify


def test_an_unknown_tls_verification_setting_is_refused():
    with pytest.raises(ValueError, match="yes, no or auto"):
        tls_verification("sometimes", "https://127.0.0.1")


class _ScriptedServer(ReferenceServer):
    """A stand-in for the reference server that prints both listening lines."""

    def __init__(self, script: str) -> None:
        super().__init__()
        self.script = script

    def command(self, config_path):
        return [sys.executable, "-c", self.script, "--federation-listen"]


def test_the_reference_servers_federation_url_is_read_from_its_output():
    with versions_stub() as url:
        server = _ScriptedServer(
            f"import time; print('listening on {url} for client and federation as localhost'); "
            "print('listening on https://127.0.0.1:9 for federation (TLS) as localhost', "
            "flush=True); time.sleep(60)")
        try:
            assert server.start() == url
            assert server.federation_url == "https://127.0.0.1:9"
        finally:
            server.stop()


# -- the fixtures in a real run --------------------------------------------------------

SUITE = '''
import httpx
from tests.harness.federation_handlers import handle_keys

def test_uses_the_federation_fixture(federation):
    assert federation.peer.server_name.startswith("127.0.0.1:")
    assert federation.destination == "target.test"

def test_gets_an_unexpected_request(fake_homeserver):
    peer = fake_homeserver(handle_keys())
    httpx.get(peer.base_url + "/_matrix/federation/v1/version", verify=False)
'''


def test_the_fixtures_fail_a_test_whose_peer_got_an_unexpected_request(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_peers.py").write_text(SUITE)
    env = {"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "pytest", "-p", "tests.harness.plugin", "-p",
               "no:cacheprovider", "-q", "-rA", "--server-url", "http://127.0.0.1:9",
               "--server-name", "target.test", "--federation-url", "https://127.0.0.1:9",
               "--results", "results.jsonl"]
    process = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=120)
    output = process.stdout + process.stderr
    lines = {json.loads(line)["nodeid"].split("::")[1]: json.loads(line)
             for line in (tmp_path / "results.jsonl").read_text().splitlines()}
    assert lines["test_uses_the_federation_fixture"]["outcome"] == "passed", output
    assert lines["test_gets_an_unexpected_request"]["outcome"] == "error", output
    assert ("the target sent GET /_matrix/federation/v1/version but this test did not opt "
            "into it: add handle_version() to fake_homeserver(...)") in output
    assert "fake federation peers' CA: " in output
