# SPDX-License-Identifier: Apache-2.0
"""Registration files are checked at start-up, with a message naming the file and problem.

Spec: application-service-api/#registration — required keys, regex namespaces, and an
`as_token` unique per application service, which the homeserver MUST enforce.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reference_server.appservices.registration import RegistrationError, load_registrations

GOOD = {
    "id": "bridge", "url": "http://127.0.0.1:9999", "as_token": "as1", "hs_token": "hs1",
    "sender_localpart": "bridgebot",
    "namespaces": {"users": [{"exclusive": True, "regex": "@bridge_.*"}], "aliases": [],
                   "rooms": []},
}


def _write(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def test_a_good_registration_loads(tmp_path: Path) -> None:
    (service,) = load_registrations([_write(tmp_path, "a.yaml", GOOD)], "hs.example")
    assert service.sender == "@bridgebot:hs.example"
    assert service.claims_user_exclusively("@bridge_alice:hs.example")
    assert not service.owns_user("@alice:hs.example")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"as_token": None}, "as_token", id="missing-as-token"),
        pytest.param({"url": 5}, "url", id="url-not-a-string"),
        pytest.param({"namespaces": {"users": [{"regex": "@bad_(["}]}}, "invalid",
                     id="bad-regex"),
        pytest.param({"namespaces": {"users": [{"exclusive": "yes", "regex": "@x.*"}]}},
                     "exclusive", id="exclusive-not-boolean"),
        pytest.param({"namespaces": None}, "namespaces", id="no-namespaces"),
    ],
)
def test_a_bad_registration_is_refused_with_a_reason(tmp_path, change, message) -> None:
    data = {**GOOD, **change}
    path = _write(tmp_path, "bad.yaml", data)
    with pytest.raises(RegistrationError, match=message) as raised:
        load_registrations([path], "hs.example")
    assert str(path) in str(raised.value)


def test_duplicate_as_tokens_are_refused(tmp_path: Path) -> None:
    first = _write(tmp_path, "a.yaml", GOOD)
    second = _write(tmp_path, "b.yaml", {**GOOD, "id": "other", "hs_token": "hs2"})
    with pytest.raises(RegistrationError, match="as_token"):
        load_registrations([first, second], "hs.example")


def test_unreadable_yaml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RegistrationError, match="cannot read"):
        load_registrations([_write(tmp_path, "x.yaml", "id: [unclosed")], "hs.example")
