#!/usr/bin/env node
// A ccrouter agent desktop in Node.js (@grpc/grpc-js): the AgentDesk.Connect
// conversation a real desktop has, without the screen.
//
//   node desktop.js --server 127.0.0.1:7700[,HOST:PORT...] --agent alice \
//       [--skills general:5,billing:4] [--channels voice:1,chat:3] [--languages en]
//       [--handle-seconds 2] [--max-contacts N] [--token TOKEN]
//
// It logs in, sends a heartbeat at the interval LoginOk names, accepts every
// offer before its deadline, completes each contact after --handle-seconds
// with a resolved outcome, ends wrap-up at once, and follows what the server
// says about its state and its contacts. A dropped stream is reconnected with
// backoff under the same agent id, so the session (and any contact held) is
// kept within the engine's disconnect grace. With --max-contacts it logs out
// cleanly after handling that many and prints a JSON summary on stdout;
// every event is also a JSON line on stderr.
//
// In cluster mode list every node in --server: a standby ends the stream
// UNAVAILABLE naming the owner in the `ccrouter-owner` trailer, and the
// desktop reconnects there at once; a node that does not answer passes it to
// the next one listed.
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

function parseArgs(argv) {
  const args = {
    server: '127.0.0.1:7700', agent: '', skills: 'general:5', channels: 'voice:1,chat:3',
    languages: 'en', handleSeconds: 2, maxContacts: 0, token: process.env.CCROUTER_TOKEN || '',
    proto: path.resolve(__dirname, '../../proto'),
  };
  const names = {
    '--server': 'server', '--agent': 'agent', '--skills': 'skills', '--channels': 'channels',
    '--languages': 'languages', '--handle-seconds': 'handleSeconds',
    '--max-contacts': 'maxContacts', '--token': 'token', '--proto': 'proto',
  };
  for (let i = 2; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) throw new Error(`unknown or incomplete flag ${argv[i]}`);
    args[key] = typeof args[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!args.agent) throw new Error('--agent is required');
  return args;
}

