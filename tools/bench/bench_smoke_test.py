#!/usr/bin/env python3
"""Smoke test of the benchmark instruments, not of speed.

Runs `ccload --bench` for about 2 s against a real ccrouterd (journal on,
fsync on, simulated agents) and `ccload --baseline` against echo_server,
unary and streaming, each with --json, and checks that the JSON is sane:
acks arrived, no error codes, percentiles ordered, offers reached the agents,
the engine's per-queue figures came back. It never judges throughput or
latency: CI machines are noisy.

  bench_smoke_test.py CCROUTERD CCLOAD ECHO_SERVER
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

PERCENTILES = ["p50_us", "p90_us", "p99_us", "p99_9_us", "max_us"]


def start(argv, log_path):
    log = open(log_path, "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 20
    while time.time() < deadline:
        with open(log_path) as f:
            m = re.search(r"grpc=([0-9.]+:[0-9]+)", f.read())
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    with open(log_path) as f:
        sys.exit(f"{argv[0]} did not start:\n{f.read()}")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def ccload(binary, args):
    out = subprocess.run([binary] + args + ["--json", "--stats-interval", "1"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        sys.exit(f"ccload {' '.join(args)} exited {out.returncode}:\n{out.stderr}")
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if len(lines) != 1:
        sys.exit(f"ccload {' '.join(args)}: want one JSON line, got:\n{out.stdout}")
    return json.loads(lines[0]), out.stderr


def check(what, report, stderr, want_offers):
    problems = []
    if report["acked"] <= 0:
        problems.append("no acks")
    if report["errors"]:
        problems.append(f"errors: {report['errors']}")
    if report["measured_seconds"] <= 0:
        problems.append("measured_seconds <= 0")
    if report["acks_per_second"] <= 0:
        problems.append("acks_per_second <= 0")
    if "acks/s" not in stderr:
        problems.append("no progress line on stderr")
    hists = ["submit_to_ack"] + (["submit_to_offer"] if want_offers else [])
    for h in hists:
        figures = report[h]
        if figures["count"] <= 0:
            problems.append(f"{h}: count 0")
        values = [figures[p] for p in PERCENTILES]
        if values != sorted(values) or values[0] <= 0:
            problems.append(f"{h}: percentiles not ordered or zero: {values}")
    if report["submit_to_ack"]["count"] != report["acked"]:
        problems.append("submit_to_ack count != acked")
    if want_offers:
        if report["offers"] <= 0:
            problems.append("no offers reached the agents")
        if report["agents_logged_in"] != report["agents"]:
            problems.append(f"{report['agents_logged_in']} of {report['agents']} agents in")
        if not report["queues"]:
            problems.append("no per-queue figures from the engine")
        if not any(q["answered"] > 0 for q in report["queues"]):
            problems.append("no queue answered anything")
    else:
        if report["target"] != "echo":
            problems.append("target is not echo")
    print(f"{what}: {report['acks_per_second']:.0f} acks/s, "
          f"ack p99 {report['submit_to_ack']['p99_us']} us"
          + (f", offer p99 {report['submit_to_offer']['p99_us']} us" if want_offers else ""))
    if problems:
        sys.exit(f"{what}: " + "; ".join(problems) + f"\n{json.dumps(report)}\n{stderr}")


def main():
    ccrouterd, ccload_bin, echo = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as work:
        proc, addr = start([echo, "--listen", "127.0.0.1:0"], os.path.join(work, "echo.log"))
        try:
            for ingest in ["stream", "unary"]:
                report, err = ccload(ccload_bin, ["--server", addr, "--baseline", "--ingest",
                                                  ingest, "--rate", "0", "--window", "16",
                                                  "--gateways", "2", "--warmup", "0.5",
                                                  "--duration", "2"])
                check(f"echo {ingest} closed loop", report, err, want_offers=False)
        finally:
            stop(proc)

        proc, addr = start([ccrouterd, "--listen", "127.0.0.1:0", "--http-listen",
                            "127.0.0.1:0", "--data-dir", os.path.join(work, "data"),
                            "--log-level", "warn"], os.path.join(work, "ccrouterd.log"))
        try:
            report, err = ccload(ccload_bin, ["--server", addr, "--bench", "--agents", "60",
                                              "--rate", "300", "--ingest", "stream",
                                              "--handle-ms", "5", "--warmup", "0.5",
                                              "--duration", "2", "--seed", "3"])
            check("ccrouterd stream open loop", report, err, want_offers=True)
            report, err = ccload(ccload_bin, ["--server", addr, "--bench", "--agents", "60",
                                              "--rate", "0", "--window", "8", "--ingest",
                                              "unary", "--handle-ms", "5", "--warmup", "0.5",
                                              "--duration", "2", "--seed", "4"])
            check("ccrouterd unary closed loop", report, err, want_offers=True)
        finally:
            stop(proc)
    print("bench smoke test: ok")


if __name__ == "__main__":
    main()
