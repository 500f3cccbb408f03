#!/usr/bin/env python3
"""Compares two builds of ccrouterd on the same machine, for a change that
should cost nothing (a redesign): server CPU per acknowledged contact, the
two daemons run alternately (the order flipped each round) so the machine's
load falls on both alike; or, with --callgrind, instructions per contact,
which do not depend on the load at all.

    tools/bench/compare_builds.py BEFORE_BUILD AFTER_BUILD [--rounds 4]
    tools/bench/compare_builds.py BEFORE_BUILD AFTER_BUILD --callgrind

Each BUILD is a build directory made as tools/bench/run makes build-bench/
(Release; ccrouterd and ccload built). ccload comes from AFTER_BUILD for
both, so only the engine differs. Prints a markdown table.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import tempfile
import time

MIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench-mix.yaml")
LOAD_CASES = {
    "stream ingest, no agents": ["--agents", "0", "--rate", "0", "--gateways", "4", "--window",
                                 "64", "--ingest", "stream"],
    "unary ingest, no agents": ["--agents", "0", "--rate", "0", "--gateways", "4", "--window",
                                "64", "--ingest", "unary"],
    "1,000 agents, closed loop": ["--agents", "1000", "--rate", "0", "--window", "32",
                                  "--handle-ms", "50", "--mix", MIX, "--ingest", "stream",
                                  "--gateways", "4"],
}
CALLGRIND_CASES = {
    "per acknowledged submit, no agents": ["--agents", "0", "--rate", "400"],
    "per contact, 50 agents": ["--agents", "50", "--rate", "200", "--handle-ms", "5", "--mix",
                               MIX],
}


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Daemon:
    def __init__(self, build, work, prefix=(), fsync="off", server=None):
        """ccrouterd of `build`, or `server` (an argv: echo_server) when given."""
        self.log_path = os.path.join(work, "log")
        self.out = os.path.join(work, "callgrind.out")
        argv = list(prefix) + (server or [
            f"{build}/engine/ccrouterd", "--listen", "127.0.0.1:0", "--http-listen",
            "127.0.0.1:0", "--log-level", "warn", "--data-dir", os.path.join(work, "data"),
            "--fsync", fsync])
        self.proc = subprocess.Popen(argv, stdout=open(self.log_path, "w"),
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            with open(self.log_path) as f:
                m = re.search(r"grpc=([0-9.]+:[0-9]+)", f.read())
            if m:
                self.addr = m.group(1)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"ccrouterd did not start: {open(self.log_path).read()}")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)


def ccload(build, addr, extra, seconds, warmup):
    out = subprocess.run([f"{build}/tools/ccload/ccload", "--server", addr, "--json", "--bench",
                          "--duration", str(seconds), "--warmup", str(warmup), "--seed", "1"] +
                         extra, capture_output=True, text=True, timeout=600, check=True)
    return json.loads([l for l in out.stdout.splitlines() if l.startswith("{")][-1])


def cpu_per_ack(build, client_build, extra):
    with tempfile.TemporaryDirectory(prefix="ccr-compare-") as work:
        daemon = Daemon(build, work)
        before = cpu_seconds(daemon.proc.pid)
        report = ccload(client_build, daemon.addr, extra, 4, 1)
        used = cpu_seconds(daemon.proc.pid) - before
        daemon.stop()
    return 1e6 * used / max(1, report["acked_all"])


def instructions(build, client_build, extra):
    """Total instructions of one daemon run, and the contacts acknowledged."""
    with tempfile.TemporaryDirectory(prefix="ccr-compare-") as work:
        daemon = Daemon(build, work, ["valgrind", "--tool=callgrind",
                                      f"--callgrind-out-file={work}/callgrind.out"])
        acked = 0
        if extra is None:
            time.sleep(3)
        else:
            acked = ccload(client_build, daemon.addr, extra + ["--gateways", "1", "--ingest",
                                                               "stream"], 5, 0)["acked_all"]
        daemon.stop()
        with open(daemon.out) as f:
            total = int(re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M).group(1))
    return total, acked


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--callgrind", action="store_true")
    args = p.parse_args()
    builds = {"before": args.before, "after": args.after}
    if args.callgrind:
        print("| case | before | after | ratio |\n|---|---:|---:|---:|")
        idle = {name: instructions(b, args.after, None)[0] for name, b in builds.items()}
        print(f"| start and stop, no traffic | {idle['before']:,} | {idle['after']:,} | "
              f"{idle['after'] / idle['before']:.2f} |")
        for case, extra in CALLGRIND_CASES.items():
            per = {}
            for name, build in builds.items():
                total, acked = instructions(build, args.after, extra)
                per[name] = (total - idle[name]) / max(1, acked)
            print(f"| {case} | {per['before']:,.0f} | {per['after']:,.0f} | "
                  f"{per['after'] / per['before']:.2f} |", flush=True)
        return
    samples = {}
    for round_number in range(args.rounds):
        order = ["before", "after"] if round_number % 2 == 0 else ["after", "before"]
        for case, extra in LOAD_CASES.items():
            for name in order:
                us = cpu_per_ack(builds[name], args.after, extra)
                samples.setdefault((case, name), []).append(us)
                print(f"round {round_number} {case} {name}: {us:.1f} µs CPU/ack, load "
                      f"{open('/proc/loadavg').read().split()[0]}", flush=True)
    print("| case | before (µs) | after (µs) | ratio |\n|---|---:|---:|---:|")
    for case in LOAD_CASES:
        b = statistics.median(samples[(case, "before")])
        a = statistics.median(samples[(case, "after")])
        print(f"| {case} | {b:.1f} | {a:.1f} | {a / b:.2f} |")


if __name__ == "__main__":
    main()
