# SPDX-License-Identifier: Apache-2.0
"""State resolution: hand-built forks with known answers, plus order-independence
properties checked with hypothesis."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_server.protocol.room_versions import KNOWN_ROOM_VERSIONS
from reference_server.protocol.state_res import conflicted_subgraph, is_power_event, resolve_state, separate

from .dagkit import ALICE, BOB, CAROL, CREATOR, Branch, Dag, standard_room

V2_FAMILY = ["2", "6", "10", "11", "12"]
ALL_ALGORITHMS = ["1", *V2_FAMILY]


def resolve(dag: Dag, *branches: Branch) -> dict:
    return resolve_state(dag.version, [b.state for b in branches], dag.events, dag.auth_chain_ids)


@pytest.mark.parametrize("identifier", ALL_ALGORITHMS)
def test_no_conflict_is_the_union_of_agreeing_states(identifier: str) -> None:
    dag, main = standard_room(identifier)
    assert resolve(dag, main, main.fork()) == main.state
    assert resolve(dag, main) == main.state


@pytest.mark.parametrize("identifier", V2_FAMILY)
def test_later_topic_wins_among_equals(identifier: str) -> None:
    """Same sender, same mainline position: origin_server_ts decides, last applied wins."""
    dag, main = standard_room(identifier)
    one, two = main.fork(), main.fork()
    dag.send(one, "m.room.topic", CREATOR, {"topic": "T1"}, state_key="", ts=5000)
    later = dag.send(two, "m.room.topic", CREATOR, {"topic": "T2"}, state_key="", ts=6000)
    assert resolve(dag, one, two)[("m.room.topic", "")] == later
    assert resolve(dag, two, one)[("m.room.topic", "")] == later


def test_v1_deeper_topic_wins() -> None:
    """rooms/v1: ordinary conflicts go to the highest depth that passes auth."""
    dag, main = standard_room("1")
    one, two = main.fork(), main.fork()
    dag.send(one, "m.room.topic", CREATOR, {"topic": "T1"}, state_key="", ts=9000)
    dag.send(two, "m.room.message", CREATOR, {"body": "deeper"})
    deeper = dag.send(two, "m.room.topic", CREATOR, {"topic": "T2"}, state_key="", ts=1)
    assert resolve(dag, one, two)[("m.room.topic", "")] == deeper


@pytest.mark.parametrize("identifier", ALL_ALGORITHMS)
def test_demotion_defeats_concurrent_use_of_power(identifier: str) -> None:
    """Alice's topic change on one branch loses to her demotion on the other."""
    dag, main = standard_room(identifier)
    original_topic = main.state[("m.room.topic", "")]
    demote, act = main.fork(), main.fork()
    users = {ALICE: 0} if dag.version.creators_have_infinite_power else {CREATOR: 100, ALICE: 0}
    new_pl = dag.send(demote, "m.room.power_levels", CREATOR,
                      {"users": users, "events": {"org.example.status": 0}}, state_key="")
    dag.send(act, "m.room.topic", ALICE, {"topic": "alice was here"}, state_key="")
    resolved = resolve(dag, demote, act)
    assert resolved[("m.room.power_levels", "")] == new_pl
    assert resolved[("m.room.topic", "")] == original_topic


@pytest.mark.parametrize("identifier", ALL_ALGORITHMS)
def test_ban_defeats_concurrent_state_from_the_banned_user(identifier: str) -> None:
    """v2: Bob's status set on a branch where he is not banned is dropped once the ban
    wins; v1 keeps it, since a key missing from one state set is not a conflict there."""
    dag, main = standard_room(identifier)
    ban_branch, status_branch = main.fork(), main.fork()
    ban = dag.member(ban_branch, BOB, "ban", sender=ALICE)
    status = dag.send(status_branch, "org.example.status", BOB, {"s": "hi"}, state_key=BOB)
    resolved = resolve(dag, ban_branch, status_branch)
    assert resolved[("m.room.member", BOB)] == ban
    if dag.version.state_res.value == "v1":
        assert resolved[("org.example.status", BOB)] == status
    else:
        assert ("org.example.status", BOB) not in resolved


