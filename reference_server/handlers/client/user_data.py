# SPDX-License-Identifier: Apache-2.0
"""profile.yaml, device_management.yaml, account-data.yaml, filter.yaml."""
from __future__ import annotations

from ... import errors
from ...appservices.calls import AppServiceCalls, ask_then_retry
from ...appservices.registry import AppServiceRegistry
from .confirm import confirm_password
from ...federation.client import FederationClient, FederationError
from ...http.request import Request, Response
from ...protocol.events import server_of
from ...services.accounts import AccountService, device_json
from ...services.ephemeral import AccountDataService, FilterService
from ...services.profile import ProfileService
from ...services.uia import UserInteractiveAuth
from ...types import JsonDict


class ProfileHandlers:
    def __init__(self, *, profiles: ProfileService, appservices: AppServiceRegistry,
                 calls: AppServiceCalls, federation: FederationClient, is_local) -> None:
        self._federation = federation
        self._is_local = is_local
        self._profiles = profiles
        self._appservices = appservices
        self._calls = calls

    async def _with_query(self, user_id: str, lookup):
        """An unknown user in an application service's namespace: ask the service first."""
        return await ask_then_retry(lookup, self._appservices.user_owner(user_id),
                                    lambda service: self._calls.user_exists(service, user_id))

    async def get_user_profile(self, request: Request) -> JsonDict:
        user_id = request.path["userId"]
        if not self._is_local(user_id):
            return await self._remote(user_id, None)
        return await self._with_query(user_id, lambda: self._profiles.get(user_id))

    async def get_profile_field(self, request: Request) -> JsonDict:
        key, user_id = request.path["keyName"], request.path["userId"]
        if not self._is_local(user_id):
            answer = await self._remote(user_id, key)
            if key not in answer:
                raise errors.not_found(f"The profile has no {key}.")
            return {key: answer[key]}
        return {key: await self._with_query(user_id,
                                            lambda: self._profiles.get_field(user_id, key))}

    async def _remote(self, user_id: str, field: str | None) -> JsonDict:
        """Another server's user: ask their server (server-server, query/profile)."""
        query = {"user_id": user_id, **({"field": field} if field else {})}
        try:
            answer = await self._federation.request(
                "GET", server_of(user_id), "/_matrix/federation/v1/query/profile",
                query=query)
        except FederationError as error:
            if error.status == 404:
                raise errors.not_found("No such user.") from None
            raise errors.MatrixError(502, "M_UNKNOWN", f"Their server did not answer: {error}")
        return answer if isinstance(answer, dict) else {}

    async def set_profile_field(self, request: Request) -> JsonDict:
        key = request.path["keyName"]
        if key not in request.body:
            raise errors.missing_param(f"The body must contain {key}.")
        self._profiles.set_field(request.user.user_id, request.path["userId"], key,
                                 request.body[key])
        return {}

    async def delete_profile_field(self, request: Request) -> JsonDict:
        self._profiles.delete_field(request.user.user_id, request.path["userId"],
                                    request.path["keyName"])
        return {}


class DeviceHandlers:
    def __init__(self, *, accounts: AccountService, uia: UserInteractiveAuth) -> None:
        self._accounts = accounts
        self._uia = uia

    async def get_devices(self, request: Request) -> JsonDict:
        return {"devices": [device_json(d) for d in self._accounts.devices(request.user.user_id)]}

    async def get_device(self, request: Request) -> JsonDict:
        return device_json(self._accounts.device(request.user.user_id, request.path["deviceId"]))

    async def update_device(self, request: Request) -> Response | JsonDict:
        user_id, device_id = request.user.user_id, request.path["deviceId"]
        name = request.body.get("display_name")
        if request.user.appservice_id and not self._accounts.has_device(user_id, device_id):
            # MSC4190 (spec 1.17): an application service creates devices for its users.
            self._accounts.create_device(user_id, device_id, name)
            return Response({}, status=201)
        self._accounts.rename_device(user_id, device_id, name)
        return {}

    async def delete_device(self, request: Request) -> JsonDict:
        # No existence check: a device already gone (or never ours) is deleted with 200.
        user_id = request.user.user_id
        await self._confirm_password(request)
        self._accounts.delete_device(user_id, request.path["deviceId"])
        return {}

    async def delete_devices(self, request: Request) -> JsonDict:
        await self._confirm_password(request)
        for device_id in request.body["devices"]:
            self._accounts.delete_device(request.user.user_id, device_id)
        return {}

    async def _confirm_password(self, request: Request) -> None:
        await confirm_password(self._uia, self._accounts, request)


class AccountDataHandlers:
    def __init__(self, *, account_data: AccountDataService, filters: FilterService,
                 room_exists) -> None:
        self._data = account_data
        self._filters = filters
        self._room_exists = room_exists

    def _own(self, request: Request) -> str:
        if request.path["userId"] != request.user.user_id:
            raise errors.forbidden("You may only access your own account data.")
        return request.user.user_id

    async def set_account_data(self, request: Request) -> JsonDict:
        self._data.put(self._own(request), None, request.path["type"], request.body)
        return {}

    async def get_account_data(self, request: Request) -> JsonDict:
        return self._data.get(self._own(request), None, request.path["type"])

    async def set_account_data_per_room(self, request: Request) -> JsonDict:
        user_id = self._own(request)
        self._room_exists(request.path["roomId"])
        self._data.put(user_id, request.path["roomId"], request.path["type"], request.body)
        return {}

    async def get_account_data_per_room(self, request: Request) -> JsonDict:
        user_id = self._own(request)
        return self._data.get(user_id, request.path["roomId"], request.path["type"])

    async def define_filter(self, request: Request) -> JsonDict:
        return {"filter_id": self._filters.define(self._own(request), request.body)}

    async def get_filter(self, request: Request) -> JsonDict:
        return self._filters.get(self._own(request), request.path["filterId"])
