#!/usr/bin/python3
"""What a connected wallboard costs the engine: CPU per wallboard per second.

ccrouterd (auth open, the default config) under ccload's traffic; then, in
turn, N simulated wallboards, each doing what /wallboard does on the wire
(engine/web/assets/wallboard.js): one GET /v1/events stream, a GET /v1/queues
for each event (at most one every 250 ms, one at a time) and one every
second besides. The engine's CPU time (utime + stime from /proc) is read
over the same window for each N; the cost of one wallboard is the CPU above
the N = 0 run, divided by N.

usage: /usr/bin/python3 tools/bench/wallboard_bench.py CCROUTERD CCLOAD
           [--wallboards 0,5,20] [--seconds 20] [--rate 20] [--agents 50]
"""

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from ccrouterd_process import Ccrouterd  # noqa: E402

POLL_S = 1.0
MIN_GAP_S = 0.25


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Wallboard:
    """The wallboard page's requests, without the page."""

    def __init__(self, http_address, stop):
        self.host, port = http_address.rsplit(":", 1)
        self.port = int(port)
        self.stop = stop
        self.wanted = threading.Event()
        self.reads = 0
        self.events = 0
        self.threads = [threading.Thread(target=self._feed, daemon=True),
                        threading.Thread(target=self._reader, daemon=True)]
        for t in self.threads:
            t.start()

    def _feed(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        conn.request("GET", "/v1/events")
        response = conn.getresponse()
        while not self.stop.is_set():
            line = response.fp.readline()
            if not line:
                return
            if line.startswith(b"data:"):
                self.events += 1
                self.wanted.set()
        conn.close()

    def _reader(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        last = 0.0
        while not self.stop.is_set():
            # An event asks for a read now (at most every MIN_GAP_S); else
            # one every POLL_S.
            self.wanted.wait(timeout=max(0.0, last + POLL_S - time.monotonic()))
            self.wanted.clear()
            gap = last + MIN_GAP_S - time.monotonic()
            if gap > 0:
                time.sleep(gap)
            last = time.monotonic()
            try:
                conn.request("GET", "/v1/queues")
                conn.getresponse().read()
                self.reads += 1
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("ccrouterd")
    parser.add_argument("ccload")
    parser.add_argument("--wallboards", default="0,5,20")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--agents", type=int, default=50)
    args = parser.parse_args()
    counts = [int(n) for n in args.wallboards.split(",")]

    work = tempfile.mkdtemp(prefix="ccr-wallboard-bench-")
    daemon = Ccrouterd(args.ccrouterd, [], log_path=os.path.join(work, "ccrouterd.log"))
    total = (args.seconds + 3) * len(counts) + 10
    ccload = subprocess.Popen(
        [args.ccload, "--server", daemon.grpc, "--agents", str(args.agents), "--rate",
         str(args.rate), "--duration", str(total), "--seed", "5", "--stats-interval", "60"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3)  # ccload's agents log in
        rows = []
        for n in counts:
            stop = threading.Event()
            boards = [Wallboard(daemon.http, stop) for _ in range(n)]
            time.sleep(2)  # streams open, first reads done
            reads0 = sum(b.reads for b in boards)
            cpu0, t0 = cpu_seconds(daemon.proc.pid), time.monotonic()
            time.sleep(args.seconds)
            cpu1, t1 = cpu_seconds(daemon.proc.pid), time.monotonic()
            reads = sum(b.reads for b in boards) - reads0
            stop.set()
            rows.append((n, (cpu1 - cpu0) / (t1 - t0), reads / (t1 - t0)))
            print(f"wallboards={n:3d}  engine CPU {1000 * rows[-1][1]:7.1f} ms/s  "
                  f"/v1/queues reads {rows[-1][2]:6.1f}/s", flush=True)
        base = rows[0][1] if rows and rows[0][0] == 0 else None
        if base is not None:
            for n, cpu, reads in rows[1:]:
                per_board = 1000 * (cpu - base) / n
                per_read = 1000 * (cpu - base) / reads if reads else float("nan")
                print(f"wallboards={n:3d}  per wallboard: {per_board:.2f} ms CPU per second "
                      f"({per_read:.3f} ms per read)")
    finally:
        ccload.terminate()
        ccload.wait()
        daemon.stop()


if __name__ == "__main__":
    main()
