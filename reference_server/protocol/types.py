# SPDX-License-Identifier: Apache-2.0
"""Shapes shared by the protocol modules, named once so signatures say what they hold."""
from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]

# A key into room state: (event type, state key).
StateKey = tuple[str, str]
