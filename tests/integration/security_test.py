#!/usr/bin/python3
"""Role boundaries, tokens, TLS and mTLS, and stream limits of the real daemon.

Each case starts ccrouterd on loopback with a config that turns on auth
(a token file of SHA-256 hashes), TLS (certificates made at test time with
`openssl`), mTLS (client certificates mapped to roles) or stream limits, and
drives it with Debian's python3-grpcio.

usage: /usr/bin/python3 security_test.py CCROUTERD PYTHON_STUB_DIR
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.error
import urllib.request

if len(sys.argv) != 3:
    sys.exit(__doc__)
CCROUTERD = sys.argv[1]
sys.path.insert(0, sys.argv[2])
del sys.argv[1:]

import grpc  # noqa: E402
from ccrouterd_process import Ccrouterd  # noqa: E402
from ccrouter.v1 import admin_pb2, admin_pb2_grpc  # noqa: E402
from ccrouter.v1 import agent_desk_pb2, agent_desk_pb2_grpc  # noqa: E402
from ccrouter.v1 import ingest_pb2, ingest_pb2_grpc, types_pb2  # noqa: E402

RPC_TIMEOUT_S = 5
DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
                              "config", "default.yaml")
TOKENS = {
    "gateway": ("gateway", "telephony-1", "gw-token-4f1c"),
    "agent_a": ("agent", "agent-a", "agent-a-token-77"),
    "agent_b": ("agent", "agent-b", "agent-b-token-88"),
    "supervisor": ("supervisor", "floor-lead", "sup-token-19"),
    "admin": ("admin", "ops", "admin-token-2b"),
}
EXPIRED = ("admin", "old-ops", "expired-token-00", "2020-01-01T00:00:00Z")


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def bearer(name):
    return [("authorization", f"Bearer {TOKENS[name][2]}")]


def write_tokens(path, names):
    with open(path, "w") as f:
        f.write("# written by security_test.py\n")
        for n in names:
            role, who, token = TOKENS[n]
            f.write(f"{role} {who} {sha256(token)}\n")
        role, who, token, expires = EXPIRED
        f.write(f"{role} {who} {sha256(token)} {expires}\n")


def contact(key, topic="general"):
    return types_pb2.ContactSpec(
        idempotency_key=key, channel=types_pb2.CHANNEL_VOICE, topic=topic,
        customer=types_pb2.Customer(id=f"cust-{key}", tier=types_pb2.TIER_STANDARD,
                                    language="en"))


def login(agent_id, available=True):
    return agent_desk_pb2.AgentMessage(login=agent_desk_pb2.Login(
        agent_id=agent_id, start_available=available, languages=["en"],
        skills=[types_pb2.Skill(name="general", level=8)],
        capacities=[types_pb2.ChannelCapacity(channel=types_pb2.CHANNEL_VOICE)]))


class Desk:
    """One agent desktop stream: send messages, read what comes back."""

    def __init__(self, channel, metadata):
        self.outbox = []
        self.cv = threading.Condition()
        self.closed = False
        self.received = []
        self.error = None
        stub = agent_desk_pb2_grpc.AgentDeskStub(channel)
        self.call = stub.Connect(self._requests(), metadata=metadata, timeout=30)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _requests(self):
        while True:
            with self.cv:
                self.cv.wait_for(lambda: self.outbox or self.closed)
                if not self.outbox and self.closed:
                    return
                msg = self.outbox.pop(0)
            yield msg

    def _read(self):
        try:
            for msg in self.call:
                with self.cv:
                    self.received.append(msg)
                    self.cv.notify_all()
        except grpc.RpcError as e:
            with self.cv:
                self.error = e
                self.cv.notify_all()

    def send(self, msg):
        with self.cv:
            self.outbox.append(msg)
            self.cv.notify_all()

    def wait_for(self, predicate, timeout=10):
        with self.cv:
            ok = self.cv.wait_for(
                lambda: any(predicate(m) for m in self.received) or self.error is not None,
                timeout)
            return next((m for m in self.received if predicate(m)), None) if ok else None

    def close(self):
        with self.cv:
            self.closed = True
            self.cv.notify_all()
        self.call.cancel()


def kind(name):
    return lambda m: m.WhichOneof("kind") == name


def result_for(request_id):
    return lambda m: m.WhichOneof("kind") == "result" and m.result.request_id == request_id


class SecurityTestBase(unittest.TestCase):
    extra_config = ""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="ccr-sec-")
        self.tokens = os.path.join(self.work, "tokens.txt")
        write_tokens(self.tokens, TOKENS)
        self.config = os.path.join(self.work, "config.yaml")
        self.write_config()
        self.daemon = Ccrouterd(CCROUTERD, ["--config", self.config],
                                log_path=os.path.join(self.work, "ccrouterd.log"),
                                log_level="info")
        self.channel = self.open_channel()

    def write_config(self):
        with open(DEFAULT_CONFIG) as f:
            base = f.read()
        with open(self.config, "w") as f:
            f.write(base + "\n" + self.extra_config.format(work=self.work))

    def open_channel(self):
        return grpc.insecure_channel(self.daemon.grpc)

    def tearDown(self):
        self.channel.close()
        code = self.daemon.stop()
        self.assertEqual(code, 0, self.daemon.text(30))
        shutil.rmtree(self.work, ignore_errors=True)

    def submit(self, key, metadata, channel=None):
        stub = ingest_pb2_grpc.ContactIngestStub(channel or self.channel)
        return stub.Submit(ingest_pb2.SubmitRequest(contact=contact(key)), metadata=metadata,
                           timeout=RPC_TIMEOUT_S)

    def assert_code(self, code, fn, *args, **kwargs):
        with self.assertRaises(grpc.RpcError) as caught:
            fn(*args, **kwargs)
        self.assertEqual(caught.exception.code(), code, caught.exception.details())
        return caught.exception.details()


class TokenRolesTest(SecurityTestBase):
    extra_config = """
