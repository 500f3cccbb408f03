// The supervisor wallboard: GET /v1/queues (Admin.ListQueues) drawn as a
// table, redrawn within a second of any change. Two sources:
//   - the event feed, GET /v1/events (Server-Sent Events): every lifecycle
//     event asks for a fresh snapshot (at once, at most 4 a second), and some
//     raise alerts;
//   - a poll of /v1/queues every second, for the figures that move with time
//     alone (waits, the service-level window).
// With auth on, both need a supervisor (or admin) token, sent as
// `Authorization: Bearer ...`. EventSource cannot send headers, so the feed
// is read with fetch() and a ReadableStream, and resumed after a drop with
// Last-Event-ID, as EventSource would.
'use strict';

(() => {
  const TOKEN_KEY = 'ccr.supervisorToken';
  const POLL_MS = 1000;
  // Events ask for a snapshot at most this often: a busy engine's hundreds
  // of events a second cost it four reads a second per wallboard, not one
  // read per event.
  const MIN_GAP_MS = 250;
  const MAX_ALERTS = 30;
  // Amber ("at risk") when the service level is within this of its target.
  const RISK_MARGIN = 0.05;
  // ... or a contact has waited this share of the answer target already.
  const RISK_WAIT_SHARE = 0.8;

  ccr.define({
    en: {
      'title': 'Contact centre wallboard',
      'queues': 'Queues',
      'caption': 'Queues now: service level against target, waiting contacts and agents by state',
      'col.queue': 'Queue', 'col.sl': 'Service level', 'col.target': 'Target',
      'col.waiting': 'Waiting', 'col.longest': 'Longest wait', 'col.estimated': 'Est. wait',
      'col.asa': 'ASA', 'col.abandoned': 'Abandoned', 'col.available': 'Available',
      'col.busy': 'Busy', 'col.wrap_up': 'Wrap-up', 'col.not_ready': 'Not ready',
      'col.staffed': 'Staffed',
      'state.below': 'Below target', 'state.risk': 'At risk', 'state.ok': 'On target',
      'state.none': 'No answers yet',
      'target': '{0} in {1}',
      'resting': '(+{0} resting)',
      'alerts': 'Alerts', 'no_alerts': 'No alerts.', 'conditions': 'Queues at risk now',
      'alert.below': '{0}: service level {1} is below its target {2}',
      'alert.risk': '{0}: at risk — longest wait {1} of a {2} target, service level {3}',
      'alert.breach': '{0}: contact {1} waited past its target ({2})',
      'alert.emotion': '{0}: contact {1} — strongly negative emotion',
      'alert.escalated': '{0}: contact {1} needs a senior agent',
      'alert.emergency': '{0}: emergency contact {1} arrived',
      'updated': 'Updated {0}', 'live': 'live', 'reconnecting': 'event feed reconnecting…',
      'stale': 'Figures are {0} s old: the engine is not answering',
      'token_heading': 'Supervisor token', 'token_label': 'Token (kept in this tab only)',
      'token_use': 'Show the wallboard', 'forget_token': 'Forget token',
      'token_needed': 'This engine needs a supervisor token.',
      'token_refused': 'The engine refused the token: {0}',
    },
    zh: {
      'title': '联络中心实时看板',
      'queues': '队列',
      'caption': '当前各队列：服务水平与目标、排队数及坐席状态',
      'col.queue': '队列', 'col.sl': '服务水平', 'col.target': '目标',
      'col.waiting': '排队', 'col.longest': '最长等待', 'col.estimated': '预计等待',
      'col.asa': '平均应答', 'col.abandoned': '放弃率', 'col.available': '空闲',
      'col.busy': '忙碌', 'col.wrap_up': '话后处理', 'col.not_ready': '未就绪',
      'col.staffed': '在线坐席',
      'state.below': '低于目标', 'state.risk': '有风险', 'state.ok': '达标',
      'state.none': '尚无应答',
      'target': '{1}内{0}',
      'resting': '（另{0}人强制休息）',
      'alerts': '告警', 'no_alerts': '暂无告警。', 'conditions': '当前有风险的队列',
      'alert.below': '{0}：服务水平 {1} 低于目标 {2}',
      'alert.risk': '{0}：有风险——最长等待 {1}，目标 {2}，服务水平 {3}',
      'alert.breach': '{0}：联络 {1} 等待已超目标（{2}）',
      'alert.emotion': '{0}：联络 {1} 客户情绪强烈负面',
      'alert.escalated': '{0}：联络 {1} 需要资深坐席',
      'alert.emergency': '{0}：紧急联络 {1} 已进入队列',
      'updated': '更新于 {0}', 'live': '实时', 'reconnecting': '事件流重连中…',
      'stale': '数据已 {0} 秒未更新：引擎未响应',
      'token_heading': '主管令牌', 'token_label': '令牌（仅保存在此标签页）',
      'token_use': '打开看板', 'forget_token': '清除令牌',
      'token_needed': '此引擎需要主管令牌。',
      'token_refused': '引擎拒绝了该令牌：{0}',
    },
  });

  const el = (id) => document.getElementById(id);
  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let snapshot = null;        // the last ListQueuesReply
  let snapshotAt = 0;         // Date.now() when it came
  let feedLive = false;
  let lastEventId = '';
  let needToken = false;
  const alerts = [];          // newest first: {key, args, time}

  function authHeaders() {
    return token ? {Authorization: `Bearer ${token}`} : {};
  }

  // ---- the token form --------------------------------------------------
  function askForToken(message) {
    needToken = true;
    el('token-message').textContent = message;
    el('token-form').hidden = false;
    el('token').focus();
  }
  el('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    token = el('token').value.trim();
    el('token').value = '';
    sessionStorage.setItem(TOKEN_KEY, token);
    needToken = false;
    el('token-form').hidden = true;
    el('forget-token').hidden = !token;
    refreshNow();
    startFeed();
  });
  el('forget-token').addEventListener('click', () => {
    token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    el('forget-token').hidden = true;
    askForToken(ccr.t('token_needed'));
  });
  el('forget-token').hidden = !token;

  // An API refusal: 401/403 ask for a (new) token; true when it was one.
  async function refusedForToken(response) {
    if (response.status !== 401 && response.status !== 403) return false;
    let message = '';
    try {
      message = (await response.json()).error.message;
    } catch (_) { /* not JSON: keep the generic text */ }
    askForToken(token ? ccr.t('token_refused', message) : ccr.t('token_needed'));
    return true;
  }

  // ---- the queue snapshot: on events at once, else every second ---------
  let inFlight = false;
  let again = false;
  let lastStart = 0;       // Date.now() when the last read began
  let scheduled = null;    // the timer of a read an event asked for
  async function refreshNow() {
    if (needToken) return;
    if (inFlight) {  // one request at a time; one more after it if asked meanwhile
      again = true;
      return;
    }
    inFlight = true;
    lastStart = Date.now();
    try {
      const response = await fetch('/v1/queues', {headers: authHeaders(), cache: 'no-store'});
      if (await refusedForToken(response)) return;
      if (response.ok) {
        snapshot = await response.json();
        snapshotAt = Date.now();
        render();
      }
    } catch (_) {
      // The engine is unreachable: the freshness line says how old the figures are.
    } finally {
      inFlight = false;
      renderFreshness();
      if (again) {
        again = false;
        refreshNow();
      }
    }
  }
  // On an event: a snapshot now, or MIN_GAP_MS after the last one began.
  function refreshSoon() {
    if (scheduled !== null) return;
    const waitMs = Math.max(0, lastStart + MIN_GAP_MS - Date.now());
    scheduled = setTimeout(() => {
      scheduled = null;
      refreshNow();
    }, waitMs);
  }
  function poll() {
    refreshNow();
    setTimeout(poll, POLL_MS);
  }

  // ---- the event feed --------------------------------------------------
  let feedRunning = false;
  async function startFeed() {
    if (feedRunning || needToken) return;
    feedRunning = true;
    let backoffMs = 500;
    while (!needToken) {
      try {
        const headers = authHeaders();
        if (lastEventId) headers['Last-Event-ID'] = lastEventId;
        const response = await fetch('/v1/events', {headers, cache: 'no-store'});
        if (await refusedForToken(response)) break;
        if (response.status === 410) {
          lastEventId = '';  // our place left the engine's window: resume from now
        } else if (response.ok && response.body) {
          feedLive = true;
          backoffMs = 500;
          renderFreshness();
          refreshNow();  // what changed while the feed was down
          await readEvents(response.body);
        }
      } catch (_) { /* dropped: reconnect below */ }
      feedLive = false;
      renderFreshness();
      await new Promise((r) => setTimeout(r, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 10000);
    }
    feedRunning = false;
  }

  // Server-Sent Events: blocks of "field: value" lines ending at a blank
  // line; ":" lines are comments (keepalives).
  async function readEvents(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let event = {id: '', name: '', data: []};
    for (;;) {
      const {value, done} = await reader.read();
      if (done) return;
      buffer += value;
      let newline;
      while ((newline = buffer.search(/\r\n|\n|\r/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (event.data.length > 0) dispatch(event);
          event = {id: '', name: '', data: []};
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'id') event.id = value;
        else if (field === 'event') event.name = value;
        else if (field === 'data') event.data.push(value);
      }
    }
  }

  function dispatch(event) {
    if (event.id) lastEventId = event.id;
    if (event.name && event.name !== 'message') return;  // e.g. stream-error: reconnect follows
    let e;
    try {
      e = JSON.parse(event.data.join('\n'));
    } catch (_) {
      return;
    }
    refreshSoon();
    const queue = e.queue || '';
    const contact = e.contactId || '';
    switch (e.kind) {
      case 'EVENT_KIND_QUEUED':
        if (e.emergency) addAlert('emergency', [queue, contact]);
        break;
      case 'EVENT_KIND_SLA_BREACHED':
        addAlert('breach', [queue, contact, ccr.duration(e.waitSeconds || 0)]);
        break;
      case 'EVENT_KIND_SUPERVISOR_ALERT':
        addAlert('emotion', [queue, contact]);
        break;
      case 'EVENT_KIND_ESCALATED':
        addAlert('escalated', [queue, contact]);
        break;
      default:
        break;
    }
  }

  function addAlert(kind, args) {
    alerts.unshift({kind, args, time: new Date()});
    if (alerts.length > MAX_ALERTS) alerts.length = MAX_ALERTS;
    renderAlerts();
  }

  // ---- drawing -----------------------------------------------------------
  // The figures of one queue; the service level is the window's (what
  // ccr_queue_service_level_ratio exports), else since start, else none.
  function figures(q) {
    const n = (v) => Number(v ?? 0);  // zero values are omitted in protobuf JSON
    const answered = n(q.answered);
    let sl = null;
    if (q.serviceLevelWindow !== undefined) sl = n(q.serviceLevelWindow);
    else if (answered > 0) sl = n(q.serviceLevel);
    const f = {
      name: q.name, channel: q.channel, sl, targetRatio: n(q.targetRatio),
      targetSeconds: n(q.targetSeconds), queued: n(q.queued), oldestWait: n(q.oldestWaitSeconds),
      estimatedWait: n(q.estimatedWaitSeconds), asa: n(q.averageSpeedOfAnswerSeconds),
      abandonRatio: n(q.abandonRatio), abandoned: n(q.abandoned), answered,
      available: n(q.agentsAvailable), busy: n(q.agentsBusy), wrapUp: n(q.agentsWrapUp),
      notReady: n(q.agentsNotReady), resting: n(q.agentsResting), staffed: n(q.agentsEligible),
    };
    // Red: below target. Amber: within RISK_MARGIN of it, or a waiting
    // contact is near (or past) the answer target, or one arriving now is
    // expected to wait past it: each soon pulls the level down.
    const waitRisk = f.queued > 0 && f.targetSeconds > 0 &&
        (f.oldestWait >= RISK_WAIT_SHARE * f.targetSeconds || f.estimatedWait >= f.targetSeconds);
    if (sl !== null && sl < f.targetRatio) f.state = 'below';
    else if ((sl !== null && sl < f.targetRatio + RISK_MARGIN) || waitRisk) f.state = 'risk';
    else f.state = sl === null ? 'none' : 'ok';
    return f;
  }

  // A cell whose raw figure is in data-value (tests compare it with the API).
  function cell(field, value, text, extraClass) {
    const td = document.createElement('td');
    td.dataset.field = field;
    td.dataset.value = String(value ?? '');
    td.textContent = text;
    if (extraClass) td.className = extraClass;
    return td;
  }

  function render() {
    if (!snapshot) return;
    const body = el('queues').tBodies[0];
    const rows = [];
    const conditions = [];
    for (const q of snapshot.queues || []) {
      const f = figures(q);
      const tr = document.createElement('tr');
      tr.dataset.queue = f.name;
      tr.className = `state-${f.state}`;
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = f.name;
      const channel = document.createElement('span');
      channel.className = 'channel';
      channel.textContent = ccr.channelName(f.channel);
      th.append(' ', channel);
      tr.append(th);
      const sl = cell('serviceLevel', f.sl ?? '', ccr.percent(f.sl), 'sl');
      const badge = document.createElement('span');
      badge.className = `badge ${f.state}`;
      badge.textContent = ccr.t(`state.${f.state}`);
      sl.append(' ', badge);
      tr.append(sl);
      const targetPercent = `${Math.round(f.targetRatio * 100)} %`;
      tr.append(cell('target', f.targetRatio,
                     ccr.t('target', targetPercent, ccr.duration(f.targetSeconds)), 'target'));
      tr.append(cell('queued', f.queued, String(f.queued), 'num'));
      tr.append(cell('oldestWaitSeconds', f.oldestWait,
                     f.queued > 0 ? ccr.duration(f.oldestWait) : '—', 'num'));
      tr.append(cell('estimatedWaitSeconds', f.estimatedWait, ccr.duration(f.estimatedWait), 'num'));
      tr.append(cell('averageSpeedOfAnswerSeconds', f.asa,
                     f.answered > 0 ? ccr.duration(f.asa) : '—', 'num'));
      tr.append(cell('abandonRatio', f.abandonRatio,
                     `${ccr.percent(f.abandonRatio)} (${f.abandoned})`, 'num'));
      tr.append(cell('agentsAvailable', f.available, String(f.available), 'num'));
      tr.append(cell('agentsBusy', f.busy, String(f.busy), 'num'));
      tr.append(cell('agentsWrapUp', f.wrapUp, String(f.wrapUp), 'num'));
      const notReady = cell('agentsNotReady', f.notReady, String(f.notReady), 'num');
      if (f.resting > 0) notReady.append(' ', ccr.t('resting', f.resting));
      tr.append(notReady);
      tr.append(cell('agentsEligible', f.staffed, String(f.staffed), 'num'));
      rows.push(tr);
      if (f.state === 'below') {
        conditions.push(ccr.t('alert.below', f.name, ccr.percent(f.sl), ccr.percent(f.targetRatio)));
      } else if (f.state === 'risk') {
        conditions.push(ccr.t('alert.risk', f.name, ccr.duration(f.oldestWait),
                              ccr.duration(f.targetSeconds), ccr.percent(f.sl)));
      }
    }
    body.replaceChildren(...rows);
    el('queues').dataset.asOf = snapshot.asOf || '';
    el('conditions').replaceChildren(...conditions.map((text) => {
      const li = document.createElement('li');
      li.className = 'condition';
      li.textContent = text;
      return li;
    }));
    el('no-alerts').hidden = conditions.length > 0 || alerts.length > 0;
  }

  function renderAlerts() {
    el('alerts').replaceChildren(...alerts.map((a) => {
      const li = document.createElement('li');
      li.className = `alert ${a.kind}`;
      const time = document.createElement('time');
      time.dateTime = a.time.toISOString();
      time.textContent = a.time.toLocaleTimeString(ccr.language() === 'zh' ? 'zh-CN' : 'en');
      li.append(time, ' ', ccr.t(`alert.${a.kind}`, ...a.args));
      return li;
    }));
    el('no-alerts').hidden = alerts.length > 0 || el('conditions').children.length > 0;
  }

  function renderFreshness() {
    if (!snapshot) return;
    const age = Math.floor((Date.now() - snapshotAt) / 1000);
    const locale = ccr.language() === 'zh' ? 'zh-CN' : 'en';
    const parts = [ccr.t('updated', new Date(snapshotAt).toLocaleTimeString(locale))];
    parts.push(feedLive ? ccr.t('live') : ccr.t('reconnecting'));
    if (age >= 5) parts.push(ccr.t('stale', age));
    el('freshness').textContent = parts.join(' · ');
    el('freshness').classList.toggle('stale', age >= 5);
  }

  ccr.languageSwitch(el('language'), () => {
    render();
    renderAlerts();
    renderFreshness();
  });
  poll();
  startFeed();
})();
