#!/usr/bin/python3
"""A real Prometheus server scrapes a real ccrouterd under demo traffic.

Starts ccrouterd (journal on, port 0) and Debian's `prometheus` on loopback
with a temporary data directory and a 1 s scrape interval, runs ccload's
simulated gateways and agents for a few seconds, then, once the engine's
figures hold still, asks Prometheus's HTTP API for the queue depth, the
windowed service level and the answered counts per queue and checks that
they equal what the engine's Admin.ListQueues reports. Also checks the
exposition with `promtool check metrics`.

usage: /usr/bin/python3 prometheus_test.py CCROUTERD CCLOAD PYTHON_STUB_DIR
"""

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

if len(sys.argv) != 4:
    sys.exit(__doc__)
CCROUTERD, CCLOAD = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
del sys.argv[1:]

import grpc  # noqa: E402
from ccrouterd_process import Ccrouterd  # noqa: E402
from ccrouter.v1 import admin_pb2, admin_pb2_grpc  # noqa: E402

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
RPC_TIMEOUT_S = 5
SCRAPE_S = 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


class Prometheus:
    def __init__(self, work, target):
        self.port = free_port()
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: {SCRAPE_S}s
  evaluation_interval: {SCRAPE_S}s
scrape_configs:
  - job_name: ccrouter
    static_configs:
      - targets: ['{target}']
""")
        self.log = open(os.path.join(work, "prometheus.log"), "wb")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}",
             f"--storage.tsdb.path={os.path.join(work, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if "Ready" in http_get(self.base + "/-/ready", timeout=1):
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("prometheus did not become ready; see " + self.log.name)

    def query(self, expr):
        """An instant query: {frozenset(labels.items()): float}."""
        url = self.base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        body = json.loads(http_get(url))
        assert body["status"] == "success", body
        return {frozenset(r["metric"].items()): float(r["value"][1])
                for r in body["data"]["result"]}

    def by_queue(self, expr):
        return {dict(k)["queue"]: v for k, v in self.query(expr).items()}

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class PrometheusTest(unittest.TestCase):

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="ccr-prom-")
        self.daemon = Ccrouterd(CCROUTERD, ["--data-dir", os.path.join(self.work, "data"),
                                            "--fsync", "off"])
        self.prometheus = Prometheus(self.work, self.daemon.http)
        self.channel = grpc.insecure_channel(self.daemon.grpc)
        self.admin = admin_pb2_grpc.AdminStub(self.channel)

    def tearDown(self):
        self.channel.close()
        self.prometheus.stop()
        code = self.daemon.stop()
        self.assertEqual(code, 0, self.daemon.text(30))
        shutil.rmtree(self.work, ignore_errors=True)

    def admin_figures(self):
        reply = self.admin.ListQueues(admin_pb2.ListQueuesRequest(), timeout=RPC_TIMEOUT_S)
        return {q.name: (q.queued, q.answered,
                         q.service_level_window if q.HasField("service_level_window")
                         else math.nan)
                for q in reply.queues}

    def prometheus_figures(self):
        depth = self.prometheus.by_queue("ccr_queue_depth")
        answered = self.prometheus.by_queue("sum by (queue) (ccr_contacts_answered_total)")
        level = self.prometheus.by_queue("ccr_queue_service_level_ratio")
        return {q: (depth[q], answered.get(q, 0.0), level.get(q, math.nan)) for q in depth}

    def test_prometheus_sees_what_admin_reports(self):
        # Staffed demo traffic for a few seconds, then the agents log out.
        load = subprocess.run(
            [CCLOAD, "--server", self.daemon.grpc, "--agents", "25", "--rate", "25",
             "--duration", "6", "--seed", "7", "--stats-interval", "60"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        self.assertEqual(load.returncode, 0, load.stderr.decode())

        # Compare once the engine's figures are the same before and after two
        # scrapes (agents logging out requeue what they held).
        matched = None
        deadline = time.time() + 60
        while time.time() < deadline and matched is None:
            before = self.admin_figures()
            time.sleep(2.5 * SCRAPE_S)
            seen = self.prometheus_figures()
            after = self.admin_figures()
            if all(
                    b[:2] == a[:2] and (b[2] == a[2] or math.isnan(b[2]) and math.isnan(a[2]))
                    for b, a in zip(before.values(), after.values())):
                matched = (after, seen)
        self.assertIsNotNone(matched, "the engine's figures never held still")
        admin, seen = matched
        for queue, figures in sorted(admin.items()):
            print(f"{queue}: admin (depth, answered, service level) {figures}, "
                  f"prometheus {seen.get(queue)}", flush=True)

        self.assertEqual(set(seen), set(admin), "queues in Prometheus vs Admin")
        for queue, (queued, answered, level) in admin.items():
            p_queued, p_answered, p_level = seen[queue]
            self.assertEqual(p_queued, queued, f"{queue}: depth")
            self.assertEqual(p_answered, answered, f"{queue}: answered")
            if math.isnan(level):
                self.assertTrue(math.isnan(p_level), f"{queue}: service level {p_level}")
            else:
                self.assertAlmostEqual(p_level, level, places=9, msg=f"{queue}: service level")
        # Not vacuous: traffic was answered and measured.
        self.assertGreater(sum(a for _, a, _ in admin.values()), 20)
        self.assertTrue(any(not math.isnan(l) for _, _, l in admin.values()))

        # The engine is up as far as Prometheus knows, and the journal counted.
        self.assertEqual(list(self.prometheus.query('up{job="ccrouter"}').values()), [1.0])
        self.assertGreater(sum(self.prometheus.query("ccr_journal_bytes_total").values()), 0)
        submits = self.prometheus.query(
            'ccr_grpc_requests_total{service="ccrouter.v1.ContactIngest",method="Submit",'
            'code="OK"}')
        self.assertGreater(sum(submits.values()), 20)

        # promtool lints the exposition with every kind of series filled in.
        self.assert_promtool_accepts(http_get(f"http://{self.daemon.http}/metrics"))

    def test_idle_exposition_passes_promtool(self):
        text = http_get(f"http://{self.daemon.http}/metrics")
        self.assertIn("ccr_build_info{", text)
        self.assert_promtool_accepts(text)

    def assert_promtool_accepts(self, text):
        check = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                               capture_output=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout.decode() + check.stderr.decode())


if __name__ == "__main__":
    unittest.main(verbosity=2)
