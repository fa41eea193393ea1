# SPDX-License-Identifier: Apache-2.0
"""This server's own rules for uploaded device keys, where the spec leaves the choice to
servers: a device's identity keys never change, and a one-time key ID is never reused
with another key."""
from __future__ import annotations

import pytest

from reference_server.errors import MatrixError
from reference_server.services.device_lists import DeviceLists
from reference_server.services.e2e_keys import E2eKeys
from reference_server.services.notifier import Notifier
from reference_server.storage.database import open_database
from reference_server.storage.device_lists import DeviceListStore
from reference_server.storage.e2e_keys import E2eKeyStore
from reference_server.storage.state import StateStore

USER, DEVICE = "@alice:hs.example", "DEV"


@pytest.fixture
def keys(database_target) -> E2eKeys:
    db = open_database(database_target)
    lists = DeviceLists(db=db, store=DeviceListStore(db), state=StateStore(db),
                        notifier=Notifier())
    return E2eKeys(db=db, store=E2eKeyStore(db), device_lists=lists,
                   display_names=lambda user_id: {DEVICE: "laptop"})


def device_keys(curve: str) -> dict:
    return {"user_id": USER, "device_id": DEVICE, "algorithms": ["m.olm.v1.curve25519-aes-sha2"],
            "keys": {f"curve25519:{DEVICE}": curve, f"ed25519:{DEVICE}": "ed"},
            "signatures": {USER: {f"ed25519:{DEVICE}": "sig"}}}


def test_new_identity_keys_for_a_known_device_are_refused(keys):
    keys.upload(USER, DEVICE, {"device_keys": device_keys("first")})
    with pytest.raises(MatrixError) as refused:
        keys.upload(USER, DEVICE, {"device_keys": device_keys("second")})
    assert (refused.value.status, refused.value.errcode) == (400, "M_INVALID_PARAM")
    assert keys.device_keys(USER)[DEVICE]["keys"][f"curve25519:{DEVICE}"] == "first"


def test_a_one_time_key_id_reused_with_another_key_is_refused(keys):
    keys.upload(USER, DEVICE, {"one_time_keys": {"curve25519:AAAA": "one"}})
    keys.upload(USER, DEVICE, {"one_time_keys": {"curve25519:AAAA": "one"}})  # a retry
    with pytest.raises(MatrixError) as refused:
        keys.upload(USER, DEVICE, {"one_time_keys": {"curve25519:AAAA": "two"}})
    assert refused.value.errcode == "M_INVALID_PARAM"
    assert keys.counts(USER, DEVICE) == {"curve25519": 1}


def test_a_claimed_one_time_key_is_gone(keys):
    keys.upload(USER, DEVICE, {"one_time_keys": {"curve25519:AAAA": "one"}})
    first = keys.claim({USER: {DEVICE: "curve25519"}})
    second = keys.claim({USER: {DEVICE: "curve25519"}})
    assert first == {USER: {DEVICE: {"curve25519:AAAA": "one"}}} and second == {}
