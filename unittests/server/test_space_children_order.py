# SPDX-License-Identifier: Apache-2.0
"""The order of a space's children: the spec's worked example, and what makes a child."""
from __future__ import annotations

from reference_server.services.room_summary import order_children


def _child(room_id: str, ts: int, **content) -> dict:
    return {"type": "m.space.child", "state_key": room_id, "sender": "@a:example.org",
            "origin_server_ts": ts, "content": {"via": ["example.org"], **content}}


def test_the_specs_worked_example() -> None:
    # client-server-api/#ordering-of-children-within-a-space: order " " < "aaaa" < "first",
    # then the children without `order` by timestamp.
    children = [
        _child("!b:example.org", 1640341000000, order=" "),
        _child("!a:example.org", 1640141000000, order="aaaa"),
        _child("!c:example.org", 1640841000000, order="first"),
        _child("!e:example.org", 1640641000000),
        _child("!d:example.org", 1640741000000),
    ]
    ordered = [c["state_key"] for c in order_children(children, suggested_only=False)]
    assert ordered == ["!b:example.org", "!a:example.org", "!c:example.org",
                       "!e:example.org", "!d:example.org"]


def test_invalid_orders_count_as_none_and_ties_fall_to_timestamp_then_room_id() -> None:
    children = [
        _child("!z:example.org", 5, order="x" * 51),  # too long: no valid order
        _child("!y:example.org", 5, order="\u00e9"),  # outside \\x20-\\x7E: no valid order
        _child("!m:example.org", 9, order="same"),
        _child("!l:example.org", 9, order="same"),
        _child("!k:example.org", 1, order="same"),
    ]
    ordered = [c["state_key"] for c in order_children(children, suggested_only=False)]
    assert ordered == ["!k:example.org", "!l:example.org", "!m:example.org",
                       "!y:example.org", "!z:example.org"]


def test_children_without_via_or_not_suggested_are_dropped() -> None:
    gone = {**_child("!gone:example.org", 1), "content": {}}
    empty = _child("!empty:example.org", 2, via=[])
    suggested = _child("!s:example.org", 3, suggested=True)
    plain = _child("!p:example.org", 4)
    assert [c["state_key"] for c in order_children([gone, empty, suggested, plain],
                                                   suggested_only=False)] == \
        ["!s:example.org", "!p:example.org"]
    assert [c["state_key"] for c in order_children([gone, empty, suggested, plain],
                                                   suggested_only=True)] == ["!s:example.org"]
