# SPDX-License-Identifier: Apache-2.0
"""Device lists and encryption keys between servers: a peer asking about the target's
users, the target asking a peer about its users on behalf of local clients, and the
EDUs that keep both sides' device lists current.

Spec: server-server-api/#device-management, #end-to-end-encryption.
"""
from __future__ import annotations

import pytest

from tests.harness.checks import expect_error, expect_ok, state_has, without
from tests.harness.e2ee import ENCRYPTION, OTK, CrossSigningKeys, DeviceKeys, claim_keys, \
    device_list_changed, query_keys, upload_keys
from tests.harness.federation_e2ee import PeerKeys, handle_user_keys
from tests.harness.federation_handlers import handle_keys
from tests.harness.federation_scenes import peer_in_room

pytestmark = pytest.mark.federation


def keys_without_unsigned(device: dict) -> dict:
    return {k: v for k, v in device.items() if k != "unsigned"}


# -- a peer asks about the target's users ------------------------------------------------


def test_user_devices_lists_a_local_users_devices_and_cross_signing_keys(hs, federation):
    """/user/devices answers the user's devices with their keys, a stream_id, and the
    master and self-signing keys.

    Spec: server-server-api/#get_matrixfederationv1userdevicesuserid — the answer has
    `user_id`, `stream_id`, `devices` (with `keys`) and the user's cross-signing keys.
    """
    alice = hs.register()
    uploaded = DeviceKeys.of(alice).device_keys()
    upload_keys(alice, device_keys=uploaded)
    cross = CrossSigningKeys.generate(alice)
    expect_ok(alice.do("POST", ["keys", "device_signing", "upload"], json=cross.upload_body()),
              "upload cross-signing keys")

    answer = expect_ok(federation.do("GET", ["user", "devices", alice.user_id]),
                       "get alice's devices")

    assert answer["user_id"] == alice.user_id and isinstance(answer["stream_id"], int), answer
    devices = {d["device_id"]: d for d in answer["devices"]}
    assert devices[alice.device_id]["keys"] == uploaded, devices
    assert answer.get("master_key") == cross.key("master"), answer
    assert answer.get("self_signing_key") == cross.key("self_signing"), answer
    assert "user_signing_key" not in answer, answer


def test_user_keys_query_answers_a_local_users_device_keys(hs, federation):
    """/user/keys/query answers the keys of the user's devices as uploaded.

    Spec: server-server-api/#post_matrixfederationv1userkeysquery — device information
    is the same as uploaded via the client-server /keys/upload.
    """
    alice = hs.register()
    uploaded = DeviceKeys.of(alice).device_keys()
    upload_keys(alice, device_keys=uploaded)

    answer = expect_ok(federation.do("POST", ["user", "keys", "query"],
                                     json={"device_keys": {alice.user_id: []}}),
                       "query alice's keys")

    device = answer["device_keys"][alice.user_id][alice.device_id]
    assert keys_without_unsigned(device) == uploaded, device


def test_user_keys_claim_hands_out_each_one_time_key_once(hs, federation):
    """Two claims from a peer get two different keys of the local device.

    Spec: server-server-api/#post_matrixfederationv1userkeysclaim — one-time keys are
    handed out at most once.
    """
    alice = hs.register()
    uploaded = DeviceKeys.of(alice).one_time_keys(2)
    upload_keys(alice, one_time_keys=uploaded)
    body = {"one_time_keys": {alice.user_id: {alice.device_id: OTK}}}

    claims = [expect_ok(federation.do("POST", ["user", "keys", "claim"], json=body),
                        "claim a key")["one_time_keys"][alice.user_id][alice.device_id]
              for _ in range(2)]

    assert claims[0] != claims[1], claims
    assert all(uploaded.get(k) == v for claim in claims for k, v in claim.items()), claims


def test_user_devices_of_a_user_of_another_server_is_refused(hs, federation):
    """Asking the target for the devices of a user of another server is a 400.

    Spec: server-server-api/#get_matrixfederationv1userdevicesuserid — the user must
    belong to the server asked. The spec names no errcode, so only the status is checked.
    """
    expect_error(federation.do("GET", ["user", "devices", "@bob:elsewhere.example"]), 400)