auth:
  token_file: {work}/tokens.txt
  metrics_require_token: true
"""

    def test_no_unknown_or_expired_token_is_refused(self):
        self.assert_code(grpc.StatusCode.UNAUTHENTICATED, self.submit, "k1", None)
        details = self.assert_code(grpc.StatusCode.UNAUTHENTICATED, self.submit, "k1",
                                   [("authorization", "Bearer not-a-token")])
        self.assertIn("unknown token", details)
        details = self.assert_code(grpc.StatusCode.UNAUTHENTICATED, self.submit, "k1",
                                   [("authorization", f"Bearer {EXPIRED[2]}")])
        self.assertIn("expired", details)
        self.assertEqual(self.submit("k1", bearer("gateway")).contact_id, "c-1")
        # Denials are logged with the caller, never the token.
        self.assertIsNotNone(self.daemon.wait_for_line(r"event=auth_denied"))
        log = self.daemon.text()
        self.assertNotIn("not-a-token", log)
        self.assertNotIn(EXPIRED[2], log)

    def test_each_role_reaches_only_its_services(self):
        admin = admin_pb2_grpc.AdminStub(self.channel)
        # A gateway may submit but not read Admin or open an agent stream.
        self.submit("k1", bearer("gateway"))
        self.assert_code(grpc.StatusCode.PERMISSION_DENIED, admin.ListQueues,
                         admin_pb2.ListQueuesRequest(), metadata=bearer("gateway"),
                         timeout=RPC_TIMEOUT_S)
        desk = Desk(self.channel, bearer("gateway"))
        desk.send(login("agent-a"))
        self.assertIsNone(desk.wait_for(kind("login_ok"), timeout=5))
        self.assertEqual(desk.error.code(), grpc.StatusCode.PERMISSION_DENIED)
        desk.close()
        # An agent may not submit.
        self.assert_code(grpc.StatusCode.PERMISSION_DENIED, self.submit, "k2", bearer("agent_a"))
        # A supervisor reads and explains, but may not reload or override.
        queues = admin.ListQueues(admin_pb2.ListQueuesRequest(), metadata=bearer("supervisor"),
                                  timeout=RPC_TIMEOUT_S)
        self.assertEqual(sum(q.queued for q in queues.queues), 1)
        explained = admin.Explain(admin_pb2.ExplainRequest(contact_id="c-1"),
                                  metadata=bearer("supervisor"), timeout=RPC_TIMEOUT_S)
        self.assertEqual(explained.contact_id, "c-1")
        details = self.assert_code(grpc.StatusCode.PERMISSION_DENIED, admin.ReloadConfig,
                                   admin_pb2.ReloadConfigRequest(), metadata=bearer("supervisor"),
                                   timeout=RPC_TIMEOUT_S)
        self.assertIn("Admin.ReloadConfig needs the admin role", details)
        self.assert_code(grpc.StatusCode.PERMISSION_DENIED, admin.SetAgentState,
                         admin_pb2.SetAgentStateRequest(agent_id="agent-a",
                                                        state=types_pb2.AGENT_STATE_OFFLINE),
                         metadata=bearer("supervisor"), timeout=RPC_TIMEOUT_S)
        # The admin may do both.
        admin.ReloadConfig(admin_pb2.ReloadConfigRequest(), metadata=bearer("admin"),
                           timeout=RPC_TIMEOUT_S)

    def test_an_agent_acts_only_as_itself(self):
        # agent-a's credential cannot log in as agent-b.
        impostor = Desk(self.channel, bearer("agent_a"))
        impostor.send(login("agent-b"))
        self.assertIsNone(impostor.wait_for(kind("login_ok"), timeout=5))
        self.assertEqual(impostor.error.code(), grpc.StatusCode.PERMISSION_DENIED)
        self.assertIn("login.agent_id: 'agent-b' is not 'agent-a'", impostor.error.details())
        impostor.close()

        # agent-b gets an offer; agent-a (logged in as itself, not available)
        # cannot accept it, and agent-b still can.
        b = Desk(self.channel, bearer("agent_b"))
        b.send(login("agent-b"))
        self.assertIsNotNone(b.wait_for(kind("login_ok")))
        a = Desk(self.channel, bearer("agent_a"))
        a.send(login("agent-a", available=False))
        self.assertIsNotNone(a.wait_for(kind("login_ok")))
        self.submit("k1", bearer("gateway"))
        offer = b.wait_for(kind("offer"))
        self.assertIsNotNone(offer, "agent-b got no offer")
        a.send(agent_desk_pb2.AgentMessage(
            request_id=7, accept=agent_desk_pb2.Accept(offer_id=offer.offer.offer_id)))
        stolen = a.wait_for(result_for(7))
        self.assertIsNotNone(stolen)
        self.assertNotEqual(stolen.result.code, 0, "agent-a accepted agent-b's offer")
        b.send(agent_desk_pb2.AgentMessage(
            request_id=8, accept=agent_desk_pb2.Accept(offer_id=offer.offer.offer_id)))
        accepted = b.wait_for(result_for(8))
        self.assertEqual(accepted.result.code, 0, accepted.result.message)
        a.close()
        b.close()

    def test_rotated_token_is_refused_after_reload(self):
        self.submit("k1", bearer("gateway"))
        # Rotate: the gateway's old token leaves the file, a new one arrives.
        TOKENS["gateway_new"] = ("gateway", "telephony-1", "gw-token-rotated-9")
        try:
            write_tokens(self.tokens, [n for n in TOKENS if n != "gateway"])
            admin = admin_pb2_grpc.AdminStub(self.channel)
            admin.ReloadConfig(admin_pb2.ReloadConfigRequest(), metadata=bearer("admin"),
                               timeout=RPC_TIMEOUT_S)
            self.assert_code(grpc.StatusCode.UNAUTHENTICATED, self.submit, "k2",
                             bearer("gateway"))
            self.assertEqual(self.submit("k3", bearer("gateway_new")).contact_id, "c-2")
            # A broken token file is refused by the reload and changes nothing.
            with open(self.tokens, "a") as f:
                f.write("admin broken-line\n")
            details = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, admin.ReloadConfig,
                                       admin_pb2.ReloadConfigRequest(), metadata=bearer("admin"),
                                       timeout=RPC_TIMEOUT_S)
            self.assertIn("auth.token_file", details)
            self.assertIn("line", details)
            self.assertEqual(self.submit("k4", bearer("gateway_new")).contact_id, "c-3")
        finally:
            del TOKENS["gateway_new"]

    def test_metrics_need_a_reader_token_and_count_denials(self):
        url = f"http://{self.daemon.http}/metrics"
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(url, timeout=5)
        self.assertEqual(caught.exception.code, 401)
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKENS['gateway'][2]}"})
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(req, timeout=5)
        self.assertEqual(caught.exception.code, 403)
        # Health stays open for probes.
        self.assertEqual(urllib.request.urlopen(f"http://{self.daemon.http}/healthz",
                                                timeout=5).status, 200)
        self.assert_code(grpc.StatusCode.UNAUTHENTICATED, self.submit, "k1", None)
        req = urllib.request.Request(
            url, headers={"Authorization": f"Bearer {TOKENS['supervisor'][2]}"})
        text = urllib.request.urlopen(req, timeout=5).read().decode()
        denials = dict(re.findall(r'ccr_auth_denials_total\{code="(\w+)"\} (\S+)', text))
        self.assertGreaterEqual(float(denials["UNAUTHENTICATED"]), 2)  # the HTTP one and Submit
        self.assertGreaterEqual(float(denials["PERMISSION_DENIED"]), 1)


class StreamLimitsTest(SecurityTestBase):
    extra_config = """