function loadAgentDesk(protoRoot) {
  const definition = protoLoader.loadSync('ccrouter/v1/agent_desk.proto', {
    includeDirs: [protoRoot], keepCase: true, longs: String, enums: String, defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).ccrouter.v1.AgentDesk;
}

function log(event, fields) {
  process.stderr.write(JSON.stringify({ts: new Date().toISOString(), event, ...fields}) + '\n');
}

class Desktop {
  constructor(args, AgentDesk) {
    this.args = args;
    this.AgentDesk = AgentDesk;
    this.servers = args.server.split(',').map((s) => s.trim());
    this.serverIndex = 0;
    this.moveTo(this.servers[0]);
    this.requestId = 0;
    this.handled = 0;
    this.offers = 0;
    this.reconnects = 0;
    this.held = new Map();  // contact id -> timer completing it
    this.state = 'AGENT_STATE_OFFLINE';
    this.stopping = false;
  }

  moveTo(address) {
    if (this.client) this.client.close();
    this.address = address;
    this.client = new this.AgentDesk(address, grpc.credentials.createInsecure());
  }

  login() {
    const [skills, channels] = [this.args.skills, this.args.channels].map((s) => s.split(','));
    return {
      agent_id: this.args.agent,
      display_name: this.args.agent,
      skills: skills.map((s) => ({name: s.split(':')[0], level: Number(s.split(':')[1] || 5)})),
      languages: this.args.languages.split(','),
      capacities: channels.map((c) => ({
        channel: 'CHANNEL_' + c.split(':')[0].toUpperCase(),
        max_concurrent: Number(c.split(':')[1] || 0),
      })),
      start_available: true,
    };
  }

  send(kind, body) {
    if (!this.stream) return;
    this.stream.write({[kind]: body, request_id: String(++this.requestId)});
  }

  connect() {
    const metadata = new grpc.Metadata();
    if (this.args.token) metadata.set('authorization', 'Bearer ' + this.args.token);
    const stream = this.client.Connect(metadata);
    this.stream = stream;
    stream.on('data', (msg) => this.onMessage(msg));
    // 'status' comes once per call, OK or not, with the trailers. 'error'
    // repeats a failure (and 'end' may follow it): listened to only so Node
    // does not throw, or a stream's end would reconnect twice.
    stream.on('error', () => {});
    stream.on('status', (status) => this.onEnd(stream, status));
    this.send('login', this.login());
  }

  onMessage(msg) {
    const body = msg[msg.kind];
    switch (msg.kind) {
      case 'login_ok': {
        this.state = body.state;
        this.backoffMs = 100;
        this.redirected = false;
        const everyMs = Math.max(100, 1000 * (body.heartbeat_interval_seconds || 5));
        clearInterval(this.heartbeat);
        let sequence = 0;
        this.heartbeat = setInterval(() => this.send('heartbeat', {sequence: String(++sequence)}),
                                     everyMs);
        log('logged_in', {agent: body.agent_id, state: body.state, heartbeat_ms: everyMs});
        return;
      }
      case 'offer':
        // A desktop shows the offer and its countdown; this one accepts at once.
        ++this.offers;
        log('offer', {offer: body.offer_id, contact: body.contact_id, queue: body.queue,
                      channel: body.channel, why: body.why});
        this.send('accept', {offer_id: body.offer_id});
        this.hold(body.contact_id);
        return;
      case 'resync': {
        // Right after login_ok on every (re)connect: the whole picture. What
        // it does not list is gone; what happened while away says why.
        this.state = body.state;
        for (const w of body.withdrawn) {
          log('offer_withdrawn', {offer: w.offer_id, contact: w.contact_id, reason: w.reason});
        }
        for (const e of body.ended) log('contact_ended', {contact: e.contact_id, reason: e.reason});
        const listed = new Set([...body.offers, ...body.contacts].map((c) => c.contact_id));
        for (const id of [...this.held.keys()]) {
          if (!listed.has(id)) this.release(id);
        }
        for (const c of body.contacts) {
          if (c.state === 'CONTACT_STATE_WRAP_UP') {
            this.send('wrap_up_done', {contact_id: c.contact_id});
          } else {
            this.hold(c.contact_id);
          }
        }
        log('resync', {state: body.state, offers: body.offers.length,
                       contacts: body.contacts.length, withdrawn: body.withdrawn.length});
        for (const offer of body.offers) this.onMessage({kind: 'offer', offer});
        return;
      }
      case 'offer_withdrawn':
        log('offer_withdrawn', {offer: body.offer_id, contact: body.contact_id,
                                reason: body.reason});
        this.release(body.contact_id);
        return;
      case 'contact_ended':
        // Cancelled by the gateway, transferred, wrap-up over: drop it.
        log('contact_ended', {contact: body.contact_id, state: body.state, reason: body.reason});
        this.release(body.contact_id);
        return;
      case 'contact_updated':
        log('contact_updated', {contact: body.contact_id, reason: body.reason});
        return;
      case 'state_changed':
        this.state = body.state;
        log('state', {state: body.state, reason: body.reason});
        return;
      case 'result':
        if (body.code !== 0) log('refused', {request: body.request_id, code: body.code,
                                             message: body.message});
        return;
      case 'heartbeat':
        return;
      default:
        // Messages this example does not know yet are shown, never fatal.
        log('message', {kind: msg.kind, body});
    }
  }

  hold(contactId) {
    if (this.held.has(contactId)) return;
    this.held.set(contactId, setTimeout(() => {
      this.held.delete(contactId);
      this.send('complete', {contact_id: contactId,
                             outcome: {resolved: true, disposition: 'answered'}});
      this.send('wrap_up_done', {contact_id: contactId});
      ++this.handled;
      log('completed', {contact: contactId, handled: this.handled});
      if (this.args.maxContacts > 0 && this.handled >= this.args.maxContacts) this.stop();
    }, 1000 * this.args.handleSeconds));
  }

  release(contactId) {
    clearTimeout(this.held.get(contactId));
    this.held.delete(contactId);
  }

  onEnd(stream, status) {
    if (stream !== this.stream) return;  // an older stream's late end
    clearInterval(this.heartbeat);
    if (this.stopping) return;
    this.stream = null;
    // UNAVAILABLE: the engine restarted or is draining; reconnecting within
    // its disconnect grace keeps the session and the contacts held. In
    // cluster mode a standby names the owner: go there, at once the first
    // time since the last login.
    const unavailable = status.code === grpc.status.UNAVAILABLE;
    const owner = unavailable ? status.metadata.get('ccrouter-owner')[0] : undefined;
    let retryMs = this.backoffMs = Math.min(5000, (this.backoffMs || 100) * 2);
    if (owner) {
      this.moveTo(String(owner));
      if (!this.redirected) retryMs = 0;
      this.redirected = true;
    } else if (unavailable && this.servers.length > 1) {
      this.serverIndex = (this.serverIndex + 1) % this.servers.length;
      this.moveTo(this.servers[this.serverIndex]);
    }
    ++this.reconnects;
    log('stream_ended', {code: status.code, message: status.details, retry_ms: retryMs,
                         server: this.address});
    setTimeout(() => this.connect(), retryMs);
  }

  stop() {
    this.stopping = true;
    clearInterval(this.heartbeat);
    for (const timer of this.held.values()) clearTimeout(timer);
    if (this.stream) this.stream.end();  // a clean goodbye logs the agent out
    process.stdout.write(JSON.stringify({agent: this.args.agent, offers: this.offers,
                                         handled: this.handled,
                                         reconnects: this.reconnects}) + '\n');
    setTimeout(() => process.exit(0), 200);
  }
}

function main() {
  let args;
  try {
    args = parseArgs(process.argv);
  } catch (e) {
    process.stderr.write(`desktop.js: ${e.message}\n`);
    process.exit(2);
  }
  const desktop = new Desktop(args, loadAgentDesk(args.proto));
  process.on('SIGTERM', () => desktop.stop());
  process.on('SIGINT', () => desktop.stop());
  desktop.connect();
}

main();
