"""Throughput of a published TCP port vs a direct loopback transfer (1 GiB each, alternating runs).

The published port is made by engine.network exactly as for a container (`-p 127.0.0.1:0:80`): a bridge, a
veth into a fresh network namespace, kernel DNAT; the sink runs inside that namespace. The direct transfer
goes to the same sink program on the host's 127.0.0.1. Run as root:

    python3 bench/network_throughput.py [--gib 1] [--runs 3] [--record]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.network import firewall, netlink  # noqa: E402
from engine.network.service import NetworkService  # noqa: E402

CHUNK = 1 << 20
SINK = (
    "import socket,sys\n"
    "s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
    "s.bind((sys.argv[1],int(sys.argv[2])));s.listen(4);print(s.getsockname()[1],flush=True)\n"
    "buf=bytearray(1<<20);mv=memoryview(buf)\n"
    "while True:\n"
    " c,_=s.accept();n=0\n"
    " while True:\n"
    "  k=c.recv_into(mv)\n"
    "  if not k: break\n"
    "  n+=k\n"
    " c.sendall(str(n).encode());c.close()\n"
)


def start_sink(prefix: list[str], ip: str, port: int) -> tuple[subprocess.Popen[bytes], int]:
    p = subprocess.Popen([*prefix, sys.executable, "-c", SINK, ip, str(port)], stdout=subprocess.PIPE)
    assert p.stdout is not None
    return p, int(p.stdout.readline())


def transfer(port: int, total: int) -> float:
    data = memoryview(b"\0" * CHUNK)
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as s:
        sent = 0
        while sent < total:
            s.sendall(data)
            sent += CHUNK
        s.shutdown(socket.SHUT_WR)
        got = int(s.recv(64))
    elapsed = time.perf_counter() - t0
    assert got == total, (got, total)
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--record", action="store_true")
    ap.add_argument(
        "--mtu",
        type=int,
        default=0,
        help="the network's com.docker.network.driver.mtu option (0: the engine's default)",
    )
    args = ap.parse_args()
    total = int(args.gib * (1 << 30)) // CHUNK * CHUNK
    base = Path(tempfile.mkdtemp(prefix="cnet-bench-"))
    svc = NetworkService(base / "data", base / "exec")
    procs: list[subprocess.Popen[bytes]] = []
    cid = os.urandom(32).hex()
    try:
        opts = {"com.docker.network.driver.mtu": str(args.mtu)} if args.mtu else {}
        svc.create({"Name": "bench-net", "Options": opts})
        hc = {
            "NetworkMode": "bench-net",
            "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "0"}]},
        }
        svc.on_create(cid, "bench", hc, {})
        ns = svc.attach(cid, "bench", {}, hc)
        published = svc._live[cid].ports[0].host_port
        p1, _ = start_sink(["nsenter", f"--net={ns}"], "0.0.0.0", 80)
        p2, direct = start_sink([], "127.0.0.1", 0)
        procs += [p1, p2]
        times: dict[str, list[float]] = {"direct": [], "published": []}
        for _ in range(args.runs):
            times["direct"].append(transfer(direct, total))
            times["published"].append(transfer(published, total))
        med = {k: statistics.median(v) for k, v in times.items()}
        gbps = {k: total * 8 / v / 1e9 for k, v in med.items()}
        ratio = med["direct"] / med["published"]
        mtu = svc.mtu(svc.get("bench-net"))
        lines = [
            "# Network benchmark: 1 GiB through a published TCP port vs direct loopback",
            "",
            "Produced by `python3 bench/network_throughput.py --record` (as root).",
            "",
            f"Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M')} UTC",
            f"Machine: {platform.machine()}, {os.cpu_count()} cpus, Linux {platform.release()}, "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
            f"Runs: {args.runs} per column, alternating, {total >> 20} MiB each; sender and sink are the "
            "same Python programs on both paths (1 MiB sendall / recv_into)",
            "",
            "| path | median s | Gbit/s |",
            "|---|---|---|",
            f"| direct loopback 127.0.0.1 | {med['direct']:.3f} | {gbps['direct']:.1f} |",
            f"| published 127.0.0.1:{published} -> container :80 (bridge + veth, MTU {mtu}, kernel DNAT) | "
            f"{med['published']:.3f} | {gbps['published']:.1f} |",
            "",
            f"Ratio published/direct throughput: {ratio:.2f} (target >= 0.8). dockerd is not run on this "
            "machine (house rule), so its published-port figure is not measured here; its default for "
            "host-to-127.0.0.1 traffic is the userland docker-proxy, which copies every byte in a process.",
            "",
        ]
        text = "\n".join(lines)
        print(text)
        if args.record:
            with open(ROOT / "bench" / "RESULTS.md", "a") as f:
                f.write("\n" + text)
    finally:
        for p in procs:
            p.kill()
            p.wait()
            if p.stdout:
                p.stdout.close()
        svc.forget(cid)
        for n in svc.find({"name": ["bench-net"]}):
            svc.remove(n.id)
        svc.close()
        firewall.remove(svc.table)
        for veth in netlink.list_links(svc.veth_prefix):
            netlink.delete_link(veth)
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
