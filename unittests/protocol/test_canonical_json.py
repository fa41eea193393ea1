# SPDX-License-Identifier: Apache-2.0
"""Canonical JSON against appendices/#canonical-json and its worked examples."""
from __future__ import annotations

import json

import pytest

from reference_server.protocol.canonical_json import (
    CanonicalJsonError,
    check_canonical_json,
    encode_canonical_json,
)

# Each row: the appendix's input JSON text and the canonical output it gives.
APPENDIX_EXAMPLES = [
    pytest.param("{}", "{}", id="empty-object"),
    pytest.param('{"one": 1, "two": "Two"}', '{"one":1,"two":"Two"}', id="simple"),
    pytest.param('{"b": "2", "a": "1"}', '{"a":"1","b":"2"}', id="sorted-keys"),
    pytest.param('{"b":"2","a":"1"}', '{"a":"1","b":"2"}', id="sorted-keys-compact"),
    pytest.param(
        '{"auth": {"success": true, "mxid": "@john.doe:example.com", "profile": {'
        '"display_name": "John Doe", "three_pids": [{"medium": "email", "address": '
        '"john.doe@example.org"}, {"medium": "msisdn", "address": "123456789"}]}}}',
        '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe",'
        '"three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":'
        '"123456789","medium":"msisdn"}]},"success":true}}',
        id="nested",
    ),
    pytest.param('{"a": "日本語"}', '{"a":"日本語"}', id="utf8-value"),
    pytest.param('{"本": 2, "日": 1}', '{"日":1,"本":2}', id="utf8-keys-sorted-by-codepoint"),
    pytest.param('{"a": "\\u65E5"}', '{"a":"日"}', id="unicode-escape-unescaped"),
    pytest.param('{"a": null}', '{"a":null}', id="null"),
    pytest.param('{"a": -0, "b": 1e10}', '{"a":0,"b":10000000000}', id="negative-zero-and-exponent"),
]


@pytest.mark.parametrize(("source", "expected"), APPENDIX_EXAMPLES)
def test_appendix_examples(source: str, expected: str) -> None:
    """Each of the appendix's examples encodes to exactly the canonical form it gives."""
    assert encode_canonical_json(json.loads(source)) == expected.encode("utf-8")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("\x00", '"\\u0000"', id="nul"),
        pytest.param("\x1f", '"\\u001f"', id="unit-separator-lowercase-hex"),
        pytest.param("\n\t\r\b\f", '"\\n\\t\\r\\b\\f"', id="short-escapes"),
        pytest.param('"\\', '"\\"\\\\"', id="quote-and-backslash"),
        pytest.param("\x7f\u2028", '"\x7f\u2028"', id="non-control-unescaped"),
    ],
)
def test_string_escapes_follow_the_grammar(value: str, expected: str) -> None:
    """Only the grammar's escapes are used, with lowercase hex for \\u00XX."""
    assert encode_canonical_json(value) == expected.encode("utf-8")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(1.5, id="fraction"),
        pytest.param(2**53, id="int-above-range"),
        pytest.param(-(2**53), id="int-below-range"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="infinity"),
        pytest.param({1: "a"}, id="non-string-key"),
        pytest.param({"a": {1, 2}}, id="set"),
        pytest.param("\ud800", id="lone-surrogate"),
    ],
)
def test_strict_encoding_rejects_non_canonical_values(value: object) -> None:
    """Numbers must be integers in [-(2**53)+1, (2**53)-1]; other values must be JSON."""
    with pytest.raises(CanonicalJsonError):
        encode_canonical_json(value)


def test_range_limits_are_inclusive() -> None:
    """The extremes of the allowed integer range are themselves allowed."""
    assert encode_canonical_json([2**53 - 1, -(2**53) + 1]) == b"[9007199254740991,-9007199254740991]"


def test_lax_encoding_keeps_legacy_numbers() -> None:
    """Room versions 1-5 may hold floats and big integers; lax mode still encodes them."""
    assert encode_canonical_json({"pl": 50.57, "big": 2**60}, strict=False) == (
        b'{"big":1152921504606846976,"pl":50.57}'
    )


@pytest.mark.parametrize(
    "value",
    [pytest.param(1.0, id="integral-float"), pytest.param({"a": [2**53]}, id="nested-big-int")],
)
def test_check_refuses_what_a_conforming_encoder_cannot_emit(value: object) -> None:
    """A received value with a float or out-of-range integer is not canonical JSON."""
    with pytest.raises(CanonicalJsonError):
        check_canonical_json(value)


def test_check_accepts_canonical_values() -> None:
    check_canonical_json({"a": [1, "x", None, True, {"b": -5}]})
