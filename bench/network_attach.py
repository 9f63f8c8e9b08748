"""Attach and detach of 20 containers' networking (engine.network in-process, no runtime), as root.

Each container joins one user-defined bridge network (so each gets the embedded DNS too): netns, veth pair,
address, default route, DNS sockets. Measured one after another and 8 at a time (as a `composer up` of 20
services asks the engine), median of --runs. Prints a markdown table; nothing is recorded automatically.

    python3 bench/network_attach.py [--runs 3] [--containers 20]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.network.service import NetworkService, sweep  # noqa: E402


def cycle(svc: NetworkService, n: int, workers: int) -> tuple[float, float]:
    hc = {"NetworkMode": "benchattach_default"}
    cids = [secrets.token_hex(32) for _ in range(n)]
    for i, cid in enumerate(cids):
        svc.on_create(cid, f"/c{i}", hc, {})
    with ThreadPoolExecutor(workers) as pool:
        start = time.perf_counter()
        list(pool.map(lambda c: svc.attach(c, c, {}, hc), cids))
        mid = time.perf_counter()
        list(pool.map(svc.forget, cids))
        end = time.perf_counter()
    return mid - start, end - mid


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--containers", type=int, default=20)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-attach-"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    svc = NetworkService(base / "data", base / "exec")
    svc.dns.bind_loop(loop)
    rows = []
    try:
        svc.create({"Name": "benchattach_default"})
        for workers in (1, 8):
            samples = [cycle(svc, args.containers, workers) for _ in range(args.runs)]
            att = statistics.median(s[0] for s in samples)
            det = statistics.median(s[1] for s in samples)
            rows.append(f"| {workers} | {att:.3f} | {att / args.containers * 1000:.1f} | {det:.3f} |")
    finally:
        svc.close()
        sweep(base / "data", base / "exec")
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        shutil.rmtree(base, ignore_errors=True)
    print(f"{args.containers} containers, median of {args.runs} runs")
    print("| at a time | attach all s | ms per attach | detach all s |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
