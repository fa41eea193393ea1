# SPDX-License-Identifier: Apache-2.0
"""User-interactive authentication, as a client completes it.

Registration, device deletion, password changes and deactivation all answer a first
request with 401 and a list of flows; the client completes the stages it can and
repeats the request. Kept apart from the client so the stage logic reads on its own.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import httpx

JsonDict = dict[str, Any]
MAX_ROUNDS = 6


def next_stage(info: JsonDict, can_do: Sequence[str], tried: set[str]) -> str | None:
    """The next stage to complete, from the first flow made only of stages we can do.

    A flow is usable if it continues what the server says is `completed`. A stage that
    we already submitted and the server still wants is not retried (wrong password):
    the caller then sees the 401 and fails with it.
    """
    completed = list(info.get("completed") or [])
    for flow in info.get("flows") or []:
        stages = list(flow.get("stages") or [])
        if stages[: len(completed)] != completed or not set(stages) <= set(can_do):
            continue
        remaining = stages[len(completed):]
        if remaining and remaining[0] not in tried:
            return remaining[0]
    return None


def is_uia_challenge(response: httpx.Response) -> bool:
    if response.status_code != 401:
        return False
    try:
        return "flows" in response.json()
    except ValueError:
        return False


def complete(
    send: Callable[[JsonDict | None], httpx.Response],
    auth_for: Callable[[str, str | None], JsonDict],
    can_do: Sequence[str],
) -> httpx.Response:
    """Sends the request, then completes stages until the server stops asking.

    `send(auth)` repeats the request with an `auth` dict (None on the first try);
    `auth_for(stage, session)` builds the auth dict for a stage. Returns the last
    response, whatever it is, for the caller's strict or raw handling.
    """
    response = send(None)
    tried: set[str] = set()
    for _ in range(MAX_ROUNDS):
        if not is_uia_challenge(response):
            return response
        info = response.json()
        stage = next_stage(info, can_do, tried)
        if stage is None:
            return response
        tried.add(stage)
        response = send(auth_for(stage, info.get("session")))
    return response