# -- the target asks a peer about its users ----------------------------------------------


def test_a_local_query_of_a_peer_user_returns_the_peers_keys(hs, fake_homeserver):
    """A local client's /keys/query for a peer's user answers the keys the peer publishes.

    Spec: client-server-api/#post_matrixclientv3keysquery — remote users are queried over
    federation; server-server-api/#end-to-end-encryption.
    """
    keys = PeerKeys()
    peer = fake_homeserver(handle_keys(), handle_user_keys(keys))
    bob = peer.user_id("bob")
    keys.add_device(bob, "BOBPHONE", name="Bob's phone")
    alice = hs.register()

    answer = query_keys(alice, {bob: []})

    device = answer["device_keys"][bob]["BOBPHONE"]
    assert keys_without_unsigned(device) == keys.device_json(bob, "BOBPHONE"), device
    assert not answer.get("failures"), answer


def test_a_local_claim_of_a_peer_users_key_goes_to_the_peer(hs, fake_homeserver):
    """A local client's /keys/claim for a peer's device answers the peer's one-time key.

    Spec: client-server-api/#post_matrixclientv3keysclaim — keys of remote devices are
    claimed over federation (server-server-api/#post_matrixfederationv1userkeysclaim).
    """
    keys = PeerKeys()
    peer = fake_homeserver(handle_keys(), handle_user_keys(keys))
    bob = peer.user_id("bob")
    keys.add_device(bob, "BOBPHONE", one_time_keys=1)
    waiting = dict(keys.one_time_keys[(bob, "BOBPHONE")][0])
    alice = hs.register()

    answer = claim_keys(alice, {bob: {"BOBPHONE": OTK}})

    assert answer["one_time_keys"][bob]["BOBPHONE"] == waiting, answer


def test_an_unreachable_server_is_listed_in_failures(hs):
    """A query naming a user of a server that cannot be reached still succeeds, with that
    server under `failures`.

    Spec: client-server-api/#post_matrixclientv3keysquery — remote homeservers that could
    not be reached are recorded in `failures`, keyed by server name. Port 1 of the
    loopback address accepts no connection.
    """
    alice = hs.register()
    unreachable = "127.0.0.1:1"

    answer = expect_ok(alice.do("POST", ["keys", "query"], json={
        "device_keys": {f"@nobody:{unreachable}": []}, "timeout": 5000}), "query keys")

    assert unreachable in answer.get("failures", {}), answer


# -- EDUs keep device lists current ----------------------------------------------------------


def test_a_device_list_update_from_a_peer_shows_in_room_mates_sync(hs, fake_homeserver):
    """An m.device_list_update about a peer user sharing a room lists them as changed.

    Spec: server-server-api/#device-management — m.device_list_update EDUs describe
    changes to a user's device list; client-server-api/#e2e-extensions-to-sync.
    """
    scene = peer_in_room(hs, fake_homeserver, initial_state=[ENCRYPTION])
    keys = PeerKeys()
    scene.peer.allow(handle_user_keys(keys))  # a receiver may resync the whole list
    scene.alice.sync_until(state_has(scene.room, "m.room.member", scene.bob))
    keys.add_device(scene.bob, "BOBPHONE")

    scene.federation.send_transaction(edus=[keys.device_list_update(scene.bob, "BOBPHONE")])

    scene.alice.sync_until(device_list_changed(scene.bob))


