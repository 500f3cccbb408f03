#!/usr/bin/python3
"""The crash test: ccrouterd killed with SIGKILL at random moments under load.

Each round starts ccrouterd on the same data directory, runs concurrent
gateways (unary Submit) and agent desktops (accept most offers, reject some,
complete, wrap up) plus an Admin.WatchEvents observer, and kills the daemon
with SIGKILL at a random moment. Between rounds an offer that was live at the
kill is accepted once more: it must fail (outstanding offers are withdrawn on
recovery). After the last round the daemon is restarted once more and every
submit that was ever acknowledged is sent again: each must come back as a
duplicate of the contact it was acknowledged as, and that contact must still
exist: live (queued, offered, connected, wrap-up), or ended only if a desktop
completed it. Within each lifetime no contact may be offered to a second agent
while an earlier offer is live.

One round (--large-round) also submits --large-contacts messaging contacts
with 60 KB of attributes each (no agent serves messaging, so they stay
queued), until the snapshots pass 64 MiB, the most one record may hold; it is
killed only once such a snapshot is on disk, and the later rounds restart
from it and prune behind it.

usage: /usr/bin/python3 crash_test.py CCROUTERD PYTHON_STUB_DIR [--rounds N]
       [--seconds S] [--gateways G] [--agents A] [--seed X] [--snapshot-every N]
       [--large-round R] [--large-contacts N]
"""

import argparse
import glob
import os
import queue
import random
import shutil
import sys
import tempfile
import threading
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("ccrouterd")
parser.add_argument("stubs")
parser.add_argument("--rounds", type=int, default=4)
parser.add_argument("--seconds", type=float, default=4.0, help="longest a round runs")
parser.add_argument("--gateways", type=int, default=4)
parser.add_argument("--agents", type=int, default=8)
parser.add_argument("--seed", type=int, default=None)
parser.add_argument("--snapshot-every", type=int, default=50)
parser.add_argument("--large-round", type=int, default=1, help="0: none")
parser.add_argument("--large-contacts", type=int, default=1300,
                    help="60 KB each: 1,300 make a state of about 80 MB")
args = parser.parse_args()
sys.path.insert(0, args.stubs)

import grpc  # noqa: E402
from ccrouterd_process import Ccrouterd  # noqa: E402
from ccrouter.v1 import admin_pb2, admin_pb2_grpc  # noqa: E402
from ccrouter.v1 import agent_desk_pb2, agent_desk_pb2_grpc  # noqa: E402
from ccrouter.v1 import events_pb2, ingest_pb2, ingest_pb2_grpc, types_pb2  # noqa: E402

RPC_TIMEOUT_S = 5
RECORD_LIMIT_BYTES = 64 << 20  # kMaxRecordBytes: a snapshot past it must still load
LARGE_SNAPSHOT_WAIT_S = 90
KILL_WAIT_FOR_LIVE_OFFER_S = 2  # at most, before each kill
LIVE_STATES = {types_pb2.CONTACT_STATE_QUEUED, types_pb2.CONTACT_STATE_OFFERED,
               types_pb2.CONTACT_STATE_CONNECTED, types_pb2.CONTACT_STATE_WRAP_UP}
OFFER_END = {events_pb2.EVENT_KIND_OFFER_WITHDRAWN, events_pb2.EVENT_KIND_OFFER_REJECTED,
             events_pb2.EVENT_KIND_OFFER_TIMED_OUT, events_pb2.EVENT_KIND_ASSIGNED}


class Daemon(Ccrouterd):
    """ccrouterd on the crash test's data directory, with a channel to it."""

    def __init__(self, data_dir, log_path):
        super().__init__(args.ccrouterd, ["--data-dir", data_dir,
                                          "--snapshot-every", str(args.snapshot_every)],
                         log_path=log_path)
        self.address = self.grpc
        self.channel = grpc.insecure_channel(self.address)

    def kill(self):
        super().kill()
        if hasattr(self, "channel"):  # not yet, when the start itself failed
            self.channel.close()

    def stop(self):
        code = super().stop()
        self.channel.close()
        return code