limits:
  submit_stream_messages_per_second: 20
  agent_stream_messages_per_second: 5
"""

    def test_a_flooding_stream_is_refused_per_message(self):
        stub = ingest_pb2_grpc.ContactIngestStub(self.channel)
        requests = [ingest_pb2.SubmitStreamRequest(correlation_id=i, contact=contact(f"s{i}"))
                    for i in range(120)]
        replies = list(stub.SubmitStream(iter(requests), timeout=30))
        self.assertEqual(len(replies), 120)
        limited = [r for r in replies if r.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]]
        accepted = [r for r in replies if r.code == 0]
        self.assertGreater(len(limited), 50, "the flood was not limited")
        self.assertGreaterEqual(len(accepted), 20)  # the burst
        self.assertIn("submits a second on this stream", limited[0].error_message)

        desk = Desk(self.channel, None)
        desk.send(login("agent-a", available=False))
        self.assertIsNotNone(desk.wait_for(kind("login_ok")))
        for i in range(1, 41):
            desk.send(agent_desk_pb2.AgentMessage(
                request_id=i, set_state=agent_desk_pb2.SetState(
                    state=types_pb2.AGENT_STATE_NOT_READY, reason="flood")))
        # Refusals are answered at once, accepted commands after the strand
        # applied them: wait for all 40 answers.
        with desk.cv:
            desk.cv.wait_for(lambda: sum(m.WhichOneof("kind") == "result"
                                         for m in desk.received) >= 40, 10)
        codes = [m.result.code for m in desk.received if m.WhichOneof("kind") == "result"]
        self.assertEqual(len(codes), 40)
        self.assertIn(grpc.StatusCode.RESOURCE_EXHAUSTED.value[0], codes)
        self.assertIn(0, codes)
        desk.close()


class AuthReloadTest(SecurityTestBase):
    """Reloads that would weaken auth or read what is not a token file."""

    extra_config = """
