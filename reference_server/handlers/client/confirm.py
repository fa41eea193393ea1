# SPDX-License-Identifier: Apache-2.0
"""Re-entering the password (user-interactive authentication) before a sensitive change,
such as deleting a device or replacing cross-signing keys."""
from __future__ import annotations

from ... import errors
from ...http.request import Request
from ...services.accounts import AccountService
from ...services.uia import UserInteractiveAuth
from ...types import JsonDict


async def confirm_password(uia: UserInteractiveAuth, accounts: AccountService,
                           request: Request) -> None:
    """UIA with the password; application services are exempt (MSC4190, spec v1.17)."""
    if request.user.appservice_id:
        return
    user_id = request.user.user_id

    async def check(auth: JsonDict) -> str:
        password = auth.get("password")
        if not isinstance(password, str):
            raise errors.bad_json("m.login.password needs a password.")
        await accounts.check_password_for(user_id, password)
        return user_id
    await uia.authenticate(request.body.get("auth"), flows=[["m.login.password"]],
                           checks={"m.login.password": check})
