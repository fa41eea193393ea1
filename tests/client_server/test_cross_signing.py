# SPDX-License-Identifier: Apache-2.0
"""Cross-signing: uploading a user's master, self-signing and user-signing keys, and
signatures made with them.

Spec: client-server-api/#cross-signing, #post_matrixclientv3keysdevice_signingupload,
#post_matrixclientv3keyssignaturesupload.
"""
from __future__ import annotations

import pytest

from tests.harness.checks import expect_error, expect_ok, joined_to
from tests.harness.crypto import SigningKey, sign_json
from tests.harness.e2ee import CrossSigningKeys, DeviceKeys, create_encrypted_room, \
    device_list_changed, query_keys, upload_keys

pytestmark = pytest.mark.spec("1.1")
UPLOAD = ["keys", "device_signing", "upload"]


def upload_cross_signing(client, keys: CrossSigningKeys) -> None:
    expect_ok(client.do("POST", UPLOAD, json=keys.upload_body()),
              f"upload the first cross-signing keys of {client.user_id}")


def test_the_first_cross_signing_keys_need_no_user_interactive_auth(hs):
    """A user's first master key and its signed keys are stored without UIA.

    Spec: client-server-api/#post_matrixclientv3keysdevice_signingupload — UIA is not
    required when there is no existing master key.
    """
    alice = hs.register()
    upload_cross_signing(alice, CrossSigningKeys.generate(alice))


def test_query_shows_cross_signing_keys_and_the_user_signing_key_only_to_its_owner(hs):
    """Everyone sees the master and self-signing keys; only the owner their user-signing key.

    Spec: client-server-api/#post_matrixclientv3keysquery — `master_keys` and
    `self_signing_keys` of the queried users; `user_signing_keys` only for the user
    making the request, about themselves.
    """
    alice, bob = hs.register(), hs.register()
    keys = CrossSigningKeys.generate(alice)
    upload_cross_signing(alice, keys)

    own = query_keys(alice, {alice.user_id: []})
    other = query_keys(bob, {alice.user_id: []})

    for usage, section in (("master", "master_keys"), ("self_signing", "self_signing_keys")):
        for answer in (own, other):
            assert answer.get(section, {}).get(alice.user_id) == keys.key(usage), answer
    assert own.get("user_signing_keys", {}).get(alice.user_id) == keys.key("user_signing"), own
    assert alice.user_id not in other.get("user_signing_keys", {}), other


def test_replacing_the_master_key_needs_user_interactive_auth(hs):
    """Once a master key exists, uploading a different one asks for UIA first.

    Spec: client-server-api/#post_matrixclientv3keysdevice_signingupload — UIA MUST be
    performed for regular clients when a master key exists and the request holds new keys.
    """
    alice = hs.register()
    upload_cross_signing(alice, CrossSigningKeys.generate(alice))
    replacement = CrossSigningKeys.generate(alice)

    challenge = expect_error(alice.do("POST", UPLOAD, json=replacement.upload_body()), 401)
    assert challenge.get("flows"), f"the 401 answer offers no UIA flows: {challenge}"

    expect_ok(alice.uia_request("POST", UPLOAD, replacement.upload_body()),
              "replace the cross-signing keys with UIA")
    answer = query_keys(alice, {alice.user_id: []})
    assert answer["master_keys"][alice.user_id] == replacement.key("master"), answer


@pytest.mark.spec("1.11")
def test_uploading_the_same_keys_again_needs_no_user_interactive_auth(hs):
    """A retried upload of exactly the stored keys succeeds without UIA.

    Spec: client-server-api/#post_matrixclientv3keysdevice_signingupload — UIA is not
    required when the master key (and any other key sent) matches the stored one.
    """
    alice = hs.register()
    keys = CrossSigningKeys.generate(alice)
    upload_cross_signing(alice, keys)

    expect_ok(alice.do("POST", UPLOAD, json=keys.upload_body()), "upload the same keys again")