@pytest.mark.parametrize("identifier", V2_FAMILY)
def test_kick_and_self_action_race(identifier: str) -> None:
    """A kick (power event) is ordered before Bob's rejoin attempt in a public room...
    and since public rooms let Bob rejoin, the rejoin then applies on top."""
    dag, main = standard_room(identifier)
    kick_branch, other = main.fork(), main.fork()
    kick = dag.member(kick_branch, BOB, "leave", sender=ALICE)
    dag.send(other, "m.room.topic", CREATOR, {"topic": "unrelated"}, state_key="")
    resolved = resolve(dag, kick_branch, other)
    assert resolved[("m.room.member", BOB)] == kick


def test_separate() -> None:
    a, b = {("t", ""): "$1", ("u", ""): "$2"}, {("t", ""): "$1", ("u", ""): "$3", ("v", ""): "$4"}
    unconflicted, conflicted = separate([a, b])
    assert unconflicted == {("t", ""): "$1"}
    assert conflicted == {("u", ""): {"$2", "$3"}, ("v", ""): {"$4"}}


def test_conflicted_subgraph_holds_paths_between_conflicted_events() -> None:
    """rooms/v12: the union of auth paths between conflicted events, endpoints included.

        A <- B <- C <- D       (X <- Y means Y cites X as an auth event)
        A <- E
    With B and D conflicted: B, C, D are on the path; A (below both) and E are not.
    """
    auth = {"A": set(), "B": {"A"}, "C": {"B"}, "D": {"C"}, "E": {"A"}}

    def chain(event_id: str) -> set[str]:
        seen, todo = set(), list(auth[event_id])
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(auth[current])
        return seen

    assert conflicted_subgraph({"B", "D"}, chain) == {"B", "C", "D"}
    assert conflicted_subgraph({"D", "E"}, chain) == {"D", "E"}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"type": "m.room.power_levels", "state_key": ""}, True),
        ({"type": "m.room.join_rules", "state_key": ""}, True),
        ({"type": "m.room.member", "state_key": BOB, "sender": ALICE, "content": {"membership": "ban"}}, True),
        ({"type": "m.room.member", "state_key": BOB, "sender": ALICE, "content": {"membership": "leave"}}, True),
        ({"type": "m.room.member", "state_key": BOB, "sender": BOB, "content": {"membership": "leave"}}, False),
        ({"type": "m.room.member", "state_key": BOB, "sender": ALICE, "content": {"membership": "invite"}}, False),
        ({"type": "m.room.topic", "state_key": ""}, False),
        ({"type": "m.room.power_levels"}, False),
    ],
)
def test_power_events(event: dict, expected: bool) -> None:
    assert is_power_event(event) is expected


# --- properties ----------------------------------------------------------------------------

ACTIONS = ["topic", "demote_alice", "promote_alice", "ban_bob", "unban_bob", "bob_leaves",
           "carol_joins", "invite_only", "public", "alice_topic", "bob_status"]


def _apply(dag: Dag, branch: Branch, action: str, ts: int) -> None:
    """Perform a named action on a branch, skipping it if the auth rules refuse."""
    infinite = dag.version.creators_have_infinite_power
    base_users = {} if infinite else {CREATOR: 100}
    kw = {"ts": ts, "must_pass": False}
    if action == "topic":
        dag.send(branch, "m.room.topic", CREATOR, {"topic": f"t{ts}"}, state_key="", **kw)
    elif action in ("demote_alice", "promote_alice"):
        level = 0 if action == "demote_alice" else 75
        dag.send(branch, "m.room.power_levels", CREATOR,
                 {"users": {**base_users, ALICE: level}, "events": {"org.example.status": 0}}, state_key="", **kw)
    elif action == "ban_bob":
        dag.member(branch, BOB, "ban", sender=ALICE, **kw)
    elif action == "unban_bob":
        dag.member(branch, BOB, "leave", sender=CREATOR, **kw)
    elif action == "bob_leaves":
        dag.member(branch, BOB, "leave", **kw)
    elif action == "carol_joins":
        dag.member(branch, CAROL, "join", **kw)
    elif action in ("invite_only", "public"):
        rule = "invite" if action == "invite_only" else "public"
        dag.send(branch, "m.room.join_rules", CREATOR, {"join_rule": rule}, state_key="", **kw)
    elif action == "alice_topic":
        dag.send(branch, "m.room.topic", ALICE, {"topic": f"a{ts}"}, state_key="", **kw)
    elif action == "bob_status":
        dag.send(branch, "org.example.status", BOB, {"s": ts}, state_key=BOB, **kw)


