#!/usr/bin/env python3
"""Server cost per acknowledged streamed submit, for a series of builds (one
change each) against gRPC's echo baseline, all in one session (issue #19):

    tools/bench/ingest_steps.py main=A/build-bench step1=B/build-bench ... [--rounds 3]

For each build, in this order:
- callgrind instructions per ack on the server: ccrouterd under
  `valgrind --tool=callgrind`, counters zeroed once it listens and dumped
  when ccload has run one SubmitStream with one submit in flight (no agents)
  for --callgrind-seconds, divided by the acks (start-up and the shutdown
  snapshot are not counted). One in flight and fsync off, so every submit
  takes the same path whatever valgrind's speed: a batch of one, its reply
  written from the strand. (Under a closed loop of many in flight, batches
  grow when the server is slow, and who starts each write depends on
  timing; runs of the same binary then differed by 20 %.) Instructions do
  not depend on the machine's load; the kernel's share (futex, context
  switches) is not in them. Background work that runs by the clock (pollers,
  timers) is counted too and varies with valgrind's speed, so runs of one
  binary differ by a few per cent: --callgrind-runs runs per build, the
  builds alternating, and the median (min–max) is reported.
- server CPU per ack (utime + stime of the whole process, and of its main
  thread: the routing strand), context switches per ack (every thread's,
  voluntary and not: the hand-offs between threads), acks/s and the ratio to
  echo_server's acks/s: --rounds rounds, each running echo_server and then
  every build (the order of the builds flipped each round) under the same
  ccload (closed loop, 4 gateways x 64 in flight, no agents, --ingest stream
  or unary, fsync on), 4 s after 1 s of warm-up; medians over the rounds.

echo_server comes from the first build, ccload from the last. Prints a
markdown table.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time

from compare_builds import Daemon, cpu_seconds

STREAM = ["--agents", "0", "--rate", "0", "--gateways", "4", "--window", "64", "--ingest",
          "stream"]


def thread_cpu_seconds(pid):
    with open(f"/proc/{pid}/task/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def context_switches(pid):
    """Voluntary + involuntary context switches of every thread of `pid` (a
    thread that ended meanwhile is not counted)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if "ctxt_switches:" in line:
                        total += int(line.split()[-1])
        except FileNotFoundError:
            pass
    return total


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def ccload(client_build, addr, seconds, warmup, baseline, load=STREAM):
    argv = [f"{client_build}/tools/ccload/ccload", "--server", addr, "--json", "--duration",
            str(seconds), "--warmup", str(warmup), "--seed", "1",
            "--baseline" if baseline else "--bench"] + load
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=True)
    return json.loads([l for l in out.stdout.splitlines() if l.startswith("{")][-1])


def instructions_per_ack(build, client_build, seconds, keep=None):
    """Instructions the server ran during the load alone (callgrind's counters
    zeroed once it listens, dumped when ccload is done), per ack. `keep`: a
    path to keep the profile at (one file per thread)."""
    with tempfile.TemporaryDirectory(prefix="ccr-ingest-") as work:
        out = keep or os.path.join(work, "callgrind.out")
        daemon = Daemon(build, work, ["valgrind", "--tool=callgrind", "--separate-threads=yes",
                                      f"--callgrind-out-file={out}"], fsync="off")
        pid = str(daemon.proc.pid)
        subprocess.run(["callgrind_control", "--zero", pid], check=True, capture_output=True)
        load = ["--agents", "0", "--rate", "0", "--gateways", "1", "--window", "1", "--ingest",
                "stream"]
        acked = ccload(client_build, daemon.addr, seconds, 0, False, load)["acked_all"]
        before = set(os.listdir(os.path.dirname(out)))
        subprocess.run(["callgrind_control", "--dump=load", pid], check=True,
                       capture_output=True)
        dumps = [os.path.join(os.path.dirname(out), f)
                 for f in set(os.listdir(os.path.dirname(out))) - before]
        daemon.stop()
        total = 0
        for path in dumps:
            with open(path) as f:
                m = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
                total += int(m.group(1)) if m else 0
    return total / max(1, acked), acked


