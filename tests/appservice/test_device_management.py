# SPDX-License-Identifier: Apache-2.0
"""Device management by an application service (MSC4190, spec v1.17): it creates
devices for its users with PUT /devices/{deviceId} and deletes them without UIA.

Spec: application-service-api/#device-management,
client-server-api/#put_matrixclientv3devicesdeviceid,
client-server-api/#delete_matrixclientv3devicesdeviceid,
client-server-api/#post_matrixclientv3delete_devices.
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import expect_error, expect_ok, expect_status

pytestmark = [pytest.mark.appservice, pytest.mark.msc(4190)]


def device_name(appservice, label: str) -> str:
    return f"{label}-{appservice.tag}"


def create_device(user, device_id: str, display_name: str | None = None) -> None:
    """PUT /devices/{id} by the service for a device the user does not have: 201."""
    body = {} if display_name is None else {"display_name": display_name}
    expect_status(user.do("PUT", ["devices", device_id], json=body), 201)


def device_ids(user) -> list[str]:
    return [device["device_id"] for device in user.devices()]


def test_appservice_creates_a_device_for_its_user(appservice):
    """PUT /devices/{deviceId} by the service for an unknown device creates it: 201.

    Spec: application-service-api/#creating-devices — services create devices with this
    endpoint; client-server-api/#put_matrixclientv3devicesdeviceid — 201 when the
    application service created the device.
    """
    user = appservice.register_user()
    response = user.do("PUT", ["devices", "BRIDGEDEV1"], json={"display_name": "bridge"})
    expect_status(response, 201)


def test_updating_a_created_device_answers_200(appservice):
    """Once the device exists, the same PUT updates it and answers 200, not 201.

    Spec: client-server-api/#put_matrixclientv3devicesdeviceid — 200 for an existing
    device (updated), 201 only when the call created it.
    """
    user = appservice.register_user()
    create_device(user, "BRIDGEDEV1", "first name")
    expect_ok(user.do("PUT", ["devices", "BRIDGEDEV1"], json={"display_name": "second name"}),
              "rename the device the service created")
    assert user.get_device("BRIDGEDEV1").get("display_name") == "second name"


def test_created_device_is_listed_for_the_user(appservice):
    """A device the service created is one of the user's devices, with its display name.

    Spec: application-service-api/#creating-devices — the endpoint creates a device of
    the asserted user; client-server-api/#get_matrixclientv3devices lists it.
    """
    user = appservice.register_user()
    name = device_name(appservice, "bridged phone")
    create_device(user, "BRIDGEDEV2", name)
    listed = {device["device_id"]: device for device in user.devices()}
    assert "BRIDGEDEV2" in listed, f"GET /devices lists {sorted(listed)}"
    assert listed["BRIDGEDEV2"].get("display_name") == name, listed["BRIDGEDEV2"]


def test_appservice_deletes_a_device_without_uia(appservice):
    """DELETE /devices/{deviceId} by the service succeeds at once, with no UIA round.

    Spec: application-service-api/#deleting-devices — the endpoint MUST NOT require
    user-interactive authentication when used by an application service.
    """
    user = appservice.register_user()
    create_device(user, "DOOMEDDEV")
    expect_ok(user.do("DELETE", ["devices", "DOOMEDDEV"], json={}),
              "delete the device as the application service, without auth")
    expect_error(user.do("GET", ["devices", "DOOMEDDEV"]), 404)
    assert "DOOMEDDEV" not in device_ids(user)


def test_appservice_bulk_deletes_devices_without_uia(appservice):
    """POST /delete_devices by the service deletes them all, with no UIA round.

    Spec: application-service-api/#deleting-devices — the endpoint MUST NOT require
    user-interactive authentication when used by an application service.
    """
    user = appservice.register_user()
    for device_id in ("KEEPDEV", "GONEDEV1", "GONEDEV2"):
        create_device(user, device_id)
    expect_ok(user.do("POST", ["delete_devices"], json={"devices": ["GONEDEV1", "GONEDEV2"]}),
              "bulk-delete devices as the application service, without auth")
    assert sorted(device_ids(user)) == ["KEEPDEV"], f"left: {device_ids(user)}"


def test_user_still_needs_uia_to_delete_a_device(hs, appservice):
    """An ordinary user deleting a device still meets user-interactive authentication.

    Spec: client-server-api/#delete_matrixclientv3devicesdeviceid — the endpoint uses
    UIA except when used by an application service: without `auth`, 401 with flows.
    """
    alice = hs.register()
    phone = alice.new_device()
    body = expect_status(alice.do("DELETE", ["devices", phone.device_id], json={}), 401)
    assert body.get("flows"), f"a 401 without UIA flows: {body}"
    assert phone.device_id in device_ids(alice)


def test_user_still_needs_uia_to_bulk_delete_devices(hs, appservice):
    """An ordinary user's POST /delete_devices still meets user-interactive authentication.

    Spec: client-server-api/#post_matrixclientv3delete_devices — UIA applies to everyone
    but application services: without `auth`, 401 with flows.
    """
    alice = hs.register()
    phone = alice.new_device()
    body = expect_status(alice.do("POST", ["delete_devices"],
                                  json={"devices": [phone.device_id]}), 401)
    assert body.get("flows"), f"a 401 without UIA flows: {body}"
    assert phone.device_id in device_ids(alice)


def test_user_cannot_create_a_device_with_put(hs, appservice):
    """Only services create devices by PUT: an ordinary user's PUT of an unknown one is 404.

    Spec: client-server-api/#put_matrixclientv3devicesdeviceid — creation is for
    application services; for others an unknown device is 404 (no such device).
    """
    alice = hs.register()
    expect_status(alice.do("PUT", ["devices", "NOSUCHDEVICE"], json={"display_name": "x"}), 404)
    assert "NOSUCHDEVICE" not in device_ids(alice)
