# SPDX-License-Identifier: Apache-2.0
"""Loading and checking application service registration files.

Spec (application service API, registration): each file names the service, its URL, the
token it uses with us (`as_token`) and the one we use with it (`hs_token`), its bot's
localpart, and the user, alias and room namespaces it claims (regexes, exclusive or
not). A bad file stops start-up with a message naming the file and the problem.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

EPHEMERAL_KEYS = ("receive_ephemeral", "de.sorunome.msc2409.push_ephemeral")


class RegistrationError(ValueError):
    """A registration file cannot be used."""


@dataclass(frozen=True)
class Namespace:
    regex: re.Pattern[str]
    exclusive: bool

    def matches(self, value: str) -> bool:
        # Anchored at the start, as deployed registrations and servers expect.
        return self.regex.match(value) is not None


@dataclass(frozen=True)
class AppService:
    id: str
    url: str | None
    as_token: str
    hs_token: str
    sender: str  # the bot's full user ID
    users: tuple[Namespace, ...]
    aliases: tuple[Namespace, ...]
    rooms: tuple[Namespace, ...]
    rate_limited: bool
    receive_ephemeral: bool
    protocols: tuple[str, ...]

    def owns_user(self, user_id: str) -> bool:
        return user_id == self.sender or any(n.matches(user_id) for n in self.users)

    def claims_user_exclusively(self, user_id: str) -> bool:
        return any(n.exclusive and n.matches(user_id) for n in self.users)

    def owns_alias(self, alias: str) -> bool:
        return any(n.matches(alias) for n in self.aliases)

    def claims_alias_exclusively(self, alias: str) -> bool:
        return any(n.exclusive and n.matches(alias) for n in self.aliases)

    def owns_room(self, room_id: str) -> bool:
        return any(n.matches(room_id) for n in self.rooms)


def load_registrations(paths: list[Path], server_name: str) -> list[AppService]:
    services = [_load(path, server_name) for path in paths]
    _check_unique(services, "id", lambda s: s.id)
    _check_unique(services, "as_token", lambda s: s.as_token)
    _check_unique(services, "hs_token", lambda s: s.hs_token)
    return services


def _load(path: Path, server_name: str) -> AppService:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise RegistrationError(f"{path}: cannot read the registration: {error}") from None
    if not isinstance(data, dict):
        raise RegistrationError(f"{path}: a registration must be a YAML mapping")
    for key in ("id", "as_token", "hs_token", "sender_localpart"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise RegistrationError(f"{path}: `{key}` is required and must be a string")
    if "url" not in data or not (data["url"] is None or isinstance(data["url"], str)):
        raise RegistrationError(f"{path}: `url` is required (a URL, or null for no pushes)")
    namespaces = data.get("namespaces")
    if not isinstance(namespaces, dict):
        raise RegistrationError(f"{path}: `namespaces` is required and must be a mapping")
    return AppService(
        id=data["id"], url=data["url"], as_token=data["as_token"], hs_token=data["hs_token"],
        sender=f"@{data['sender_localpart']}:{server_name}",
        users=_namespaces(path, namespaces, "users"),
        aliases=_namespaces(path, namespaces, "aliases"),
        rooms=_namespaces(path, namespaces, "rooms"),
        rate_limited=bool(data.get("rate_limited", True)),
        receive_ephemeral=any(bool(data.get(k)) for k in EPHEMERAL_KEYS),
        protocols=tuple(data.get("protocols") or ()),
    )


def _namespaces(path: Path, namespaces: dict, kind: str) -> tuple[Namespace, ...]:
    entries = namespaces.get(kind) or []
    if not isinstance(entries, list):
        raise RegistrationError(f"{path}: namespaces.{kind} must be a list")
    found = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("regex"), str):
            raise RegistrationError(f"{path}: every namespaces.{kind} entry needs a `regex`")
        try:
            regex = re.compile(entry["regex"])
        except re.error as error:
            raise RegistrationError(
                f"{path}: namespaces.{kind} regex {entry['regex']!r} is invalid: {error}") from None
        exclusive = entry.get("exclusive", False)
        if not isinstance(exclusive, bool):
            raise RegistrationError(f"{path}: namespaces.{kind} `exclusive` must be a boolean")
        found.append(Namespace(regex, exclusive))
    return tuple(found)


def _check_unique(services: list[AppService], what: str, key) -> None:
    seen: dict[str, str] = {}
    for service in services:
        value = key(service)
        if value in seen:
            raise RegistrationError(f"two application services share the same {what} "
                                    f"({seen[value]} and {service.id})")
        seen[value] = service.id
