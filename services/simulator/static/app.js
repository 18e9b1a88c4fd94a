// qunbus simulator page: plain JS over the simulator's HTTP API (see services/simulator/README.md).
"use strict";

const AT = "\u2005";
const state = {
  bot: null,
  rooms: new Map(),       // id -> room
  contacts: new Map(),    // id -> person
  messages: [],           // every message, by seq
  seen: new Set(),        // message ids already shown
  lastSeq: 0,
  roomId: null,
  speakers: new Map(),    // room id -> contact id speaking there
  mentions: [],           // contact ids picked with @
  quote: null,            // message being quoted
  unread: new Map(),      // room id -> count
  adminTimer: null,
  atTyped: false,         // the @ menu was opened by typing "@"
};

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, 3500);
}

// ---------------------------------------------------------------------------------------------------------------
// Avatars: initials on a colour derived from the id, so each person keeps their colour everywhere.

const PALETTE = ["#e57373", "#f06292", "#ba68c8", "#7986cb", "#4fc3f7", "#4db6ac", "#81c784", "#ffb74d", "#a1887f", "#90a4ae"];

function initials(name) {
  const clean = (name || "?").split("@")[0].trim() || "?";  // "娜娜@前端" (a room alias) -> "娜娜"
  if (/^[\u3400-\u9fff]/.test(clean)) return clean.slice(-2);  // Chinese names: the given name, as WeChat groups do
  const words = clean.split(/\s+/).filter(Boolean);
  return (words.length > 1 ? words[0][0] + words[1][0] : clean.slice(0, 2)).toUpperCase();
}

function avatar(id, name, isBot) {
  const node = el("div", "avatar" + (isBot ? " bot" : ""), isBot ? "" : initials(name));
  if (!isBot) {
    let hash = 0;
    for (const ch of id) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
    node.style.background = PALETTE[hash % PALETTE.length];
  }
  node.title = name;
  return node;
}

// ---------------------------------------------------------------------------------------------------------------
// Rooms and speakers

function room() { return state.rooms.get(state.roomId); }

function speakerId() {
  const current = room();
  if (!current) return null;
  const chosen = state.speakers.get(current.id);
  const ids = current.members.map((m) => m.id);
  if (chosen && ids.includes(chosen)) return chosen;
  const fallback = current.members.find((m) => m.id !== state.bot.id);
  return fallback ? fallback.id : null;
}

function memberName(roomData, id) {
  const member = roomData && roomData.members.find((m) => m.id === id);
  if (member) return member.display_name;
  const contact = state.contacts.get(id);
  return contact ? contact.name : id;
}

function renderRoomList() {
  const list = $("room-list");
  list.replaceChildren();
  for (const r of state.rooms.values()) {
    const item = el("li", "room-item" + (r.id === state.roomId ? " active" : ""));
    item.dataset.roomId = r.id;
    const roomAvatar = el("div", "room-avatar");
    for (const m of r.members.slice(0, 4)) roomAvatar.append(avatar(m.id, m.display_name, m.id === state.bot.id));
    const text = el("div", "room-text");
    const top = el("div", "room-top");
    top.append(el("span", "room-topic", r.topic), el("span", "room-count", `(${r.member_count})`));
    const last = [...state.messages].reverse().find((m) => m.room_id === r.id);
    const preview = last ? (last.kind === "system" ? last.text : `${last.talker_name}: ${last.reply}`) : "";
    text.append(top, el("div", "room-preview", preview.replaceAll(AT, " ")));
    item.append(roomAvatar, text);
    const unread = state.unread.get(r.id) || 0;
    if (unread && r.id !== state.roomId) item.append(el("span", "badge", String(unread)));
    item.addEventListener("click", () => selectRoom(r.id));
    list.append(item);
  }
}

function selectRoom(id) {
  state.roomId = id;
  state.unread.set(id, 0);
  state.mentions = [];
  state.quote = null;
  renderAll();
  $("input").focus();
}

