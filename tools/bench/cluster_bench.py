#!/usr/bin/env python3
"""Cluster mode against one node, in the same run: acknowledged submits per
second and submit->ack latency of an owner whose log is a real 3-member etcd
cluster on this machine, against a single node with its local journal
(fsync on). The two alternate, so the machine's load falls on both alike.
Also etcd's database size and write rate at that load.

    tools/bench/cluster_bench.py [--build build-bench] [--rounds 3] [--seconds 5]

Prints a markdown table. Needs ccrouterd and ccload built in --build, and
etcd (tools/install-deps).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

LOAD = ["--bench", "--agents", "0", "--rate", "0", "--gateways", "4", "--window", "64",
        "--ingest", "stream", "--warmup", "1", "--seed", "1"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Etcd:
    def __init__(self, work, members=3):
        self.client = [f"127.0.0.1:{free_port()}" for _ in range(members)]
        peer = [f"127.0.0.1:{free_port()}" for _ in range(members)]
        cluster = ",".join(f"e{i}=http://{p}" for i, p in enumerate(peer))
        self.procs = [subprocess.Popen(
            ["etcd", f"--name=e{i}", f"--data-dir={work}/e{i}",
             f"--listen-client-urls=http://{self.client[i]}",
             f"--advertise-client-urls=http://{self.client[i]}",
             f"--listen-peer-urls=http://{peer[i]}",
             f"--initial-advertise-peer-urls=http://{peer[i]}", f"--initial-cluster={cluster}",
             "--initial-cluster-state=new", "--logger=zap", "--log-outputs=stderr",
             "--log-level=error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for i in range(members)]

    def endpoints(self):
        return ",".join(self.client)

    def status(self):
        """(db size in bytes, raft index) of the first member."""
        out = subprocess.run(["etcdctl", "--endpoints", self.client[0], "endpoint", "status",
                              "-w", "json"], capture_output=True, text=True, timeout=10)
        s = json.loads(out.stdout)[0]["Status"]
        return s["dbSize"], s["raftIndex"]

    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait()


def start_node(build, argv, log_path):
    log = open(log_path, "w")
    proc = subprocess.Popen([f"{build}/engine/ccrouterd", "--listen", "127.0.0.1:0",
                             "--http-listen", "127.0.0.1:0", "--log-level", "warn"] + argv,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        m = re.search(r"event=listening grpc=(\S+)", open(log_path).read())
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"ccrouterd did not start: {open(log_path).read()}")


def ccload(build, addr, seconds):
    out = subprocess.run([f"{build}/tools/ccload/ccload", "--server", addr, "--json",
                          "--duration", str(seconds)] + LOAD,
                         capture_output=True, text=True, timeout=300, check=True)
    return json.loads([l for l in out.stdout.splitlines() if l.startswith("{")][-1])


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build-bench")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=5)
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="ccr-cluster-bench-")
    results = {"single": [], "cluster": []}
    etcd_growth = []
    try:
        for r in range(args.rounds):
            for mode in (["single", "cluster"] if r % 2 == 0 else ["cluster", "single"]):
                run_dir = os.path.join(work, f"{mode}-{r}")
                os.makedirs(run_dir)
                etcd = None
                if mode == "cluster":
                    etcd = Etcd(run_dir)
                    argv = ["--etcd-endpoints", etcd.endpoints(), "--lease-ttl", "3"]
                else:
                    argv = ["--data-dir", os.path.join(run_dir, "data")]
                node, addr = start_node(args.build, argv, os.path.join(run_dir, "node.log"))
                before = etcd.status() if etcd else None
                started = time.time()
                report = ccload(args.build, addr, args.seconds)
                if etcd:
                    after = etcd.status()
                    elapsed = time.time() - started
                    etcd_growth.append(((after[0] - before[0]) / elapsed,
                                        (after[1] - before[1]) / elapsed, after[0]))
                node.send_signal(signal.SIGTERM)
                node.wait(timeout=60)
                if etcd:
                    etcd.stop()
                results[mode].append(report)
                print(f"round {r} {mode}: {report['acks_per_second']:.0f} acks/s, ack p50 "
                      f"{report['submit_to_ack']['p50_us']:.0f} us p99 "
                      f"{report['submit_to_ack']['p99_us']:.0f} us", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def med(mode, f):
        return statistics.median(f(r) for r in results[mode])

    rows = [("acknowledged submits/s", lambda r: r["acks_per_second"], "{:,.0f}"),
            ("submit→ack p50 (ms)", lambda r: r["submit_to_ack"]["p50_us"] / 1000, "{:.1f}"),
            ("submit→ack p99 (ms)", lambda r: r["submit_to_ack"]["p99_us"] / 1000, "{:.1f}")]
    print("\n| median of %d runs | single node, journal fsync on | cluster (3 etcd members) "
          "| ratio |\n|---|---:|---:|---:|" % args.rounds)
    for name, f, fmt in rows:
        s, c = med("single", f), med("cluster", f)
        print(f"| {name} | {fmt.format(s)} | {fmt.format(c)} | {c / s:.2f} |")
    if etcd_growth:
        print(f"\netcd at that load: the database grew {statistics.median(g[0] for g in etcd_growth) / 1e6:.2f} MB/s, "
              f"{statistics.median(g[1] for g in etcd_growth):,.0f} raft entries/s; "
              f"{statistics.median(g[2] for g in etcd_growth) / 1e6:.1f} MB after a run")


if __name__ == "__main__":
    main()
