"""Throughput of a published TCP port vs a direct loopback transfer (1 GiB each, alternating runs).

The published port is made by engine.network exactly as for a container (`-p 127.0.0.1:0:80`): a bridge, a
veth into a fresh network namespace, kernel DNAT; the sink runs inside that namespace. The direct transfer
goes to the same sink program on the host's 127.0.0.1. When dockerd is installed, a private one
(bench/peers.py) publishes a busybox container's port the same way and its row is interleaved with ours.
Run as root:

    python3 bench/network_throughput.py [--gib 1] [--runs 5] [--record]
"""

from __future__ import annotations

import argparse
import contextlib
import json
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

import peers  # noqa: E402
from engine_common import DOCKER  # noqa: E402

from engine.network.service import NetworkService, sweep  # noqa: E402

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


def fresh_tcp_metrics() -> None:
    """Forget the kernel's cached TCP metrics for 127.0.0.1 (ssthresh, RTT, cwnd saved when a connection
    closes, used to start the next one): every row connects to 127.0.0.1, so without this each transfer
    started from whatever the previous row's left, and a row's time depended on the row before it. Only
    that cache entry goes (the kernel makes it again); no setting changes."""
    subprocess.run(["ip", "tcp_metrics", "delete", "127.0.0.1"], capture_output=True)


def transfer(port: int, total: int) -> float:
    data = memoryview(b"\0" * CHUNK)
    fresh_tcp_metrics()
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


def dockerd_port(stack: contextlib.ExitStack, procs: list[subprocess.Popen[bytes]]) -> int:
    """A busybox container on dockerd's default bridge with `-p 127.0.0.1:0:80`; the same sink program runs
    in its network namespace. dockerd runs with --iptables=false (house rule: the firewall is shared), which
    leaves its path for host-to-127.0.0.1 unchanged: that traffic goes through the userland docker-proxy
    also with iptables on (dockerd's OUTPUT DNAT rule excludes 127.0.0.0/8)."""
    env, _tmp, _daemon = stack.enter_context(peers.private_dockerd())
    run = [DOCKER, "run", "-d", "-p", "127.0.0.1:0:80", "busybox", "sleep", "3600"]
    cid = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout.strip()
    insp = subprocess.run([DOCKER, "inspect", cid], env=env, capture_output=True, text=True, check=True)
    state = json.loads(insp.stdout)[0]
    procs.append(start_sink(["nsenter", f"--net=/proc/{state['State']['Pid']}/ns/net"], "0.0.0.0", 80)[0])
    return int(state["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    total = int(args.gib * (1 << 30)) // CHUNK * CHUNK
    base = Path(tempfile.mkdtemp(prefix="cnet-bench-"))
    svc = NetworkService(base / "data", base / "exec")
    procs: list[subprocess.Popen[bytes]] = []
    # the engine's default network MTU, and Docker's 1500 (com.docker.network.driver.mtu) for comparison
    variants = {"default": {}, "mtu1500": {"com.docker.network.driver.mtu": "1500"}}
    cids = {name: os.urandom(32).hex() for name in variants}
    stack = contextlib.ExitStack()
    try:
        ports = {}
        for name, opts in variants.items():
            svc.create({"Name": f"bench-{name}", "Options": opts})
            hc = {
                "NetworkMode": f"bench-{name}",
                "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "0"}]},
            }
            svc.on_create(cids[name], f"bench-{name}", hc, {})
            ns = svc.attach(cids[name], f"bench-{name}", {}, hc)
            ports[name] = svc._live[cids[name]].ports[0].host_port
            procs.append(start_sink(["nsenter", f"--net={ns}"], "0.0.0.0", 80)[0])
        sink, ports["direct"] = start_sink([], "127.0.0.1", 0)
        procs.append(sink)
        peer = peers.dockerd_installed()
        if peer:
            ports["dockerd"] = dockerd_port(stack, procs)
        else:
            print("dockerd not installed")
        times: dict[str, list[float]] = {k: [] for k in ("direct", *variants, *(["dockerd"] if peer else []))}
        for _ in range(args.runs):
            for k in times:
                times[k].append(transfer(ports[k], total))
        med = {k: statistics.median(v) for k, v in times.items()}
        gbps = {k: total * 8 / v / 1e9 for k, v in med.items()}
        ratio = {k: med["direct"] / med[k] for k in times}
        mtu = {k: svc.mtu(svc.get(f"bench-{k}")) for k in variants}
        lines = [
            "# Network benchmark: 1 GiB through a published TCP port vs direct loopback",
            "",
            "Produced by `python3 bench/network_throughput.py --record` (as root).",
            "",
            f"Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M')} UTC",
            f"Machine: {platform.machine()}, {os.cpu_count()} cpus, Linux {platform.release()}, "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (shared machine)",
            f"Runs: {args.runs} per row, interleaved, {total >> 20} MiB each; sender and sink are the "
            "same Python programs on every path (1 MiB sendall / recv_into)",
            "",
            "| path | median s | Gbit/s | ratio to loopback |",
            "|---|---|---|---|",
            f"| direct loopback 127.0.0.1 | {med['direct']:.3f} | {gbps['direct']:.1f} | 1.00 |",
            *(
                f"| published 127.0.0.1 -> container :80 (bridge + veth, MTU {mtu[k]}, kernel DNAT) | "
                f"{med[k]:.3f} | {gbps[k]:.1f} | {ratio[k]:.2f} |"
                for k in variants
            ),
            *(
                [f"| dockerd 20.10 published 127.0.0.1 -> container :80 (docker-proxy, MTU 1500; "
                 f"--iptables=false) | {med['dockerd']:.3f} | {gbps['dockerd']:.1f} | "
                 f"{ratio['dockerd']:.2f} |"]
                if peer else []
            ),
            "",
            f"Target >= 0.9 of loopback: {'met' if ratio['default'] >= 0.9 else 'NOT met'} with the engine's "
            f"default MTU ({ratio['default']:.2f}). "
            + (
                f"Target no worse than dockerd: ours/dockerd time {med['default'] / med['dockerd']:.2f}x "
                f"({'met' if med['default'] <= med['dockerd'] else 'NOT met'}); dockerd, same run, with "
                "--iptables=false (the firewall is shared with other sessions); its 127.0.0.1 path is the "
                "userland docker-proxy either way."
                if peer else "dockerd not installed: not measured."
            ),
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
        stack.close()
        svc.close()
        sweep(base / "data", base / "exec")
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
