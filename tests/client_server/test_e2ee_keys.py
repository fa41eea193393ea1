# SPDX-License-Identifier: Apache-2.0
"""End-to-end encryption keys: uploading, querying and claiming them, and what /sync
says about a device's one-time and fallback keys.

Spec: client-server-api/#key-distribution, #one-time-and-fallback-keys,
#e2e-extensions-to-sync.
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import MISSING_KEY
from tests.harness.checks import Check, expect_error
from tests.harness.e2ee import OTK, DeviceKeys, claim_keys, query_keys, upload_keys


def test_uploaded_device_keys_are_returned_by_query(hs):
    """Another user querying a device gets its keys as uploaded, plus its display name.

    Spec: client-server-api/#post_matrixclientv3keysquery — the information returned for
    each device is the same as uploaded via /keys/upload, with an added `unsigned`
    property holding `device_display_name`.
    """
    alice, bob = hs.register(), hs.register()
    phone = alice.new_device(initial_device_display_name="Alice's phone")
    keys = DeviceKeys.of(phone)
    uploaded = keys.device_keys()
    upload_keys(phone, device_keys=uploaded)

    answer = query_keys(bob, {alice.user_id: []})

    device = answer["device_keys"][alice.user_id][phone.device_id]
    assert {k: v for k, v in device.items() if k != "unsigned"} == uploaded, device
    assert device["unsigned"].get("device_display_name") == "Alice's phone", device


def test_upload_answers_the_count_of_one_time_keys(hs):
    """Each upload answers how many unclaimed one-time keys the device now has.

    Spec: client-server-api/#post_matrixclientv3keysupload — `one_time_key_counts` gives,
    per algorithm, the unclaimed one-time keys held for the device, earlier ones included.
    """
    alice = hs.register()
    keys = DeviceKeys.of(alice)

    first = upload_keys(alice, one_time_keys=keys.one_time_keys(3))
    second = upload_keys(alice, one_time_keys=keys.one_time_keys(2))

    assert first["one_time_key_counts"].get(OTK) == 3, first
    assert second["one_time_key_counts"].get(OTK) == 5, second


def test_query_for_one_device_returns_only_that_device(hs):
    """A query naming one device of a user answers that device and not the others.

    Spec: client-server-api/#post_matrixclientv3keysquery — `device_keys` maps a user to
    a list of device IDs, or to an empty list for all devices.
    """
    alice, bob = hs.register(), hs.register()
    laptop = alice.new_device()
    for client in (alice, laptop):
        upload_keys(client, device_keys=DeviceKeys.of(client).device_keys())

    one = query_keys(bob, {alice.user_id: [laptop.device_id]})
    every = query_keys(bob, {alice.user_id: []})

    assert set(one["device_keys"][alice.user_id]) == {laptop.device_id}, one
    assert set(every["device_keys"][alice.user_id]) == {alice.device_id, laptop.device_id}, every


def test_a_one_time_key_is_claimed_only_once(hs):
    """Two claims get two different keys; once none is left the device is not answered.

    Spec: client-server-api/#post_matrixclientv3keysclaim — servers must ensure each
    one-time key is returned at most once; client-server-api/#one-time-and-fallback-keys.
    """
    alice, bob = hs.register(), hs.register()
    keys = DeviceKeys.of(alice)
    uploaded = keys.one_time_keys(2)
    upload_keys(alice, device_keys=keys.device_keys(), one_time_keys=uploaded)
    wanted = {alice.user_id: {alice.device_id: OTK}}

    claims = [claim_keys(bob, wanted)["one_time_keys"] for _ in range(3)]

    got = [c.get(alice.user_id, {}).get(alice.device_id, {}) for c in claims]
    assert len(got[0]) == 1 and len(got[1]) == 1, got
    assert got[0] != got[1], f"the same one-time key was handed out twice: {got}"
    for claimed in got[:2]:
        (key_id, key), = claimed.items()
        assert uploaded.get(key_id) == key, f"{key_id} is not a key that was uploaded"
    assert not got[2], f"a third claim still got a key: {got[2]}"


@pytest.mark.spec("1.13")
def test_one_time_keys_are_claimed_in_upload_order(hs):
    """A key from an earlier upload is handed out before a key from a later one.

    Spec: client-server-api/#post_matrixclientv3keysclaim — one-time keys are given out
    in the order they were uploaded.
    """
    alice, bob = hs.register(), hs.register()
    keys = DeviceKeys.of(alice)
    older, newer = keys.one_time_keys(1), keys.one_time_keys(1)
    upload_keys(alice, one_time_keys=older)
    upload_keys(alice, one_time_keys=newer)

    claimed = claim_keys(bob, {alice.user_id: {alice.device_id: OTK}})["one_time_keys"]

    assert claimed[alice.user_id][alice.device_id] == older, claimed


def test_the_fallback_key_is_given_once_one_time_keys_run_out(hs):
    """With no one-time key left, claims answer the fallback key, again and again.

    Spec: client-server-api/#one-time-and-fallback-keys — a fallback key is returned when
    the device has run out of one-time keys, and is not consumed by being used.
    """
    alice, bob = hs.register(), hs.register()
    keys = DeviceKeys.of(alice)
    one_time, fallback = keys.one_time_keys(1), keys.fallback_key()
    upload_keys(alice, one_time_keys=one_time, fallback_keys=fallback)
    wanted = {alice.user_id: {alice.device_id: OTK}}

    claims = [claim_keys(bob, wanted)["one_time_keys"][alice.user_id][alice.device_id]
              for _ in range(3)]

    assert claims == [one_time, fallback, fallback], claims


def count_of_one_time_keys(count: int) -> Check:
    def test(body: dict) -> str | None:
        counts = body.get("device_one_time_keys_count") or {}
        return None if counts.get(OTK, 0) == count else f"the count is {counts}"
    return Check(f"device_one_time_keys_count has {count} {OTK}", test)


def unused_fallback(*algorithms: str) -> Check:
    def test(body: dict) -> str | None:
        if "device_unused_fallback_key_types" not in body:
            return "device_unused_fallback_key_types is missing"
        unused = sorted(body["device_unused_fallback_key_types"])
        return None if unused == sorted(algorithms) else f"it is {unused}"
    return Check(f"device_unused_fallback_key_types is {list(algorithms)}", test)


def test_sync_counts_the_devices_unclaimed_one_time_keys(hs):
    """/sync gives the device its count of one-time keys, lowered by a claim.

    Spec: client-server-api/#e2e-extensions-to-sync — `device_one_time_keys_count` is
    required when unclaimed one-time keys exist, counting them per algorithm.
    """
    alice, bob = hs.register(), hs.register()
    upload_keys(alice, one_time_keys=DeviceKeys.of(alice).one_time_keys(4))
    before = alice.sync_until(count_of_one_time_keys(4))

    claim_keys(bob, {alice.user_id: {alice.device_id: OTK}})

    body = alice.sync(since=before["next_batch"], timeout=0)
    assert count_of_one_time_keys(3)(body) is None, body.get("device_one_time_keys_count")


@pytest.mark.spec("1.2")
def test_sync_says_when_the_fallback_key_was_used(hs):
    """The fallback key's algorithm is listed as unused until a claim hands it out.

    Spec: client-server-api/#e2e-extensions-to-sync — `device_unused_fallback_key_types`
    (required) lists the algorithms whose fallback key has not been used in a claim.
    """
    alice, bob = hs.register(), hs.register()
    upload_keys(alice, fallback_keys=DeviceKeys.of(alice).fallback_key())
    before = alice.sync_until(unused_fallback(OTK))

    claim_keys(bob, {alice.user_id: {alice.device_id: OTK}})

    body = alice.sync(since=before["next_batch"], timeout=0)
    assert unused_fallback()(body) is None, body.get("device_unused_fallback_key_types")


def test_keys_of_a_deleted_device_are_no_longer_returned(hs):
    """Deleting a device removes its keys from query answers.

    Spec: client-server-api/#delete_matrixclientv3devicesdeviceid — deleting a device
    invalidates it; client-server-api/#tracking-the-device-list-for-a-user — a
    /keys/query answers the user's current devices.
    """
    alice, bob = hs.register(), hs.register()
    laptop = alice.new_device()
    upload_keys(laptop, device_keys=DeviceKeys.of(laptop).device_keys())

    alice.delete_device(laptop.device_id)

    answer = query_keys(bob, {alice.user_id: []})
    assert laptop.device_id not in answer["device_keys"].get(alice.user_id, {}), answer


def test_uploading_the_same_device_keys_again_is_accepted(hs):
    """Re-uploading identical device keys (a retry) succeeds and changes nothing.

    Spec: client-server-api/#post_matrixclientv3keysupload — uploads publish the device's
    keys; a retried request must not fail.
    """
    alice, bob = hs.register(), hs.register()
    uploaded = DeviceKeys.of(alice).device_keys()
    upload_keys(alice, device_keys=uploaded)
    upload_keys(alice, device_keys=uploaded)

    device = query_keys(bob, {alice.user_id: []})["device_keys"][alice.user_id][alice.device_id]
    assert {k: v for k, v in device.items() if k != "unsigned"} == uploaded, device


def test_device_keys_naming_another_user_are_refused(hs):
    """Device keys claiming to be another user's are refused.

    Spec: client-server-api/#post_matrixclientv3keysupload — the keys are the uploading
    device's own identity keys. The spec names no errcode, so only the status is checked.
    """
    alice, bob = hs.register(), hs.register()
    forged = DeviceKeys.for_device(alice.user_id, alice.device_id).device_keys()

    expect_error(bob.do("POST", ["keys", "upload"], json={"device_keys": forged}), 400)
    assert alice.device_id not in query_keys(bob, {alice.user_id: []})["device_keys"].get(
        alice.user_id, {})


@pytest.mark.parametrize("drop", [
    pytest.param("algorithms", id="without-algorithms"),
    pytest.param("keys", id="without-keys"),
    pytest.param("signatures", id="without-signatures"),
])
def test_device_keys_missing_a_required_field_are_refused(hs, drop):
    """Device keys lacking algorithms, keys or signatures are refused as malformed.

    Spec: client-server-api/#post_matrixclientv3keysupload — DeviceKeys requires
    `user_id`, `device_id`, `algorithms`, `keys` and `signatures`;
    client-server-api/#common-error-codes — M_BAD_JSON (valid JSON missing required keys)
    or M_MISSING_PARAM (a required parameter was missing): the spec allows either.
    """
    alice = hs.register()
    device_keys = DeviceKeys.of(alice).device_keys()
    del device_keys[drop]

    expect_error(alice.do("POST", ["keys", "upload"], json={"device_keys": device_keys}),
                 400, MISSING_KEY)


@pytest.mark.parametrize("path, body", [
    pytest.param(["keys", "query"], {}, id="query-without-device_keys"),
    pytest.param(["keys", "query"], {"device_keys": ["@a:example.org"]},
                 id="query-device_keys-not-an-object"),
    pytest.param(["keys", "claim"], {}, id="claim-without-one_time_keys"),
    pytest.param(["keys", "claim"], {"one_time_keys": {"@a:example.org": "DEV"}},
                 id="claim-devices-not-an-object"),
])
def test_malformed_query_and_claim_bodies_are_refused(hs, path, body):
    """Query and claim bodies without their required map, or of the wrong shape, are 400.

    Spec: client-server-api/#post_matrixclientv3keysquery (`device_keys` is required, a
    map of user to device list), #post_matrixclientv3keysclaim (`one_time_keys` is
    required, a map of user to device to algorithm). The spec names no errcode for the
    missing field (M_MISSING_PARAM and M_BAD_JSON both fit), so only the status is checked.
    """
    alice = hs.register()
    expect_error(alice.do("POST", path, json=body), 400)


def test_query_of_a_user_without_keys_answers_no_devices(hs):
    """A user who never uploaded keys has no devices in the answer.

    Spec: client-server-api/#post_matrixclientv3keysquery — a user or device that is
    unknown is missing from `device_keys` (no failure is recorded for it).
    """
    alice, bob = hs.register(), hs.register()

    answer = query_keys(bob, {alice.user_id: []})

    assert not answer["device_keys"].get(alice.user_id), answer
    assert not answer.get("failures"), answer
