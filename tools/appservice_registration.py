# SPDX-License-Identifier: Apache-2.0
"""Writes the registration file of the suite's application service, for a target to load.

    python -m tools.appservice_registration write FILE [--url http://127.0.0.1:29328]
        [--id conformance-suite] [--sender-localpart _conformance_bot] [--seed TEXT]

The suite plays an application service (spec: application-service-api/#registration):
the target's administrator loads this file, and the suite's fake service listens at its
`url` and is given the same file with `--appservice-registration FILE`. Tokens are
random unless `--seed` is given, so that a CI job can write identical files in two
places. From Python, `write_registration(path, url=...)` does the same and returns the
registration; `build_registration` makes it without writing (the harness binds a free
port first, then writes the URL it got).

What is in it, and why:
- users `@confas_.*:.*` exclusive: every test user the service creates or masquerades as;
- users `@confshared_.*:.*` not exclusive: users that register normally yet interest the
  service, to test non-exclusive namespaces;
- aliases `#confas_.*:.*` exclusive: alias queries and alias-based interest;
  the spec suggests that exclusive namespaces begin with an underscore, but servers
  reserve such localparts for their own use (Synapse refuses ordinary registrations
  starting with `_`), which would hide the very checks the tests make (M_EXCLUSIVE for
  others, ordinary registration in the non-exclusive namespace); the prefixes are
  distinct enough from the suite's ordinary users (`t-<worker>-...`) never to meet them;
- rooms: one non-exclusive regex that matches no room ID a server generates, since the
  suite cannot know room IDs in advance; tests find rooms through users and aliases;
- `receive_ephemeral` and its unstable name `de.sorunome.msc2409.push_ephemeral`, so
  that typing, receipts and presence are pushed (MSC2409, v1.13);
- `rate_limited: false`, so that the target never answers the suite's service with 429;
- `protocols: [conformance]`: one third-party network, so that the target's third-party
  lookups (`/thirdparty/...`) are passed on to the suite's service.
MSC4190 defines no registration flag (it lets homeservers pick their own way to opt in),
so none is written; `extra=` adds implementation-specific keys when a target needs them.
"""
from __future__ import annotations

import argparse
import hashlib
import re
import secrets
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

JsonDict = dict[str, Any]
DEFAULT_URL = "http://127.0.0.1:29328"
DEFAULT_ID = "conformance-suite"
DEFAULT_SENDER = "_conformance_bot"
USER_PREFIX = "confas_"  # localparts of the exclusive users namespace
SHARED_PREFIX = "confshared_"  # localparts of the non-exclusive users namespace
ALIAS_PREFIX = "confas_"  # alias localparts of the exclusive aliases namespace
EXCLUSIVE_USERS = f"@{USER_PREFIX}.*:.*"
SHARED_USERS = f"@{SHARED_PREFIX}.*:.*"
EXCLUSIVE_ALIASES = f"#{ALIAS_PREFIX}.*:.*"
NO_ROOMS = "!__conformance_suite_matches_no_room__:invalid"
PROTOCOL = "conformance"


def _token(seed: str | None, purpose: str) -> str:
    """64 hex characters: random, or derived from the seed (distinct per purpose)."""
    if seed is None:
        return secrets.token_hex(32)
    return hashlib.sha256(f"{seed}\x00{purpose}".encode()).hexdigest()


def build_registration(*, url: str | None = DEFAULT_URL, id: str = DEFAULT_ID,
                       sender_localpart: str = DEFAULT_SENDER, seed: str | None = None,
                       extra: Mapping[str, Any] | None = None) -> JsonDict:
    """The registration as a dict, in the order a reader of the file expects."""
    registration: JsonDict = {
        "id": id,
        "url": url,
        "as_token": _token(seed, "as_token"),
        "hs_token": _token(seed, "hs_token"),
        "sender_localpart": sender_localpart,
        "namespaces": {
            "users": [{"exclusive": True, "regex": EXCLUSIVE_USERS},
                      {"exclusive": False, "regex": SHARED_USERS}],
            "aliases": [{"exclusive": True, "regex": EXCLUSIVE_ALIASES}],
            "rooms": [{"exclusive": False, "regex": NO_ROOMS}],
        },
        "rate_limited": False,
        "protocols": [PROTOCOL],
        "receive_ephemeral": True,
        "de.sorunome.msc2409.push_ephemeral": True,
    }
    registration.update(extra or {})
    return registration


def dump_registration(path: Path | str, registration: Mapping[str, Any]) -> Path:
    """Writes a registration as YAML (keys in the given order); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(dict(registration), sort_keys=False, default_flow_style=False)
    path.write_text("# The conformance suite's application service "
                    "(python -m tools.appservice_registration)\n" + text, encoding="utf-8")
    return path


def write_registration(path: Path | str, *, url: str | None = DEFAULT_URL,
                       id: str = DEFAULT_ID, sender_localpart: str = DEFAULT_SENDER,
                       seed: str | None = None,
                       extra: Mapping[str, Any] | None = None) -> JsonDict:
    """Builds the registration, writes it to `path`, and returns it."""
    registration = build_registration(url=url, id=id, sender_localpart=sender_localpart,
                                      seed=seed, extra=extra)
    dump_registration(path, registration)
    return registration


def load_registration(path: Path | str) -> JsonDict:
    """Reads a registration file; raises ValueError naming the file if it is unusable."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read the registration {path}: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"the registration {path} is not a YAML mapping")
    required = ("id", "url", "as_token", "hs_token", "sender_localpart", "namespaces")
    missing = [key for key in required if key not in data]
    if missing:
        raise ValueError(f"the registration {path} lacks {', '.join(missing)}")
    if not isinstance(data["url"], str) or not data["url"].startswith("http://"):
        raise ValueError(f"the registration {path} has url {data['url']!r}; the suite's "
                         "service serves plain HTTP, so it needs an http:// URL")
    return data


_PLAIN_PREFIX = re.compile(r"([@#])([a-z0-9_=/-]+)\.\*(?::\.\*)?")


def namespace_prefix(registration: Mapping[str, Any], kind: str, *, exclusive: bool) -> str:
    """The localpart prefix of the registration's first `kind` ("users" or "aliases")
    namespace with that exclusivity, for regexes of the form `@prefix.*:.*`; tests make
    fresh IDs from it. Raises ValueError when no namespace has such a regex."""
    sigil = "@" if kind == "users" else "#"
    for namespace in (registration.get("namespaces") or {}).get(kind) or []:
        found = _PLAIN_PREFIX.fullmatch(str(namespace.get("regex", "")))
        if bool(namespace.get("exclusive")) == exclusive and found and found[1] == sigil:
            return found[2]
    raise ValueError(f"the registration has no {'' if exclusive else 'non-'}exclusive "
                     f"{kind} namespace of the form '{sigil}prefix.*:.*' to make IDs in "
                     f"(python -m tools.appservice_registration writes one)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.appservice_registration",
                                     description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="write a registration file")
    write.add_argument("file", type=Path)
    write.add_argument("--url", default=DEFAULT_URL,
                       help=f"where the target reaches the suite's service (default {DEFAULT_URL})")
    write.add_argument("--id", default=DEFAULT_ID)
    write.add_argument("--sender-localpart", default=DEFAULT_SENDER)
    write.add_argument("--seed", help="derive the tokens from this text (reproducible files)")
    args = parser.parse_args(argv)
    write_registration(args.file, url=args.url, id=args.id,
                       sender_localpart=args.sender_localpart, seed=args.seed)
    print(f"wrote {args.file}: load it into the target, then run the suite with "
          f"--appservice-registration {args.file} (the suite listens at {args.url})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