class Shared:
    """What every thread records, under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}  # idempotency key -> (contact id, channel)
        self.completing = set()  # contact ids a desktop sent Complete for: may have ended
        self.accepts = 0
        self.completes = 0
        self.errors = {}
        self.live_offers = {}  # offer id -> (agent, contact): what each desktop holds
        self.violations = []

    def error(self, what):
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1


def gateway(daemon, shared, stop, rng, name):
    stub = ingest_pb2_grpc.ContactIngestStub(daemon.channel)
    n = 0
    while not stop.is_set():
        n += 1
        key = f"{name}-{n}-{rng.getrandbits(32)}"
        channel = rng.choice([types_pb2.CHANNEL_VOICE, types_pb2.CHANNEL_CHAT,
                              types_pb2.CHANNEL_EMAIL])
        try:
            reply = stub.Submit(ingest_pb2.SubmitRequest(contact=contact(key, channel)),
                                timeout=RPC_TIMEOUT_S)
        except grpc.RpcError as e:
            shared.error(f"submit {e.code().name}")
            if e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                time.sleep(0.05)
            continue
        with shared.lock:
            shared.acked[key] = (reply.contact_id, channel)


def contact(key, channel, attributes=None):
    return types_pb2.ContactSpec(
        idempotency_key=key, channel=channel, attributes=attributes or {},
        customer=types_pb2.Customer(id="cust-" + key[-4:], tier=types_pb2.TIER_STANDARD))


def large_attributes():
    """60 attributes of 1,000 bytes: the same for every large contact, so the
    final check can retry each with exactly the request it was sent with."""
    return {f"crm{i:02d}": chr(ord("a") + i % 26) * 1000 for i in range(60)}


def large_gateway(daemon, shared, keys, name):
    """Submits one messaging contact with 60 attributes of 1,000 bytes per key
    (within the 64 KiB a request may be), retrying each until acknowledged."""
    stub = ingest_pb2_grpc.ContactIngestStub(daemon.channel)
    for key in keys:
        attributes = large_attributes()
        for _ in range(20):
            try:
                reply = stub.Submit(ingest_pb2.SubmitRequest(
                    contact=contact(key, types_pb2.CHANNEL_MESSAGING, attributes)),
                    timeout=RPC_TIMEOUT_S)
            except grpc.RpcError as e:
                shared.error(f"large submit {e.code().name}")
                time.sleep(0.05)
                continue
            with shared.lock:
                shared.acked[key] = (reply.contact_id, types_pb2.CHANNEL_MESSAGING)
            break


def largest_snapshot(data_dir):
    largest = 0
    for path in glob.glob(os.path.join(data_dir, "snapshot-*.ccs")):
        try:
            largest = max(largest, os.path.getsize(path))
        except FileNotFoundError:
            pass  # pruned by the engine between the listing and the stat
    return largest


def agent(daemon, shared, stop, rng, agent_id):
    outbox = queue.Queue()
    request_ids = iter(range(1, 1 << 62))
    pending = {}  # request id -> (kind, offer id or contact id)

    def requests():
        while True:
            m = outbox.get()
            if m is None:
                return
            yield m

    outbox.put(agent_desk_pb2.AgentMessage(login=agent_login(agent_id, available=True)))
    stub = agent_desk_pb2_grpc.AgentDeskStub(daemon.channel)
    stream = stub.Connect(requests())
    stopper = threading.Thread(target=lambda: (stop.wait(), stream.cancel()), daemon=True)
    stopper.start()

    def send(kind, target, **fields):
        rid = next(request_ids)
        pending[rid] = (kind, target)
        outbox.put(agent_desk_pb2.AgentMessage(request_id=rid, **fields))

    mine = set()
    try:
        for msg in stream:
            which = msg.WhichOneof("kind")
            # After a (re)connect the open offers come in the resync.
            offers = ([msg.offer] if which == "offer" else
                      list(msg.resync.offers) if which == "resync" else [])
            for o in offers:
                # Double offers are judged from the server's own event order
                # (check_lifetime): a desktop may read a new offer before the
                # answer to its own reject of the old one.
                with shared.lock:
                    shared.live_offers[o.offer_id] = (agent_id, o.contact_id)
                mine.add(o.offer_id)
                if rng.random() < 0.1:
                    send("reject", o.offer_id, reject=agent_desk_pb2.Reject(
                        offer_id=o.offer_id, reason="busy"))
                else:
                    send("accept", (o.offer_id, o.contact_id),
                         accept=agent_desk_pb2.Accept(offer_id=o.offer_id))
            if which == "offer_withdrawn":
                with shared.lock:
                    shared.live_offers.pop(msg.offer_withdrawn.offer_id, None)
                mine.discard(msg.offer_withdrawn.offer_id)
            elif which == "result":
                kind, target = pending.pop(msg.result.request_id, (None, None))
                ok = msg.result.code == 0
                if kind == "reject":
                    with shared.lock:
                        shared.live_offers.pop(target, None)
                    mine.discard(target)
                elif kind == "accept":
                    offer_id, contact_id = target
                    with shared.lock:
                        shared.live_offers.pop(offer_id, None)
                        shared.accepts += ok
                    mine.discard(offer_id)
                    if ok:
                        with shared.lock:
                            shared.completing.add(contact_id)
                        send("complete", contact_id, complete=agent_desk_pb2.Complete(
                            contact_id=contact_id, outcome=types_pb2.Outcome(resolved=True)))
                elif kind == "complete" and ok:
                    with shared.lock:
                        shared.completes += 1
                    send("wrap", target, wrap_up_done=agent_desk_pb2.WrapUpDone(
                        contact_id=target))
    except grpc.RpcError as e:
        shared.error(f"agent stream {e.code().name}")
    finally:
        outbox.put(None)
        with shared.lock:  # a broken stream voids what this desktop was offered
            for o in mine:
                shared.live_offers.pop(o, None)


def watch(daemon, events, stop):
    stub = admin_pb2_grpc.AdminStub(daemon.channel)
    stream = stub.WatchEvents(admin_pb2.WatchEventsRequest())  # only new events
    threading.Thread(target=lambda: (stop.wait(), stream.cancel()), daemon=True).start()
    try:
        for e in stream:
            events.append(e)
    except grpc.RpcError:
        pass


def check_lifetime(events, shared, round_no):
    """No contact is offered while an earlier offer of it is still live."""
    live = {}  # contact -> (offer, agent)
    for e in sorted(events, key=lambda e: e.sequence):
        if e.kind == events_pb2.EVENT_KIND_OFFERED:
            if e.contact_id in live:
                shared.violations.append(
                    f"round {round_no}: {e.contact_id} offered to {e.agent_id} while offer "
                    f"{live[e.contact_id]} is live (event {e.sequence})")
            live[e.contact_id] = (e.offer_id, e.agent_id)
        elif e.kind in OFFER_END:
            live.pop(e.contact_id, None)


def recovered_from_snapshot(daemon):
    """Whether this start loaded a snapshot (event=recovered snapshot=...)."""
    for line in daemon.lines:
        if "event=recovered" in line:
            return "snapshot=" in line and 'snapshot=""' not in line
    return False


def agent_login(agent_id, available):
    return agent_desk_pb2.Login(
        agent_id=agent_id, start_available=available, languages=["en"],
        skills=[types_pb2.Skill(name=s, level=8) for s in ("general", "billing", "emergency")],
        capacities=[types_pb2.ChannelCapacity(channel=c) for c in
                    (types_pb2.CHANNEL_VOICE, types_pb2.CHANNEL_CHAT, types_pb2.CHANNEL_EMAIL)])


def old_offer_is_dead(daemon, offer_id, agent_id):
    """Logs in as the agent the offer was made to and accepts it: must fail."""
    stub = agent_desk_pb2_grpc.AgentDeskStub(daemon.channel)
    # The same capacities as before: the agent may still hold contacts, and a
    # re-login may not shrink a channel below what it holds.
    msgs = [agent_desk_pb2.AgentMessage(login=agent_login(agent_id, available=False)),
            agent_desk_pb2.AgentMessage(request_id=1,
                                        accept=agent_desk_pb2.Accept(offer_id=offer_id))]
    done = threading.Event()

    def requests():
        yield from msgs
        done.wait(RPC_TIMEOUT_S)

    stream = stub.Connect(requests(), timeout=RPC_TIMEOUT_S)
    try:
        for msg in stream:
            if msg.WhichOneof("kind") == "result" and msg.result.request_id == 1:
                done.set()
                return msg.result.code != 0, msg.result.message
    except grpc.RpcError as e:
        return False, f"stream failed: {e.code().name}"
    finally:
        done.set()
    return False, "no result"


def main():
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="ccr-crash-")
    data_dir = os.path.join(work, "data")
    log_path = os.path.join(work, "ccrouterd.log")
    shared = Shared()
    kills_with_live_offers = 0
    recovery_ms = []
    dead_offer_checks = 0
    stale_offers = []  # (offer id, agent) live at the last kill
    large_snapshot_bytes = 0
    starts_without_snapshot = []  # rounds after the large one that replayed from genesis
    ok = False
    try:
        for round_no in range(1, args.rounds + 1):
            daemon = Daemon(data_dir, log_path)
            if daemon.recovery_ms is not None:
                recovery_ms.append(daemon.recovery_ms)
            if 0 < args.large_round < round_no and not recovered_from_snapshot(daemon):
                starts_without_snapshot.append(round_no)
            for offer_id, agent_id in stale_offers[:2]:
                dead, why = old_offer_is_dead(daemon, offer_id, agent_id)
                dead_offer_checks += 1
                if not dead:
                    shared.violations.append(
                        f"round {round_no}: offer {offer_id} from before the crash was "
                        f"accepted again ({why})")
            stop = threading.Event()
            events = []
            threads = [threading.Thread(target=watch, args=(daemon, events, stop))]
            threads += [threading.Thread(target=gateway, args=(
                daemon, shared, stop, random.Random(rng.random()), f"r{round_no}g{g}"))
                for g in range(args.gateways)]
            threads += [threading.Thread(target=agent, args=(
                daemon, shared, stop, random.Random(rng.random()), f"agent-{a:02d}"))
                for a in range(args.agents)]
            for t in threads:
                t.start()
            if round_no == args.large_round:
                keys = [f"large-{i}" for i in range(args.large_contacts)]
                bulk = [threading.Thread(target=large_gateway, args=(
                    daemon, shared, keys[g::4], f"large{g}")) for g in range(4)]
                for t in bulk:
                    t.start()
                for t in bulk:
                    t.join()
                # The gateways and desktops keep the journal moving, so
                # --snapshot-every brings a snapshot of the whole state.
                deadline = time.monotonic() + LARGE_SNAPSHOT_WAIT_S
                while (largest_snapshot(data_dir) <= RECORD_LIMIT_BYTES and
                       time.monotonic() < deadline):
                    time.sleep(0.2)
                large_snapshot_bytes = largest_snapshot(data_dir)
            time.sleep(rng.uniform(0.3, 1.0) * args.seconds)
            # Desktops answer offers at once, so an offer is live only briefly:
            # wait (a little) for such a moment, so most kills test the
            # withdrawal of offers outstanding at a crash.
            deadline = time.monotonic() + KILL_WAIT_FOR_LIVE_OFFER_S
            while time.monotonic() < deadline:
                with shared.lock:
                    if shared.live_offers:
                        break
                time.sleep(0.002)
            with shared.lock:
                live = dict(shared.live_offers)
            daemon.kill()
            kills_with_live_offers += bool(live)
            stale_offers = [(o, who) for o, (who, _) in live.items()]
            stop.set()
            for t in threads:
                t.join(30)
                if t.is_alive():
                    raise SystemExit(f"round {round_no}: a client thread did not stop")
            with shared.lock:
                shared.live_offers.clear()
            check_lifetime(events, shared, round_no)
            print(f"round {round_no}: killed after {len(events)} events; "
                  f"{len(shared.acked)} acknowledged so far, {len(live)} offers live at the kill",
                  flush=True)

        daemon = Daemon(data_dir, log_path)
        if daemon.recovery_ms is not None:
            recovery_ms.append(daemon.recovery_ms)
        if 0 < args.large_round and not recovered_from_snapshot(daemon):
            starts_without_snapshot.append("final")
        stub = ingest_pb2_grpc.ContactIngestStub(daemon.channel)
        lost = []
        live = 0
        # The retry answers from the router's own record of the contact: its
        # id (the idempotency entry) and its state now (the contact itself).
        # It is the same request as the first (another one with the key would
        # be ALREADY_EXISTS), large attributes included.
        for key, (contact_id, channel) in sorted(shared.acked.items()):
            attributes = large_attributes() if key.startswith("large-") else None
            reply = stub.Submit(ingest_pb2.SubmitRequest(contact=contact(key, channel, attributes)),
                                timeout=RPC_TIMEOUT_S)
            if not reply.duplicate or reply.contact_id != contact_id:
                lost.append(f"{key}: acknowledged as {contact_id}, now {reply.contact_id} "
                            f"(duplicate={reply.duplicate})")
            elif reply.state in LIVE_STATES:
                live += 1
            elif contact_id not in shared.completing:
                lost.append(f"{key}: {contact_id} is gone (state "
                            f"{types_pb2.ContactState.Name(reply.state)}) though no desktop "
                            "completed it")
        queues = admin_pb2_grpc.AdminStub(daemon.channel).ListQueues(
            admin_pb2.ListQueuesRequest(), timeout=RPC_TIMEOUT_S)
        code = daemon.stop()

        print(f"seed={seed} rounds={args.rounds} acknowledged={len(shared.acked)} "
              f"accepts={shared.accepts} completes={shared.completes} "
              f"kills_with_live_offers={kills_with_live_offers} "
              f"dead_offer_checks={dead_offer_checks} queues={len(queues.queues)} "
              f"live_at_end={live} large_snapshot_mb={large_snapshot_bytes / 2**20:.1f} "
              f"max_recovery_ms={max(recovery_ms) if recovery_ms else 0:.1f} "
              f"client_errors={shared.errors}")
        failures = []
        if lost:
            failures.append(f"{len(lost)} acknowledged contacts lost:\n  " + "\n  ".join(lost[:20]))
        if shared.violations:
            failures.append("offered to two agents at once:\n  " +
                            "\n  ".join(shared.violations[:20]))
        if code != 0:
            failures.append(f"the final SIGTERM ended ccrouterd with {code}")
        if len(shared.acked) < 50 or shared.accepts < 10 or len(recovery_ms) < args.rounds:
            failures.append("too little happened to prove anything: "
                            f"{len(shared.acked)} acks, {shared.accepts} accepts, "
                            f"{len(recovery_ms)} recoveries")
        if kills_with_live_offers == 0:
            failures.append("no kill happened while offers were live")
        if 0 < args.large_round <= args.rounds:
            if large_snapshot_bytes <= RECORD_LIMIT_BYTES:
                failures.append(f"round {args.large_round} wrote no snapshot over 64 MiB within "
                                f"{LARGE_SNAPSHOT_WAIT_S} s (largest {large_snapshot_bytes} bytes)")
            if starts_without_snapshot:
                failures.append("starts after the large round did not load a snapshot: "
                                f"{starts_without_snapshot}")
        if failures:
            print(f"FAILED (seed {seed}; log {log_path}):\n" + "\n".join(failures))
            return 1
        ok = True
        print("crash test passed")
        return 0
    finally:
        if ok:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
