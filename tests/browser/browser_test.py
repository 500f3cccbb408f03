#!/usr/bin/python3
"""The wallboard and the reference desktop in a real browser, end to end.

A real ccrouterd with auth on (a token file: gateway, supervisor, admin),
ccload submitting contacts through it (as admin, CCROUTER_TOKEN), two agent
tokens minted by Admin.MintAgentToken, then pages_test.js: Debian's chromium
driven by playwright-core logs both agents in on /desk (tokens handed over in
the URL fragment, as a CRM would), handles offers (accept, complete, wrap-up),
and checks that /wallboard shows what GET /v1/queues answers within a
refresh. Screenshots of each page are kept under ARTIFACT_DIR.

usage: /usr/bin/python3 browser_test.py CCROUTERD CCLOAD PYTHON_STUB_DIR NODE ARTIFACT_DIR
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

if len(sys.argv) != 6:
    sys.exit(__doc__)
CCROUTERD, CCLOAD, STUBS, NODE, ARTIFACTS = sys.argv[1:6]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, STUBS)

import grpc  # noqa: E402
from ccrouter.v1 import admin_pb2, admin_pb2_grpc  # noqa: E402
from ccrouterd_process import Ccrouterd  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# Bounds, not sleeps: each is how long a step may take on a loaded machine.
PAGES_TIMEOUT_S = 75
CCLOAD_SECONDS = 120  # a bound: it is stopped once the pages are done
TOKENS = {
    "gateway": ("gateway", "web-gateway", "browser-gw-token-31"),
    "supervisor": ("supervisor", "floor-lead", "browser-sup-token-47"),
    "admin": ("admin", "ops", "browser-admin-token-59"),
}
AGENTS = ["web-1", "web-2"]
# Voice and chat traffic: the browser agents take voice_general; the chat
# queue has nobody, so it waits and turns red on the wallboard.
MIX = """
queues:
  - {name: voice_general, channel: voice, share: 3, topics: [general]}
  - {name: chat_general, channel: chat, share: 1, topics: [general]}
"""


def bearer(role):
    return [("authorization", f"Bearer {TOKENS[role][2]}")]


def missing(what):
    # A failure, not a skip: a test that quietly does not run protects nothing.
    sys.exit(f"browser_test: {what}; run tools/install-deps")


def main():
    if not os.path.exists(CHROMIUM):
        missing(f"{CHROMIUM} is missing (Debian's chromium)")
    if not os.path.exists(os.path.join(HERE, "node_modules", "playwright-core")):
        missing("tests/browser/node_modules/playwright-core is missing (npm ci there)")
    os.makedirs(ARTIFACTS, exist_ok=True)
    work = tempfile.mkdtemp(prefix="ccr-browser-")
    tokens = os.path.join(work, "tokens.txt")
    with open(tokens, "w") as f:
        for role, who, token in TOKENS.values():
            f.write(f"{role} {who} {hashlib.sha256(token.encode()).hexdigest()}\n")
    config = os.path.join(work, "config.yaml")
    with open(os.path.join(ROOT, "deploy", "config", "default.yaml")) as f:
        base = f.read()
    with open(config, "w") as f:
        f.write(base + f"\nauth:\n  token_file: {tokens}\n")
    mix = os.path.join(work, "mix.yaml")
    with open(mix, "w") as f:
        f.write(MIX)

    log_path = os.path.join(ARTIFACTS, "ccrouterd.log")
    if os.path.exists(log_path):
        os.remove(log_path)
    daemon = Ccrouterd(CCROUTERD, ["--config", config], log_path=log_path, log_level="info")
    ccload = None
    ok = False
    try:
        channel = grpc.insecure_channel(daemon.grpc)
        admin = admin_pb2_grpc.AdminStub(channel)
        agent_tokens = {}
        for agent in AGENTS:
            reply = admin.MintAgentToken(
                admin_pb2.MintAgentTokenRequest(agent_id=agent, ttl_seconds=600),
                metadata=bearer("admin"), timeout=10)
            agent_tokens[agent] = reply.token
        channel.close()

        env = dict(os.environ, CCROUTER_TOKEN=TOKENS["admin"][2])
        ccload_log = open(os.path.join(ARTIFACTS, "ccload.log"), "wb")
        ccload = subprocess.Popen(
            [CCLOAD, "--server", daemon.grpc, "--agents", "0", "--rate", "1",
             "--duration", str(CCLOAD_SECONDS), "--mix", mix, "--seed", "17",
             "--stats-interval", "5"],
            env=env, stdin=subprocess.DEVNULL, stdout=ccload_log, stderr=subprocess.STDOUT)

        pages_env = dict(
            os.environ,
            CCR_BASE_URL=f"http://{daemon.http}",
            CCR_SUPERVISOR_TOKEN=TOKENS["supervisor"][2],
            CCR_GATEWAY_TOKEN=TOKENS["gateway"][2],
            CCR_AGENT_TOKENS=json.dumps(agent_tokens),
            CCR_ARTIFACTS=ARTIFACTS,
            CCR_CHROMIUM=CHROMIUM)
        started = time.monotonic()
        pages = subprocess.run([NODE, os.path.join(HERE, "pages_test.js")], env=pages_env,
                               timeout=PAGES_TIMEOUT_S)
        print(f"browser_test: pages_test.js took {time.monotonic() - started:.1f} s")
        ok = pages.returncode == 0
        if not ok:
            print(f"browser_test: pages_test.js failed ({pages.returncode})")
        # ccload ran under auth: its submits must have been admitted. Its
        # --duration only bounds it; the pages are done, so stop it (SIGTERM:
        # "stopped as asked", exit 0).
        ccload.terminate()
        ccload_code = ccload.wait(timeout=30)
        ccload_log.close()
        if ccload_code != 0:
            print(f"browser_test: ccload exited {ccload_code}")
            ok = False
        with open(os.path.join(ARTIFACTS, "ccload.log"), "rb") as f:
            text = f.read().decode("utf-8", "replace")
        if "UNAUTHENTICATED" in text or "PERMISSION_DENIED" in text:
            print("browser_test: ccload was refused:\n" + text[-2000:])
            ok = False
        ccload = None
    finally:
        if ccload is not None and ccload.poll() is None:
            ccload.kill()
            ccload.wait()
        code = daemon.stop()
        if code != 0:
            print(f"browser_test: ccrouterd exited {code}:\n{daemon.text(30)}")
            ok = False
        shutil.rmtree(work, ignore_errors=True)
    print(f"browser_test: artifacts (screenshots, logs) in {ARTIFACTS}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
