// The pages in Debian's chromium (playwright-core, headless, background
// networking off), against the ccrouterd browser_test.py started:
//   1. /wallboard asks for the supervisor token, then shows every queue;
//   2. two agents log in on /desk with minted tokens in the URL fragment and
//      each handles offers: accept, complete with an outcome, wrap-up done;
//      one desk's socket drops mid-contact and the resync gives it back;
//      the other transfers a contact with a note;
//   3. an agent's state change reaches the wallboard within a refresh;
//   4. under that traffic, the wallboard shows what GET /v1/queues answers
//      within a refresh;
//   5. the Chinese labels; no console error or CSP violation on any page;
//   and an agent token does not log in another agent.
// Every wait is on a condition with a generous bound; screenshots of each
// page go to CCR_ARTIFACTS.
'use strict';

const path = require('path');
const {chromium} = require('playwright-core');

const BASE = process.env.CCR_BASE_URL;
const SUPERVISOR_TOKEN = process.env.CCR_SUPERVISOR_TOKEN;
const AGENT_TOKENS = JSON.parse(process.env.CCR_AGENT_TOKENS);
const ARTIFACTS = process.env.CCR_ARTIFACTS;
const CONTACTS_PER_AGENT = 2;
const STEP_MS = 20000;  // the bound on any one condition (a loaded 2-core machine)
// One refresh of the wallboard: the 1 s poll, plus a read's time on a loaded machine.
const REFRESH_MS = 1500;

