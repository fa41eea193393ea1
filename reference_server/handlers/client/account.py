# SPDX-License-Identifier: Apache-2.0
"""registration, login, logout, whoami, password_management, account_deactivation."""
from __future__ import annotations

from ... import errors
from ...appservices.registry import AppServiceRegistry
from ...http.request import Request
from ...services.accounts import AccountService, Session
from ...services.uia import UserInteractiveAuth
from ...types import JsonDict


APPSERVICE_LOGIN = "m.login.application_service"


class AccountHandlers:
    def __init__(self, *, accounts: AccountService, uia: UserInteractiveAuth,
                 registration_open: bool, appservices: AppServiceRegistry) -> None:
        self._appservices = appservices
        self._accounts = accounts
        self._uia = uia
        self._open = registration_open

    # registration.yaml ------------------------------------------------------------
    async def register(self, request: Request) -> JsonDict:
        body = request.body
        if body.get("type") == APPSERVICE_LOGIN:
            return await self._register_for_appservice(request)
        if request.query.get("kind", "user") == "guest":
            user_id = await self._accounts.register(None, None, guest=True)
            return self._session_body(body, user_id)
        if not self._open:
            raise errors.forbidden("Registration is disabled on this server.")
        username = body.get("username")
        if username is not None:
            if not self._accounts.username_available(username.lower()):
                raise errors.user_in_use()
            # Spec: M_EXCLUSIVE (checked before UIA) for IDs an application service claims.
            if self._appservices.exclusive_user_owner(
                    self._accounts.user_id_for(username.lower())) is not None:
                raise errors.MatrixError(400, "M_EXCLUSIVE",
                                         "That user ID is reserved by an application service.")
        await self._uia.authenticate(body.get("auth"), flows=[["m.login.dummy"]],
                                     checks={"m.login.dummy": _dummy})
        user_id = await self._accounts.register(
            username.lower() if username else None, body.get("password"))
        return self._session_body(body, user_id)

    async def _register_for_appservice(self, request: Request) -> JsonDict:
        """An application service registering a user in its namespace: no UIA."""
        service = self._service_of(request)
        username = request.body.get("username")
        if not isinstance(username, str):
            raise errors.missing_param("An application service must choose the username.")
        user_id = self._accounts.user_id_for(username.lower())
        if not service.owns_user(user_id):
            raise errors.MatrixError(400, "M_EXCLUSIVE",
                                     f"{user_id} is outside the application service's namespace.")
        await self._accounts.register(username.lower(), None, appservice_id=service.id)
        return self._session_body(request.body, user_id)

    def _service_of(self, request: Request):
        requester = request.requester
        if requester is None:
            raise errors.missing_token()
        service = self._appservices.by_id(requester.appservice_id or "")
        if service is None:
            # Spec (application service API): a token that is not an as_token is invalid
            # authentication for this login type, so 401 M_UNKNOWN_TOKEN, not 403.
            raise errors.unknown_token("Only an application service's token may use this "
                                       "login type.")
        return service

    def _session_body(self, body: JsonDict, user_id: str) -> JsonDict:
        if body.get("inhibit_login"):
            return {"user_id": user_id}
        session = self._accounts.start_session(
            user_id, device_id=body.get("device_id"),
            display_name=body.get("initial_device_display_name"))
        return _session_json(session)

    async def check_username_availability(self, request: Request) -> JsonDict:
        username = request.query["username"]
        if not self._accounts.username_available(username):
            raise errors.user_in_use()
        # Spec: the check includes that no application service claims the name exclusively.
        if self._appservices.exclusive_user_owner(
                self._accounts.user_id_for(username.lower())) is not None:
            raise errors.MatrixError(400, "M_EXCLUSIVE",
                                     "That user ID is reserved by an application service.")
        return {"available": True}

    # login.yaml ---------------------------------------------------------------------
    async def get_login_flows(self, request: Request) -> JsonDict:
        return {"flows": [{"type": "m.login.password"}, {"type": APPSERVICE_LOGIN}]}

    async def login(self, request: Request) -> JsonDict:
        body = request.body
        if body["type"] == APPSERVICE_LOGIN:
            service = self._service_of(request)
            user = _login_user(body)
            user_id = user if user.startswith("@") else self._accounts.user_id_for(user.lower())
            if not service.owns_user(user_id):
                raise errors.MatrixError(403, "M_EXCLUSIVE",
                                         f"{user_id} is outside the application service's namespace.")
            if not self._accounts.exists(user_id):
                raise errors.forbidden(f"{user_id} does not exist.")
            session = self._accounts.start_session(
                user_id, device_id=body.get("device_id"),
                display_name=body.get("initial_device_display_name"))
            return _session_json(session)
        if body["type"] != "m.login.password":
            raise errors.unknown(f"Login type {body['type']} is not supported.")
        user = _login_user(body)
        password = body.get("password")
        if not isinstance(password, str):
            raise errors.bad_json("m.login.password needs a password.")
        user_id = await self._accounts.login_with_password(user, password)
        session = self._accounts.start_session(
            user_id, device_id=body.get("device_id"),
            display_name=body.get("initial_device_display_name"))
        return _session_json(session)

    # logout.yaml ------------------------------------------------------------------------
    async def logout(self, request: Request) -> JsonDict:
        self._accounts.logout(request.user)
        return {}

    async def logout_all(self, request: Request) -> JsonDict:
        self._accounts.logout_all(request.user.user_id)
        return {}

    # whoami.yaml --------------------------------------------------------------------------
    async def get_token_owner(self, request: Request) -> JsonDict:
        body = {"user_id": request.user.user_id, "is_guest": request.user.is_guest}
        if request.user.device_id:
            body["device_id"] = request.user.device_id
        return body

    # password_management.yaml, account_deactivation.yaml -------------------------------------
    async def change_password(self, request: Request) -> JsonDict:
        requester = request.requester
        user_id = await self._password_uia(request, requester.user_id if requester else None)
        if requester is None or requester.user_id != user_id:
            raise errors.forbidden("Authenticate as the account whose password changes.")
        await self._accounts.change_password(
            requester, request.body["new_password"],
            logout_devices=request.body.get("logout_devices", True))
        return {}

    async def deactivate_account(self, request: Request) -> JsonDict:
        requester = request.requester
        user_id = await self._password_uia(request, requester.user_id if requester else None)
        if requester is not None and user_id != requester.user_id:
            raise errors.forbidden("Authenticate as the account being deactivated.")
        self._accounts.deactivate(user_id)
        # No 3PIDs are ever bound here, and with nothing to unbind the spec requires success.
        return {"id_server_unbind_result": "success"}

    async def _password_uia(self, request: Request, expected: str | None) -> str:
        """UIA with m.login.password; returns the user the password proved."""
        async def check(auth: JsonDict) -> str:
            identifier = _login_user(auth) if ("identifier" in auth or "user" in auth) else expected
            if identifier is None:
                raise errors.bad_json("Say which user the password is for.")
            password = auth.get("password")
            if not isinstance(password, str):
                raise errors.bad_json("m.login.password needs a password.")
            user_id = await self._accounts.login_with_password(identifier, password)
            if expected is not None and user_id != expected:
                # A failed stage (401 with the flows), not a refusal the spec does not list.
                raise errors.forbidden("Authenticate as the user of this access token.")
            return user_id
        user_id = await self._uia.authenticate(request.body.get("auth"),
                                               flows=[["m.login.password"]],
                                               checks={"m.login.password": check})
        assert user_id is not None
        return user_id


async def _dummy(auth: JsonDict) -> None:
    return None


def _login_user(body: JsonDict) -> str:
    identifier = body.get("identifier")
    if isinstance(identifier, dict):
        if identifier.get("type") != "m.id.user" or not isinstance(identifier.get("user"), str):
            raise errors.unknown("Only m.id.user identifiers are supported.")
        return identifier["user"]
    if isinstance(body.get("user"), str):
        return body["user"]
    raise errors.bad_json("Say which user is logging in (identifier).")


def _session_json(session: Session) -> JsonDict:
    return {"user_id": session.user_id, "access_token": session.access_token,
            "device_id": session.device_id}
