# SPDX-License-Identifier: Apache-2.0
"""keys.yaml, cross_signing.yaml, to_device.yaml: end-to-end encryption and send-to-device."""
from __future__ import annotations

from ...http.request import Request
from ...services.accounts import AccountService
from ...services.cross_signing import CrossSigning
from ...services.device_lists import DeviceLists
from ...services.e2e_keys import E2eKeys
from ...services.key_queries import KeyQueries
from ...services.sync import SyncToken
from ...services.to_device import ToDeviceMessaging
from ...services.uia import UserInteractiveAuth
from ...types import JsonDict
from .confirm import confirm_password


class E2eKeyHandlers:
    def __init__(self, *, keys: E2eKeys, queries: KeyQueries, cross_signing: CrossSigning,
                 device_lists: DeviceLists, uia: UserInteractiveAuth,
                 accounts: AccountService) -> None:
        self._keys = keys
        self._queries = queries
        self._cross_signing = cross_signing
        self._device_lists = device_lists
        self._uia = uia
        self._accounts = accounts

    async def upload_keys(self, request: Request) -> JsonDict:
        return self._keys.upload(request.user.user_id, request.user.device_id, request.body)

    async def query_keys(self, request: Request) -> JsonDict:
        return await self._queries.query(request.user.user_id, request.body["device_keys"],
                                         timeout_ms=request.body.get("timeout"))

    async def claim_keys(self, request: Request) -> JsonDict:
        return await self._queries.claim(request.body["one_time_keys"],
                                         timeout_ms=request.body.get("timeout"))

    async def get_keys_changes(self, request: Request) -> JsonDict:
        since = SyncToken.parse(request.query["from"])
        SyncToken.parse(request.query["to"])  # only a hint, but it must be a token
        changed, left = self._device_lists.delta(request.user.user_id, since.stream)
        return {"changed": changed, "left": left}

    async def upload_cross_signing_keys(self, request: Request) -> JsonDict:
        user_id = request.user.user_id
        if self._cross_signing.needs_auth(user_id, request.body):
            await confirm_password(self._uia, self._accounts, request)
        self._cross_signing.upload(user_id, request.body)
        return {}

    async def upload_cross_signing_signatures(self, request: Request) -> JsonDict:
        return self._cross_signing.upload_signatures(request.user.user_id, request.body)


class ToDeviceHandlers:
    def __init__(self, *, to_device: ToDeviceMessaging) -> None:
        self._to_device = to_device

    async def send_to_device(self, request: Request) -> JsonDict:
        user = request.user
        # A transaction ID is scoped to the device and the endpoint, event type included.
        txn_key = f"{request.path['eventType']}\n{request.path['txnId']}"
        self._to_device.send(user.user_id, user.device_id, request.path["eventType"], txn_key,
                             request.body["messages"])
        return {}
