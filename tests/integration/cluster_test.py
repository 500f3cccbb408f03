#!/usr/bin/python3
"""The cluster test: a real 3-member etcd cluster and 3 ccrouterd nodes in
cluster mode (CLUSTER.md), under continuous load from gateways, through
faults:

  kill9    the owner is killed with SIGKILL (a standby must take over)
  sigterm  the owner gets SIGTERM (a planned handover)
  member   etcd's raft leader is killed, then restarted (nothing may stop:
           the owner stays owner, its lease survives the raft election)
  quorum   two etcd members are paused (no quorum: submits must fail
           UNAVAILABLE within their deadline, never hang), then resumed
           (routing must come back by itself)
  pause    the owner is paused with SIGSTOP past its lease, then resumed (a
           standby takes over; the old owner must step down, not serve)

A killed node is started again (it comes back as a standby). Gateways submit
with idempotency keys to whichever node they believe owns, follow the
`ccrouter-owner` redirect a standby answers with, and retry an unanswered
submit with the same key; agent desktops accept every offer and complete it,
reconnecting (to the owner a standby names) when their stream ends. After
every round every submit that was ever acknowledged is sent again to the
owner: each must come back as a duplicate of the contact it was acknowledged
as (so it exists on the new owner); no contact may ever have been accepted by
two desktops (an old owner's offer accepted after a takeover would be); the
command log read back from etcd must show no deposed owner's append (its
fencing epochs never go down); and all the while no two nodes may both be
serving as owner. The time from each
owner fault to the first submit the new owner acknowledged is printed.

usage: /usr/bin/python3 cluster_test.py CCROUTERD PYTHON_STUB_DIR
       [--rounds kill9,sigterm,member,quorum,pause] [--repeat N] [--gateways G]
"""

import argparse
import base64
import concurrent.futures
import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("ccrouterd")
parser.add_argument("stubs")
parser.add_argument("--rounds", default="kill9,sigterm,member,quorum,pause")
parser.add_argument("--repeat", type=int, default=1, help="run the rounds this many times")
parser.add_argument("--gateways", type=int, default=3)
parser.add_argument("--gateway-rate", type=float, default=100,
                    help="submits per second per gateway, at most (the checks re-send them all)")
parser.add_argument("--agents", type=int, default=4)
# The engine's default. With 2 s the member round can fail on a loaded machine:
# etcd took up to 2.9 s to elect a new raft leader and commit, and an owner
# whose renewals go unanswered for the TTL (less 0.5 s) and then one more TTL
# is deposed by design.
parser.add_argument("--lease-ttl", type=int, default=3)
parser.add_argument("--etcd", default="/usr/bin/etcd")
args = parser.parse_args()
sys.path.insert(0, args.stubs)

import grpc  # noqa: E402
from ccrouter.v1 import admin_pb2, admin_pb2_grpc, events_pb2  # noqa: E402
from ccrouter.v1 import agent_desk_pb2, agent_desk_pb2_grpc  # noqa: E402
from ccrouter.v1 import ingest_pb2, ingest_pb2_grpc, journal_pb2, types_pb2  # noqa: E402

RPC_TIMEOUT_S = 3
TAKEOVER_LIMIT_S = 30  # generous: a loaded 2-core machine, sanitizers
OWNER_KEY = "ccrouter-owner"
LOG_PREFIX = "/ccrouter/test/log/"  # the domain's command log in etcd (--cluster-domain test)
# The event kinds that end an offer (crash_test.py checks the same).
OFFER_END = {events_pb2.EVENT_KIND_OFFER_WITHDRAWN, events_pb2.EVENT_KIND_OFFER_REJECTED,
             events_pb2.EVENT_KIND_OFFER_TIMED_OUT, events_pb2.EVENT_KIND_ASSIGNED}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fail(message):
    print("FAIL: " + message, flush=True)
    raise SystemExit(1)


