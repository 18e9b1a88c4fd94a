// qunbus operations console: plain JS over the console API (/ops/api/*, bearer token). Text from the bus (room
// topics, errors) is only ever set as textContent.
"use strict";

const REFRESH_MS = 5000;
const state = { token: sessionStorage.getItem("qunbus-ops-token") || "", access: null, timer: null };
const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

async function api(method, path, body) {
  const options = { method, headers: { authorization: `Bearer ${state.token}` } };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 401) throw Object.assign(new Error("令牌无效 invalid token"), { signOut: true });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function table(node, columns, rows, empty = "—") {
  node.replaceChildren();
  const head = el("tr");
  for (const [label] of columns) head.append(el("th", null, label));
  node.append(head);
  if (!rows.length) {
    const row = el("tr");
    const cell = el("td", "muted", empty);
    cell.colSpan = columns.length;
    row.append(cell);
    node.append(row);
    return;
  }
  for (const item of rows) {
    const row = el("tr");
    for (const [, render] of columns) {
      const value = render(item);
      const cell = el("td");
      if (value instanceof Node) cell.append(value);
      else cell.textContent = value === undefined || value === null ? "" : String(value);
      row.append(cell);
    }
    node.append(row);
  }
}

function bar(used, limit) {
  const share = limit ? Math.min(1, used / limit) : 0;
  const wrap = el("span");
  const outer = el("span", `bar${share >= 1 ? " bad" : share >= 0.8 ? " warn" : ""}`);
  const inner = el("span");
  inner.style.width = `${Math.round(share * 100)}%`;
  outer.append(inner);
  wrap.append(outer, `${used}/${limit}`);
  return wrap;
}

function yesNo(value, good = "是 yes", bad = "否 no") {
  return el("span", value ? "ok" : "bad", value ? good : bad);
}

