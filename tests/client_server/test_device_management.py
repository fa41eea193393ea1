# SPDX-License-Identifier: Apache-2.0
"""Listing, renaming and deleting devices.

Devices are named at login in most tests: an unnamed device must simply have no
`display_name`, which one test checks on its own, so the others stay about their subject.
"""
from __future__ import annotations

import secrets

from tests.harness.checks import expect_error, expect_ok, expect_status


def device_ids(client) -> list[str]:
    return sorted(d["device_id"] for d in client.devices())


def unknown_device_id() -> str:
    return f"NODEVICE{secrets.token_hex(4).upper()}"


def test_devices_lists_every_logged_in_device(hs):
    """GET /devices lists each device the user is logged in on.

    Spec: client-server-api/#get_matrixclientv3devices — returns all devices of the
    current user.
    """
    alice = hs.register(initial_device_display_name="first")
    phone = alice.new_device(initial_device_display_name="phone")
    laptop = alice.new_device(initial_device_display_name="laptop")
    for session in (phone, laptop):
        session.whoami()
    expected = sorted([alice.device_id, phone.device_id, laptop.device_id])
    assert device_ids(alice) == expected, f"GET /devices lists {device_ids(alice)}, not {expected}"


def test_unused_unnamed_device_is_listed_without_empty_fields(hs):
    """A fresh device without a name is listed with only the fields that have values.

    Spec: client-server-api/#get_matrixclientv3devices — `display_name` is absent when no
    name was set, and `last_seen_ts`/`last_seen_ip` are an integer and a string when given
    (JSON null is neither; the schema check of the answer enforces this).
    """
    alice = hs.register(initial_device_display_name="lister")
    phone = alice.new_device()
    listed = {d["device_id"]: d for d in alice.devices()}
    assert "display_name" not in listed[phone.device_id], (
        f"the unnamed device should have no display_name: {listed[phone.device_id]}")


def test_get_device_returns_that_device(hs):
    """GET /devices/{deviceId} returns the device with its display name.

    Spec: client-server-api/#get_matrixclientv3devicesdeviceid — returns information on
    the device with this ID.
    """
    alice = hs.register(initial_device_display_name="first")
    phone = alice.new_device(initial_device_display_name="Alice's phone")
    phone.whoami()
    device = alice.get_device(phone.device_id)
    assert device["device_id"] == phone.device_id, f"asked for {phone.device_id}, got {device}"
    assert device.get("display_name") == "Alice's phone", f"the device is {device}"


def test_get_unknown_device_is_not_found(hs):
    """A device ID the user does not have gives 404.

    Spec: client-server-api/#get_matrixclientv3devicesdeviceid — 404 when the current user
    has no device with the given ID (the spec names no errcode).
    """
    alice = hs.register()
    expect_error(alice.do("GET", ["devices", unknown_device_id()]), 404)


def test_other_users_device_is_not_visible(hs):
    """Another user's device is neither listed nor returned: 404.

    Spec: client-server-api/#get_matrixclientv3devicesdeviceid — devices are the current
    user's; 404 when the current user has no device with that ID.
    """
    alice = hs.register(initial_device_display_name="alice")
    bob = hs.register(initial_device_display_name="bob")
    assert bob.device_id not in device_ids(alice), "Bob's device is in Alice's list"
    expect_error(alice.do("GET", ["devices", bob.device_id]), 404)


def test_update_device_renames_it(hs):
    """PUT /devices/{deviceId} with `display_name` renames the device.

    Spec: client-server-api/#put_matrixclientv3devicesdeviceid — updates the device's
    metadata and answers 200 for an existing device.
    """
    alice = hs.register(initial_device_display_name="old name")
    response = alice.do("PUT", ["devices", alice.device_id], json={"display_name": "new name"})
    expect_status(response, 200)
    device = alice.get_device(alice.device_id)
    assert device.get("display_name") == "new name", f"after renaming, the device is {device}"


def test_update_device_without_display_name_keeps_the_name(hs):
    """An update without `display_name` leaves the name as it was.

    Spec: client-server-api/#put_matrixclientv3devicesdeviceid — if `display_name` is not
    given, the display name is unchanged.
    """
    alice = hs.register(initial_device_display_name="kept name")
    expect_status(alice.do("PUT", ["devices", alice.device_id], json={}), 200)
    device = alice.get_device(alice.device_id)
    assert device.get("display_name") == "kept name", f"an empty update changed it: {device}"


def test_update_unknown_device_is_not_found(hs):
    """Renaming a device the user does not have gives 404; ordinary users cannot create one.

    Spec: client-server-api/#put_matrixclientv3devicesdeviceid — regular clients may only
    update existing devices; 404 when the current user has no device with that ID.
    """
    alice = hs.register(initial_device_display_name="only")
    expect_error(alice.do("PUT", ["devices", unknown_device_id()],
                          json={"display_name": "ghost"}), 404)
    assert device_ids(alice) == [alice.device_id], "renaming an unknown device created it"


def test_update_other_users_device_is_not_found(hs):
    """Renaming another user's device gives 404 and leaves its name alone.

    Spec: client-server-api/#put_matrixclientv3devicesdeviceid — 404 when the current user
    has no device with the given ID.
    """
    alice = hs.register()
    bob = hs.register(initial_device_display_name="Bob's phone")
    expect_error(alice.do("PUT", ["devices", bob.device_id], json={"display_name": "mine"}), 404)
    device = bob.get_device(bob.device_id)
    assert device.get("display_name") == "Bob's phone", f"Alice renamed Bob's device: {device}"


