# SPDX-License-Identifier: Apache-2.0
"""PUT /send/{txnId} at and beyond the size a transaction may have: 50 PDUs, 100 EDUs.

A peer user has joined a local user's room; the peer sends transactions of the largest
allowed size, and larger ones.

Spec: server-server-api/#transactions — transactions are limited in size: at most 50
PDUs and 100 EDUs (the `pdus` and `edus` arrays "must not include" more). That binds
the sender; refusing a larger transaction is the receiver's choice, so those tests are
marked `optional`.
"""
from __future__ import annotations

import time

import pytest

from tests.harness.assertions import expect_error
from tests.harness.checks import timeline_has, typing_in
from tests.harness.federation_scenes import PeerInRoom, peer_in_room


def typing_edu(scene: PeerInRoom) -> dict:
    return {"edu_type": "m.typing",
            "content": {"room_id": scene.room, "user_id": scene.bob, "typing": True}}


def messages(scene: PeerInRoom, count: int) -> list[dict]:
    return [scene.remote.message(f"message {n}", sender=scene.bob) for n in range(count)]


def put_transaction(scene: PeerInRoom, pdus: list[dict], edus: list[dict]):
    body = {"origin": scene.peer.server_name, "origin_server_ts": int(time.time() * 1000),
            "pdus": pdus, "edus": edus}
    return scene.federation.do("PUT", ["send", f"limits{time.time_ns()}"], json=body)


def test_a_transaction_of_50_pdus_and_100_edus_is_processed_whole(hs, fake_homeserver):
    """The largest transaction allowed is accepted, and each of its PDUs gets a result.

    Spec: server-server-api/#transactions — a transaction can have up to 50 PDUs and
    100 EDUs; #put_matrixfederationv1sendtxnid — the answer lists the result of
    processing each PDU.
    """
    scene = peer_in_room(hs, fake_homeserver)
    pdus = messages(scene, 50)

    answer = scene.federation.send_transaction(pdus, [typing_edu(scene)] * 100)

    ids = [scene.remote.event_id(pdu) for pdu in pdus]
    failed = {i: answer["pdus"].get(i) for i in ids if answer["pdus"].get(i) != {}}
    assert not failed, f"PDUs of a transaction of 50 without a clean result: {failed}"
    scene.alice.sync_until(timeline_has(scene.room, ids[-1]), typing_in(scene.room, [scene.bob]))


@pytest.mark.optional
def test_a_transaction_of_more_than_50_pdus_is_refused(hs, fake_homeserver):
    """51 PDUs make a transaction the target answers with 400.

    Spec: server-server-api/#transactions — a transaction can have at most 50 PDUs;
    one with more is not a valid request body.
    """
    scene = peer_in_room(hs, fake_homeserver)

    expect_error(put_transaction(scene, messages(scene, 51), []), 400)


@pytest.mark.optional
def test_a_transaction_of_more_than_100_edus_is_refused(hs, fake_homeserver):
    """101 EDUs make a transaction the target answers with 400.

    Spec: server-server-api/#transactions — a transaction can have at most 100 EDUs;
    one with more is not a valid request body.
    """
    scene = peer_in_room(hs, fake_homeserver)

    expect_error(put_transaction(scene, [], [typing_edu(scene)] * 101), 400)