function log(...args) {
  console.log(`[pages_test ${new Date().toISOString().slice(11, 23)}]`, ...args);
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

async function until(what, fn, timeoutMs = STEP_MS, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function apiQueues() {
  const response = await fetch(`${BASE}/v1/queues`,
                               {headers: {Authorization: `Bearer ${SUPERVISOR_TOKEN}`}});
  check(response.ok, `GET /v1/queues: ${response.status}`);
  return response.json();
}

// What the wallboard must show for one queue of a ListQueuesReply (the
// cells' data-value), derived as the page documents: the window's service
// level, else the one since start once something was answered.
function expectedCells(q) {
  const n = (v) => Number(v ?? 0);
  let sl = '';
  if (q.serviceLevelWindow !== undefined) sl = n(q.serviceLevelWindow);
  else if (n(q.answered) > 0) sl = n(q.serviceLevel);
  return {
    serviceLevel: String(sl), target: String(n(q.targetRatio)), queued: String(n(q.queued)),
    estimatedWaitSeconds: String(n(q.estimatedWaitSeconds)),
    averageSpeedOfAnswerSeconds: String(n(q.averageSpeedOfAnswerSeconds)),
    abandonRatio: String(n(q.abandonRatio)), agentsAvailable: String(n(q.agentsAvailable)),
    agentsBusy: String(n(q.agentsBusy)), agentsWrapUp: String(n(q.agentsWrapUp)),
    agentsNotReady: String(n(q.agentsNotReady)), agentsEligible: String(n(q.agentsEligible)),
  };
}

// The wallboard's table: {queue: {field: data-value}}.
function wallboardCells(page) {
  return page.evaluate(() => {
    const out = {};
    for (const tr of document.querySelectorAll('#queues tbody tr')) {
      const cells = {};
      for (const td of tr.querySelectorAll('td[data-field]')) cells[td.dataset.field] = td.dataset.value;
      out[tr.dataset.queue] = cells;
    }
    return out;
  });
}

// Differences between the page and a ListQueuesReply; oldest wait (it grows
// with time alone) within 2 s.
function differences(cells, reply) {
  const out = [];
  const queues = reply.queues || [];
  if (Object.keys(cells).length !== queues.length) {
    out.push(`${Object.keys(cells).length} rows for ${queues.length} queues`);
  }
  for (const q of queues) {
    const row = cells[q.name];
    if (!row) {
      out.push(`${q.name}: no row`);
      continue;
    }
    for (const [field, want] of Object.entries(expectedCells(q))) {
      if (row[field] !== want) out.push(`${q.name}.${field}: page ${row[field]}, api ${want}`);
    }
    const wait = Number(q.oldestWaitSeconds ?? 0);
    if (Math.abs(Number(row.oldestWaitSeconds) - wait) > 2) {
      out.push(`${q.name}.oldestWaitSeconds: page ${row.oldestWaitSeconds}, api ${wait}`);
    }
  }
  return out;
}

// Console errors and page errors (a CSP violation is a console error).
function watchErrors(page, name, errors) {
  page.on('console', (m) => {
    // The wallboard's first read is refused (401) until it has a token:
    // chromium logs that refusal, which is the expected answer here.
    if (m.type() !== 'error' || /status of 401/.test(m.text())) return;
    errors.push(`${name}: console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
}

// The desk's WebSockets pass through playwright's route, so a test can drop
// the page's side of one as a network would (no close frame reaches the
// engine, which keeps the session): page.deskSockets, newest last.
async function openDesk(browser, agent, errors, pages) {
  const context = await browser.newContext({viewport: {width: 1100, height: 900}});
  const page = await context.newPage();
  watchErrors(page, agent, errors);
  pages.push([agent, page]);
  page.deskSockets = [];
  await page.routeWebSocket(/\/v1\/agent-desk/, (ws) => {
    const server = ws.connectToServer();
    // Closes are forwarded both ways (a logout's close frame must reach the
    // engine), except the page side's close that drop() makes.
    let dropped = false;
    ws.onClose((code, reason) => {
      if (!dropped) server.close({code, reason});
    });
    server.onClose((code, reason) => ws.close({code, reason}));
    page.deskSockets.push({
      drop: () => {
        dropped = true;
        return ws.close({code: 4000, reason: 'test: connection dropped'});
      },
    });
  });
  // As a CRM hands it over: the minted token in the fragment.
  await page.goto(`${BASE}/desk#token=${encodeURIComponent(AGENT_TOKENS[agent])}` +
                  `&agent=${encodeURIComponent(agent)}&skills=general:5`);
  check(!page.url().includes('token='), 'the token is taken out of the address bar');
  check(await page.inputValue('#agent-id') === agent, 'the fragment fills the agent id');
  await page.click('#login-form button[type=submit]');
  // Logged in (loginOk, resync): available, or busy already when a contact
  // was waiting for an agent.
  await page.waitForSelector('#workspace:not([hidden])', {timeout: STEP_MS});
  await page.waitForSelector('#agent-state[data-state="AGENT_STATE_AVAILABLE"], ' +
                             '#agent-state[data-state="AGENT_STATE_BUSY"]', {timeout: STEP_MS});
  log(`${agent}: logged in, ${await page.getAttribute('#agent-state', 'data-state')}`);
  return page;
}

// Handles `count` offers on one desk: accept, complete (resolved, with a
// disposition), wrap-up done, or the last one transferred with a note; each
// step waits for the engine's answer.
async function handleOffers(page, agent, count, dropSocket, transferLast) {
  for (let i = 0; i < count; ++i) {
    const offer = await page.waitForSelector('#offers .offer', {timeout: STEP_MS * 2});
    const contactId = await offer.getAttribute('data-contact-id');
    const countdown = await offer.$eval('.countdown', (e) => e.textContent);
    check(/^\d+ s$/.test(countdown), `${agent}: offer countdown "${countdown}"`);
    if (i === 0) {
      const file = path.join(ARTIFACTS, `desk-${agent}-offer.png`);
      await page.screenshot({path: file, fullPage: true});
      log(`screenshot: ${file}`);
    }
    await offer.$eval('.accept', (b) => b.click());
    const card = `#contacts .contact[data-contact-id="${contactId}"]`;
    await page.waitForSelector(`${card}[data-state="CONTACT_STATE_CONNECTED"]`, {timeout: STEP_MS});
    if (i === 0 && dropSocket) {
      // The socket drops mid-contact: the page reconnects, logs in again,
      // and the resync gives the connected contact back.
      const sockets = page.deskSockets.length;
      const resyncs = Number(await page.getAttribute('#workspace', 'data-resyncs'));
      await page.deskSockets[sockets - 1].drop();
      await until(`${agent}: reconnected`, () => page.deskSockets.length > sockets);
      await page.waitForSelector(`#workspace[data-resyncs="${resyncs + 1}"]`, {timeout: STEP_MS});
      await page.waitForSelector(`${card}[data-state="CONTACT_STATE_CONNECTED"]`,
                                 {timeout: STEP_MS});
      log(`${agent}: socket dropped and reconnected; the resync kept ${contactId}`);
    }
    if (i === 0) {
      const file = path.join(ARTIFACTS, `desk-${agent}-connected.png`);
      await page.screenshot({path: file, fullPage: true});
      log(`screenshot: ${file}`);
    }
    if (transferLast && i === count - 1) {
      // Transfer with a note instead: the contact leaves this desk and
      // waits in the queue named.
      await page.fill(`${card} .to-queue`, 'voice_billing');
      await page.fill(`${card} .transfer-note`, 'asked about an invoice');
      await page.click(`${card} .transfer`);
      await page.waitForSelector(card, {state: 'detached', timeout: STEP_MS});
      const status = await (await fetch(`${BASE}/v1/contacts/${contactId}`, {
        headers: {Authorization: `Bearer ${process.env.CCR_GATEWAY_TOKEN}`},
      })).json();
      check(status.queue === 'voice_billing', `${contactId} transferred: ${JSON.stringify(status)}`);
      log(`${agent}: transferred ${contactId} to voice_billing (${i + 1}/${count})`);
      continue;
    }
    await page.fill(`${card} .disposition`, 'answered_in_browser_test');
    await page.click(`${card} .complete`);
    await page.waitForSelector(`${card}[data-state="CONTACT_STATE_WRAP_UP"]`, {timeout: STEP_MS});
    await page.click(`${card} .wrap-up-done`);
    await page.waitForSelector(card, {state: 'detached', timeout: STEP_MS});
    log(`${agent}: handled ${contactId} (${i + 1}/${count})`);
  }
}

async function main() {
  const args = ['--disable-background-networking'];
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  const browser = await chromium.launch({executablePath: process.env.CCR_CHROMIUM,
                                         headless: true, args});
  const errors = [];
  const pages = [];  // [name, page], for the failure report
  try {
    // 1. The wallboard asks for the token, keeps it in the tab, shows the queues.
    const boardContext = await browser.newContext({viewport: {width: 1600, height: 900},
                                                   locale: 'en-US'});
    const board = await boardContext.newPage();
    watchErrors(board, 'wallboard', errors);
    pages.push(['wallboard', board]);
    const refused = [];
    board.on('response', (r) => {
      if (r.url().endsWith('/v1/queues') && r.status() === 401) refused.push(r.status());
    });
    await board.goto(`${BASE}/wallboard`);
    await board.waitForSelector('#token-form:not([hidden])', {timeout: STEP_MS});
    check(refused.length > 0, 'without a token /v1/queues is refused (auth is on)');
    await board.fill('#token', SUPERVISOR_TOKEN);
    await board.press('#token', 'Enter');
    await board.waitForSelector('#queues tbody tr', {timeout: STEP_MS});
    const firstReply = await apiQueues();
    const rows = await board.$$eval('#queues tbody tr', (trs) => trs.length);
    check(rows === firstReply.queues.length, `one row per queue (${rows})`);
    log(`wallboard: ${rows} queues shown`);

    // A token minted for one agent does not log in another: the engine
    // refuses (close 1008) and the desk says why on its login form.
    {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${BASE}/desk#token=${encodeURIComponent(AGENT_TOKENS['web-1'])}` +
                      '&agent=web-2');
      await page.click('#login-form button[type=submit]');
      await page.waitForFunction(
          () => document.getElementById('login-message').textContent.includes('PERMISSION_DENIED'),
          null, {timeout: STEP_MS});
      check(await page.isHidden('#workspace'), 'no workspace for a refused login');
      log(`desk: web-1's token refused for web-2: ${await page.textContent('#login-message')}`);
      await context.close();
    }

    // 2. Two agents on /desk handle offers under ccload's traffic.
    const desks = {};
    for (const agent of Object.keys(AGENT_TOKENS)) desks[agent] = await openDesk(browser, agent, errors, pages);
    await until('the wallboard counts both agents staffed on voice_general', async () => {
      const cells = await wallboardCells(board);
      return cells.voice_general && Number(cells.voice_general.agentsEligible) === 2;
    });
    // web-1's socket drops once, mid-contact; web-2 transfers its last one.
    await Promise.all(Object.entries(desks).map(
        ([a, p]) => handleOffers(p, a, CONTACTS_PER_AGENT, a === 'web-1', a === 'web-2')));

    // 3. A change reaches the screen within a refresh: both agents go not
    // ready (no more offers), and the wallboard shows it.
    const changedAt = Date.now();
    for (const page of Object.values(desks)) {
      await page.selectOption('#not-ready-reason', 'training');
      await page.click('#go-not-ready');
    }
    for (const page of Object.values(desks)) {
      await page.waitForSelector('#agent-state[data-state="AGENT_STATE_NOT_READY"]',
                                 {timeout: STEP_MS});
    }
    await until('the wallboard shows both agents not ready', async () => {
      const cells = await wallboardCells(board);
      return Number(cells.voice_general.agentsNotReady) === 2;
    }, STEP_MS, 50);
    const latencyMs = Date.now() - changedAt;
    log(`wallboard: agents' state change on screen ${latencyMs} ms after the clicks`);
    // The page asks for a snapshot on every event: well within a second on
    // an idle machine; the bound allows for a loaded one.
    check(latencyMs < 5000, `state change on the wallboard after ${latencyMs} ms`);

    // 4. The figures equal Admin.ListQueues within a refresh, while ccload
    // still submits: read the API, then the page must show that very answer
    // within REFRESH_MS; traffic may move the figures meanwhile, so a miss
    // is retried with a new read, a bounded number of times.
    let diff = [];
    let tries = 0;
    await until('the wallboard shows what GET /v1/queues answered within a refresh', async () => {
      ++tries;
      const reply = await apiQueues();
      const deadline = Date.now() + REFRESH_MS;
      do {
        diff = differences(await wallboardCells(board), reply);
        if (diff.length === 0) return true;
        await new Promise((r) => setTimeout(r, 50));
      } while (Date.now() < deadline);
      return false;
    }, STEP_MS, 0).catch((e) => {
      throw new Error(`${e.message} (${tries} tries; last: ${diff.join('; ')})`);
    });
    log(`wallboard equals /v1/queues within ${REFRESH_MS} ms (try ${tries})`);
    const finalReply = await apiQueues();
    const voice = finalReply.queues.find((q) => q.name === 'voice_general');
    check(Number(voice.answered ?? 0) >= 2 * CONTACTS_PER_AGENT,
          `voice_general answered ${voice.answered} (the desks accepted ${2 * CONTACTS_PER_AGENT})`);
    log(`wallboard equals /v1/queues: ${finalReply.queues.length} queues, voice_general answered ` +
        `${voice.answered}, queued ${voice.queued ?? 0}`);

    // Screenshots, English.
    const shots = [];
    const shoot = async (page, name) => {
      const file = path.join(ARTIFACTS, name);
      await page.screenshot({path: file, fullPage: true});
      shots.push(file);
    };
    await shoot(board, 'wallboard.png');
    for (const [agent, page] of Object.entries(desks)) await shoot(page, `desk-${agent}.png`);

    // 5. Chinese labels on both pages.
    await board.selectOption('#language', 'zh');
    await until('the wallboard in Chinese', async () =>
      (await board.textContent('#queues caption')).includes('队列'));
    check(await board.getAttribute('html', 'lang') === 'zh-CN', 'lang="zh-CN"');
    await shoot(board, 'wallboard-zh.png');
    const desk = Object.values(desks)[0];
    await desk.selectOption('#language', 'zh');
    await until('the desk in Chinese', async () =>
      (await desk.textContent('#agent-state')) === '未就绪');
    await shoot(desk, 'desk-zh.png');

    // Logging out closes the socket cleanly (the agent is logged out).
    for (const page of Object.values(desks)) {
      await page.click('#logout');
      await page.waitForSelector('#login-form:not([hidden])', {timeout: STEP_MS});
    }
    await until('the wallboard shows no agent staffed after the logouts', async () => {
      const cells = await wallboardCells(board);
      return Number(cells.voice_general.agentsEligible) === 0;
    });

    check(errors.length === 0, `no console errors:\n${errors.join('\n')}`);
    for (const file of shots) log(`screenshot: ${file}`);
  } catch (e) {
    // What each page showed when it failed: its text and a screenshot.
    for (const [name, page] of pages) {
      const file = path.join(ARTIFACTS, `failed-${name}.png`);
      await page.screenshot({path: file, fullPage: true}).catch(() => {});
      const text = await page.evaluate(() => document.body.innerText).catch((x) => String(x));
      console.error(`---- ${name} (${file}) ----\n${text}`);
    }
    if (errors.length) console.error(`---- console errors ----\n${errors.join('\n')}`);
    throw e;
  } finally {
    await browser.close();
  }
}

main().then(() => log('PASS'), (e) => {
  console.error(`[pages_test] FAIL: ${e.stack || e}`);
  process.exit(1);
});
