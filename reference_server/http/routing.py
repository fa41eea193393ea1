# SPDX-License-Identifier: Apache-2.0
"""The route table, compiled from `api/` — never written by hand.

Each operation's method and path template become a regex; each operationId is bound to
the handler method of the same name in snake case. Start-up fails if an operation has
neither a handler nor an entry in the list of deliberately unimplemented operations.
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api import Operation, path_regex

from .validation import OperationValidator

Handler = Callable[..., Awaitable[Any]]


def snake_case(operation_id: str) -> str:
    """`getRoomIdByAlias` → `get_room_id_by_alias`; runs of capitals stay one word (`ByID` → `by_id`)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", operation_id).lower()


@dataclass
class Route:
    operation: Operation
    pattern: re.Pattern[str]
    handler: Handler
    validator: OperationValidator


class RouteTable:
    def __init__(self, routes: list[Route]) -> None:
        self._routes = routes

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """The route for a request, its raw path params, and whether the path exists at all."""
        path_known = False
        for route in self._routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            path_known = True
            if route.operation.method == method:
                return route, found.groupdict(), True
        return None, {}, path_known

    def allowed_methods(self, path: str) -> list[str]:
        return sorted({r.operation.method for r in self._routes if r.pattern.match(path)})


def build_route_table(
    operations: Iterable[Operation],
    handler_objects: Mapping[str, Iterable[object]],
    *,
    unimplemented: Mapping[str, Iterable[str]],
    enabled_mscs: set[int],
) -> RouteTable:
    """Bind each operation to the handler method named after it, within its API family
    (operationIds are unique per family only: the spec reuses some across families)."""
    handlers = {family: _collect_handlers(objs) for family, objs in handler_objects.items()}
    skipped = {(family, op) for family, ops in unimplemented.items() for op in ops}
    routes: list[Route] = []
    missing: list[str] = []
    for operation in operations:
        if operation.msc is not None and operation.msc not in enabled_mscs:
            continue
        handler = handlers.get(operation.family, {}).get(snake_case(operation.operation_id))
        if handler is None:
            if (operation.family, operation.operation_id) not in skipped:
                missing.append(f"{operation.feature}: {operation.operation_id}")
            continue
        routes.append(
            Route(operation, path_regex(operation.path), handler, OperationValidator(operation))
        )
    if missing:
        raise RuntimeError(
            "operations in api/ without a handler (implement them or list them in "
            "handlers/unimplemented.py): " + ", ".join(sorted(missing))
        )
    # Literal segments beat parameters: /rooms/{roomId}/state/{type} must not swallow
    # a more specific literal route, so the routes with fewer parameters go first.
    routes.sort(key=lambda r: (r.operation.path.count("{"), -len(r.operation.path)))
    return RouteTable(routes)


def _collect_handlers(handler_objects: Iterable[object]) -> dict[str, Handler]:
    found: dict[str, Handler] = {}
    for obj in handler_objects:
        for name in dir(obj):
            if name.startswith("_"):
                continue
            member = getattr(obj, name)
            if callable(member):
                if name in found:
                    raise RuntimeError(f"two handlers named {name}")
                found[name] = member
    return found
