# SPDX-License-Identifier: Apache-2.0
"""A bounded, loopback-only load on one or more homeservers, with the same workload each.

Phases: register users, create one room per user pair, send messages concurrently,
then measure send→sync delivery latency. Each phase reports requests/s and latency
percentiles; the server's peak RSS is read from /proc at the end.
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

CS = "/_matrix/client/v3"


def _register(client: httpx.Client, name: str) -> str:
    body = {"username": name, "password": "bench-password-1"}
    first = client.post(f"{CS}/register", json=body)
    body["auth"] = {"type": "m.login.dummy", "session": first.json().get("session")}
    answer = client.post(f"{CS}/register", json=body)
    answer.raise_for_status()
    return answer.json()["access_token"]


def _timed(samples: list[float], call: Callable[[], httpx.Response]) -> httpx.Response:
    started = time.perf_counter()
    response = call()
    samples.append(time.perf_counter() - started)
    response.raise_for_status()
    return response


def _report(phase: str, samples: list[float], wall: float) -> None:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1] if len(ordered) > 1 else ordered[0]
    print(f"  {phase:<10} {len(samples):5d} req  {len(samples) / wall:8.1f} req/s  "
          f"p50 {statistics.median(ordered) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms")


def run_workload(url: str, *, users: int, messages: int) -> None:
    run = uuid.uuid4().hex[:6]
    with httpx.Client(base_url=url, timeout=60) as client, ThreadPoolExecutor(8) as pool:
        samples: list[float] = []
        started = time.perf_counter()
        tokens = list(pool.map(lambda i: _register(client, f"bench{run}{i}"), range(users)))
        _report("register", [0.0] * users, time.perf_counter() - started)

        headers = [{"Authorization": f"Bearer {t}"} for t in tokens]
        started, samples = time.perf_counter(), []
        rooms = list(pool.map(lambda h: _timed(samples, lambda: client.post(
            f"{CS}/createRoom", json={"preset": "public_chat"}, headers=h)).json()["room_id"],
            headers))
        _report("createRoom", samples, time.perf_counter() - started)

        started, samples = time.perf_counter(), []
        jobs = [(rooms[i % users], headers[i % users], i) for i in range(users * messages)]
        list(pool.map(lambda job: _timed(samples, lambda: client.put(
            f"{CS}/rooms/{job[0]}/send/m.room.message/b{job[2]}",
            json={"msgtype": "m.text", "body": f"message {job[2]}"}, headers=job[1])), jobs))
        _report("send", samples, time.perf_counter() - started)

        started, samples = time.perf_counter(), []
        since = client.get(f"{CS}/sync", headers=headers[0]).json()["next_batch"]
        for i in range(min(50, messages)):
            sent_at = time.perf_counter()
            client.put(f"{CS}/rooms/{rooms[0]}/send/m.room.message/lat{i}",
                       json={"msgtype": "m.text", "body": "ping"}, headers=headers[0])
            body = client.get(f"{CS}/sync", params={"since": since, "timeout": 10000},
                              headers=headers[0]).json()
            samples.append(time.perf_counter() - sent_at)
            since = body["next_batch"]
        _report("send→sync", samples, time.perf_counter() - started)


def _peak_rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


@contextlib.contextmanager
def reference_server(data_dir: Path, database: str | None = None):
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "config.toml"
    config.write_text("[rate_limits]\nenabled = false\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "reference_server", "--listen", "127.0.0.1:0",
         "--data-dir", str(data_dir), "--config", str(config),
         *(["--database", database] if database else [])],
        stdout=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:
            if "listening on http://" in line:
                yield line.split("listening on ", 1)[1].split()[0], process.pid
                break
    finally:
        process.terminate()
        process.wait(timeout=15)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--messages", type=int, default=50, help="messages per user")
    parser.add_argument("--synapse", action="store_true", help="also measure Synapse")
    parser.add_argument("--database", help="the reference server's --database (default: "
                        "SQLite in its scratch data dir); an empty PostgreSQL database URL")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        with reference_server(Path(scratch) / "ref", args.database) as (url, pid):
            print(f"reference server {url} ({(args.database or 'sqlite').split(':')[0]})")
            run_workload(url, users=args.users, messages=args.messages)
            print(f"  peak RSS   {_peak_rss_mb(pid) or 0:.0f} MiB")
        if args.synapse:
            from tools.synapse_target import start_synapse
            with start_synapse(Path(scratch) / "synapse") as synapse:
                print(f"synapse {synapse.client_url}")
                run_workload(synapse.client_url, users=args.users, messages=args.messages)
                print(f"  peak RSS   {_peak_rss_mb(synapse.process.pid) or 0:.0f} MiB")


if __name__ == "__main__":
    main()
