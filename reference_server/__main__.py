# SPDX-License-Identifier: Apache-2.0
"""`python -m reference_server`: parse the CLI contract, build the server, serve until a signal."""
from __future__ import annotations

import logging
import signal
import socket
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
    """Bind first (so port 0 resolves to a real port), then build the app, then serve."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    plain_socket = _bind(config.listen)
    plain_url = "http://" + _address(plain_socket)
    hyper = HypercornConfig()
    hyper.accesslog = None
    hyper.errorlog = logging.getLogger("hypercorn.error")
    hyper.graceful_timeout = 2
    announced = [(plain_url, "client and federation")]
    if config.federation_listen:
        cert, key = (config.tls_cert, config.tls_key) if config.tls_cert else \
            load_or_create_tls(config.data_dir, config.server_name)
        tls_socket = _bind(config.federation_listen)
        hyper.bind = [f"fd://{tls_socket.fileno()}"]
        hyper.insecure_bind = [f"fd://{plain_socket.fileno()}"]
        hyper.certfile, hyper.keyfile = str(cert), str(key)
        announced.append(("https://" + _address(tls_socket), "federation (TLS)"))
    else:
        hyper.bind = [f"fd://{plain_socket.fileno()}"]
    homeserver = build_homeserver(config, public_base_url=plain_url)
    async with trio.open_nursery() as nursery:
        stop = trio.Event()
        nursery.start_soon(_wait_for_signal, stop)
        for task in homeserver.background:
            await nursery.start(task)
        await nursery.start(lambda task_status: serve(
            homeserver.app, hyper, shutdown_trigger=stop.wait, task_status=task_status))
        for url, kind in announced:
            print(f"listening on {url} for {kind} as {config.server_name}", flush=True)
        await stop.wait()
        nursery.cancel_scope.cancel()
    homeserver.db.close()


def _bind(host_port: str) -> socket.socket:
    host, _, port = host_port.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.set_inheritable(True)
    return sock


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _wait_for_signal(stop: trio.Event) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            stop.set()
            return


if __name__ == "__main__":
    main()