def test_delete_device_needs_user_interactive_auth(hs):
    """DELETE /devices/{deviceId} without `auth` gets a 401 challenge; the device stays.

    Spec: client-server-api/#delete_matrixclientv3devicesdeviceid — uses user-interactive
    authentication, which never succeeds without auth (401 with the flows).
    """
    alice = hs.register()
    phone = alice.new_device()
    challenge = expect_status(alice.do("DELETE", ["devices", phone.device_id], json={}), 401)
    assert challenge.get("flows"), f"the 401 lists no flows: {challenge}"
    phone.whoami()


def test_delete_device_with_a_wrong_password_is_refused(hs):
    """A wrong password fails the stage with 401 and an errcode; the device stays.

    Spec: client-server-api/#user-interactive-api-in-the-rest-api — an unsuccessful stage
    attempt is answered with the 401 challenge plus `errcode` and `error`.
    """
    alice = hs.register()
    phone = alice.new_device()
    path = ["devices", phone.device_id]
    challenge = expect_status(alice.do("DELETE", path, json={}), 401)
    auth = {"type": "m.login.password", "password": alice.password + "-wrong",
            "identifier": {"type": "m.id.user", "user": alice.user_id}}
    if "session" in challenge:
        auth["session"] = challenge["session"]
    failed = expect_status(alice.do("DELETE", path, json={"auth": auth}), 401)
    assert failed.get("errcode") and failed.get("flows"), (
        f"a failed stage needs an errcode and the flows again: {failed}")
    phone.whoami()


def test_deleting_a_device_invalidates_its_token(hs):
    """Once deleted, the device is gone and its token gives 401 M_UNKNOWN_TOKEN.

    Spec: client-server-api/#delete_matrixclientv3devicesdeviceid — deletes the device and
    invalidates any access token associated with it.
    """
    alice = hs.register(initial_device_display_name="deleter")
    phone = alice.new_device()
    alice.delete_device(phone.device_id)
    expect_error(phone.do("GET", ["account", "whoami"]), 401, "M_UNKNOWN_TOKEN")
    assert device_ids(alice) == [alice.device_id], f"GET /devices lists {device_ids(alice)}"
    expect_error(alice.do("GET", ["devices", phone.device_id]), 404)


def test_deleting_an_already_deleted_device_succeeds(hs):
    """Deleting a device that was deleted before answers 200.

    Spec: client-server-api/#delete_matrixclientv3devicesdeviceid — 200 when the device was
    removed, or had been removed previously.
    """
    alice = hs.register()
    phone = alice.new_device()
    alice.delete_device(phone.device_id)
    alice.delete_device(phone.device_id)


def test_deleting_another_users_device_leaves_it_alone(hs):
    """Alice naming Bob's device ID in a delete does not log Bob out.

    Spec: client-server-api/#delete_matrixclientv3devicesdeviceid — the device is one of the
    current user's; Alice has no device with that ID, so (as for one removed earlier) the
    answer is 200 and nothing of Bob's is removed.
    """
    alice, bob = hs.register(), hs.register()
    expect_ok(alice.uia_request("DELETE", ["devices", bob.device_id], {}),
              "delete a device ID that only Bob has")
    assert bob.whoami().get("device_id") == bob.device_id


def test_delete_devices_removes_the_listed_devices(hs):
    """POST /delete_devices deletes exactly the listed devices and revokes their tokens.

    Spec: client-server-api/#post_matrixclientv3delete_devices — deletes the given devices
    and invalidates any access token associated with them.
    """
    alice = hs.register(initial_device_display_name="keeper")
    phone, laptop = alice.new_device(), alice.new_device()
    tablet = alice.new_device(initial_device_display_name="tablet")
    expect_ok(alice.uia_request("POST", ["delete_devices"],
                                {"devices": [phone.device_id, laptop.device_id]}),
              "delete two devices")
    for gone in (phone, laptop):
        expect_error(gone.do("GET", ["account", "whoami"]), 401, "M_UNKNOWN_TOKEN")
    tablet.whoami()
    expected = sorted([alice.device_id, tablet.device_id])
    assert device_ids(alice) == expected, f"GET /devices lists {device_ids(alice)}, not {expected}"


def test_delete_devices_needs_user_interactive_auth(hs):
    """POST /delete_devices without `auth` gets a 401 challenge; the devices stay.

    Spec: client-server-api/#post_matrixclientv3delete_devices — uses user-interactive
    authentication, which never succeeds without auth (401 with the flows).
    """
    alice = hs.register()
    phone = alice.new_device()
    challenge = expect_status(alice.do("POST", ["delete_devices"],
                                       json={"devices": [phone.device_id]}), 401)
    assert challenge.get("flows"), f"the 401 lists no flows: {challenge}"
    phone.whoami()


def test_delete_devices_ignores_devices_already_gone(hs):
    """Listing a device that does not exist (any more) in /delete_devices is not an error.

    Spec: client-server-api/#post_matrixclientv3delete_devices — 200 when the devices were
    removed, or had been removed previously.
    """
    alice = hs.register()
    phone = alice.new_device()
    expect_ok(alice.uia_request("POST", ["delete_devices"],
                                {"devices": [unknown_device_id(), phone.device_id]}),
              "delete an unknown and a real device")
    expect_error(phone.do("GET", ["account", "whoami"]), 401, "M_UNKNOWN_TOKEN")
