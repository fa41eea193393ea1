# SPDX-License-Identifier: Apache-2.0
"""Names for the shapes passed around the server, so signatures say what they hold."""
from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]
UserId = str
RoomId = str
EventId = str
DeviceId = str
