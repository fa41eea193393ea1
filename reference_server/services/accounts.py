# SPDX-License-Identifier: Apache-2.0
"""Accounts: registration, login, access tokens, devices, passwords, deactivation."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .. import errors
from ..http.request import Requester
from ..storage.accounts import DeviceRecord, DeviceStore, TokenStore, UserStore
from ..storage.database import Database
from ..types import DeviceId, JsonDict, UserId
from .clock import now_ms, random_string
from .passwords import Passwords

# Spec (appendices, user identifiers): localparts use a-z, 0-9, and . _ = - / +
_LOCALPART = re.compile(r"^[a-z0-9._=\-/+]+$")


@dataclass(frozen=True)
class Session:
    user_id: UserId
    device_id: DeviceId | None
    access_token: str | None


class AccountService:
    def __init__(self, *, db: Database, users: UserStore, devices: DeviceStore,
                 tokens: TokenStore, server_name: str,
                 passwords: Passwords) -> None:
        self._db = db
        self._users = users
        self._devices = devices
        self._tokens = tokens
        self.server_name = server_name
        self._passwords = passwords
        self._requesters: dict[str, Requester] = {}
        self._device_listeners: list = []

    def on_device_change(self, listener) -> None:
        """Call `listener(user_id, device_id, deleted)` when a device is created, renamed
        or deleted (inside the transaction that does it)."""
        self._device_listeners.append(listener)

    def _device_changed(self, user_id: UserId, device_id: DeviceId, *, deleted: bool) -> None:
        for listener in self._device_listeners:
            listener(user_id, device_id, deleted)

    def _new_device(self, user_id: UserId, device_id: DeviceId, name: str | None) -> None:
        if self._devices.get(user_id, device_id) is None:
            self._devices.upsert(user_id, device_id, name)
            self._device_changed(user_id, device_id, deleted=False)

    def _drop_device(self, user_id: UserId, device_id: DeviceId) -> None:
        if self._devices.get(user_id, device_id) is not None:
            self._devices.delete(user_id, device_id)
            self._device_changed(user_id, device_id, deleted=True)

    # identity -------------------------------------------------------------------
    def user_id_for(self, localpart: str) -> UserId:
        return f"@{localpart}:{self.server_name}"

    def validate_localpart(self, localpart: str) -> None:
        if not _LOCALPART.match(localpart):
            raise errors.invalid_username(
                "User ID localparts may only contain a-z, 0-9 and . _ = - / +")
        if len(self.user_id_for(localpart).encode()) > 255:
            raise errors.invalid_username("The user ID would be longer than 255 bytes.")

    def is_local(self, user_id: UserId) -> bool:
        return user_id.endswith(":" + self.server_name)

    def exists(self, user_id: UserId) -> bool:
        return self._users.get(user_id) is not None

    # registration ------------------------------------------------------------------
    async def register(self, localpart: str | None, password: str | None, *, guest: bool = False,
                       appservice_id: str | None = None) -> UserId:
        if localpart is None:
            localpart = self._fresh_localpart()
        self.validate_localpart(localpart)
        user_id = self.user_id_for(localpart)
        password_hash = await self._passwords.hash(password) if password else None
        with self._db.transaction():
            if not self._users.create(user_id, password_hash, now_ms=now_ms(), is_guest=guest,
                                      appservice_id=appservice_id):
                raise errors.user_in_use()
        return user_id

    def _fresh_localpart(self) -> str:
        while True:
            candidate = random_string(12, "0123456789")
            if not self.exists(self.user_id_for(candidate)):
                return candidate

    def username_available(self, localpart: str) -> bool:
        self.validate_localpart(localpart)
        return not self.exists(self.user_id_for(localpart))

    # sessions ------------------------------------------------------------------------
    def start_session(self, user_id: UserId, *, device_id: DeviceId | None,
                      display_name: str | None) -> Session:
        """Give a device (existing or new) a fresh access token."""
        device_id = device_id or random_string(10, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        token = "mrs_" + random_string(40)
        with self._db.transaction():
            self._forget_tokens(self._tokens.delete_for_device(user_id, device_id))
            self._new_device(user_id, device_id, display_name)
            self._tokens.create(token, user_id, device_id, now_ms=now_ms())
        return Session(user_id, device_id, token)

    async def authenticate(self, token: str) -> Requester | None:
        cached = self._requesters.get(token)
        if cached is not None:
            return cached
        record = self._tokens.get(token)
        if record is None:
            return None
        user = self._users.get(record.user_id)
        if user is None or user.deactivated:
            return None
        requester = Requester(record.user_id, record.device_id, token, is_guest=user.is_guest)
        self._requesters[token] = requester
        return requester

    def _forget_tokens(self, tokens: list[str]) -> None:
        for token in tokens:
            self._requesters.pop(token, None)

    async def login_with_password(self, user: str, password: str) -> UserId:
        user_id = user if user.startswith("@") else self.user_id_for(user.lower())
        record = self._users.get(user_id) or self._users.find_case_insensitive(user_id)
        if record is None or not await self._passwords.check(record.password_hash, password):
            if record is not None and record.deactivated:
                raise errors.user_deactivated()
            raise errors.forbidden("Invalid username or password.")
        if record.deactivated:
            raise errors.user_deactivated()
        return record.user_id

    async def check_password_for(self, user_id: UserId, password: str) -> None:
        record = self._users.get(user_id)
        if record is None or not await self._passwords.check(record.password_hash, password):
            raise errors.forbidden("Invalid password.")

    def logout(self, requester: Requester) -> None:
        with self._db.transaction():
            if requester.device_id:
                self._forget_tokens(self._tokens.delete_for_device(requester.user_id,
                                                                   requester.device_id))
                self._drop_device(requester.user_id, requester.device_id)
            self._tokens.delete(requester.access_token)
        self._forget_tokens([requester.access_token])

    def logout_all(self, user_id: UserId) -> None:
        with self._db.transaction():
            self._forget_tokens(self._tokens.delete_for_user(user_id))
            for device in self._devices.list(user_id):
                self._drop_device(user_id, device.device_id)

    # passwords and deactivation ------------------------------------------------------
    async def change_password(self, requester: Requester, new_password: str, *,
                              logout_devices: bool) -> None:
        password_hash = await self._passwords.hash(new_password)
        with self._db.transaction():
            self._users.set_password_hash(requester.user_id, password_hash)
            if logout_devices:
                for device in self._devices.list(requester.user_id):
                    if device.device_id != requester.device_id:
                        self.delete_device(requester.user_id, device.device_id)

    def deactivate(self, user_id: UserId) -> None:
        with self._db.transaction():
            self._users.deactivate(user_id)
            self.logout_all(user_id)

    # devices ---------------------------------------------------------------------------
    def devices(self, user_id: UserId) -> list[DeviceRecord]:
        return self._devices.list(user_id)

    def device(self, user_id: UserId, device_id: DeviceId) -> DeviceRecord:
        record = self._devices.get(user_id, device_id)
        if record is None:
            raise errors.not_found("No such device.")
        return record

    def has_device(self, user_id: UserId, device_id: DeviceId) -> bool:
        return self._devices.get(user_id, device_id) is not None

    def create_device(self, user_id: UserId, device_id: DeviceId, name: str | None) -> None:
        """A device without an access token (an application service acts for it)."""
        with self._db.transaction():
            self._new_device(user_id, device_id, name)

    def rename_device(self, user_id: UserId, device_id: DeviceId, name: str | None) -> None:
        self.device(user_id, device_id)
        if name is not None:
            with self._db.transaction():
                self._devices.set_display_name(user_id, device_id, name)
                self._device_changed(user_id, device_id, deleted=False)

    def delete_device(self, user_id: UserId, device_id: DeviceId) -> None:
        with self._db.transaction():
            self._forget_tokens(self._tokens.delete_for_device(user_id, device_id))
            self._drop_device(user_id, device_id)

    def touch_device(self, requester: Requester, ip: str) -> None:
        if requester.device_id:
            self._devices.touch(requester.user_id, requester.device_id, ip=ip, now_ms=now_ms())


def device_json(device: DeviceRecord) -> JsonDict:
    body: JsonDict = {"device_id": device.device_id}
    if device.display_name is not None:
        body["display_name"] = device.display_name
    if device.last_seen_ts is not None:
        body["last_seen_ts"] = device.last_seen_ts
    if device.last_seen_ip is not None:
        body["last_seen_ip"] = device.last_seen_ip
    return body