def test_a_self_signing_key_not_signed_by_the_master_key_is_refused(hs):
    """A self-signing key whose signature is not the master key's is M_INVALID_SIGNATURE.

    Spec: client-server-api/#post_matrixclientv3keysdevice_signingupload — the
    self-signing key must be signed by the accompanying master key; 400
    M_INVALID_SIGNATURE when a key has an incorrect signature.
    """
    alice = hs.register()
    keys, impostor = CrossSigningKeys.generate(alice), CrossSigningKeys.generate(alice)
    body = {"master_key": keys.key("master"),
            "self_signing_key": impostor.key("self_signing")}

    expect_error(alice.do("POST", UPLOAD, json=body), 400, "M_INVALID_SIGNATURE")


def test_a_self_signing_key_without_any_master_key_is_refused(hs):
    """With no master key sent or stored, a self-signing key is M_MISSING_PARAM.

    Spec: client-server-api/#post_matrixclientv3keysdevice_signingupload — 400
    M_MISSING_PARAM when no master signing key is available.
    """
    alice = hs.register()
    keys = CrossSigningKeys.generate(alice)

    expect_error(alice.do("POST", UPLOAD, json={"self_signing_key": keys.key("self_signing")}),
                 400, "M_MISSING_PARAM")


def self_signed_device(client, keys: CrossSigningKeys) -> dict:
    """Uploads the client's device keys and cross-signing keys; returns the device keys
    with a self-signing signature added."""
    device = DeviceKeys.of(client).device_keys()
    upload_keys(client, device_keys=device)
    upload_cross_signing(client, keys)
    return sign_json(device, client.user_id, keys.self_signing)


def test_a_self_signing_signature_on_a_device_is_returned_by_query(hs):
    """A device signed with the self-signing key shows that signature to everyone.

    Spec: client-server-api/#post_matrixclientv3keyssignaturesupload — signatures are
    published; #post_matrixclientv3keysquery — device keys as uploaded, with their
    signatures.
    """
    alice, bob = hs.register(), hs.register()
    keys = CrossSigningKeys.generate(alice)
    signed = self_signed_device(alice, keys)

    answer = expect_ok(alice.do("POST", ["keys", "signatures", "upload"],
                                json={alice.user_id: {alice.device_id: signed}}),
                       "upload a device signature")

    assert not answer.get("failures"), answer
    device = query_keys(bob, {alice.user_id: []})["device_keys"][alice.user_id][alice.device_id]
    signature = signed["signatures"][alice.user_id][keys.self_signing.key_id]
    assert device["signatures"][alice.user_id].get(keys.self_signing.key_id) == signature, device


def test_a_signature_that_does_not_verify_is_listed_as_a_failure(hs):
    """A signature made with the wrong key is reported under `failures`, not stored.

    Spec: client-server-api/#post_matrixclientv3keyssignaturesupload — `failures` maps
    user and key ID to an error; an invalid signature has errcode M_INVALID_SIGNATURE.
    """
    alice, bob = hs.register(), hs.register()
    keys = CrossSigningKeys.generate(alice)
    device = self_signed_device(alice, keys)
    del device["signatures"][alice.user_id][keys.self_signing.key_id]
    impostor = SigningKey(keys.self_signing.key_id, SigningKey.generate().nacl_key)
    forged = sign_json(device, alice.user_id, impostor)

    answer = expect_ok(alice.do("POST", ["keys", "signatures", "upload"],
                                json={alice.user_id: {alice.device_id: forged}}),
                       "upload a forged device signature")

    failure = answer.get("failures", {}).get(alice.user_id, {}).get(alice.device_id)
    assert failure and failure.get("errcode") == "M_INVALID_SIGNATURE", answer
    shown = query_keys(bob, {alice.user_id: []})["device_keys"][alice.user_id][alice.device_id]
    assert keys.self_signing.key_id not in shown["signatures"][alice.user_id], shown


def test_new_cross_signing_keys_show_in_room_mates_device_lists(hs):
    """A room-mate who uploads cross-signing keys is listed in `device_lists.changed`.

    Spec: client-server-api/#e2e-extensions-to-sync — `changed` lists users who updated
    their device identity or cross-signing keys.
    """
    alice, bob = hs.register(), hs.register()
    room = create_encrypted_room(alice)
    bob.join(room)
    alice.sync_until(joined_to(room))

    upload_cross_signing(bob, CrossSigningKeys.generate(bob))

    alice.sync_until(device_list_changed(bob))
