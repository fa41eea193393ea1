# SPDX-License-Identifier: Apache-2.0
"""user_devices.yaml and user_keys.yaml: other servers asking about our users' devices
and keys, on behalf of their users."""
from __future__ import annotations

from collections.abc import Callable

from ... import errors
from ...http.request import Request
from ...services.cross_signing import CrossSigning
from ...services.device_lists import DeviceLists
from ...services.e2e_keys import E2eKeys
from ...services.key_queries import KeyQueries
from ...types import JsonDict, UserId


class FederationE2eeHandlers:
    def __init__(self, *, keys: E2eKeys, queries: KeyQueries, cross_signing: CrossSigning,
                 device_lists: DeviceLists, is_local: Callable[[UserId], bool]) -> None:
        self._keys = keys
        self._queries = queries
        self._cross_signing = cross_signing
        self._device_lists = device_lists
        self._is_local = is_local

    def _require_local(self, user_ids) -> None:
        for user_id in user_ids:
            if not self._is_local(user_id):
                raise errors.invalid_param(f"{user_id} is not a user of this server.")

    async def get_user_devices(self, request: Request) -> JsonDict:
        user_id = request.path["userId"]
        self._require_local([user_id])
        devices = []
        for device_id, keys in self._keys.device_keys(user_id).items():
            name = keys.pop("unsigned", {}).get("device_display_name")
            device = {"device_id": device_id, "keys": keys}
            if name is not None:
                device["device_display_name"] = name
            devices.append(device)
        answer: JsonDict = {"user_id": user_id, "stream_id": self._device_lists.stream_id(user_id),
                            "devices": devices}
        for usage, key in self._cross_signing.keys_for(user_id, None).items():
            answer[f"{usage}_key"] = key
        return answer

    async def query_user_encryption_keys(self, request: Request) -> JsonDict:
        wanted = request.body["device_keys"]
        self._require_local(wanted)
        answer = self._queries.local_query(None, wanted)
        answer.pop("user_signing_keys", None)
        return answer

    async def claim_user_encryption_keys(self, request: Request) -> JsonDict:
        wanted = request.body["one_time_keys"]
        self._require_local(wanted)
        return self._queries.local_claim(wanted)