auth:
  token_file: {work}/tokens.txt
"""

    def reload(self, yaml, metadata):
        admin = admin_pb2_grpc.AdminStub(self.channel)
        return admin.ReloadConfig(admin_pb2.ReloadConfigRequest(config_yaml=yaml),
                                  metadata=metadata, timeout=RPC_TIMEOUT_S)

    def base_yaml(self):
        with open(DEFAULT_CONFIG) as f:
            return f.read()

    def test_a_reload_without_auth_is_refused_unless_it_says_open(self):
        details = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.reload,
                                   self.base_yaml(), bearer("admin"))
        self.assertIn("auth: {open: true}", details)
        # Still closed: no token, no submit.
        self.assert_code(grpc.StatusCode.UNAUTHENTICATED, self.submit, "k1", None)
        self.assertNotIn("event=auth_policy_changed", self.daemon.text())

        # Saying so opens it, and the change is logged without a token or hash.
        self.reload(self.base_yaml() + "\nauth: {open: true}\n", bearer("admin"))
        self.assertEqual(self.submit("k1", None).contact_id, "c-1")
        self.assertIsNotNone(
            self.daemon.wait_for_line(r"event=auth_policy_changed .*open=false->true"),
            self.daemon.text())
        log = self.daemon.text()
        self.assertRegex(log, r"event=auth_policy_changed .*tokens=6->0")
        for role, who, token in TOKENS.values():
            self.assertNotIn(sha256(token), log)
            self.assertNotIn(token, log)
        # Open to open needs no saying.
        self.reload(self.base_yaml(), None)

    def test_a_fifo_token_file_is_refused_on_reload_without_blocking(self):
        fifo = os.path.join(self.work, "tokens.fifo")
        os.mkfifo(fifo)
        details = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.reload,
                                   self.base_yaml() + f"\nauth: {{token_file: {fifo}}}\n",
                                   bearer("admin"))
        self.assertIn(f"auth.token_file: cannot read '{fifo}'", details)
        self.assertIn("not a regular file", details)
        # Routing goes on, under the old policy.
        self.assertEqual(self.submit("k1", bearer("gateway")).contact_id, "c-1")
        self.assert_code(grpc.StatusCode.UNAUTHENTICATED, self.submit, "k2", None)

    def test_a_file_that_is_no_token_file_is_not_echoed(self):
        # Any file the engine can read may be named by a reload; three words
        # on its first line once came back as "role 'db_password' is not ...".
        secrets = os.path.join(self.work, "secrets.env")
        with open(secrets, "w") as f:
            f.write("db_password s3cret-value production\n")
        details = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.reload,
                                   self.base_yaml() + f"\nauth: {{token_file: {secrets}}}\n",
                                   bearer("admin"))
        self.assertIn("line 1", details)
        self.assertNotIn("db_password", details)
        self.assertNotIn("s3cret", details)
        with open(secrets, "w") as f:
            f.write(f"admin ops {sha256('x')} s3cret-expiry\n")
        details = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.reload,
                                   self.base_yaml() + f"\nauth: {{token_file: {secrets}}}\n",
                                   bearer("admin"))
        self.assertIn("line 1", details)
        self.assertNotIn("s3cret", details)
        self.assertNotIn("s3cret", self.daemon.text())


def make_certificates(work):
    """A CA, a server certificate for 127.0.0.1 and two client certificates."""
    def run(*cmd):
        subprocess.run(cmd, check=True, cwd=work, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=ccrouter test CA")
    with open(os.path.join(work, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name, cn in [("server", "localhost"), ("gateway", "gw.example"),
                     ("stranger", "stranger.example")]:
        run("openssl", "req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={cn}")
        run("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", "san.ext")


def read(work, name):
    with open(os.path.join(work, name), "rb") as f:
        return f.read()


class TlsTest(SecurityTestBase):
    extra_config = """
