# SPDX-License-Identifier: Apache-2.0
"""The spool: how the run's one fake application service and every test share state.

The target pushes everything for the suite's registration to one URL, so one process
serves it (see `appservice.py`) while tests run in several (xdist workers). They meet
in a directory:

    meta.json                  registration, control URL and token (written at start)
    records/000000001.json     one file per request the service received, numbered in
                               arrival order; written once, by the service only
    controls/<kind>/<id>.json  a test's wishes about one identifier (kind: user, alias,
                               room): how to answer its query, how often to fail
    claims/<seq>               "a test has reported the fault in record <seq>"

Files are written to a temporary name and renamed into place, so a reader sees a whole
file or none. Records are numbered under the service's lock, so record N exists before
N+1 and a reader finds new ones by probing forward, without listing the directory.
Controls are keyed by identifiers that only one test uses (each test makes its own
users, aliases and rooms), which is what keeps parallel tests from seeing each other's
wishes. Each record names the identifiers it is about (`about`), so a test can pick
out its own traffic and its own faults.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

JsonDict = dict[str, Any]
CONTROL_KINDS = ("user", "alias", "room")


def write_json_atomically(path: Path, value: Any) -> None:
    """Writes JSON to a temporary sibling, then renames it over `path`."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    temporary.write_text(json.dumps(value), encoding="utf-8")
    os.replace(temporary, path)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _file_name(key: str) -> str:
    """The key percent-encoded (readable when browsing), hashed if too long for a name."""
    name = quote(key, safe="@!#:._-")
    if len(name) > 200:
        name = "sha256-" + hashlib.sha256(key.encode()).hexdigest()
    return name + ".json"


class Spool:
    """One run's spool directory; safe to open from any process of the run."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._records = self.directory / "records"
        self._controls = self.directory / "controls"
        self._claims = self.directory / "claims"

    def __repr__(self) -> str:
        return f"<Spool {self.directory}>"

    @classmethod
    def create(cls, directory: Path | str) -> Spool:
        spool = cls(directory)
        for folder in (spool._records, spool._claims,
                       *(spool._controls / kind for kind in CONTROL_KINDS)):
            folder.mkdir(parents=True, exist_ok=True)
        return spool

    # -- meta ---------------------------------------------------------------------------

    def write_meta(self, meta: JsonDict) -> None:
        write_json_atomically(self.directory / "meta.json", meta)

    def meta(self) -> JsonDict:
        meta = _read_json(self.directory / "meta.json")
        if meta is None:
            raise FileNotFoundError(f"{self.directory} is not a running fake application "
                                    "service's spool (no meta.json)")
        return meta

    # -- records (one writer: the fake service) --------------------------------------------

    def _record_path(self, seq: int) -> Path:
        return self._records / f"{seq:09d}.json"

    def write_record(self, seq: int, record: JsonDict) -> None:
        write_json_atomically(self._record_path(seq), {**record, "seq": seq})

    def records_after(self, seq: int) -> list[JsonDict]:
        """Records numbered above `seq`, in order, up to the first not yet written."""
        found: list[JsonDict] = []
        while (record := _read_json(self._record_path(seq + 1))) is not None:
            found.append(record)
            seq += 1
        return found

    # -- controls (written by tests, read by the service) -------------------------------------

    def _control_path(self, kind: str, key: str) -> Path:
        if kind not in CONTROL_KINDS:
            raise ValueError(f"control kind must be one of {CONTROL_KINDS}, not {kind!r}")
        return self._controls / kind / _file_name(key)

    def set_control(self, kind: str, key: str, value: JsonDict) -> None:
        write_json_atomically(self._control_path(kind, key), {**value, "key": key})

    def control(self, kind: str, key: str) -> JsonDict | None:
        return _read_json(self._control_path(kind, key))

    def clear_control(self, kind: str, key: str) -> None:
        self._control_path(kind, key).unlink(missing_ok=True)

    # -- claims: each fault is reported by one test ----------------------------------------------

    def claim(self, seq: int) -> bool:
        """True for the first caller only, in any process (an exclusive create)."""
        try:
            (self._claims / str(seq)).touch(exist_ok=False)
        except FileExistsError:
            return False
        return True

    def claimed(self, seq: int) -> bool:
        return (self._claims / str(seq)).exists()


# -- what a request is about ---------------------------------------------------------------


def _looks_like_id(value: Any) -> bool:
    return isinstance(value, str) and len(value) > 1 and value[0] in "@!#"


def identifiers_in(items: Iterable[Any]) -> list[str]:
    """The user IDs, room IDs and aliases that events or ephemeral data are about.

    Only fields that name someone or somewhere are read (`room_id`, `sender`,
    `state_key`, typing `user_ids`, receipt readers, aliases), not message text.
    """
    found: dict[str, None] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        for key in ("room_id", "sender", "state_key"):
            if _looks_like_id(item.get(key)):
                found[item[key]] = None
        content = item.get("content")
        if not isinstance(content, dict):
            continue
        names = list(content.get("user_ids") or []) + list(content.get("alt_aliases") or [])
        names.append(content.get("alias"))
        if item.get("type") == "m.receipt":  # {event_id: {receipt_type: {user_id: ...}}}
            names += [user for by_type in content.values() if isinstance(by_type, dict)
                      for readers in by_type.values() if isinstance(readers, dict)
                      for user in readers]
        found.update((name, None) for name in names if _looks_like_id(name))
    return list(found)


def events_of(body: Any) -> list[JsonDict]:
    """A transaction's room events (empty if the body is malformed)."""
    events = body.get("events") if isinstance(body, dict) else None
    return [event for event in events or [] if isinstance(event, dict)]


def ephemeral_of(body: Any) -> list[JsonDict]:
    """A transaction's ephemeral data, under the stable key or MSC2409's unstable one."""
    if not isinstance(body, dict):
        return []
    items = body.get("ephemeral")
    if items is None:
        items = body.get("de.sorunome.msc2409.ephemeral")
    return [item for item in items or [] if isinstance(item, dict)]