def test_a_device_list_update_about_a_user_of_another_server_is_ignored(hs, fake_homeserver):
    """An m.device_list_update naming a user who is not the sending server's is ignored.

    Spec: server-server-api/#device-management — a server sends updates about its own
    users' devices. A genuine update sent after the forged one shows the transaction was
    processed.
    """
    scene = peer_in_room(hs, fake_homeserver, initial_state=[ENCRYPTION])
    carol = hs.register()
    carol.join(scene.room)
    scene.alice.sync_until(state_has(scene.room, "m.room.member", carol.user_id))
    keys = PeerKeys()
    scene.peer.allow(handle_user_keys(keys))  # a receiver may resync bob's whole list
    keys.add_device(carol.user_id, "FORGED")
    keys.add_device(scene.bob, "BOBPHONE")

    scene.federation.send_transaction(edus=[keys.device_list_update(carol.user_id, "FORGED"),
                                            keys.device_list_update(scene.bob, "BOBPHONE")])

    scene.alice.sync_until(without(device_list_changed(scene.bob),
                                   device_list_changed(carol)))


def test_a_local_query_after_a_device_list_update_shows_the_new_device(hs, fake_homeserver):
    """After a peer announces a new device of its user, a local query lists it.

    Spec: server-server-api/#device-management — each m.device_list_update replaces the
    receiver's copy of that device; one whose `prev_id` is unknown makes the receiver
    resynchronise the list.
    """
    keys = PeerKeys()
    scene = peer_in_room(hs, fake_homeserver, initial_state=[ENCRYPTION])
    scene.peer.allow(handle_user_keys(keys))
    scene.alice.sync_until(state_has(scene.room, "m.room.member", scene.bob))
    keys.add_device(scene.bob, "BOBLAPTOP")
    before = query_keys(scene.alice, {scene.bob: []})
    keys.add_device(scene.bob, "BOBPHONE")

    scene.federation.send_transaction(edus=[keys.device_list_update(scene.bob, "BOBPHONE")])
    scene.alice.sync_until(device_list_changed(scene.bob))

    after = query_keys(scene.alice, {scene.bob: []})
    assert set(before["device_keys"][scene.bob]) == {"BOBLAPTOP"}, before
    assert set(after["device_keys"][scene.bob]) == {"BOBLAPTOP", "BOBPHONE"}, after


def test_a_device_list_update_with_an_unknown_prev_id_leads_to_a_fresh_list(hs, fake_homeserver):
    """An update that skips one the target never saw still ends with the full list.

    Spec: server-server-api/#device-management — if a server receives an EDU referring to
    a `prev_id` it does not recognise, it must resynchronise its list.
    """
    keys = PeerKeys()
    scene = peer_in_room(hs, fake_homeserver, initial_state=[ENCRYPTION])
    scene.peer.allow(handle_user_keys(keys))
    scene.alice.sync_until(state_has(scene.room, "m.room.member", scene.bob))
    keys.add_device(scene.bob, "BOBLAPTOP")
    query_keys(scene.alice, {scene.bob: []})
    keys.add_device(scene.bob, "BOBTABLET")  # never announced
    keys.add_device(scene.bob, "BOBPHONE")

    scene.federation.send_transaction(edus=[keys.device_list_update(scene.bob, "BOBPHONE")])
    scene.alice.sync_until(device_list_changed(scene.bob))

    after = query_keys(scene.alice, {scene.bob: []})
    assert set(after["device_keys"][scene.bob]) == {"BOBLAPTOP", "BOBTABLET", "BOBPHONE"}, after


# -- the target tells peers about its users' devices -------------------------------------------


def _edus_of(edus: list[dict], edu_type: str, user_id: str) -> list[dict]:
    return [e["content"] for e in edus
            if e.get("edu_type") == edu_type and e["content"].get("user_id") == user_id]


def test_new_device_keys_reach_a_peer_sharing_a_room(hs, fake_homeserver):
    """A local user uploading device keys sends m.device_list_update with them to the
    servers sharing a room with the user.

    Spec: server-server-api/#device-management — servers must send m.device_list_update
    EDUs to all servers sharing a room with the user whenever the device list changes;
    each has a `stream_id` and `prev_id`.
    """
    edus: list[dict] = []
    scene = peer_in_room(hs, fake_homeserver, on_edu=edus.append)
    uploaded = DeviceKeys.of(scene.alice).device_keys()

    upload_keys(scene.alice, device_keys=uploaded)

    def announced():
        return [c for c in _edus_of(edus, "m.device_list_update", scene.alice.user_id)
                if c.get("keys") == uploaded]
    update = scene.peer.wait_until(announced, what="an m.device_list_update with the keys")[0]
    assert update["device_id"] == scene.alice.device_id, update
    assert isinstance(update["stream_id"], int) and isinstance(update["prev_id"], list), update


