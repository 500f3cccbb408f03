#!/usr/bin/python3
"""The client examples, run against a real ccrouterd, so they stay usable.

  examples/node-desktop/desktop.js   an agent desktop (@grpc/grpc-js from npm)
  examples/python-gateway/gateway.py a gateway (Debian's python3-grpcio)

The desktop logs in on chat; the gateway's demo submits three chat contacts,
retries one (same key: the first answer), updates one, and submits and
cancels an email contact. The desktop must be offered, accept and complete
all three, and Admin.ListQueues must count them answered.

Both are given a cluster's list of nodes, the first a standby (FakeStandby:
UNAVAILABLE and the `ccrouter-owner` trailer, as ccrouterd answers when it
does not own routing), so each must follow the redirect to the daemon.

usage: /usr/bin/python3 examples_test.py CCROUTERD PYTHON_STUB_DIR NODE
"""

from concurrent import futures
import json
import os
import subprocess
import sys
import threading
import time
import unittest

if len(sys.argv) != 4:
    sys.exit(__doc__)
CCROUTERD, STUBS, NODE = sys.argv[1:4]
del sys.argv[1:]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, STUBS)

import grpc  # noqa: E402
from ccrouter.v1 import admin_pb2, admin_pb2_grpc  # noqa: E402
from ccrouterd_process import Ccrouterd  # noqa: E402

CONTACTS = 3
DESKTOP_TIMEOUT_S = 60


class JsonLines:
    """A child's stream of JSON lines, read by a thread."""

    def __init__(self, stream):
        self.items = []
        self.raw = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in stream:
            line = line.decode("utf-8", "replace").rstrip("\n")
            self.raw.append(line)
            try:
                self.items.append(json.loads(line))
            except ValueError:
                pass

    def wait_for(self, predicate, timeout_s):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(predicate(i) for i in list(self.items)):
                return True
            time.sleep(0.05)
        return False


class FakeStandby(grpc.GenericRpcHandler):
    """A cluster node that does not own routing: every call, any method, ends
    UNAVAILABLE naming the owner in the ccrouter-owner trailer."""

    def __init__(self, owner):
        self.owner = owner
        self.calls = 0
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                                  handlers=[self])
        self.address = "127.0.0.1:%d" % self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def service(self, handler_call_details):
        return grpc.stream_stream_rpc_method_handler(self._redirect)

    def _redirect(self, request_iterator, context):
        self.calls += 1
        context.set_trailing_metadata((("ccrouter-owner", self.owner),))
        context.abort(grpc.StatusCode.UNAVAILABLE, "standby: the owner is at " + self.owner)


class ExamplesTest(unittest.TestCase):
    def setUp(self):
        self.daemon = Ccrouterd(CCROUTERD)
        self.standby = FakeStandby(self.daemon.grpc)
        self.cluster = self.standby.address + "," + self.daemon.grpc
        self.desktop = None

    def tearDown(self):
        self.standby.server.stop(None)
        if self.desktop and self.desktop.poll() is None:
            self.desktop.kill()
            self.desktop.wait()
        self.assertEqual(self.daemon.stop(), 0, self.daemon.text(30))

    def test_node_desktop_handles_what_the_python_gateway_submits(self):
        self.desktop = subprocess.Popen(
            [NODE, os.path.join(ROOT, "examples/node-desktop/desktop.js"),
             "--server", self.cluster, "--agent", "example-alice",
             "--skills", "general:5", "--channels", "chat:3", "--handle-seconds", "0.3",
             "--max-contacts", str(CONTACTS)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        desk_events = JsonLines(self.desktop.stderr)
        self.assertTrue(desk_events.wait_for(lambda e: e.get("event") == "logged_in", 20),
                        "desktop did not log in:\n" + "\n".join(desk_events.raw[-20:]))

        gateway = subprocess.run(
            ["/usr/bin/python3", os.path.join(ROOT, "examples/python-gateway/gateway.py"),
             "--server", self.cluster, "--stubs", STUBS,
             "demo", "--contacts", str(CONTACTS), "--channel", "chat", "--watch-seconds", "40"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(gateway.returncode, 0, gateway.stderr)
        steps = [json.loads(line) for line in gateway.stdout.splitlines()]
        submitted = [s for s in steps if s["step"] == "submitted"]
        self.assertEqual(len(submitted), CONTACTS, gateway.stdout)
        self.assertTrue(all(s["queue"] == "chat_general" for s in submitted), gateway.stdout)
        retried = next(s for s in steps if s["step"] == "retried")
        self.assertTrue(retried["duplicate"] and retried["same_contact"], retried)
        self.assertIn("updated", [s["step"] for s in steps])
        cancelled = next(s for s in steps if s["step"] == "cancelled")
        self.assertEqual(cancelled["state"], "CONTACT_STATE_CANCELLED", cancelled)
        located = next(s for s in steps if s["step"] == "located")
        self.assertEqual((located["state"], located["ended"], located["queue"]),
                         ("CONTACT_STATE_CANCELLED", True, "email_general"), located)
        # The IVR's view of the last contact: it ends with the agent that took it.
        watched = [s for s in steps if s["step"] == "watched"]
        self.assertTrue(watched, gateway.stdout)
        self.assertEqual(watched[-1]["contact_id"], submitted[-1]["contact_id"], watched)
        self.assertEqual((watched[-1]["ended"], watched[-1]["state"], watched[-1]["agent_id"]),
                         (True, "CONTACT_STATE_COMPLETED", "example-alice"), watched)

        # stderr belongs to the JsonLines reader: wait for the exit and read
        # stdout alone (communicate() would take stderr lines from under it).
        self.desktop.wait(timeout=DESKTOP_TIMEOUT_S)
        out = self.desktop.stdout.read()
        desk_events.thread.join(timeout=5)
        self.assertEqual(self.desktop.returncode, 0, "\n".join(desk_events.raw[-20:]))
        summary = json.loads(out.decode().strip().splitlines()[-1])
        self.assertEqual(summary["handled"], CONTACTS, summary)
        offered = {e["contact"] for e in desk_events.items if e.get("event") == "offer"}
        self.assertEqual(offered, {s["contact_id"] for s in submitted})

        with grpc.insecure_channel(self.daemon.grpc) as channel:
            admin = admin_pb2_grpc.AdminStub(channel)
            queues = {q.name: q for q in admin.ListQueues(
                admin_pb2.ListQueuesRequest(), timeout=5).queues}
        self.assertEqual(queues["chat_general"].answered, CONTACTS)
        self.assertEqual(queues["chat_general"].queued, 0)
        # Both went to the standby first: the desktop's stream and the
        # gateway's first call.
        self.assertGreaterEqual(self.standby.calls, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
