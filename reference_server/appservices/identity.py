# SPDX-License-Identifier: Apache-2.0
"""Who an application service request acts as (application service API, identity assertion).

A request with an `as_token` acts as the service's bot, or as the user named by the
`user_id` query parameter when that user is in the service's namespace. MSC4326 adds
`device_id` (unstable: `org.matrix.msc3202.device_id`) to pick one of that user's devices.
"""
from __future__ import annotations

from .. import errors
from ..http.request import Requester
from ..storage.accounts import DeviceStore
from .registration import AppService

DEVICE_PARAMS = (("device_id", "M_UNKNOWN_DEVICE"),
                 ("org.matrix.msc3202.device_id", "ORG.MATRIX.MSC4326.M_UNKNOWN_DEVICE"))


class AppServiceIdentity:
    def __init__(self, *, services: list[AppService], devices: DeviceStore, user_exists) -> None:
        self._by_token = {s.as_token: s for s in services}
        self._devices = devices
        self._user_exists = user_exists

    def service_for_token(self, token: str) -> AppService | None:
        return self._by_token.get(token)

    def requester(self, service: AppService, token: str,
                  query: dict[str, list[str]]) -> Requester:
        user_id = (query.get("user_id") or [service.sender])[-1]
        if not service.owns_user(user_id):
            raise errors.forbidden(f"{user_id} is not in the application service's namespace.")
        if user_id != service.sender and not self._user_exists(user_id):
            raise errors.forbidden(f"The application service has not registered {user_id}.")
        device_id = None
        for param, errcode in DEVICE_PARAMS:
            if query.get(param):
                device_id = query[param][-1]
                if self._devices.get(user_id, device_id) is None:
                    raise errors.MatrixError(400, errcode, f"{user_id} has no device {device_id}.")
                break
        return Requester(user_id, device_id, token, appservice_id=service.id)