scenario = st.fixed_dictionaries({
    "identifier": st.sampled_from(ALL_ALGORITHMS),
    "branches": st.integers(min_value=2, max_value=3),
    "steps": st.lists(
        st.tuples(st.integers(min_value=0, max_value=2), st.sampled_from(ACTIONS),
                  st.integers(min_value=0, max_value=5)),
        min_size=1, max_size=12,
    ),
})


def _build(spec: dict) -> tuple[Dag, list[Branch]]:
    dag, main = standard_room(spec["identifier"])
    branches = [main.fork() for _ in range(spec["branches"])]
    for n, (index, action, tie) in enumerate(spec["steps"]):
        # Few distinct timestamps, so the event ID tie-break gets exercised too.
        _apply(dag, branches[index % len(branches)], action, 5000 + tie * 10 + (n % 2))
    return dag, branches


@settings(max_examples=60, deadline=None)
@given(spec=scenario, data=st.data())
def test_resolution_ignores_the_order_of_state_sets_and_event_map(spec: dict, data: st.DataObject) -> None:
    dag, branches = _build(spec)
    state_sets = [b.state for b in branches]
    expected = resolve_state(dag.version, state_sets, dag.events, dag.auth_chain_ids)
    shuffled_sets = data.draw(st.permutations(state_sets))
    shuffled_ids = data.draw(st.permutations(sorted(dag.events)))
    shuffled_map = {event_id: dag.events[event_id] for event_id in shuffled_ids}
    assert resolve_state(dag.version, shuffled_sets, shuffled_map, dag.auth_chain_ids) == expected


@settings(max_examples=40, deadline=None)
@given(spec=scenario)
def test_resolution_is_idempotent_and_keeps_agreed_state(spec: dict) -> None:
    dag, branches = _build(spec)
    state_sets = [b.state for b in branches]
    resolved = resolve_state(dag.version, state_sets, dag.events, dag.auth_chain_ids)
    unconflicted, _ = separate(state_sets)
    assert all(resolved[k] == v for k, v in unconflicted.items())
    assert resolve_state(dag.version, [resolved, resolved], dag.events, dag.auth_chain_ids) == resolved
    assert resolved[("m.room.create", "")] == dag.create_id


def test_every_state_res_algorithm_is_covered() -> None:
    algorithms = {KNOWN_ROOM_VERSIONS[v].state_res for v in ALL_ALGORITHMS}
    assert {a.value for a in algorithms} == {"v1", "v2", "v2.1"}


@pytest.mark.parametrize("identifier", ["11", "12"])
def test_v2_1_checks_conflicted_events_against_their_own_auth_events(identifier: str) -> None:
    """rooms/v12 step 2: v2.1 starts from an empty state map, not the unconflicted one.

    Alice sets topic E while joined, then leaves (unconflicted in both branches). A
    branch cut after her leave sets topic E2 with an earlier timestamp. v2 checks E against
    the unconflicted state (Alice has left) and drops it; v2.1 fills Alice's membership
    from E's own auth events (she was joined), so E applies after E2 and wins.
    """
    dag, main = standard_room(identifier)
    alice_topic = dag.send(main, "m.room.topic", ALICE, {"topic": "E"}, state_key="", ts=9000)
    dag.member(main, ALICE, "leave")
    other = main.fork()
    creator_topic = dag.send(other, "m.room.topic", CREATOR, {"topic": "E2"}, state_key="", ts=100)
    resolved = resolve(dag, main, other)
    expected = alice_topic if dag.version.state_res.value == "v2.1" else creator_topic
    assert resolved[("m.room.topic", "")] == expected
