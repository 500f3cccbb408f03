#!/usr/bin/python3
"""A ccrouter gateway in Python: what a telephony or chat gateway does.

    gateway.py --server 127.0.0.1:7700[,HOST:PORT...] [--token TOKEN] [--stubs DIR] \
        demo [--contacts N] [--channel chat] [--topic general]

In cluster mode list every node in --server: a standby answers UNAVAILABLE
naming the owner in the `ccrouter-owner` trailer and the call goes there at
once; a node that does not answer passes the call to the next one listed.

`demo` walks through the gateway's side of the contract, printing one JSON
line per step:
  1. submits N contacts, each with its own idempotency key, retrying
     RESOURCE_EXHAUSTED after the `retry-after-ms` trailer and UNAVAILABLE
     after a pause (always with the same key, so a retry never duplicates);
  2. retries the first submit with the same key: the first answer comes back
     (`duplicate: true`), nothing new is queued;
  3. sends a sentiment-only Update of the first contact (Update merges: the
     other signals stay as they were);
  4. submits one email contact and cancels it (the customer withdrew);
  5. asks where that contact is now (GetContact by idempotency key: a read,
     never journalled): cancelled, and in which queue;
  6. with --watch-seconds S, follows the last contact on WatchContact as an
     IVR would (position and wait as they change, the agent that takes it),
     until it ends or S seconds pass.

The stubs come from proto/ccrouter/v1/*.proto (README, "Gateway contract"):
`--stubs` names the directory holding ccrouter/v1/*_pb2*.py (the build makes
them in build/python). Uses Debian's python3-grpcio (/usr/bin/python3).
"""

import argparse
import json
import sys
import time
import uuid

RPC_TIMEOUT_S = 5
MAX_ATTEMPTS = 8


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", default="127.0.0.1:7700",
                   help="ccrouterd gRPC address; in cluster mode the nodes, comma-separated")
    p.add_argument("--token", default=None, help="gateway bearer token (auth on)")
    p.add_argument("--stubs", default=None, help="directory holding ccrouter/v1/*_pb2*.py")
    sub = p.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="submit, retry, update, cancel")
    demo.add_argument("--contacts", type=int, default=3)
    demo.add_argument("--channel", default="chat", help="voice, chat, email, messaging, ...")
    demo.add_argument("--topic", default="general")
    demo.add_argument("--watch-seconds", type=float, default=0,
                      help="follow the last contact this long (0: do not watch)")
    return p.parse_args()


ARGS = parse_args()
if ARGS.stubs:
    sys.path.insert(0, ARGS.stubs)

import grpc  # noqa: E402
from ccrouter.v1 import ingest_pb2, ingest_pb2_grpc, types_pb2  # noqa: E402


