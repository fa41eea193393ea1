# SPDX-License-Identifier: Apache-2.0
"""Key documents (server-server-api/#publishing-keys): ours verify, forged ones do not."""
from __future__ import annotations

import copy

import pytest

from reference_server.federation.server_keys import (
    KeyDocumentError, build_key_document, parse_key_document,
)
from reference_server.protocol.signing import generate_signing_key

KEY = generate_signing_key("k1")


def test_own_document_round_trips() -> None:
    document = build_key_document("hs.example", KEY, now_ms=1000,
                                  old_keys={"ed25519:old": ("AAAA", 500)})
    keys = {k.key_id: k for k in parse_key_document(document, expected_server="hs.example")}
    assert keys[KEY.key_id].key == KEY.verify_key_bytes
    assert keys[KEY.key_id].valid_until_ts > 1000
    assert keys["ed25519:old"].expired_ts == 500


def test_document_for_another_server_is_refused() -> None:
    document = build_key_document("hs.example", KEY, now_ms=0)
    with pytest.raises(KeyDocumentError):
        parse_key_document(document, expected_server="other.example")


def test_tampered_document_is_refused() -> None:
    document = copy.deepcopy(build_key_document("hs.example", KEY, now_ms=0))
    document["valid_until_ts"] += 1
    with pytest.raises(KeyDocumentError):
        parse_key_document(document, expected_server="hs.example")


def test_document_signed_by_a_key_it_does_not_list_is_refused() -> None:
    other = generate_signing_key("k2")
    document = build_key_document("hs.example", KEY, now_ms=0)
    document["verify_keys"] = {other.key_id: {"key": other.verify_key_base64}}
    with pytest.raises(KeyDocumentError):
        parse_key_document(document, expected_server="hs.example")
