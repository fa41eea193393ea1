# SPDX-License-Identifier: Apache-2.0
"""Who the rate limiter spares: an application service's sender always, the users it
masquerades as only when its registration says `rate_limited: false`."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from reference_server.appservices.registration import AppService, Namespace
from reference_server.appservices.registry import AppServiceRegistry
from reference_server.errors import MatrixError
from reference_server.http.request import Request, Requester
from reference_server.ratelimit import RateLimiter

SENDER = "@bot:hs.example"
BRIDGED = "@_bridge_alice:hs.example"
LIMITED_ROUTE = SimpleNamespace(operation=SimpleNamespace(documents_status=lambda s: s == 429))


def service(*, rate_limited: bool) -> AppService:
    return AppService(id="bridge", url=None, as_token="as", hs_token="hs", sender=SENDER,
                      users=(Namespace(re.compile("@_bridge_.*"), True),), aliases=(),
                      rooms=(), rate_limited=rate_limited, receive_ephemeral=False,
                      protocols=())


def limiter(registry: AppServiceRegistry) -> RateLimiter:
    return RateLimiter(enabled=True, per_second=0.001, burst=2,
                       exempt=lambda who: registry.exempt_from_rate_limits(
                           who.user_id, who.appservice_id))


def request_as(user_id: str, appservice_id: str | None) -> Request:
    return Request(operation_id="sendMessage", body={}, path={}, query={},
                   requester=Requester(user_id, None, "token", appservice_id=appservice_id))


def requests_until_limited(check: RateLimiter, request: Request, tries: int = 5) -> int | None:
    for number in range(1, tries + 1):
        try:
            check(LIMITED_ROUTE, request)
        except MatrixError as error:
            assert error.errcode == "M_LIMIT_EXCEEDED"
            return number
    return None


@pytest.mark.parametrize("rate_limited, user_id, appservice_id, limited", [
    pytest.param(True, SENDER, "bridge", False, id="sender-is-never-limited"),
    pytest.param(True, BRIDGED, "bridge", True, id="masqueraded-user-limited-by-default"),
    pytest.param(False, BRIDGED, "bridge", False, id="masqueraded-user-spared-when-opted-out"),
    pytest.param(False, "@alice:hs.example", None, True, id="ordinary-user-limited"),
])
def test_rate_limited_flag_decides_for_masqueraded_users(rate_limited, user_id, appservice_id,
                                                         limited) -> None:
    check = limiter(AppServiceRegistry([service(rate_limited=rate_limited)]))
    answer = requests_until_limited(check, request_as(user_id, appservice_id))
    assert (answer is not None) == limited, f"limited after {answer} requests"
