// The reference agent desktop: the AgentDesk conversation over the engine's
// WebSocket, /v1/agent-desk, one protobuf-JSON message per text frame
// (README "Browser agent desktop (WebSocket)"). A working example for
// desktop developers; each protocol rule it follows is said where it is.
//
//   → {"login":{...}}                 first, on every (re)connect
//   ← {"loginOk":{...}}               heartbeat interval, missed limit, grace
//   ← {"resync":{...}}                the whole picture: show exactly this
//   ← {"offer":{...}}                 answer by offerId before acceptDeadline
//   → {"requestId":"7","accept":{"offerId":"o-3"}}   ← {"result":{"requestId":"7"}}
//   → complete / wrapUpDone / transfer / setState, each with a requestId
//   → {"heartbeat":{"sequence":"9"}}  whenever nothing else was sent for a while
//
// The token: a CRM or SSO backend mints it (Admin.MintAgentToken) and hands
// it over in the URL fragment, /desk#token=...&agent=a-7 (a fragment never
// reaches a server or a Referer), or the agent pastes it. It travels as a
// WebSocket subprotocol, "access-token.<token>", beside
// "ccrouter.agent-desk.v1", so it stays out of URLs and proxy logs.
'use strict';

(() => {
  const PROTOCOL = 'ccrouter.agent-desk.v1';
  const SESSION_KEY = 'ccr.deskSession';
  const MAX_NOTICES = 30;

  ccr.define({
    en: {
      'title': 'Agent desktop',
      'login_heading': 'Log in', 'agent_id': 'Agent id', 'agent_token': 'Token',
      'display_name': 'Display name', 'skills': 'Skills (name:level, …)',
      'languages': 'Languages', 'channels': 'Channels (how many at once; 0: none)',
      'start_available': 'Available at once', 'login': 'Log in', 'logout': 'Log out',
      'my_state': 'My state', 'go_available': 'Available', 'go_not_ready': 'Not ready',
      'not_ready_reason': 'Reason', 'reason.break': 'Break', 'reason.lunch': 'Lunch',
      'reason.training': 'Training', 'reason.meeting': 'Meeting',
      'offers': 'Offers', 'no_offers': 'No offers.', 'contacts': 'My contacts',
      'no_contacts': 'No contacts.', 'notices': 'Notices',
      'accept_within': 'Accept within', 'accept': 'Accept', 'reject': 'Reject',
      'complete_heading': 'Complete', 'resolved': 'Resolved', 'disposition': 'Disposition',
      'notes': 'Notes', 'follow_up': 'Schedule a follow-up', 'complete': 'Complete',
      'transfer_heading': 'Transfer', 'to_queue': 'To queue',
      'transfer_note': 'Note for the next agent', 'transfer': 'Transfer',
      'in_wrap_up': 'In wrap-up.', 'wrap_up_done': 'Wrap-up done',
      'state.AGENT_STATE_OFFLINE': 'Offline', 'state.AGENT_STATE_AVAILABLE': 'Available',
      'state.AGENT_STATE_NOT_READY': 'Not ready', 'state.AGENT_STATE_BUSY': 'Busy',
      'state.AGENT_STATE_WRAP_UP': 'Wrap-up', 'state.AGENT_STATE_RESTING': 'Resting',
      'conn.connecting': 'Connecting…', 'conn.connected': 'Connected as {0}',
      'conn.reconnecting': 'Connection lost; reconnecting in {0} s…',
      'conn.closed': 'Logged out',
      'offer_what': '{0} · {1} · {2}', 'waited': 'waited {0}', 'urgency': 'urgency {0}',
      'expired': 'expired',
      'notice.withdrawn': 'Offer {0} withdrawn: {1}',
      'notice.ended': 'Contact {0} ended: {1}',
      'notice.updated': 'Contact {0} updated: {1}',
      'notice.refused': 'Refused: {0}',
      'notice.closed': 'Connection closed: {0}',
      'need_agent': 'Enter your agent id.',
    },
    zh: {
      'title': '坐席工作台',
      'login_heading': '登录', 'agent_id': '坐席工号', 'agent_token': '令牌',
      'display_name': '显示名称', 'skills': '技能（名称:等级，…）',
      'languages': '语言能力', 'channels': '渠道（同时处理数；0：不接）',
      'start_available': '登录后立即空闲', 'login': '登录', 'logout': '登出',
      'my_state': '我的状态', 'go_available': '空闲', 'go_not_ready': '未就绪',
      'not_ready_reason': '原因', 'reason.break': '小休', 'reason.lunch': '午餐',
      'reason.training': '培训', 'reason.meeting': '会议',
      'offers': '待接联络', 'no_offers': '暂无待接联络。', 'contacts': '我的联络',
      'no_contacts': '暂无联络。', 'notices': '通知',
      'accept_within': '剩余接听时间', 'accept': '接听', 'reject': '拒绝',
      'complete_heading': '结束', 'resolved': '已解决', 'disposition': '处理结果',
      'notes': '备注', 'follow_up': '安排回访', 'complete': '结束联络',
      'transfer_heading': '转接', 'to_queue': '目标队列',
      'transfer_note': '给下一位坐席的备注', 'transfer': '转接',
      'in_wrap_up': '话后处理中。', 'wrap_up_done': '完成话后处理',
      'state.AGENT_STATE_OFFLINE': '离线', 'state.AGENT_STATE_AVAILABLE': '空闲',
      'state.AGENT_STATE_NOT_READY': '未就绪', 'state.AGENT_STATE_BUSY': '忙碌',
      'state.AGENT_STATE_WRAP_UP': '话后处理', 'state.AGENT_STATE_RESTING': '强制休息',
      'conn.connecting': '连接中…', 'conn.connected': '已连接：{0}',
      'conn.reconnecting': '连接中断，{0} 秒后重连…',
      'conn.closed': '已登出',
      'offer_what': '{0} · {1} · {2}', 'waited': '已等待 {0}', 'urgency': '紧急度 {0}',
      'expired': '已超时',
      'notice.withdrawn': '联络 {0} 已撤回：{1}',
      'notice.ended': '联络 {0} 已结束：{1}',
      'notice.updated': '联络 {0} 已更新：{1}',
      'notice.refused': '被拒绝：{0}',
      'notice.closed': '连接已关闭：{0}',
      'need_agent': '请输入坐席工号。',
    },
  });

  const el = (id) => document.getElementById(id);

  // ---- the session: what the agent logged in with ------------------------
  // Kept in sessionStorage (this tab only) so a reload reconnects; the
  // fragment's token is taken out of the address bar at once.
  let session = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
  (function takeFragment() {
    const params = new URLSearchParams(location.hash.slice(1));
    if (params.has('token')) el('agent-token').value = params.get('token');
    if (params.has('agent')) el('agent-id').value = params.get('agent');
    if (params.has('skills')) el('skills').value = params.get('skills');
    if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  })();

  function loginMessage() {
    const skills = session.skills.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
      const [name, level] = s.split(':');
      return {name: name.trim(), level: Number(level || 5)};
    });
    const capacities = [];
    for (const [channel, max] of Object.entries(session.capacities)) {
      if (max > 0) capacities.push({channel, maxConcurrent: max});
    }
    return {
      login: {
        agentId: session.agentId,
        displayName: session.displayName || undefined,
        skills,
        languages: session.languages.split(',').map((s) => s.trim()).filter(Boolean),
        capacities,
        // Only the first login of a session asks for it: a reconnect keeps
        // whatever state the agent was in (the resync says which).
        startAvailable: session.startAvailable,
      },
    };
  }

  // ---- the picture: replaced by every resync, patched by the rest --------
  let agentState = {state: 'AGENT_STATE_OFFLINE', reason: ''};
  let offers = new Map();     // offerId -> Offer
  let contacts = new Map();   // contactId -> HeldContact (+ state)
  const pending = new Map();  // requestId -> what to do with its result

  // ---- the socket ---------------------------------------------------------
  let socket = null;
  let nextRequestId = 1;
  let heartbeatTimer = null;
  let heartbeatSequence = 0;
  let lastSentAt = 0;
  let reconnectDelayMs = 500;
  let reconnectTimer = null;
  let leaving = false;  // the agent logged out: no reconnect

  function connect() {
    clearTimeout(reconnectTimer);
    setConnection(ccr.t('conn.connecting'));
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const protocols = [PROTOCOL];
    if (session.token) protocols.push(`access-token.${session.token}`);
    socket = new WebSocket(`${scheme}://${location.host}/v1/agent-desk`, protocols);
    const ws = socket;
    // Login is the first message, on every connect: the server resumes the
    // session (within disconnect_grace_seconds) and answers loginOk, resync.
    ws.addEventListener('open', () => send(loginMessage()));
    ws.addEventListener('message', (e) => {
      if (ws === socket) receive(JSON.parse(e.data));
    });
    ws.addEventListener('close', (e) => {
      if (ws === socket) closed(e);
    });
  }

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    lastSentAt = Date.now();
    return true;
  }

  // A command with a requestId; `then(result)` runs on its CommandResult.
  function command(body, then) {
    const requestId = String(nextRequestId++);
    if (!send({requestId, ...body})) return;
    pending.set(requestId, then || (() => {}));
  }

  // Heartbeats: the server ends a desktop that sends nothing for
  // heartbeatMissedLimit intervals. Any message counts; when idle, send a
  // Heartbeat every half interval (browsers delay timers in background tabs).
  function startHeartbeats(intervalSeconds) {
    clearInterval(heartbeatTimer);
    const everyMs = Math.max(1000, (intervalSeconds || 10) * 500);
    heartbeatTimer = setInterval(() => {
      if (Date.now() - lastSentAt >= everyMs) {
        send({heartbeat: {sequence: String(++heartbeatSequence)}});
      }
    }, everyMs);
  }

  // A dropped socket (network, a restart, missed heartbeats) keeps the
  // session for disconnect_grace_seconds: reconnect with backoff and log in
  // again; the resync that follows says what survived. A refusal (1008: bad
  // token, wrong agent) is final; so is the agent's own logout.
  function closed(e) {
    clearInterval(heartbeatTimer);
    socket = null;
    for (const then of pending.values()) then({code: 14, message: 'connection lost'});
    pending.clear();
    if (e.reason) notice(ccr.t('notice.closed', e.reason));
    if (leaving || e.code === 1008 || e.code === 1007) {
      showLogin(e.reason || '');
      return;
    }
    const delay = reconnectDelayMs + Math.floor(Math.random() * 250);
    reconnectDelayMs = Math.min(reconnectDelayMs * 2, 10000);
    setConnection(ccr.t('conn.reconnecting', Math.ceil(delay / 1000)));
    reconnectTimer = setTimeout(connect, delay);
  }

  // ---- what the server says ---------------------------------------------
  function receive(m) {
    if (m.loginOk) {
      reconnectDelayMs = 500;
      session.startAvailable = false;
      sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
      startHeartbeats(m.loginOk.heartbeatIntervalSeconds);
      agentState = {state: m.loginOk.state, reason: ''};
      setConnection(ccr.t('conn.connected', m.loginOk.agentId));
      showWorkspace();
    } else if (m.resync) {
      // The whole truth after a (re)connect: open offers are listed here,
      // not sent again as offers.
      const r = m.resync;
      // Counted, so a test (or a developer in the console) sees a resync land.
      el('workspace').dataset.resyncs = String(Number(el('workspace').dataset.resyncs || 0) + 1);
      agentState = {state: r.state, reason: r.reason || ''};
      offers = new Map((r.offers || []).map((o) => [o.offerId, o]));
      contacts = new Map((r.contacts || []).map((c) => [c.contactId, c]));
      for (const w of r.withdrawn || []) notice(ccr.t('notice.withdrawn', w.offerId, w.reason));
      for (const c of r.ended || []) notice(ccr.t('notice.ended', c.contactId, c.reason));
    } else if (m.offer) {
      offers.set(m.offer.offerId, m.offer);
    } else if (m.offerWithdrawn) {
      offers.delete(m.offerWithdrawn.offerId);
      notice(ccr.t('notice.withdrawn', m.offerWithdrawn.offerId, m.offerWithdrawn.reason));
    } else if (m.stateChanged) {
      agentState = {state: m.stateChanged.state, reason: m.stateChanged.reason || ''};
    } else if (m.contactEnded) {
      contacts.delete(m.contactEnded.contactId);
      notice(ccr.t('notice.ended', m.contactEnded.contactId, m.contactEnded.reason));
    } else if (m.contactUpdated) {
      const c = contacts.get(m.contactUpdated.contactId);
      if (c) Object.assign(c, {signals: m.contactUpdated.signals, urgency: m.contactUpdated.urgency});
      notice(ccr.t('notice.updated', m.contactUpdated.contactId, m.contactUpdated.reason || ''));
    } else if (m.result) {
      const then = pending.get(m.result.requestId);
      pending.delete(m.result.requestId);
      const result = {code: m.result.code || 0, message: m.result.message || ''};
      if (result.code !== 0) notice(ccr.t('notice.refused', result.message));
      if (then) then(result);
    } else if (m.status) {
      // The server's last word before it closes (code and message).
      notice(ccr.t('notice.closed', `${m.status.code}: ${m.status.message || ''}`));
    }
    render();
  }

  // ---- the agent's actions -------------------------------------------------
  function accept(offer) {
    command({accept: {offerId: offer.offerId}}, (r) => {
      if (r.code !== 0) return;
      // Accepted: the contact is ours, connected (the server sends no
      // separate message for it; a later resync lists it).
      offers.delete(offer.offerId);
      contacts.set(offer.contactId, {...offer, state: 'CONTACT_STATE_CONNECTED'});
      render();
    });
  }
  function reject(offer) {
    command({reject: {offerId: offer.offerId, reason: 'declined'}}, (r) => {
      if (r.code === 0) offers.delete(offer.offerId);
      render();
    });
  }
  function complete(contact, form) {
    const outcome = {
      resolved: form.querySelector('.resolved').checked,
      disposition: form.querySelector('.disposition').value.trim() || undefined,
      notes: form.querySelector('.notes').value.trim() || undefined,
      followUpDue: form.querySelector('.follow-up').checked,
    };
    command({complete: {contactId: contact.contactId, outcome}}, (r) => {
      if (r.code !== 0) return;
      contact.state = 'CONTACT_STATE_WRAP_UP';  // the wrap-up timer runs from here
      render();
    });
  }
  function wrapUpDone(contact) {
    command({wrapUpDone: {contactId: contact.contactId}}, (r) => {
      if (r.code === 0) contacts.delete(contact.contactId);
      render();
    });
  }
  function transfer(contact, form) {
    const toQueue = form.querySelector('.to-queue').value.trim();
    const note = form.querySelector('.transfer-note').value.trim();
    command({transfer: {contactId: contact.contactId, toQueue, note}}, (r) => {
      if (r.code === 0) contacts.delete(contact.contactId);
      render();
    });
  }
  el('go-available').addEventListener('click', () => {
    command({setState: {state: 'AGENT_STATE_AVAILABLE'}});
  });
  el('go-not-ready').addEventListener('click', () => {
    command({setState: {state: 'AGENT_STATE_NOT_READY', reason: el('not-ready-reason').value}});
  });

  // ---- drawing ---------------------------------------------------------------
  function setConnection(text) {
    el('connection').textContent = text;
  }
  function notice(text) {
    const li = document.createElement('li');
    li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
    el('notices').prepend(li);
    while (el('notices').children.length > MAX_NOTICES) el('notices').lastChild.remove();
  }

  function describe(card, c) {
    card.querySelector('.what').textContent =
        ccr.t('offer_what', c.contactId, c.queue, ccr.channelName(c.channel));
    const parts = [c.customerDisplay, c.tier, c.language, c.topic].filter(Boolean);
    if (c.waitedSeconds !== undefined) parts.push(ccr.t('waited', ccr.duration(c.waitedSeconds)));
    if (c.urgency !== undefined) parts.push(ccr.t('urgency', Math.round(c.urgency)));
    const signals = c.signals || {};
    for (const flag of ['emergency', 'complaint']) if (signals[flag]) parts.push(flag);
    card.querySelector('.details').textContent = parts.join(' · ');
  }

  // Cards are kept by id (an offer, a contact in one state) and only
  // their descriptions redrawn, so what the agent is typing survives the
  // messages that come meanwhile.
  function keyedCards(list, items, key, make, update) {
    const existing = new Map([...list.children].map((c) => [c.dataset.key, c]));
    const cards = items.map((item) => {
      const k = key(item);
      let card = existing.get(k);
      if (!card) {
        card = make(item);
        card.dataset.key = k;
        ccr.applyLabels(card);
      }
      update(card, item);
      return card;
    });
    for (const [k, card] of existing) if (!cards.includes(card)) card.remove();
    cards.forEach((card, i) => {
      if (list.children[i] !== card) list.insertBefore(card, list.children[i] || null);
    });
    return cards.length;
  }

  function makeOfferCard(o) {
    const card = el('offer-template').content.firstElementChild.cloneNode(true);
    card.dataset.offerId = o.offerId;
    card.dataset.contactId = o.contactId;
    card.dataset.deadline = o.acceptDeadline || '';
    card.querySelector('.accept').addEventListener('click', () => accept(o));
    card.querySelector('.reject').addEventListener('click', () => reject(o));
    return card;
  }

  function makeContactCard(c) {
    const card = el('contact-template').content.firstElementChild.cloneNode(true);
    card.dataset.contactId = c.contactId;
    card.dataset.state = c.state || '';
    const wrapping = c.state === 'CONTACT_STATE_WRAP_UP';
    card.querySelector('.complete-form').hidden = wrapping;
    card.querySelector('.transfer-form').hidden = wrapping;
    card.querySelector('.wrap-up').hidden = !wrapping;
    card.querySelector('.complete-form').addEventListener('submit', (e) => {
      e.preventDefault();
      complete(contacts.get(c.contactId) || c, e.currentTarget);
    });
    card.querySelector('.transfer-form').addEventListener('submit', (e) => {
      e.preventDefault();
      transfer(contacts.get(c.contactId) || c, e.currentTarget);
    });
    card.querySelector('.wrap-up-done').addEventListener('click', () => {
      wrapUpDone(contacts.get(c.contactId) || c);
    });
    return card;
  }

  function render() {
    const state = el('agent-state');
    state.textContent = ccr.t(`state.${agentState.state}`);
    state.dataset.state = agentState.state;
    el('agent-reason').textContent = agentState.reason;

    const offerCount = keyedCards(el('offers'), [...offers.values()], (o) => o.offerId,
                                  makeOfferCard, (card, o) => {
                                    describe(card, o);
                                    card.querySelector('.why').textContent = o.why || '';
                                  });
    el('no-offers').hidden = offerCount > 0;
    tickCountdowns();

    const contactCount = keyedCards(
        el('contacts'), [...contacts.values()], (c) => `${c.contactId}/${c.state || ''}`,
        makeContactCard, (card, c) => {
          describe(card, c);
          card.querySelector('.history').replaceChildren(...(c.history || []).map((h) => {
            const li = document.createElement('li');
            li.textContent = h;
            return li;
          }));
        });
    el('no-contacts').hidden = contactCount > 0;
  }

  // Labels drawn by script follow the language.
  function relabel() {
    for (const card of [...el('offers').children, ...el('contacts').children]) {
      ccr.applyLabels(card);
    }
    render();
  }

  // The accept countdown, from the offer's acceptDeadline (the engine's
  // clock; a desktop far off true time should correct by its own offset).
  function tickCountdowns() {
    for (const card of el('offers').children) {
      const left = (Date.parse(card.dataset.deadline) - Date.now()) / 1000;
      const countdown = card.querySelector('.countdown');
      countdown.textContent = left > 0 ? `${Math.ceil(left)} s` : ccr.t('expired');
      card.classList.toggle('urgent', left <= 5);
    }
  }
  setInterval(tickCountdowns, 250);

  // ---- log in and out -------------------------------------------------------
  function showWorkspace() {
    el('login-form').hidden = true;
    el('workspace').hidden = false;
    el('logout').hidden = false;
  }
  function showLogin(message) {
    clearTimeout(reconnectTimer);
    el('login-message').textContent = message;
    el('login-form').hidden = false;
    el('workspace').hidden = true;
    el('logout').hidden = true;
    setConnection(ccr.t('conn.closed'));
    sessionStorage.removeItem(SESSION_KEY);
    session = null;
  }

  el('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const agentId = el('agent-id').value.trim();
    if (!agentId) {
      el('login-message').textContent = ccr.t('need_agent');
      return;
    }
    const capacity = (id) => Math.max(0, Number(el(id).value) || 0);
    session = {
      agentId,
      token: el('agent-token').value.trim(),
      displayName: el('display-name').value.trim(),
      skills: el('skills').value,
      languages: el('languages').value,
      capacities: {
        CHANNEL_VOICE: capacity('cap-voice'), CHANNEL_CHAT: capacity('cap-chat'),
        CHANNEL_EMAIL: capacity('cap-email'), CHANNEL_MESSAGING: capacity('cap-messaging'),
      },
      startAvailable: el('start-available').checked,
    };
    el('agent-token').value = '';
    el('login-message').textContent = '';
    leaving = false;
    connect();
  });

  // Closing with a close frame is the clean goodbye that logs the agent out
  // (a dropped connection would keep the session for the grace period).
  el('logout').addEventListener('click', () => {
    leaving = true;
    if (socket) socket.close(1000, 'logout');
    else showLogin('');
  });

  ccr.languageSwitch(el('language'), relabel);
  if (session) {
    leaving = false;
    connect();
  }
})();
