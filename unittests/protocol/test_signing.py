# SPDX-License-Identifier: Apache-2.0
"""Signing JSON against appendices/#cryptographic-test-vectors."""
from __future__ import annotations

import pytest

from reference_server.protocol.signing import (
    SignatureError,
    SigningKey,
    decode_signing_key,
    encode_signing_key,
    generate_signing_key,
    sign_json,
    signing_key_from_seed,
    unpadded_base64_decode,
    unpadded_base64_encode,
    verify_json,
)

SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"


@pytest.fixture
def test_vector_key() -> SigningKey:
    return signing_key_from_seed(unpadded_base64_decode(SEED), "1")


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        (b"", ""), (b"f", "Zg"), (b"fo", "Zm8"), (b"foo", "Zm9v"), (b"foob", "Zm9vYg"),
        (b"fooba", "Zm9vYmE"), (b"foobar", "Zm9vYmFy"),
    ],
)
def test_unpadded_base64_examples(raw: bytes, encoded: str) -> None:
    """appendices/#unpadded-base64 examples, both ways; padded input is also accepted."""
    assert unpadded_base64_encode(raw) == encoded
    assert unpadded_base64_decode(encoded) == raw
    assert unpadded_base64_decode(encoded + "=" * (-len(encoded) % 4)) == raw


def test_url_safe_alphabet_uses_minus_and_underscore() -> None:
    assert unpadded_base64_encode(b"\xfb\xff", urlsafe=True) == "-_8"
    assert unpadded_base64_decode("-_8", urlsafe=True) == b"\xfb\xff"


def test_bad_base64_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        unpadded_base64_decode("not base64!")


def test_signing_an_empty_object(test_vector_key: SigningKey) -> None:
    """The appendix's signature of {} with the test key."""
    assert sign_json({}, server_name="domain", key=test_vector_key) == {
        "signatures": {
            "domain": {
                "ed25519:1": "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
            }
        }
    }


def test_signing_an_object_with_data(test_vector_key: SigningKey) -> None:
    """The appendix's signature of {"one": 1, "two": "Two"} with the test key."""
    assert sign_json({"one": 1, "two": "Two"}, server_name="domain", key=test_vector_key) == {
        "one": 1,
        "signatures": {
            "domain": {
                "ed25519:1": "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
            }
        },
        "two": "Two",
    }


def test_signing_ignores_and_keeps_unsigned_and_other_signatures(test_vector_key: SigningKey) -> None:
    """`unsigned` and `signatures` are outside the signature and survive signing."""
    original = {"one": 1, "two": "Two", "unsigned": {"age_ts": 5}, "signatures": {"other": {"ed25519:x": "sig"}}}
    signed = sign_json(original, server_name="domain", key=test_vector_key)
    assert signed["unsigned"] == {"age_ts": 5}
    assert signed["signatures"]["other"] == {"ed25519:x": "sig"}
    assert signed["signatures"]["domain"]["ed25519:1"].startswith("KqmLSbO39")
    assert "domain" not in original["signatures"], "the input must not be modified"


def test_verify_accepts_own_signature(test_vector_key: SigningKey) -> None:
    signed = sign_json({"a": 1}, server_name="domain", key=test_vector_key)
    signed["unsigned"] = {"added": "later"}
    verify_json(signed, server_name="domain", key_id="ed25519:1", verify_key=test_vector_key.verify_key_bytes)


@pytest.mark.parametrize(
    ("mutate", "server", "key_id"),
    [
        pytest.param(lambda o: o.update(a=2), "domain", "ed25519:1", id="tampered-content"),
        pytest.param(lambda o: None, "elsewhere", "ed25519:1", id="no-signature-from-server"),
        pytest.param(lambda o: None, "domain", "ed25519:2", id="unknown-key-id"),
        pytest.param(lambda o: None, "domain", "curve25519:1", id="unsupported-algorithm"),
        pytest.param(
            lambda o: o["signatures"]["domain"].update({"ed25519:1": "!!"}), "domain", "ed25519:1",
            id="undecodable-signature",
        ),
    ],
)
def test_verify_rejects(test_vector_key: SigningKey, mutate, server: str, key_id: str) -> None:
    """appendices/#checking-for-a-signature: each failure mode fails the check."""
    signed = sign_json({"a": 1}, server_name="domain", key=test_vector_key)
    mutate(signed)
    with pytest.raises(SignatureError):
        verify_json(signed, server_name=server, key_id=key_id, verify_key=test_vector_key.verify_key_bytes)


def test_key_file_round_trip() -> None:
    """Synapse's one-line key format survives encode/decode."""
    key = generate_signing_key("a_AbCd")
    line = encode_signing_key(key)
    assert line.startswith("ed25519 a_AbCd ") and "=" not in line
    again = decode_signing_key("\n" + line + "\n")
    assert again.key_id == "ed25519:a_AbCd"
    assert again.verify_key_base64 == key.verify_key_base64


def test_key_file_of_test_vector_key(test_vector_key: SigningKey) -> None:
    """The appendix's seed has non-zero trailing bits ("...XA1"); decoding is lenient and
    re-encoding gives the canonical spelling of the same 32 bytes."""
    line = encode_signing_key(test_vector_key)
    assert line == "ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0"
    assert decode_signing_key(f"ed25519 1 {SEED}").seed == test_vector_key.seed


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("ed25519 1", id="missing-seed"),
        pytest.param("rsa 1 " + SEED, id="wrong-algorithm"),
        pytest.param("ed25519 1 Zm9v", id="short-seed"),
    ],
)
def test_malformed_key_files_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        decode_signing_key(text)
