#!/usr/bin/python3
"""A gateway written in a second language: Python with Debian's python3-grpcio.

Starts ccrouterd on 127.0.0.1:0, submits a contact through ContactIngest,
checks the reply and the validation of a bad submit, sees the contact queued
in Admin.ListQueues, then stops the daemon with SIGTERM and expects exit 0.

usage: /usr/bin/python3 python_gateway_test.py CCROUTERD PYTHON_STUB_DIR
  PYTHON_STUB_DIR is <build>/python, where ccr_proto_python generates
  ccrouter/v1/*_pb2{,_grpc}.py (imported as the namespace package ccrouter.v1).
"""

import re
import signal
import subprocess
import sys
import threading
import unittest

if len(sys.argv) != 3:
    sys.exit(__doc__)
CCROUTERD = sys.argv[1]
sys.path.insert(0, sys.argv[2])
del sys.argv[1:]  # the rest belongs to unittest

import grpc  # noqa: E402
from ccrouter.v1 import admin_pb2, admin_pb2_grpc  # noqa: E402
from ccrouter.v1 import ingest_pb2, ingest_pb2_grpc, types_pb2  # noqa: E402

RPC_TIMEOUT_S = 5
START_TIMEOUT_S = 10
STOP_TIMEOUT_S = 15  # the daemon's own drain bound is 5 s


class Daemon:
    """ccrouterd as a child process; its stderr is drained by a thread."""

    def __init__(self, binary):
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
             "--log-level", "warn"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.lines = []
        self._listening = threading.Event()
        self.grpc_address = None
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if not self._listening.wait(START_TIMEOUT_S) or self.grpc_address is None:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("ccrouterd did not log event=listening:\n" + self.stderr())

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            if "event=listening" in line and not self._listening.is_set():
                m = re.search(r"\bgrpc=(\S+)", line)
                self.grpc_address = m.group(1) if m else None
                self._listening.set()
        self._listening.set()  # EOF: the daemon died before listening

    def stderr(self):
        return "\n".join(self.lines[-50:])

    def stop(self):
        """SIGTERM; returns the exit code (SIGKILL and None after the timeout)."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self._reader.join(timeout=5)
            self.proc.stderr.close()


def voice_contact(key, **kwargs):
    return types_pb2.ContactSpec(
        idempotency_key=key,
        channel=types_pb2.CHANNEL_VOICE,
        customer=types_pb2.Customer(id="py-customer-7", tier=types_pb2.TIER_GOLD, language="en"),
        topic="billing",
        **kwargs)


class PythonGatewayTest(unittest.TestCase):

    def setUp(self):
        self.daemon = Daemon(CCROUTERD)
        self.channel = grpc.insecure_channel(self.daemon.grpc_address)
        self.ingest = ingest_pb2_grpc.ContactIngestStub(self.channel)
        self.admin = admin_pb2_grpc.AdminStub(self.channel)

    def tearDown(self):
        self.channel.close()
        code = self.daemon.stop()
        self.assertEqual(code, 0, "ccrouterd exit code after SIGTERM; stderr:\n" +
                         self.daemon.stderr())

    def queues(self):
        reply = self.admin.ListQueues(admin_pb2.ListQueuesRequest(), timeout=RPC_TIMEOUT_S)
        return {q.name: q for q in reply.queues}

    def test_submit_validate_and_list(self):
        # The embedded default config: topic "billing" picks voice_billing.
        reply = self.ingest.Submit(ingest_pb2.SubmitRequest(contact=voice_contact("py-1")),
                                   timeout=RPC_TIMEOUT_S)
        self.assertRegex(reply.contact_id, r"^c-\d+$")
        self.assertEqual(reply.contact_id, "c-1")
        self.assertEqual(reply.queue, "voice_billing")
        self.assertEqual(reply.position, 1)
        self.assertEqual(reply.state, types_pb2.CONTACT_STATE_QUEUED)
        self.assertFalse(reply.duplicate)
        self.assertGreater(reply.estimated_wait_seconds, 0)

        # The same key again: the first answer, nothing new queued.
        again = self.ingest.Submit(ingest_pb2.SubmitRequest(contact=voice_contact("py-1")),
                                   timeout=RPC_TIMEOUT_S)
        self.assertTrue(again.duplicate)
        self.assertEqual(again.contact_id, reply.contact_id)

        # Invalid input is refused with the field named.
        bad = voice_contact("py-bad", signals=types_pb2.Signals(sentiment=2.0))
        with self.assertRaises(grpc.RpcError) as caught:
            self.ingest.Submit(ingest_pb2.SubmitRequest(contact=bad), timeout=RPC_TIMEOUT_S)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("contact.signals.sentiment", caught.exception.details())
        nameless = voice_contact("")
        with self.assertRaises(grpc.RpcError) as caught:
            self.ingest.Submit(ingest_pb2.SubmitRequest(contact=nameless), timeout=RPC_TIMEOUT_S)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("contact.idempotency_key", caught.exception.details())

        queues = self.queues()
        self.assertEqual(len(queues), 8)
        self.assertEqual(queues["video_general"].channel, types_pb2.CHANNEL_VIDEO)
        self.assertEqual(queues["voice_billing"].queued, 1)
        self.assertEqual(queues["voice_billing"].channel, types_pb2.CHANNEL_VOICE)
        self.assertEqual(sum(q.queued for q in queues.values()), 1)

        # The gateway can take the contact back.
        cancelled = self.ingest.Cancel(
            ingest_pb2.CancelRequest(contact_id=reply.contact_id, reason="test over"),
            timeout=RPC_TIMEOUT_S)
        self.assertEqual(cancelled.state, types_pb2.CONTACT_STATE_CANCELLED)
        self.assertEqual(self.queues()["voice_billing"].queued, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