function time(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

// ---------------------------------------------------------------------------------------------------- sections

const qrUrls = new Map();

async function showQr(account) {
  const box = $("qr-codes");
  const id = `qr-${account.bot_id}`;
  if (document.getElementById(id)) return;
  const response = await fetch(`/ops/api/qr?bot=${encodeURIComponent(account.bot_id)}`, {
    headers: { authorization: `Bearer ${state.token}` },
  });
  if (!response.ok) return;
  const url = URL.createObjectURL(await response.blob());
  qrUrls.set(account.bot_id, url);
  const figure = el("div", "qr");
  figure.id = id;
  const image = el("img");
  image.src = url;
  image.alt = `QR ${account.bot_id}`;
  figure.append(image, el("div", null, `${account.bot_id}：请用机器人账号的手机扫码 scan with the bot's phone`));
  box.append(figure);
}

function renderAccounts(accounts) {
  table($("accounts"), [
    ["账号 Account", (a) => a.bot_id],
    ["名称 Name", (a) => a.name],
    ["登录 Logged in", (a) => yesNo(a.logged_in)],
    ["网关 Gateway", (a) => (a.logged_in_as ? `→ ${a.logged_in_as}` : yesNo(a.answering, "在线 answers", "无响应 silent"))],
    ["排队 Queued", (a) => (a.status ? Object.values(a.status.outbound_queue || {}).reduce((x, y) => x + y, 0) : "")],
    ["已发 Sent", (a) => (a.status ? a.status.sent : "")],
    ["今日额度 Daily budget", (a) => {
      const wrap = el("div");
      const limits = (a.status && a.status.daily_limits) || {};
      for (const kind of Object.keys(limits).sort()) {
        const line = el("div", null, `${kind} `);
        line.append(bar((a.status.daily_used || {})[kind] || 0, limits[kind]));
        wrap.append(line);
      }
      return wrap;
    }],
    ["暂停 Held", (a) => (a.status && a.status.held ? el("span", "bad", a.status.held) : "")],
  ], accounts);
  const waiting = new Set(accounts.filter((a) => a.qrcode).map((a) => a.bot_id));
  for (const [bot, url] of qrUrls) {
    if (!waiting.has(bot)) {
      URL.revokeObjectURL(url);
      qrUrls.delete(bot);
      document.getElementById(`qr-${bot}`)?.remove();
    }
  }
  for (const account of accounts) if (account.qrcode) showQr(account);
}

function renderServices(services) {
  table($("services"), [
    ["服务 Service", (s) => s.name],
    ["版本 Version", (s) => s.version],
    ["副本 Replicas", (s) => s.instances.length],
  ], services.live);
  const gone = $("services-gone");
  gone.replaceChildren();
  if (services.gone.length) {
    gone.append(el("h3", null, "没有副本 No live replica"));
    const list = el("ul", "list");
    for (const item of services.gone) list.append(el("li", "bad", `${item.name} (${time(item.last_seen)})`));
    gone.append(list);
  }
}

function renderQueues(queues) {
  table($("consumers"), [
    ["流 Stream", (c) => c.stream],
    ["消费者 Consumer", (c) => c.name],
    ["积压 Pending", (c) => c.pending],
    ["处理中 In flight", (c) => c.ack_pending],
  ], queues.consumers);
  table($("dead-letter-counts"), [
    ["主题 Subject", (row) => row[0]],
    ["条数 Count", (row) => row[1]],
  ], Object.entries(queues.dead_letters));
}

function renderAlerts(alerts) {
  const active = $("alerts-active");
  active.replaceChildren();
  for (const record of alerts.active) {
    const item = el("li", record.alert.severity === "critical" ? "bad" : "warn", `${record.alert.title_zh} · ${record.alert.title_en}`);
    active.append(item);
  }
  if (!alerts.active.length) active.append(el("li", "muted", "无 none"));
  const recent = $("alerts-recent");
  recent.replaceChildren();
  for (const note of alerts.recent) {
    const deliveries = Object.entries(note.deliveries || {}).map(([channel, result]) => `${channel}: ${result}`).join(", ");
    const item = el("li", null, `${time(note.at)} ${note.status === "resolved" ? "✔" : "⚠"} ${note.alert.title_en}`);
    if (deliveries) item.append(el("div", "muted", deliveries));
    recent.append(item);
  }
  if (!alerts.recent.length) recent.append(el("li", "muted", "无 none"));
}

function renderBroadcasts(broadcasts) {
  table($("broadcasts"), [
    ["编号 Id", (b) => b.id],
    ["时间 Created", (b) => time(b.created_at)],
    ["内容 Text", (b) => (b.image ? `🖼 ${b.text}` : b.text)],
    ["进度 Progress", (b) => bar(b.counts.done, b.recipients.length)],
    ["状态 State", (b) => (b.cancelled ? "已取消 cancelled" : b.finished ? "完成 finished" : "发送中 sending")],
    ["", (b) => {
      if (b.finished || b.cancelled || state.access !== "write") return "";
      const button = el("button", "ghost", "取消 Cancel");
      button.dataset.cancel = b.id;
      button.addEventListener("click", () => cancelBroadcast(b.id));
      return button;
    }],
  ], broadcasts);
}

function renderRooms(rooms) {
  table($("rooms"), [
    ["群 Room", (r) => r.topic || r.id],
    ["成员 Members", (r) => r.member_count ?? ""],
    ["账号 Account", (r) => r.bot_id],
    ["已关闭的服务 Services off", (r) => r.services_off.join(", ")],
    ["语言 Lang", (r) => r.lang],
    ["最近 Last seen", (r) => (r.gone ? el("span", "bad", "已退出 left") : time(r.last_seen))],
    ["Id", (r) => el("code", null, r.id)],
  ], rooms);
}

function renderDeadLetters(letters) {
  table($("dead-letters"), [
    ["#", (d) => d.seq],
    ["服务 Service", (d) => d.service],
    ["主题 Subject", (d) => d.subject],
    ["时间 Failed at", (d) => time(d.failed_at)],
    ["原因 Error", (d) => d.error],
    ["", (d) => {
      if (state.access !== "write") return "";
      const button = el("button", "ghost", "重放 Replay");
      button.dataset.replay = d.seq;
      button.addEventListener("click", () => replay(d.seq));
      return button;
    }],
  ], letters);
}

// ---------------------------------------------------------------------------------------------------- actions

async function replay(seq) {
  try {
    const [result] = await api("POST", "/ops/api/deadletters/replay", { seqs: [seq] });
    $("replay-result").textContent = `#${result.seq}: ${result.outcome} ${result.detail}`;
  } catch (error) {
    $("replay-result").textContent = error.message;
  }
}

async function cancelBroadcast(id) {
  await api("POST", "/ops/api/broadcast/cancel", { id });
  refresh();
}

function base64Of(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function broadcastRequest(dryRun) {
  const rooms = $("bc-rooms").value.split(",").map((part) => part.trim()).filter(Boolean);
  const request = { text: $("bc-text").value, match: $("bc-match").value, list: $("bc-list").value, rooms, dry_run: dryRun };
  const [image] = $("bc-image").files;
  if (image) Object.assign(request, { image_base64: await base64Of(image), image_name: image.name });
  return request;
}

async function sendBroadcast(dryRun) {
  const result = $("bc-result");
  const list = $("bc-recipients");
  list.replaceChildren();
  try {
    const answer = await api("POST", "/ops/api/broadcasts", await broadcastRequest(dryRun));
    for (const room of answer.recipients) list.append(el("li", null, `${room.topic} (${room.member_count ?? "?"}) ${room.room_id}`));
    result.textContent = dryRun
      ? `${answer.recipients.length} 个群（预览，未发送）· ${answer.recipients.length} rooms (dry run, nothing sent)`
      : `已开始 ${answer.id} · started ${answer.id}`;
    if (!dryRun) refresh();
  } catch (error) {
    result.textContent = error.message;
  }
}

// ---------------------------------------------------------------------------------------------------- loop

async function refresh() {
  try {
    const [overview, rooms, letters] = await Promise.all([
      api("GET", "/ops/api/overview"),
      api("GET", "/ops/api/rooms"),
      api("GET", "/ops/api/deadletters?limit=50"),
    ]);
    state.access = overview.access;
    document.body.classList.toggle("read-only", overview.access !== "write");
    $("access").hidden = false;
    $("access").textContent = overview.access === "write" ? "可写 read-write" : "只读 read-only";
    $("access").className = `badge ${overview.access}`;
    $("updated").textContent = `更新于 updated ${new Date().toLocaleTimeString()}`;
    renderAccounts(overview.accounts);
    renderServices(overview.services);
    renderQueues(overview.queues);
    renderAlerts(overview.alerts);
    renderBroadcasts(overview.broadcasts);
    renderRooms(rooms);
    renderDeadLetters(letters);
    $("sign-in").hidden = true;
    $("console").hidden = false;
    $("sign-out").hidden = false;
  } catch (error) {
    if (error.signOut) signOut(error.message);
    else $("updated").textContent = `⚠ ${error.message}`;
  }
}

function start() {
  clearInterval(state.timer);
  refresh();
  state.timer = setInterval(refresh, REFRESH_MS);
}

function signOut(message) {
  clearInterval(state.timer);
  state.token = "";
  sessionStorage.removeItem("qunbus-ops-token");
  $("console").hidden = true;
  $("sign-out").hidden = true;
  $("access").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").hidden = !message;
  $("sign-in-error").textContent = message || "";
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = $("token").value.trim();
  sessionStorage.setItem("qunbus-ops-token", state.token);
  start();
});
$("sign-out").addEventListener("click", () => signOut(""));
$("bc-dry-run").addEventListener("click", () => sendBroadcast(true));
$("broadcast-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sendBroadcast(false);
});

if (state.token) start();