def load_run(build, client_build, echo, ingest):
    with tempfile.TemporaryDirectory(prefix="ccr-ingest-") as work:
        server = [f"{build}/tools/bench/echo_server"] if echo else None
        daemon = Daemon(build, work, fsync="on", server=server)
        load_before = loadavg()
        cpu0, strand0 = cpu_seconds(daemon.proc.pid), thread_cpu_seconds(daemon.proc.pid)
        switches0 = context_switches(daemon.proc.pid)
        load = STREAM[:-1] + [ingest]
        report = ccload(client_build, daemon.addr, 4, 1, echo, load)
        cpu = cpu_seconds(daemon.proc.pid) - cpu0
        strand = thread_cpu_seconds(daemon.proc.pid) - strand0
        switches = context_switches(daemon.proc.pid) - switches0
        daemon.stop()
    acked = max(1, report["acked_all"])
    return {"acks_per_second": report["acks_per_second"], "cpu_us": 1e6 * cpu / acked,
            "strand_us": 1e6 * strand / acked, "switches": switches / acked,
            "load": max(load_before, loadavg())}


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("builds", nargs="+", help="NAME=BUILD_DIR, in the order of the changes")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--callgrind-seconds", type=float, default=15)
    p.add_argument("--keep-profiles", help="a directory to keep the callgrind profiles in")
    p.add_argument("--no-callgrind", action="store_true")
    p.add_argument("--callgrind-runs", type=int, default=3,
                   help="runs per build, alternating builds; the median is reported")
    p.add_argument("--ingest", choices=["stream", "unary"], default="stream",
                   help="the load rounds' ingest (callgrind always streams)")
    args = p.parse_args()
    builds = [tuple(b.split("=", 1)) for b in args.builds]
    client = builds[-1][1]
    instr = {}
    if not args.no_callgrind:
        runs = {}
        for run in range(args.callgrind_runs):
            for name, build in builds:
                keep = None
                if args.keep_profiles:
                    os.makedirs(args.keep_profiles, exist_ok=True)
                    keep = os.path.join(os.path.abspath(args.keep_profiles),
                                        f"callgrind.{name}.{run}")
                per_ack, acked = instructions_per_ack(build, client, args.callgrind_seconds, keep)
                runs.setdefault(name, []).append(per_ack)
                print(f"callgrind {name} run {run}: {per_ack:,.0f} instructions/ack "
                      f"({acked} acks)", flush=True)
        for name, _ in builds:
            instr[name] = (statistics.median(runs[name]), min(runs[name]), max(runs[name]))
    samples = {}
    for r in range(args.rounds):
        echo = load_run(builds[0][1], client, True, args.ingest)
        samples.setdefault("echo", []).append(dict(echo, ratio=1.0))
        print(f"round {r} echo: {echo['acks_per_second']:,.0f} acks/s, "
              f"{echo['cpu_us']:.1f} µs/ack, {echo['switches']:.2f} context switches/ack, "
              f"load {echo['load']:.2f}", flush=True)
        order = builds if r % 2 == 0 else builds[::-1]
        for name, build in order:
            s = load_run(build, client, False, args.ingest)
            s["ratio"] = s["acks_per_second"] / echo["acks_per_second"]
            s["cpu_ratio"] = s["cpu_us"] / echo["cpu_us"]
            samples.setdefault(name, []).append(s)
            print(f"round {r} {name}: {s['acks_per_second']:,.0f} acks/s ({s['ratio']:.2f} of "
                  f"echo), {s['cpu_us']:.1f} µs/ack (strand {s['strand_us']:.1f}; "
                  f"{s['cpu_ratio']:.2f}x echo), {s['switches']:.2f} context switches/ack, "
                  f"load {s['load']:.2f}", flush=True)

    def med(name, key):
        return statistics.median(s[key] for s in samples[name])

    print("| build | callgrind instructions / ack, server (median, min–max) | "
          "server CPU / ack (µs) | strand CPU / ack (µs) | CPU / ack vs echo | "
          "context switches / ack | acks/s | ratio to echo | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    loads = [s["load"] for s in samples["echo"]]
    print(f"| echo_server | | {med('echo', 'cpu_us'):.1f} | | 1.00 | "
          f"{med('echo', 'switches'):.2f} | "
          f"{med('echo', 'acks_per_second'):,.0f} | 1.00 | {min(loads):.1f}–{max(loads):.1f} |")
    for name, _ in builds:
        loads = [s["load"] for s in samples[name]]
        ins = ""
        if name in instr:
            ins = f"{instr[name][0]:,.0f} ({instr[name][1]:,.0f}–{instr[name][2]:,.0f})"
        print(f"| {name} | {ins} | {med(name, 'cpu_us'):.1f} | {med(name, 'strand_us'):.1f} | "
              f"{med(name, 'cpu_ratio'):.2f} | {med(name, 'switches'):.2f} | "
              f"{med(name, 'acks_per_second'):,.0f} | "
              f"{med(name, 'ratio'):.2f} | {min(loads):.1f}–{max(loads):.1f} |")


if __name__ == "__main__":
    main()
