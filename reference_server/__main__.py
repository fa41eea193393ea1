# SPDX-License-Identifier: Apache-2.0
"""`python -m reference_server`: parse the CLI contract, build the server, serve until a signal."""
from __future__ import annotations

import logging
import signal
import sys

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from .app import build_homeserver
from .config import Config, load_config, parse_args
from .keys import load_or_create_tls


def main(argv: list[str] | None = None) -> None:
    config = load_config(parse_args(argv))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    trio.run(_serve, config)


async def _serve(config: Config) -> None:
    hyper = HypercornConfig()
    hyper.insecure_bind = [config.listen]
    config.data_dir.mkdir(parents=True, exist_ok=True)
    if config.federation_listen:
        cert, key = (config.tls_cert, config.tls_key) if config.tls_cert else \
            load_or_create_tls(config.data_dir, config.server_name)
        hyper.bind = [config.federation_listen]
        hyper.certfile, hyper.keyfile = str(cert), str(key)
    else:
        hyper.bind = []
    hyper.accesslog = None
    hyper.errorlog = logging.getLogger("hypercorn.error")
    hyper.graceful_timeout = 2
    holder: dict = {}

    async def app(scope, receive, send):
        await holder["app"](scope, receive, send)

    async with trio.open_nursery() as nursery:
        stop = trio.Event()
        nursery.start_soon(_wait_for_signal, stop)
        binds = await nursery.start(lambda task_status: serve(
            app, hyper, shutdown_trigger=stop.wait, task_status=task_status))
        plain = next(b for b in binds if b.startswith("http://"))
        homeserver = build_homeserver(config, public_base_url=plain)
        holder["app"] = homeserver.app
        for bind in binds:
            kind = "federation (TLS)" if bind.startswith("https://") else "client and federation"
            print(f"listening on {bind} for {kind} as {config.server_name}", flush=True)
        await stop.wait()
    homeserver.db.close()


async def _wait_for_signal(stop: trio.Event) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            stop.set()
            return


if __name__ == "__main__":
    main()