function renderSpeaker() {
  const select = $("speaker");
  const current = room();
  select.replaceChildren();
  if (!current) return;
  for (const m of current.members) {
    if (m.id === state.bot.id) continue;
    const role = m.id === current.owner_id ? " · 群主" : "";
    const option = el("option", "", m.display_name + role);
    option.value = m.id;
    select.append(option);
  }
  select.value = speakerId();
}

function renderHeader() {
  const current = room();
  $("room-title").textContent = current ? current.topic : "";
  const owner = current ? memberName(current, current.owner_id) : "";
  $("room-meta").textContent = current ? `${current.member_count} 人 members · 群主 owner: ${owner}` : "";
}

function renderMembers() {
  const current = room();
  const list = $("member-list");
  list.replaceChildren();
  if (!current) return;
  $("member-count").textContent = `(${current.member_count})`;
  for (const m of current.members) {
    const isBot = m.id === state.bot.id;
    const item = el("li", "member");
    item.dataset.memberId = m.id;
    const name = el("span", "member-name", m.display_name);
    if (m.alias) name.title = `${m.name}（群昵称 ${m.alias}）`;
    const tags = el("span", "member-tags");
    if (m.id === current.owner_id) tags.append(el("span", "tag owner", "群主"));
    if (current.admin_ids.includes(m.id)) tags.append(el("span", "tag admin-tag", "管理员"));
    if (isBot) tags.append(el("span", "tag bot", "BOT"));
    const actions = el("span", "member-actions");
    const at = el("button", "icon act-mention", "@");
    at.title = "@ 提及 mention";
    at.addEventListener("click", () => addMention(m.id));
    actions.append(at);
    if (!isBot && m.id !== current.owner_id) {
      const remove = el("button", "icon act-remove", "移出");
      remove.title = "群主移出 removed by the owner";
      remove.addEventListener("click", () => removeMember(m.id));
      actions.append(remove);
    }
    item.append(avatar(m.id, m.display_name, isBot), name, tags, actions);
    list.append(item);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Messages

function formatTime(seconds) {
  const d = new Date(seconds * 1000);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
}

function highlightMentions(text, message, roomData) {
  const fragment = document.createDocumentFragment();
  const names = message.mention_ids.map((id) => "@" + memberName(roomData, id)).filter(Boolean);
  if (!names.length) {
    fragment.append(text);
    return fragment;
  }
  const escaped = names.sort((a, b) => b.length - a.length).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(${escaped.join("|")})`, "g");
  for (const part of text.split(pattern)) {
    if (!part) continue;
    if (names.includes(part)) {
      const span = el("span", "mention", part);
      if (part === "@" + memberName(roomData, state.bot.id)) span.classList.add("mention-bot");
      fragment.append(span);
    } else {
      fragment.append(part.replaceAll(AT, " "));
    }
  }
  return fragment;
}

/** An image the bot sent shows as the picture; any other file as a download link with its size. */
function fileNode(file) {
  if (["image/png", "image/jpeg", "image/gif", "image/webp"].includes(file.mime_type)) {
    const image = el("img", "sent-image");
    image.src = file.url;
    image.alt = file.name;
    image.title = file.name;
    return image;
  }
  const link = el("a", "sent-file", `📎 ${file.name} (${Math.max(1, Math.round(file.size / 1024))} KB)`);
  link.href = file.url;
  link.download = file.name;
  return link;
}

function messageNode(message, roomData) {
  if (message.kind === "system") {
    const node = el("div", "system", message.text);
    node.dataset.id = message.id;
    return node;
  }
  const mine = message.talker_id === speakerId();
  const isBot = message.from_bot;
  const row = el("div", "msg" + (mine ? " mine" : "") + (isBot ? " bot" : ""));
  row.dataset.id = message.id;
  row.dataset.talker = message.talker_id;
  const body = el("div", "msg-body");
  const meta = el("div", "msg-meta");
  meta.append(el("span", "msg-name", message.talker_name));
  if (isBot) meta.append(el("span", "tag bot", "BOT"));
  meta.append(el("span", "msg-time", formatTime(message.timestamp)));
  const bubble = el("div", "bubble");
  if (message.file) bubble.append(fileNode(message.file));
  else bubble.append(highlightMentions(message.reply, message, roomData));
  body.append(meta, bubble);
  if (message.quote) {
    const quote = el("div", "quote");
    quote.textContent = `${message.quote.talker_name}：${message.quote.text.replaceAll(AT, " ")}`;
    body.append(quote);
  }
  const actions = el("div", "msg-actions");
  const quoteButton = el("button", "icon act-quote", "引用");
  quoteButton.title = "引用 quote";
  quoteButton.addEventListener("click", () => startQuote(message));
  const mentionButton = el("button", "icon act-mention", "@");
  mentionButton.title = "@ 提及 mention";
  mentionButton.addEventListener("click", () => addMention(message.talker_id));
  actions.append(quoteButton, mentionButton);
  body.append(actions);
  row.append(avatar(message.talker_id, message.talker_name, isBot), body);
  return row;
}

function renderMessages() {
  const box = $("messages");
  const current = room();
  box.replaceChildren();
  if (!current) return;
  let lastTime = 0;
  for (const message of state.messages) {
    if (message.room_id !== current.id) continue;
    if (message.timestamp - lastTime > 300) {
      box.append(el("div", "time-divider", formatTime(message.timestamp)));
    }
    lastTime = message.timestamp;
    box.append(messageNode(message, current));
  }
  box.scrollTop = box.scrollHeight;
}

function renderDirect() {
  const log = $("dm-log");
  log.replaceChildren();
  const who = speakerId();
  for (const m of state.messages) {
    if (m.room_id !== null || (m.talker_id !== who && m.to_id !== who)) continue;
    const line = el("div", "dm" + (m.from_bot ? " bot" : ""));
    line.append(el("b", "", m.from_bot ? state.bot.name : m.talker_name), document.createTextNode(" "));
    line.append(m.file ? fileNode(m.file) : document.createTextNode(m.text));
    log.append(line);
  }
  log.scrollTop = log.scrollHeight;
}

function renderComposer() {
  const chips = $("mention-chips");
  chips.replaceChildren();
  for (const id of state.mentions) {
    const chip = el("span", "chip", "@" + memberName(room(), id));
    const remove = el("button", "icon", "✕");
    remove.addEventListener("click", () => {
      state.mentions = state.mentions.filter((m) => m !== id);
      renderComposer();
    });
    chip.append(remove);
    chips.append(chip);
  }
  const preview = $("quote-preview");
  preview.hidden = !state.quote;
  if (state.quote) {
    $("quote-text").textContent = `引用 ${state.quote.talker_name}：${state.quote.reply.replaceAll(AT, " ")}`;
  }
}

function renderAll() {
  renderRoomList();
  renderHeader();
  renderSpeaker();
  renderMessages();
  renderMembers();
  renderComposer();
  renderDirect();
}

function addMessage(message) {
  if (state.seen.has(message.id)) return;
  state.seen.add(message.id);
  state.messages.push(message);
  state.lastSeq = Math.max(state.lastSeq, message.seq);
  if (message.room_id && message.room_id !== state.roomId) {
    state.unread.set(message.room_id, (state.unread.get(message.room_id) || 0) + 1);
  }
  if (message.room_id === state.roomId) {
    const box = $("messages");
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    box.append(messageNode(message, room()));
    if (nearBottom || message.talker_id === speakerId()) box.scrollTop = box.scrollHeight;
  }
  if (message.room_id === null) renderDirect();
  renderRoomList();
}

// ---------------------------------------------------------------------------------------------------------------
// Actions

function startQuote(message) {
  state.quote = message;
  renderComposer();
  $("input").focus();
}

function addMention(id) {
  if (!state.mentions.includes(id)) state.mentions.push(id);
  if (state.atTyped) {
    // The "@" that opened the menu becomes the mention chip, as in WeChat.
    const input = $("input");
    const at = input.value.lastIndexOf("@", input.selectionStart);
    if (at >= 0) input.value = input.value.slice(0, at) + input.value.slice(at + 1);
    state.atTyped = false;
  }
  renderComposer();
  $("mention-menu").hidden = true;
  $("input").focus();
}

async function send() {
  const input = $("input");
  const text = input.value.trim();
  if (!text || !room()) return;
  const body = { talker_id: speakerId(), text, mention_ids: state.mentions };
  if (state.quote) body.quote_id = state.quote.id;
  try {
    const message = await api("POST", `/api/rooms/${encodeURIComponent(room().id)}/messages`, body);
    addMessage(message);
    input.value = "";
    state.mentions = [];
    state.quote = null;
    renderComposer();
  } catch (error) {
    toast(error.message);
  }
}

async function removeMember(id) {
  const current = room();
  try {
    const updated = await api(
      "DELETE",
      `/api/rooms/${encodeURIComponent(current.id)}/members/${encodeURIComponent(id)}?remover_id=${encodeURIComponent(current.owner_id)}`,
    );
    updateRoom(updated);
  } catch (error) {
    toast(error.message);
  }
}

async function addMember(event) {
  event.preventDefault();
  const input = $("new-member");
  const name = input.value.trim();
  if (!name) return;
  try {
    await api("POST", `/api/rooms/${encodeURIComponent(room().id)}/members`, { name, inviter_id: speakerId() });
    input.value = "";
  } catch (error) {
    toast(error.message);
  }
}

async function directMessage(event) {
  event.preventDefault();
  const input = $("dm-input");
  const text = input.value.trim();
  if (!text) return;
  try {
    addMessage(await api("POST", `/api/contacts/${encodeURIComponent(speakerId())}/messages`, { text }));
    input.value = "";
  } catch (error) {
    toast(error.message);
  }
}

function openMentionMenu() {
  const menu = $("mention-menu");
  menu.replaceChildren();
  for (const m of room().members) {
    if (m.id === speakerId()) continue;
    const item = el("li");
    item.append(avatar(m.id, m.display_name, m.id === state.bot.id), el("span", "", m.display_name));
    item.dataset.memberId = m.id;
    item.addEventListener("click", () => addMention(m.id));
    menu.append(item);
  }
  menu.hidden = false;
}

function updateRoom(updated) {
  state.rooms.set(updated.id, updated);
  if (updated.id === state.roomId) {
    renderHeader();
    renderSpeaker();
    renderMembers();
  }
  renderRoomList();
}

// ---------------------------------------------------------------------------------------------------------------
// Admin panel

function fillList(id, items, format) {
  const list = $(id);
  list.replaceChildren();
  if (!items || !items.length) {
    list.append(el("li", "empty", "—"));
    return;
  }
  for (const item of items) list.append(el("li", "", format(item)));
}

function short(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

async function refreshAdmin() {
  let data;
  try {
    data = await api("GET", "/api/admin");
  } catch (error) {
    data = { connected: false, reason: error.message };
  }
  const status = $("admin-status");
  status.className = "admin-status " + (data.connected ? "ok" : "off");
  status.textContent = data.connected ? "已连接 connected" : `未连接 not connected — ${data.reason || ""}`;
  if (!data.connected) {
    for (const id of ["admin-services", "admin-events", "admin-commands", "admin-dead"]) fillList(id, [], short);
    $("admin-outbound").textContent = "—";
    return;
  }
  fillList("admin-services", data.services, (s) => `${s.name} ${s.version || ""}${s.instances ? " ×" + s.instances : ""}`);
  fillList("admin-events", data.events, (e) => `${e.at || ""} ${e.subject || ""} ${short(e.summary)}`);
  fillList("admin-commands", data.commands, (c) => `${c.at || ""} ${c.subject || ""} ${short(c.summary)}`);
  fillList("admin-dead", data.dead_letters, (d) => `${d.service || ""} ${d.subject || ""} ×${d.deliveries || "?"} ${d.error || ""}`);
  const outbound = $("admin-outbound");
  outbound.replaceChildren();
  const entries = Object.entries(data.outbound || {});
  if (!entries.length) outbound.textContent = "—";
  for (const [key, value] of entries) {
    const row = el("div", "kv");
    row.append(el("span", "k", key), el("span", "v", short(value)));
    outbound.append(row);
  }
}

const narrow = window.matchMedia("(max-width: 980px)");

/** On a narrow window a panel opens over the chat, just below its header, so the header's buttons stay usable. */
function placePanel(panel) {
  panel.style.top = narrow.matches ? `${document.querySelector(".chat-head").getBoundingClientRect().bottom}px` : "";
}

function togglePanel(id) {
  const panel = $(id);
  panel.hidden = !panel.hidden;
  if (!panel.hidden) placePanel(panel);
}

function toggleAdmin() {
  const panel = $("admin-panel");
  togglePanel("admin-panel");
  clearInterval(state.adminTimer);
  if (!panel.hidden) {
    refreshAdmin();
    state.adminTimer = setInterval(refreshAdmin, 2000);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Live updates

function connect() {
  const source = new EventSource(`/api/stream?after=${state.lastSeq}`);
  const light = $("connection");
  source.onopen = () => { light.className = "connection online"; light.title = "live 实时"; };
  source.onerror = () => { light.className = "connection offline"; light.title = "reconnecting 重连中"; };
  source.addEventListener("message", (event) => addMessage(JSON.parse(event.data)));
  source.addEventListener("room", (event) => updateRoom(JSON.parse(event.data)));
  source.addEventListener("friendship", (event) => {
    const request = JSON.parse(event.data);
    const who = state.contacts.get(request.contact_id);
    toast(`好友请求 friend request: ${who ? who.name : request.contact_id} ${request.hello}`);
  });
  source.addEventListener("invitation", () => toast("群人数超过 40，已发送邀请 · invitation sent (room above 40)"));
}

async function start() {
  const world = await api("GET", "/api/world");
  state.bot = world.bot;
  for (const r of world.rooms) state.rooms.set(r.id, r);
  for (const c of world.contacts) state.contacts.set(c.id, c);
  for (const message of await api("GET", "/api/messages")) addMessage(message);
  state.unread.clear();
  $("bot-name").textContent = `${world.bot.name} (${world.bot.id})`;
  const requested = new URLSearchParams(location.search).get("room");
  state.roomId = state.rooms.has(requested) ? requested : world.rooms[0].id;
  renderAll();
  connect();

  $("send").addEventListener("click", send);
  $("input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  $("input").addEventListener("input", (event) => {
    if (event.data === "@") {
      state.atTyped = true;
      openMentionMenu();
    }
  });
  $("speaker").addEventListener("change", (event) => {
    state.speakers.set(state.roomId, event.target.value);
    renderMessages();
    renderDirect();
  });
  $("mention-button").addEventListener("click", () => {
    const menu = $("mention-menu");
    state.atTyped = false;
    if (menu.hidden) openMentionMenu(); else menu.hidden = true;
  });
  $("quote-cancel").addEventListener("click", () => { state.quote = null; renderComposer(); });
  $("add-member").addEventListener("submit", addMember);
  $("dm-form").addEventListener("submit", directMessage);
  $("toggle-members").addEventListener("click", () => togglePanel("members-panel"));
  for (const button of document.querySelectorAll(".panel-close")) {
    const id = button.dataset.closes;
    button.addEventListener("click", () => (id === "admin-panel" ? toggleAdmin() : togglePanel(id)));
  }
  // On a narrow window a panel would cover the chat: it starts closed there.
  if (narrow.matches) $("members-panel").hidden = true;
  $("toggle-admin").addEventListener("click", toggleAdmin);
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".mention-wrap")) $("mention-menu").hidden = true;
  });
}

start().catch((error) => toast(`加载失败 failed to load: ${error.message}`));
