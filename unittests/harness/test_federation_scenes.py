# SPDX-License-Identifier: Apache-2.0
"""The harness pieces federation scenarios are built from: a room joined elsewhere,
peers' ports, and waiting for one thing without another.

Spec: server-server-api/#joining-rooms (the joined user's next events follow the join);
rooms/v12 auth events selection.
"""
from __future__ import annotations

import pytest

from tests.harness.checks import timeline_has, without
from tests.harness.crypto import SigningKey
from tests.harness.federation_auth import KeyFetcher
from tests.harness.federation_client import FederationClient, FederationTarget
from tests.harness.federation_handlers import handle_keys, handle_make_send_join
from tests.harness.federation_peers import PORTS_FILE, PeerFactory
from tests.harness.federation_room import FakeRoom
from tests.harness.federation_server import FakeHomeserver
from tests.harness.federation_tls import PeerCA


@pytest.fixture
def ca(tmp_path):
    return PeerCA.open(tmp_path)


@pytest.mark.parametrize("version", ["10", "12"])
def test_a_tracked_room_builds_the_joined_users_next_event_after_the_join(ca, version):
    keys = KeyFetcher(verify=ca.client_context())
    resident = FakeHomeserver(handle_keys(), handle_make_send_join(), ca=ca, keys=keys).start()
    joiner = FakeHomeserver(handle_keys(), ca=ca, keys=keys).start()
    keys.locations.update({p.server_name: p.base_url for p in (resident, joiner)})
    try:
        room = resident.create_room(version)
        bob = joiner.user_id("bob")
        target = FederationTarget(resident.base_url, resident.server_name,
                                  ca.client_context())
        joined = FederationClient.for_peer(joiner, target).join(room.room_id, bob)

        tracked = joiner.track(joined)
        message = tracked.message("hello", sender=bob)

        assert joiner.rooms[room.room_id] is tracked
        assert message["prev_events"] == [joined.event_id]
        state = room.state_map()
        wanted = {state[("m.room.power_levels", "")], joined.event_id}
        if version != "12":
            wanted.add(room.create_event_id)
        assert set(message["auth_events"]) == wanted
        assert message["depth"] == joined.event["depth"] + 1
    finally:
        resident.stop()
        joiner.stop()


def test_a_joined_room_knows_the_state_before_and_after_the_join():
    key = SigningKey.generate()
    hosted = FakeRoom("there.example", key, creator="@alice:there.example")
    join = hosted.join("@bob:here.example")
    state = [hosted.pdu(e) for e in hosted.state_before(hosted.event_id(join)).values()]
    room = FakeRoom.joined("here.example", key, room_id=hosted.room_id, version="12",
                           event=join, state=state, auth_chain=[])
    assert room.state_map() == hosted.state_map()
    assert room.membership("@bob:here.example") == "join"


def _body(*event_ids: str) -> dict:
    events = [{"event_id": e} for e in event_ids]
    return {"rooms": {"join": {"!r": {"timeline": {"events": events}}}}}


def test_without_passes_when_the_wanted_comes_and_the_forbidden_never_did():
    check = without(timeline_has("!r", "$good"), timeline_has("!r", "$bad"))
    assert check(_body("$other")) is not None
    assert check(_body("$good")) is None


@pytest.mark.parametrize("bodies", [
    pytest.param([_body("$bad"), _body("$good")], id="forbidden-first"),
    pytest.param([_body("$bad", "$good")], id="both-in-one-answer"),
])
def test_without_never_passes_once_the_forbidden_happened(bodies):
    check = without(timeline_has("!r", "$good"), timeline_has("!r", "$bad"))
    assert [check(body) for body in bodies][-1] is not None
    assert "must not" in check(_body("$good"))


def test_peers_never_get_a_port_another_peer_of_the_run_had(ca):
    factory = PeerFactory(ca, FederationTarget("https://127.0.0.1:1", "target.example"))
    ports = [factory._fresh_port("127.0.0.1") for _ in range(20)]
    listed = [int(line.split()[0]) for line in (ca.directory / PORTS_FILE).read_text().split("\n")
              if line]
    assert len(set(ports)) == len(ports) and listed == ports
