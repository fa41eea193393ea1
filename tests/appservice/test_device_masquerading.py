# SPDX-License-Identifier: Apache-2.0
"""Device masquerading (MSC4326, spec v1.17): with `device_id` the service also picks
which of the asserted user's devices a request comes from.

The devices are made with PUT /devices/{deviceId} (MSC4190), the service's own way.

Spec: application-service-api/#identity-assertion; the unstable names are MSC4326's
(`org.matrix.msc3202.device_id`, `ORG.MATRIX.MSC4326.M_UNKNOWN_DEVICE`).
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import expect_error, expect_ok, expect_status

pytestmark = [pytest.mark.appservice, pytest.mark.msc(4326), pytest.mark.msc(4190)]

UNSTABLE_DEVICE_PARAM = "org.matrix.msc3202.device_id"


def with_device(appservice, user_id: str | None, device_id: str):
    """Creates `device_id` for the user (the sender when None) and acts with it."""
    owner = appservice.as_client(user_id=user_id)
    expect_status(owner.do("PUT", ["devices", device_id], json={}), 201)
    return appservice.as_client(user_id=user_id, device_id=device_id)


def test_device_id_selects_the_users_device(appservice):
    """`user_id` and `device_id` together act as that device of that user.

    Spec: application-service-api/#identity-assertion — the service may masquerade as a
    specific device of the asserted user with the `device_id` parameter (v1.17).
    """
    user = appservice.register_user()
    device = with_device(appservice, user.user_id, "MASQDEV1")
    me = device.whoami()
    assert (me["user_id"], me.get("device_id")) == (user.user_id, "MASQDEV1"), me


def test_without_device_id_there_is_no_device(appservice):
    """Without `device_id`, a masqueraded request is made without any device.

    Spec: application-service-api/#identity-assertion — with no `device_id`, the server
    assumes the request has no device ID, even when the user has devices.
    """
    user = appservice.register_user()
    with_device(appservice, user.user_id, "UNUSEDDEV")
    me = user.whoami()
    assert me["user_id"] == user.user_id and "device_id" not in me, me


def test_device_id_without_user_id_is_a_device_of_the_sender(appservice):
    """`device_id` alone names a device of the service's sender.

    Spec: application-service-api/#identity-assertion — with no `user_id`, the device
    MUST belong to the user implied by `sender_localpart`.
    """
    device_id = f"SENDERDEV{appservice.tag.replace('-', '').upper()}"
    device = with_device(appservice, None, device_id)
    me = device.whoami()
    assert (me["user_id"], me.get("device_id")) == (appservice.sender, device_id), me


@pytest.mark.parametrize("param, errcode", [
    pytest.param("device_id", "M_UNKNOWN_DEVICE", id="stable-parameter"),
    pytest.param(UNSTABLE_DEVICE_PARAM, "ORG.MATRIX.MSC4326.M_UNKNOWN_DEVICE",
                 id="unstable-parameter"),
])
def test_unknown_device_is_refused(appservice, param, errcode):
    """A device the asserted user does not have is refused with 400 M_UNKNOWN_DEVICE.

    Spec: application-service-api/#identity-assertion — 400 M_UNKNOWN_DEVICE when the
    device ID is not known to belong to the user; MSC4326's unstable parameter answers
    with its unstable error code.
    """
    user = appservice.register_user()
    response = user.do("GET", ["account", "whoami"], params={param: "NOSUCHDEVICE"})
    expect_error(response, 400, errcode)


def test_another_users_device_is_unknown(appservice):
    """A device of a different user is not the asserted user's: 400 M_UNKNOWN_DEVICE.

    Spec: application-service-api/#identity-assertion — the device must belong to the
    asserted user; otherwise 400 M_UNKNOWN_DEVICE.
    """
    owner, other = appservice.register_user(), appservice.register_user()
    with_device(appservice, owner.user_id, "OWNERSDEV")
    response = other.do("GET", ["account", "whoami"], params={"device_id": "OWNERSDEV"})
    expect_error(response, 400, "M_UNKNOWN_DEVICE")


def test_device_id_is_ignored_for_ordinary_users(hs, appservice):
    """A user's own token ignores `device_id`: the request stays on the token's device.

    Spec: application-service-api/#identity-assertion — only services may assert a
    device (MSC4326: for other callers the parameter is as if absent).
    """
    alice = hs.register()
    phone = alice.new_device()
    me = expect_ok(alice.do("GET", ["account", "whoami"],
                            params={"device_id": phone.device_id}),
                   "whoami with another of one's devices as device_id")
    assert (me["user_id"], me.get("device_id")) == (alice.user_id, alice.device_id), me


def test_deleted_device_can_no_longer_be_asserted(appservice):
    """Once the service deletes a device, asserting it is refused as unknown.

    Spec: application-service-api/#identity-assertion — only devices known to belong to
    the user may be asserted (400 M_UNKNOWN_DEVICE); #deleting-devices removes one.
    """
    user = appservice.register_user()
    device = with_device(appservice, user.user_id, "SHORTLIVED")
    expect_ok(user.do("DELETE", ["devices", "SHORTLIVED"], json={}), "delete the device")
    expect_error(device.do("GET", ["account", "whoami"]), 400, "M_UNKNOWN_DEVICE")