def test_a_deleted_device_reaches_a_peer_sharing_a_room(hs, fake_homeserver):
    """Deleting a device sends an m.device_list_update marked `deleted`.

    Spec: server-server-api/#device-management — updates are sent for deleted devices,
    with `deleted: true`.
    """
    edus: list[dict] = []
    scene = peer_in_room(hs, fake_homeserver, on_edu=edus.append)
    phone = scene.alice.new_device()
    upload_keys(phone, device_keys=DeviceKeys.of(phone).device_keys())

    scene.alice.delete_device(phone.device_id)

    scene.peer.wait_until(
        lambda: any(c.get("device_id") == phone.device_id and c.get("deleted") is True
                    for c in _edus_of(edus, "m.device_list_update", scene.alice.user_id)),
        what="an m.device_list_update saying the device was deleted")


def test_new_cross_signing_keys_reach_a_peer_sharing_a_room(hs, fake_homeserver):
    """Uploading cross-signing keys sends m.signing_key_update with the master and
    self-signing keys.

    Spec: server-server-api/#end-to-end-encryption — m.signing_key_update tells servers
    sharing a room with the user about their new cross-signing keys.
    """
    edus: list[dict] = []
    scene = peer_in_room(hs, fake_homeserver, on_edu=edus.append)
    cross = CrossSigningKeys.generate(scene.alice)

    expect_ok(scene.alice.do("POST", ["keys", "device_signing", "upload"],
                             json=cross.upload_body()), "upload cross-signing keys")

    def both_keys() -> dict | None:
        """The keys the updates so far announce (a server may send one update per key)."""
        merged: dict = {}
        for update in _edus_of(edus, "m.signing_key_update", scene.alice.user_id):
            merged.update(update)
        return merged if {"master_key", "self_signing_key"} <= merged.keys() else None

    update = scene.peer.wait_until(both_keys, what="m.signing_key_update with both keys")
    assert update.get("master_key") == cross.key("master"), update
    assert update.get("self_signing_key") == cross.key("self_signing"), update


def test_a_peer_user_who_left_and_came_back_is_queried_afresh(hs, fake_homeserver):
    """Keys of a user who stopped sharing rooms and shares one again are current.

    While bob shares no room with the target's users his server sends no updates about
    him, so a device he added meanwhile must still show in the next query.

    Spec: server-server-api/#device-management — servers send m.device_list_update only
    to servers sharing a room with the user, so a server that stopped sharing one has to
    resynchronise its copy; client-server-api/#post_matrixclientv3keysquery — the
    answer holds the user's current devices.
    """
    keys = PeerKeys()
    scene = peer_in_room(hs, fake_homeserver, initial_state=[ENCRYPTION])
    scene.peer.allow(handle_user_keys(keys))
    keys.add_device(scene.bob, "BOBLAPTOP")
    assert set(query_keys(scene.alice, {scene.bob: []})["device_keys"][scene.bob]) == \
        {"BOBLAPTOP"}
    leave = scene.remote.send_state("m.room.member", {"membership": "leave"}, scene.bob,
                                    sender=scene.bob)
    scene.federation.send_transaction([leave])
    scene.alice.sync_until(state_has(scene.room, "m.room.member", scene.bob,
                                     lambda e: e["content"]["membership"] == "leave"))

    keys.add_device(scene.bob, "BOBPHONE")  # no update: the peer shares no room with us
    rejoin = scene.remote.join(scene.bob)
    scene.federation.send_transaction([rejoin])
    scene.alice.sync_until(state_has(scene.room, "m.room.member", scene.bob,
                                     lambda e: e["content"]["membership"] == "join"))

    after = query_keys(scene.alice, {scene.bob: []})
    assert set(after["device_keys"][scene.bob]) == {"BOBLAPTOP", "BOBPHONE"}, after