class Etcd:
    """Three etcd members on free loopback ports, each in its own data dir."""

    def __init__(self, work, members=3):
        self.work = work
        self.names = [f"etcd{i}" for i in range(members)]
        self.client = [f"127.0.0.1:{free_port()}" for _ in self.names]
        self.peer = [f"127.0.0.1:{free_port()}" for _ in self.names]
        self.cluster = ",".join(f"{n}=http://{p}" for n, p in zip(self.names, self.peer))
        self.procs = [None] * members
        for i in range(members):
            self.start(i, "new")

    def start(self, i, state="existing"):
        log = open(os.path.join(self.work, self.names[i] + ".log"), "ab", buffering=0)
        self.procs[i] = subprocess.Popen(
            [args.etcd, f"--name={self.names[i]}",
             f"--data-dir={os.path.join(self.work, self.names[i])}",
             f"--listen-client-urls=http://{self.client[i]}",
             f"--advertise-client-urls=http://{self.client[i]}",
             f"--listen-peer-urls=http://{self.peer[i]}",
             f"--initial-advertise-peer-urls=http://{self.peer[i]}",
             f"--initial-cluster={self.cluster}", f"--initial-cluster-state={state}",
             "--initial-cluster-token=ccr-cluster-test", "--logger=zap", "--log-outputs=stderr",
             "--log-level=error"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def endpoints(self):
        return ",".join(self.client)

    def leader(self):
        """The member that is raft leader now (etcd's JSON gateway), or None."""
        for i, client in enumerate(self.client):
            try:
                status, _, body = http_call(client, "POST", "/v3/maintenance/status", b"{}")
            except OSError:
                continue
            if status == 200:
                reply = json.loads(body)
                if reply.get("leader") and reply["leader"] == reply["header"].get("member_id"):
                    return i
        return None

    def kill(self, i):
        if self.procs[i] and self.procs[i].poll() is None:
            self.procs[i].kill()
            self.procs[i].wait()

    def signal(self, i, signo):
        self.procs[i].send_signal(signo)

    def stop_all(self):
        for i in range(len(self.procs)):
            if self.procs[i]:
                self.procs[i].send_signal(signal.SIGCONT)
                self.kill(i)


class Node:
    """One ccrouterd in cluster mode. Its role and addresses come from its log
    lines: event=standby (addresses), event=listening (it owns), event=deposed
    (it re-executes itself as a standby, same pid, new ports)."""

    def __init__(self, name, etcd, work):
        self.name = name
        self.log = open(os.path.join(work, name + ".log"), "ab", buffering=0)
        self.proc = subprocess.Popen(
            [args.ccrouterd, "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
             "--log-level", "info", "--etcd-endpoints", etcd.endpoints(),
             "--cluster-domain", "test", "--lease-ttl", str(args.lease_ttl),
             "--snapshot-every", "200"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.grpc = None
        self.http = None
        self.role = "starting"
        self.owned_since = None
        self.deposals = 0
        self.suspensions = 0
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(30):
            fail(f"{name} did not start")

    def _read(self):
        for raw in self.proc.stderr:
            self.log.write(raw)
            line = raw.decode("utf-8", "replace")
            with self.lock:
                m = re.search(r"event=standby grpc=(\S+) http=(\S+)", line)
                if m:
                    self.grpc, self.http = m.group(1), m.group(2)
                    self.role, self.owned_since = "standby", None
                    self.ready.set()
                if "event=listening" in line:
                    self.role, self.owned_since = "owner", time.monotonic()
                if "event=deposed" in line:
                    self.role, self.deposals = "deposed", self.deposals + 1
                if "event=cluster_suspended" in line:
                    self.suspensions += 1
        with self.lock:
            self.role = "dead"
        self.ready.set()

    def is_owner(self):
        with self.lock:
            return self.role == "owner"

    def kill(self, signo=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(signo)
            if signo in (signal.SIGKILL, signal.SIGTERM):
                self.proc.wait(timeout=30)
        if signo in (signal.SIGKILL, signal.SIGTERM):
            self.reader.join(timeout=5)


class Gateways:
    """Gateways submitting contacts with idempotency keys to the node they
    believe owns; a standby's redirect is followed, anything unanswered is
    retried with the same key."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.lock = threading.Lock()
        self.acked = {}  # key -> contact id
        self.ack_times = []  # (monotonic time, node address) of every ack
        self.stop = threading.Event()
        self.target = None
        self.channels = {}
        self.threads = [threading.Thread(target=self._run, args=(g,), daemon=True)
                        for g in range(args.gateways)]
        for t in self.threads:
            t.start()

    def channel(self, address):
        with self.lock:
            if address not in self.channels:
                self.channels[address] = grpc.insecure_channel(address)
            return self.channels[address]

    def stub(self, address):
        return ingest_pb2_grpc.ContactIngestStub(self.channel(address))

    def addresses(self):
        return [n.grpc for n in self.nodes if n.grpc and n.proc.poll() is None]

    def where(self, address):
        """Where a stream goes next: `address` while its node lives, else the
        node the gateways last found owning, else any live node (None: none)."""
        candidates = self.addresses()
        if address in candidates:
            return address
        return self.target or (candidates[0] if candidates else None)

    def submit(self, key, deadline_s=RPC_TIMEOUT_S):
        """Submits `key` until acknowledged or `deadline_s` passes: (the
        address of the node that answered, the reply), or the last error."""
        give_up = time.monotonic() + deadline_s
        last = None
        while time.monotonic() < give_up:
            candidates = ([self.target] if self.target else []) + self.addresses()
            for address in candidates:
                request = ingest_pb2.SubmitRequest()
                request.contact.idempotency_key = key
                request.contact.queue = "chat_general"
                request.contact.channel = types_pb2.CHANNEL_CHAT
                try:
                    reply = self.stub(address).Submit(
                        request, timeout=max(0.1, min(1.0, give_up - time.monotonic())))
                    self.target = address
                    return address, reply
                except grpc.RpcError as e:
                    last = e
                    owner = dict(e.trailing_metadata() or ()).get(OWNER_KEY)
                    if owner and owner != address:
                        self.target = owner
                        break
            time.sleep(0.05)
        return last

    def _run(self, gateway):
        n = 0
        while not self.stop.is_set():
            key = f"g{gateway}-{n}"
            answer = self.submit(key, deadline_s=TAKEOVER_LIMIT_S)
            if isinstance(answer, tuple):
                address, reply = answer
                with self.lock:
                    self.acked[key] = reply.contact_id
                    self.ack_times.append((time.monotonic(), address))
                n += 1
            time.sleep(1 / args.gateway_rate)

    def acks_after(self, t, address=None):
        """Times of the acks after `t` (by the node at `address`, if given)."""
        with self.lock:
            return [a for a, by in self.ack_times if a > t and address in (None, by)]

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=TAKEOVER_LIMIT_S + 5)


class Desktops:
    """Agent desktops that accept every offer and complete at once, on the
    node they believe owns; a stream that ends (a standby's redirect, a dead
    or deposed owner) reconnects, to the owner named if one is. Each
    successful accept is recorded: no contact may ever be accepted twice,
    whoever owned when."""

    def __init__(self, gateways):
        self.gateways = gateways
        self.lock = threading.Lock()
        self.accepted = {}  # contact id -> [(agent, node address)]
        self.connected = {}  # agent -> the node address its stream is open to
        self.handovers = []  # (node address, owner its stream's end named)
        self.offer_times = []  # (monotonic time, node address) of every offer received
        self.stop = threading.Event()
        self.streams = {}
        self.threads = [threading.Thread(target=self._run, args=(f"agent-{a}",), daemon=True)
                        for a in range(args.agents)]
        for t in self.threads:
            t.start()

    def _run(self, agent_id):
        address = None
        while not self.stop.is_set():
            address = self.gateways.where(address)
            if address is None:
                time.sleep(0.1)
                continue
            address = self._session(agent_id, address) or address
            time.sleep(0.1)

    def _session(self, agent_id, address):
        """One AgentDesk.Connect to `address`; the owner a standby named, if any."""
        outbox = queue.Queue()
        login = agent_desk_pb2.Login(
            agent_id=agent_id, start_available=True, languages=["en"],
            skills=[types_pb2.Skill(name="general", level=8)],
            capacities=[types_pb2.ChannelCapacity(channel=types_pb2.CHANNEL_CHAT,
                                                  max_concurrent=3)])
        outbox.put(agent_desk_pb2.AgentMessage(login=login))
        pending = {}
        request_ids = iter(range(1, 1 << 62))

        def requests():
            while True:
                m = outbox.get()
                if m is None:
                    return
                yield m

        def send(kind, target, **fields):
            rid = next(request_ids)
            pending[rid] = (kind, target)
            outbox.put(agent_desk_pb2.AgentMessage(request_id=rid, **fields))

        stream = agent_desk_pb2_grpc.AgentDeskStub(self.gateways.channel(address)).Connect(
            requests())
        with self.lock:
            self.streams[agent_id] = stream
        try:
            for msg in stream:
                if msg.WhichOneof("kind") == "login_ok":
                    with self.lock:
                        self.connected[agent_id] = address
                which = msg.WhichOneof("kind")
                offers = ([msg.offer] if which == "offer" else
                          list(msg.resync.offers) if which == "resync" else [])
                if which == "resync":
                    # Contacts held from before a failover: finish them, as an
                    # agent would, or their capacity stays taken for good.
                    for held in msg.resync.contacts:
                        if held.state == types_pb2.CONTACT_STATE_CONNECTED:
                            send("complete", held.contact_id, complete=agent_desk_pb2.Complete(
                                contact_id=held.contact_id,
                                outcome=types_pb2.Outcome(resolved=True)))
                        else:
                            send("wrap", held.contact_id, wrap_up_done=agent_desk_pb2.WrapUpDone(
                                contact_id=held.contact_id))
                if offers:
                    with self.lock:
                        self.offer_times.append((time.monotonic(), address))
                for o in offers:
                    send("accept", o.contact_id, accept=agent_desk_pb2.Accept(offer_id=o.offer_id))
                if which == "result":
                    kind, contact_id = pending.pop(msg.result.request_id, (None, None))
                    if msg.result.code != 0:
                        continue
                    if kind == "accept":
                        with self.lock:
                            self.accepted.setdefault(contact_id, []).append((agent_id, address))
                        send("complete", contact_id, complete=agent_desk_pb2.Complete(
                            contact_id=contact_id, outcome=types_pb2.Outcome(resolved=True)))
                    elif kind == "complete":
                        send("wrap", contact_id, wrap_up_done=agent_desk_pb2.WrapUpDone(
                            contact_id=contact_id))
        except grpc.RpcError as e:
            owner = dict(e.trailing_metadata() or ()).get(OWNER_KEY)
            if owner:
                with self.lock:
                    self.handovers.append((address, owner))
            return owner
        finally:
            outbox.put(None)
            with self.lock:
                self.connected.pop(agent_id, None)
        return None

    def first_offer_after(self, t, address, what):
        """Seconds from `t` to the first offer a desktop received from `address`."""
        deadline = time.monotonic() + TAKEOVER_LIMIT_S
        while time.monotonic() < deadline:
            with self.lock:
                times = [a for a, by in self.offer_times if a > t and by == address]
            if times:
                return times[0] - t
            time.sleep(0.02)
        fail(f"{what}: no offer reached a desktop from {address} within {TAKEOVER_LIMIT_S} s")

    def on(self, address):
        """How many desktops have a stream open to `address`."""
        with self.lock:
            return sum(1 for a in self.connected.values() if a == address)

    def wait_handed_over(self, old, new, what):
        """A desktop on the old owner `old` had its stream ended naming `new`."""
        deadline = time.monotonic() + TAKEOVER_LIMIT_S
        while time.monotonic() < deadline:
            with self.lock:
                if (old, new) in self.handovers:
                    print(f"  {what}: a desktop on the old owner was sent to the new one",
                          flush=True)
                    return
            time.sleep(0.05)
        with self.lock:
            seen = self.handovers[-5:]
        fail(f"{what}: no desktop on the old owner {old} was told the new owner {new} "
             f"(stream ends naming an owner: {seen})")

    def check(self, what):
        with self.lock:
            twice = {c: a for c, a in self.accepted.items() if len(a) > 1}
            accepted = len(self.accepted)
        if twice:
            fail(f"{what}: contacts accepted by two desktops: " +
                 "; ".join(f"{c}: {a}" for c, a in list(twice.items())[:5]))
        print(f"  {what}: {accepted} contacts accepted, none twice", flush=True)
        return accepted

    def close(self):
        self.stop.set()
        with self.lock:
            for stream in self.streams.values():
                stream.cancel()


class Watcher:
    """An event watcher (Admin.WatchEvents) on the node it believes owns,
    resuming after the last sequence it saw whenever its stream ends (a
    handover names the new owner; a dead node's does not). The events it saw
    must follow each other with no gap and no repeat across every owner, and
    no contact may be offered while an earlier offer of it is live."""

    def __init__(self, gateways):
        self.gateways = gateways
        self.lock = threading.Lock()
        self.last = None  # the sequence of the last event seen
        self.events = 0
        self.problems = []
        # A gap the owner announces (OUT_OF_RANGE) counts as a problem except
        # while gaps_allowed: when every node lost its election key (no
        # quorum), the new owner may be one that has just loaded a snapshot,
        # with no window from before it (CLUSTER.md, "Limits").
        self.gaps_allowed = False
        self.announced_gaps = []
        self.live = {}  # contact -> (offer id, agent)
        self.stop = threading.Event()
        self.stream = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        address = None
        while not self.stop.is_set():
            address = self.gateways.where(address)
            if address is None:
                time.sleep(0.1)
                continue
            request = admin_pb2.WatchEventsRequest()
            with self.lock:
                if self.last is not None:
                    request.after_sequence = self.last
            stream = admin_pb2_grpc.AdminStub(self.gateways.channel(address)).WatchEvents(request)
            with self.lock:
                self.stream = stream
            try:
                for e in stream:
                    self._see(e)
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.OUT_OF_RANGE:
                    with self.lock:
                        gap = f"resuming after {self.last} at {address}: {e.details()}"
                        if self.gaps_allowed:
                            # Said by the owner, not silent; the watcher
                            # resumes from what is new.
                            self.announced_gaps.append(gap)
                            self.last = None
                        else:
                            self.problems.append(gap + " (a gap)")
                owner = dict(e.trailing_metadata() or ()).get(OWNER_KEY)
                if owner:
                    address = owner
            time.sleep(0.1)

    def _see(self, e):
        with self.lock:
            if self.last is None and self.announced_gaps:
                self.live.clear()  # what was live before the gap is unknown
            elif self.last is not None and e.sequence != self.last + 1:
                self.problems.append(f"event {e.sequence} after {self.last} "
                                     f"({'a repeat' if e.sequence <= self.last else 'a gap'})")
            self.last = e.sequence
            self.events += 1
            if e.kind == events_pb2.EVENT_KIND_OFFERED:
                if e.contact_id in self.live:
                    self.problems.append(f"{e.contact_id} offered to {e.agent_id} while offer "
                                         f"{self.live[e.contact_id]} is live (event {e.sequence})")
                self.live[e.contact_id] = (e.offer_id, e.agent_id)
            elif e.kind in OFFER_END:
                self.live.pop(e.contact_id, None)

    def check(self, what):
        with self.lock:
            problems, events, last = list(self.problems), self.events, self.last
        if problems:
            fail(f"{what}: the event feed: " + "; ".join(problems[:5]))
        with self.lock:
            announced = list(self.announced_gaps)
        print(f"  {what}: {events} events watched through event {last}, no silent gap, no "
              f"repeat, no contact offered twice at once" +
              (f"; gaps the owner announced: {announced}" if announced else ""), flush=True)
        return events

    def close(self):
        self.stop.set()
        with self.lock:
            if self.stream is not None:
                self.stream.cancel()


def owners(nodes):
    return [n for n in nodes if n.is_owner()]


def wait_for_owner(nodes, since, what):
    deadline = time.monotonic() + TAKEOVER_LIMIT_S
    while time.monotonic() < deadline:
        found = owners(nodes)
        if len(found) > 1:
            fail(f"{what}: two owners at once: {[n.name for n in found]}")
        if found:
            return found[0]
        time.sleep(0.05)
    fail(f"{what}: no owner within {TAKEOVER_LIMIT_S} s; nodes: " +
         ", ".join(f"{n.name} pid {n.proc.pid} {n.role} exit {n.proc.poll()}" for n in nodes))


def first_ack_after(gateways, t, what, node=None):
    """Seconds from `t` to the first submit acknowledged after it (by `node`)."""
    deadline = time.monotonic() + TAKEOVER_LIMIT_S
    while time.monotonic() < deadline:
        acks = gateways.acks_after(t, node.grpc if node else None)
        if acks:
            return acks[0] - t
        time.sleep(0.02)
    fail(f"{what}: no submit acknowledged within {TAKEOVER_LIMIT_S} s")


def probe_submit(gateways, key):
    """Submits `key` until acknowledged (kept for verify_acked); the time of the ack."""
    answer = gateways.submit(key, deadline_s=TAKEOVER_LIMIT_S)
    if not isinstance(answer, tuple):
        fail(f"{key}: not acknowledged within {TAKEOVER_LIMIT_S} s: {answer}")
    with gateways.lock:
        gateways.acked[key] = answer[1].contact_id
    return time.monotonic()


def verify_acked(gateways, what):
    """Every submit ever acknowledged exists on the owner: sent again, it is a
    duplicate of the contact it was acknowledged as."""
    with gateways.lock:
        acked = dict(gateways.acked)

    def check(item):
        key, contact_id = item
        answer = gateways.submit(key, deadline_s=TAKEOVER_LIMIT_S)
        if not isinstance(answer, tuple):
            return f"{what}: re-submitting {key}: {answer}"
        reply = answer[1]
        if not reply.duplicate or reply.contact_id != contact_id:
            return (f"{what}: {key} was acknowledged as {contact_id}, now {reply.contact_id} "
                    f"(duplicate={reply.duplicate}): an acknowledged contact was lost")
        return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        for problem in pool.map(check, acked.items()):
            if problem:
                fail(problem)
    print(f"  {what}: all {len(acked)} acknowledged contacts are on the owner", flush=True)


def http_call(address, method, path, body=None, headers=None):
    """One HTTP request, redirects not followed: (status, headers, body)."""
    connection = http.client.HTTPConnection(address, timeout=RPC_TIMEOUT_S)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        connection.close()


def check_standby_http(nodes, gateways, what):
    """Each standby's HTTP port sends web clients to the owner: a page and a
    JSON submit are redirected (307) to the same path on the owner's HTTP
    address, and the submit, sent there as the redirect says, is
    acknowledged (it joins the keys every later round checks)."""
    owner = wait_for_owner(nodes, time.monotonic(), what)
    deadline = time.monotonic() + TAKEOVER_LIMIT_S
    while True:  # a deposed node is a standby again once it has re-executed
        standbys = [n for n in nodes if n is not owner and n.role == "standby"]
        if standbys:
            break
        if time.monotonic() > deadline:
            fail(f"{what}: no standby to ask ({[(n.name, n.role) for n in nodes]})")
        time.sleep(0.1)
    for n, standby in enumerate(standbys):
        deadline = time.monotonic() + TAKEOVER_LIMIT_S
        while True:  # a standby started just now may not have seen the owner yet
            status, headers, _ = http_call(standby.http, "GET", "/wallboard")
            if status != 503 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if status != 307 or headers.get("Location") != f"http://{owner.http}/wallboard":
            fail(f"{what}: {standby.name}'s /wallboard answered {status} "
                 f"{headers.get('Location')}, not 307 to the owner {owner.http}")
        key = f"http-{what}-{n}"
        request = (json.dumps({"queue": "chat_general", "channel": "CHANNEL_CHAT"}).encode(),
                   {"Content-Type": "application/json", "Idempotency-Key": key})
        status, headers, body = http_call(standby.http, "POST", "/v1/contacts", *request)
        location = headers.get("Location", "")
        if status != 307 or location != f"http://{owner.http}/v1/contacts":
            fail(f"{what}: {standby.name}'s POST /v1/contacts answered {status} {location}: "
                 f"{body[:200]!r}")
        if headers.get(OWNER_KEY) != owner.grpc or b"UNAVAILABLE" not in body:
            fail(f"{what}: {standby.name}'s redirect does not name the owner: {headers} {body!r}")
        status, _, body = http_call(location.split("/")[2], "POST", "/v1/contacts", *request)
        if status != 200:
            fail(f"{what}: the redirected submit answered {status}: {body[:200]!r}")
        with gateways.lock:
            gateways.acked[key] = json.loads(body)["contactId"]
    print(f"  {what}: {len(standbys)} standbys redirect web clients to the owner's "
          f"HTTP address", flush=True)


def check_log_fenced(etcd, what):
    """No command of a deposed owner was applied: read back from etcd, the
    log's chunks carry fencing epochs that never go down in index order (a
    deposed owner's append that committed after its successor's would be an
    epoch going down) and their commands' indexes follow each other with no
    hole and no repeat. Returns the number of commands read."""
    out = subprocess.run(["etcdctl", f"--endpoints={etcd.endpoints()}", "--command-timeout=20s",
                          "get", "--prefix", LOG_PREFIX, "-w", "json"],
                         env=dict(os.environ, ETCDCTL_API="3"), capture_output=True, timeout=60)
    if out.returncode != 0:
        fail(f"{what}: etcdctl get {LOG_PREFIX}: {out.stderr.decode(errors='replace')}")
    kvs = json.loads(out.stdout).get("kvs", [])
    epoch, next_index, commands = 0, None, 0
    for kv in sorted(kvs, key=lambda kv: base64.b64decode(kv["key"])):
        key = base64.b64decode(kv["key"]).decode()
        chunk = journal_pb2.LogChunk.FromString(base64.b64decode(kv.get("value", "")))
        if chunk.epoch < epoch:
            fail(f"{what}: {key} was written at epoch {chunk.epoch} after epoch {epoch}: "
                 "a deposed owner's append was applied")
        epoch = chunk.epoch
        for cmd in chunk.commands:
            if next_index is not None and cmd.index != next_index:
                fail(f"{what}: {key} holds command {cmd.index} where {next_index} was next")
            next_index = cmd.index + 1
            commands += 1
    if commands == 0:
        fail(f"{what}: the log in etcd is empty: the fencing check proved nothing")
    print(f"  {what}: the log's {commands} commands in etcd are fenced (epochs never go "
          f"down, up to {epoch})", flush=True)
    return commands


def main():
    work = tempfile.mkdtemp(prefix="ccr-cluster-")
    etcd = Etcd(work)
    nodes = []
    gateways = None
    desktops = None
    watcher = None
    failovers = {"kill9": [], "sigterm": [], "pause": []}
    offers_after = {"kill9": [], "sigterm": []}  # to the first offer
    try:
        nodes = [Node(f"node{i}", etcd, work) for i in range(3)]
        owner = wait_for_owner(nodes, time.monotonic(), "start")
        print(f"start: {owner.name} owns", flush=True)
        gateways = Gateways(nodes)
        desktops = Desktops(gateways)
        watcher = Watcher(gateways)
        first_ack_after(gateways, 0, "start")

        def replace(node):
            i = nodes.index(node)
            nodes[i] = Node(node.name, etcd, work)

        for repeat in range(args.repeat):
            for index, round_name in enumerate(args.rounds.split(",")):
                time.sleep(1)  # some load on the owner first
                owner = wait_for_owner(nodes, time.monotonic(), round_name)
                watcher.gaps_allowed = False  # until a round without a quorum
                t0 = time.monotonic()
                if round_name == "kill9":
                    owner.kill(signal.SIGKILL)
                    new = wait_for_owner([n for n in nodes if n is not owner], t0, round_name)
                    failovers["kill9"].append(first_ack_after(gateways, t0, round_name, new))
                    offers_after["kill9"].append(
                        desktops.first_offer_after(t0, new.grpc, round_name))
                    replace(owner)
                elif round_name == "sigterm":
                    old, desks_on_old = owner.grpc, desktops.on(owner.grpc)
                    owner.kill(signal.SIGTERM)
                    if owner.proc.returncode != 0:
                        fail(f"sigterm: the owner exited {owner.proc.returncode}")
                    new = wait_for_owner([n for n in nodes if n is not owner], t0, round_name)
                    failovers["sigterm"].append(first_ack_after(gateways, t0, round_name, new))
                    offers_after["sigterm"].append(
                        desktops.first_offer_after(t0, new.grpc, round_name))
                    if desks_on_old:
                        desktops.wait_handed_over(old, new.grpc, round_name)
                    replace(owner)
                elif round_name == "member":
                    leader = etcd.leader()
                    if leader is None:
                        fail("member: no etcd member says it is the raft leader")
                    deposals, suspensions = owner.deposals, owner.suspensions
                    killed = time.monotonic()
                    etcd.kill(leader)
                    # A submit sent after the kill (acks already in flight
                    # were committed before it), and one after the member
                    # is back: the round's checks need etcd answering.
                    resumed = probe_submit(gateways, f"raft-leader-{repeat}-{index}") - killed
                    etcd.start(leader)
                    probe_submit(gateways, f"raft-member-back-{repeat}-{index}")
                    if owner.deposals != deposals or not owner.is_owner():
                        fail(f"member: {owner.name} stopped owning when etcd's raft leader died")
                    print(f"  raft leader killed: {owner.name} kept owning "
                          f"({owner.suspensions - suspensions} suspension(s)); a submit sent "
                          f"at the kill was acknowledged {resumed:.2f} s after", flush=True)
                    new = owner
                elif round_name == "quorum":
                    watcher.gaps_allowed = True
                    etcd.signal(1, signal.SIGSTOP)
                    etcd.signal(2, signal.SIGSTOP)
                    time.sleep(0.5)
                    started = time.monotonic()
                    answer = gateways.submit(f"quorum-probe-{repeat}", deadline_s=2)
                    took = time.monotonic() - started
                    if isinstance(answer, tuple):
                        fail("quorum: a submit was acknowledged without an etcd quorum")
                    if took > 4:
                        fail(f"quorum: the failing submit took {took:.1f} s (deadline 2 s)")
                    etcd.signal(1, signal.SIGCONT)
                    etcd.signal(2, signal.SIGCONT)
                    back = time.monotonic()
                    new = wait_for_owner(nodes, back, "quorum back")
                    print(f"  quorum back: routing resumed after "
                          f"{first_ack_after(gateways, back, 'quorum back'):.2f} s", flush=True)
                elif round_name == "pause":
                    old, desks_on_old = owner.grpc, desktops.on(owner.grpc)
                    owner.kill(signal.SIGSTOP)
                    others = [n for n in nodes if n is not owner]
                    new = wait_for_owner(others, t0, round_name)
                    failovers["pause"].append(first_ack_after(gateways, t0, round_name, new))
                    # No offer figure: the desktops' streams hang on the paused
                    # node until it resumes and hands them over (below).
                    deposals = owner.deposals
                    owner.proc.send_signal(signal.SIGCONT)
                    deadline = time.monotonic() + TAKEOVER_LIMIT_S
                    while owner.deposals == deposals and owner.role == "owner":
                        if time.monotonic() > deadline:
                            fail("pause: the resumed old owner still says it owns")
                        time.sleep(0.05)
                    if desks_on_old:
                        desktops.wait_handed_over(old, new.grpc, round_name)
                else:
                    fail(f"unknown round {round_name}")
                if len(owners(nodes)) > 1:
                    fail(f"{round_name}: two owners: {[n.name for n in owners(nodes)]}")
                took = failovers.get(round_name, [])
                print(f"round {round_name}: {new.name} owns" +
                      (f"; the first ack by it came {took[-1]:.2f} s after the fault"
                       if took and round_name in ("kill9", "sigterm", "pause") else ""),
                      flush=True)
                check_standby_http(nodes, gateways, round_name)
                verify_acked(gateways, round_name)
                check_log_fenced(etcd, round_name)
                desktops.check(round_name)
                watcher.check(round_name)
        for figures, to in ((failovers, "first ack by the new owner"),
                            (offers_after, "first offer from the new owner to a desktop")):
            for kind, times in figures.items():
                if times:
                    ordered = sorted(times)
                    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]  # nearest rank
                    print(f"failover {kind}: {to} after the fault: "
                          f"p50 {statistics.median(times):.2f} s, p99 {p99:.2f} s, "
                          f"max {max(times):.2f} s over {len(times)}", flush=True)
        if watcher.check("end") == 0:
            fail("the watcher saw no event: the check above proved nothing")
        if desktops.check("end") == 0:
            fail("the desktops accepted nothing: the check above proved nothing")
        print(f"PASS: {len(gateways.acked)} contacts acknowledged, none lost", flush=True)
    finally:
        if desktops:
            desktops.close()
        if watcher:
            watcher.close()
        if gateways:
            gateways.stop.set()
        for n in nodes:
            if n.proc.poll() is None:
                n.proc.send_signal(signal.SIGCONT)
                n.kill(signal.SIGKILL)
        etcd.stop_all()
        if os.environ.get("CCR_KEEP_CLUSTER_LOGS"):
            print(f"logs in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
