# SPDX-License-Identifier: Apache-2.0
"""report_content.yaml: reporting events, rooms and users."""
from __future__ import annotations

from ...http.request import Request
from ...services.reports import ReportService
from ...types import JsonDict


class ReportHandlers:
    def __init__(self, *, reports: ReportService) -> None:
        self._reports = reports

    async def report_event(self, request: Request) -> JsonDict:
        self._reports.report_event(request.user.user_id, request.path["roomId"],
                                   request.path["eventId"], request.body.get("reason"),
                                   request.body.get("score"))
        return {}

    async def report_room(self, request: Request) -> JsonDict:
        self._reports.report_room(request.user.user_id, request.path["roomId"],
                                  request.body["reason"])
        return {}

    async def report_user(self, request: Request) -> JsonDict:
        self._reports.report_user(request.user.user_id, request.path["userId"],
                                  request.body["reason"])
        return {}