def emit(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def retry_after_seconds(error):
    """The engine's hint on RESOURCE_EXHAUSTED: trailing metadata retry-after-ms."""
    for key, value in error.trailing_metadata() or ():
        if key == "retry-after-ms":
            return int(value) / 1000.0
    return 0.1


def owner_named(error):
    """Cluster mode: a standby names the owner in the ccrouter-owner trailer."""
    for key, value in error.trailing_metadata() or ():
        if key == "ccrouter-owner":
            return value
    return None


class Ingest:
    """ContactIngest at the owner: --server's nodes in turn, and the owner a
    standby names."""

    def __init__(self, servers):
        self.servers = servers
        self.next_index = 0
        self.channel = None
        self.move_to(servers[0])

    def move_to(self, address):
        if self.channel:
            self.channel.close()
        self.address = address
        self.channel = grpc.insecure_channel(address)
        self.stub = ingest_pb2_grpc.ContactIngestStub(self.channel)

    def next_listed(self):
        self.next_index = (self.next_index + 1) % len(self.servers)
        self.move_to(self.servers[self.next_index])


def call(ingest, method, request, metadata):
    """One unary call with the retries a gateway owes the engine."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return getattr(ingest.stub, method)(request, timeout=RPC_TIMEOUT_S, metadata=metadata)
        except grpc.RpcError as e:
            if attempt == MAX_ATTEMPTS:
                raise
            if e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                time.sleep(retry_after_seconds(e))
            elif e.code() == grpc.StatusCode.UNAVAILABLE and owner_named(e):
                ingest.move_to(owner_named(e))  # a standby: nothing was accepted; go at once
            elif e.code() == grpc.StatusCode.UNAVAILABLE:
                # Journal trouble, a restart, a node down: nothing was accepted.
                if len(ingest.servers) > 1:
                    ingest.next_listed()
                time.sleep(0.2 * attempt)
            else:
                raise  # INVALID_ARGUMENT, NOT_FOUND, ...: the message names the field
    raise AssertionError("unreachable")


def contact(key, channel, topic):
    c = types_pb2.ContactSpec(
        idempotency_key=key,
        channel=types_pb2.Channel.Value("CHANNEL_" + channel.upper()),
        topic=topic)
    c.customer.id = "customer-" + key[-6:]
    c.customer.tier = types_pb2.TIER_STANDARD
    c.signals.complaint = True
    return c


def demo(ingest, metadata, args):
    run = uuid.uuid4().hex[:8]
    submitted = []
    for i in range(args.contacts):
        key = f"example-{run}-{i}"
        reply = call(ingest, "Submit", ingest_pb2.SubmitRequest(
            contact=contact(key, args.channel, args.topic)), metadata)
        submitted.append((key, reply.contact_id))
        emit("submitted", key=key, contact_id=reply.contact_id, queue=reply.queue,
             position=reply.position, estimated_wait_seconds=reply.estimated_wait_seconds)

    key, first_id = submitted[0]
    again = call(ingest, "Submit", ingest_pb2.SubmitRequest(
        contact=contact(key, args.channel, args.topic)), metadata)
    emit("retried", key=key, contact_id=again.contact_id, duplicate=again.duplicate,
         same_contact=again.contact_id == first_id)

    update = ingest_pb2.UpdateRequest(contact_id=first_id)
    update.signals.sentiment = -0.4  # only this changes; complaint stays set
    try:
        reply = call(ingest, "Update", update, metadata)
        emit("updated", contact_id=first_id, state=types_pb2.ContactState.Name(reply.state))
    except grpc.RpcError as e:
        # The agent may have completed it already: updates are for live contacts.
        emit("updated", contact_id=first_id, code=e.code().name, message=e.details())

    withdrawn = call(ingest, "Submit", ingest_pb2.SubmitRequest(
        contact=contact(f"example-{run}-email", "email", args.topic)), metadata)
    cancelled = call(ingest, "Cancel", ingest_pb2.CancelRequest(
        contact_id=withdrawn.contact_id, reason="customer withdrew"), metadata)
    emit("cancelled", contact_id=withdrawn.contact_id,
         state=types_pb2.ContactState.Name(cancelled.state))

    where = call(ingest, "GetContact", ingest_pb2.GetContactRequest(
        contact=ingest_pb2.ContactRef(idempotency_key=f"example-{run}-email")), metadata)
    emit("located", **status_fields(where))

    if args.watch_seconds > 0:
        _, last_id = submitted[-1]
        # A server stream: the status now, then each change; the last one has
        # `ended` set and the stream ends. UNAVAILABLE (a restart): watch again.
        statuses = ingest.stub.WatchContact(
            ingest_pb2.WatchContactRequest(contact=ingest_pb2.ContactRef(contact_id=last_id)),
            timeout=args.watch_seconds, metadata=metadata)
        for status in statuses:
            emit("watched", **status_fields(status))


def status_fields(status):
    return {"contact_id": status.contact_id,
            "state": types_pb2.ContactState.Name(status.state),
            "queue": status.queue, "position": status.position,
            "estimated_wait_seconds": status.estimated_wait_seconds,
            "agent_id": status.agent_id, "ended": status.ended,
            "ended_reason": status.ended_reason}


def main():
    metadata = [("authorization", "Bearer " + ARGS.token)] if ARGS.token else []
    ingest = Ingest([address.strip() for address in ARGS.server.split(",")])
    try:
        if ARGS.command == "demo":
            demo(ingest, metadata, ARGS)
    finally:
        ingest.channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