tls:
  cert_file: {work}/server.pem
  key_file: {work}/server.key
auth:
  token_file: {work}/tokens.txt
"""

    def write_config(self):
        make_certificates(self.work)
        super().write_config()

    def open_channel(self):
        creds = grpc.ssl_channel_credentials(root_certificates=read(self.work, "ca.pem"))
        return grpc.secure_channel(self.daemon.grpc, creds)

    def test_tls_with_a_token_works_and_plaintext_is_refused(self):
        self.assertIn("tls=on", self.daemon.text())
        self.assertEqual(self.submit("k1", bearer("gateway")).contact_id, "c-1")
        plain = grpc.insecure_channel(self.daemon.grpc)
        self.assert_code(grpc.StatusCode.UNAVAILABLE, self.submit, "k2", bearer("gateway"),
                         channel=plain)
        plain.close()


class MutualTlsTest(SecurityTestBase):
    extra_config = """
tls:
  cert_file: {work}/server.pem
  key_file: {work}/server.key
  client_ca_file: {work}/ca.pem
auth:
  certificate_roles:
    - {{common_name: gw.example, role: gateway}}
"""

    def write_config(self):
        make_certificates(self.work)
        super().write_config()

    def client(self, name):
        creds = grpc.ssl_channel_credentials(
            root_certificates=read(self.work, "ca.pem"),
            private_key=read(self.work, f"{name}.key") if name else None,
            certificate_chain=read(self.work, f"{name}.pem") if name else None)
        return grpc.secure_channel(self.daemon.grpc, creds)

    def open_channel(self):
        return self.client("gateway")

    def test_the_client_certificate_is_the_credential(self):
        # gw.example is a gateway: it submits with no token, but reads no Admin.
        self.assertEqual(self.submit("k1", None).contact_id, "c-1")
        admin = admin_pb2_grpc.AdminStub(self.channel)
        self.assert_code(grpc.StatusCode.PERMISSION_DENIED, admin.ListQueues,
                         admin_pb2.ListQueuesRequest(), timeout=RPC_TIMEOUT_S)
        # A certificate the CA signed but with no role: unauthenticated.
        stranger = self.client("stranger")
        details = self.assert_code(grpc.StatusCode.UNAUTHENTICATED, self.submit, "k2", None,
                                   channel=stranger)
        self.assertIn("'stranger.example' has no role", details)
        stranger.close()
        # No client certificate: the handshake itself fails.
        anonymous = self.client(None)
        self.assert_code(grpc.StatusCode.UNAVAILABLE, self.submit, "k3", None, channel=anonymous)
        anonymous.close()


class ConfigRefusalTest(unittest.TestCase):
    def check_refused(self, yaml, want):
        work = tempfile.mkdtemp(prefix="ccr-sec-")
        try:
            path = os.path.join(work, "config.yaml")
            with open(path, "w") as f:
                f.write(yaml)
            out = subprocess.run([CCROUTERD, "--config", path, "--listen", "127.0.0.1:0",
                                  "--http-listen", "127.0.0.1:0"],
                                 capture_output=True, timeout=20)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn(want, out.stderr.decode())
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_no_tls_without_saying_plaintext_and_missing_files_are_named(self):
        base = "queues: [{name: q, channel: voice}]\nfallback_queue: q\n"
        self.check_refused(base, "or `plaintext: true`")
        self.check_refused(base + "tls: {cert_file: /nonexistent/c.pem, key_file: /x.key}\n",
                           "tls.cert_file: cannot read '/nonexistent/c.pem'")
        self.check_refused(base + "plaintext: true\nauth: {token_file: /nonexistent/t}\n",
                           "auth.token_file: cannot read '/nonexistent/t'")

    def test_a_fifo_token_file_is_refused_at_start_without_blocking(self):
        work = tempfile.mkdtemp(prefix="ccr-sec-")
        try:
            fifo = os.path.join(work, "tokens.fifo")
            os.mkfifo(fifo)
            # check_refused's 20 s timeout: the old engine waited for a writer for ever.
            self.check_refused("queues: [{name: q, channel: voice}]\nfallback_queue: q\n"
                               f"plaintext: true\nauth: {{token_file: {fifo}}}\n",
                               "not a regular file")
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
