# SPDX-License-Identifier: Apache-2.0
"""UserDirectory: which users a search covers, how matches rank, and the limit."""
from __future__ import annotations

from reference_server.services.user_directory import UserDirectory


class FakeStore:
    """Rooms !shared (alice and the others), !open (public), !closed (invite only)."""

    def openness_state(self):
        return [("!open", "m.room.join_rules", {"join_rule": "public"}),
                ("!closed", "m.room.join_rules", {"join_rule": "invite"}),
                ("!readable", "m.room.history_visibility", {"history_visibility": "world_readable"})]

    def joined_rooms(self, user_id):
        return {"!shared"} if user_id == "@alice:hs" else set()

    def joined_members(self):
        return [("!shared", "@alice:hs", {}), ("!shared", "@bob:hs", {}),
                ("!shared", "@remote:elsewhere", {"displayname": "Bobby Remote"}),
                ("!open", "@carol:hs", {}), ("!readable", "@dave:hs", {}),
                ("!closed", "@bobbin:hs", {})]


PROFILES = {"@bob:hs": {"displayname": "Bob", "avatar_url": "mxc://hs/b"},
            "@carol:hs": {"displayname": "Carol Bobson"}, "@dave:hs": {"displayname": "Dave"}}


def directory() -> UserDirectory:
    return UserDirectory(store=FakeStore(), is_local=lambda u: u.endswith(":hs"),
                         profile_of=lambda u: PROFILES.get(u, {}))


def test_covers_shared_public_and_world_readable_rooms_only():
    found, limited = directory().search("@alice:hs", "", 10)
    assert {e.user_id for e in found} == {"@alice:hs", "@bob:hs", "@remote:elsewhere",
                                          "@carol:hs", "@dave:hs"}
    assert limited is False


def test_names_starting_with_the_term_rank_first_and_case_is_ignored():
    found, _ = directory().search("@alice:hs", "BOB", 10)
    assert [e.user_id for e in found] == ["@bob:hs", "@remote:elsewhere", "@carol:hs"]
    assert found[0].json() == {"user_id": "@bob:hs", "display_name": "Bob",
                               "avatar_url": "mxc://hs/b"}


def test_limit_truncates_and_says_so():
    found, limited = directory().search("@alice:hs", "bob", 2)
    assert len(found) == 2 and limited is True
