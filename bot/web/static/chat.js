// The web chat page: a person picker, a transcript, cards with working buttons, live updates over SSE.
"use strict";
const log = document.getElementById("log");
const picker = document.getElementById("person");
const input = document.getElementById("text");
const send = document.getElementById("send");
const live = document.getElementById("live");
const unreadToggle = document.getElementById("unread-toggle");
const unreadCount = document.getElementById("unread-count");
const unreadPanel = document.getElementById("unread");
const unreadList = document.getElementById("unread-items");
let person = "";
let events = null;
let unread = { count: 0, items: [] };
const say = document.getElementById("say");
const files = document.getElementById("files");
const maxBytes = Number(say.dataset.maxBytes || 0);
const accepted = (files.accept || "").split(",").filter(Boolean);
let queued = [];  // files picked while asking: attached to the request once it is submitted

async function post(path, body) {
  const res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) return { replies: [{ text: (data.error && data.error.message) || data.detail || `Something went wrong (${res.status}).` }] };
  return data;
}

function line(text, cls) {
  const div = document.createElement("div");
  div.className = "msg " + (cls || "");
  div.textContent = text;
  log.appendChild(div);
  return div;
}

// a card's file links name the person reading, whom the server checks like the card itself
function own(el) {
  el.querySelectorAll("a.file").forEach((a) => {
    const url = new URL(a.getAttribute("href"), location.href);
    url.searchParams.set("person", person);
    a.setAttribute("href", url.pathname + url.search);
  });
  return el;
}

function addCard(html) {
  const tpl = document.createElement("template");
  tpl.innerHTML = html.trim();
  const el = own(tpl.content.firstElementChild);
  log.appendChild(el);
  return el;
}

function show(data) {
  for (const r of data.replies || []) {
    if (r.text) line(r.text);
    if (r.html) addCard(r.html);
  }
  log.scrollTop = log.scrollHeight;
}

// A card re-rendered while someone is using it keeps what they picked or typed there: the files chosen to attach
// and an unsent comment (a live update must not throw away work in progress).
function keepTyped(old, fresh) {
  const fields = "input[type=file], input[type=text], input:not([type]), textarea";
  const key = (input) => {
    const form = input.closest("form");
    return [input.name, input.type, form?.className, form?.dataset.action].join("|");
  };
  const twins = new Map();
  fresh.querySelectorAll(fields).forEach((twin) => twins.has(key(twin)) || twins.set(key(twin), twin));
  old.querySelectorAll(fields).forEach((input) => {
    const twin = twins.get(key(input));  // the same field of the same form (Attach, Comment, Reject ...), if still there
    if (!twin) return;
    if (input.type === "file") {
      if (input.files && input.files.length) twin.files = input.files;
    } else if (input.value) {
      twin.value = input.value;
    }
  });
}

// Every copy of a requisition's card is re-rendered from the server's current view of it.
async function refresh(number, announce) {
  const res = await fetch(`/chat/api/cards/${encodeURIComponent(number)}?person=${encodeURIComponent(person)}`);
  if (!res.ok) return;
  const { html } = await res.json();
  const copies = log.querySelectorAll(`.card[data-number="${CSS.escape(number)}"]`);
  if (copies.length === 0 && announce) {
    line(announce, "note");
    addCard(html).classList.add("flash");
    log.scrollTop = log.scrollHeight;
    return;
  }
  copies.forEach((old) => {
    const tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    const fresh = own(tpl.content.firstElementChild);
    fresh.classList.add("flash");
    keepTyped(old, fresh);
    old.replaceWith(fresh);
  });
}

// ---- the unread list: what was kept for the person (requests waiting for them, decisions, reminders, notices)
function when(iso) {
  const at = new Date(iso);
  const sameDay = at.toDateString() === new Date().toDateString();
  return sameDay
    ? at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function drawUnread(data) {
  unread = data || { count: 0, items: [] };
  unreadToggle.hidden = !person;
  unreadCount.textContent = String(unread.count);
  unreadToggle.classList.toggle("none", unread.count === 0);
  unreadToggle.setAttribute("aria-label", `${unread.count} unread`);
  unreadList.innerHTML = "";
  for (const item of unread.items) {
    const li = document.createElement("li");
    li.dataset.id = item.id;
    const kind = document.createElement("span");
    kind.className = "kind k-" + item.kind;
    kind.textContent = item.label;
    const time = document.createElement("time");
    time.dateTime = item.at;
    time.textContent = when(item.at);
    const words = document.createElement("span");
    words.className = "words";
    words.textContent = item.text;
    const acts = document.createElement("span");
    acts.className = "acts";
    const opens = item.number ? [item.number] : (item.numbers || []);
    for (const number of opens.length ? opens : item.html ? [""] : []) {
      const open = document.createElement("button");
      open.type = "button";
      open.className = "primary";
      open.dataset.open = item.id;
      open.dataset.number = number;
      open.textContent = number ? `Open ${number}` : "Open";
      acts.appendChild(open);
    }
    const read = document.createElement("button");
    read.type = "button";
    read.dataset.read = item.id;
    read.textContent = "Mark read";
    acts.appendChild(read);
    li.append(kind, time, words, acts);
    unreadList.appendChild(li);
  }
  document.getElementById("unread-none").hidden = unread.count > 0;
  const more = document.getElementById("unread-more");
  more.hidden = unread.count <= unread.items.length;
  more.textContent = `${unread.count - unread.items.length} older unread not listed; mark these read to see them.`;
  document.body.dataset.unread = String(unread.count);
}

function toggleUnread(open) {
  unreadPanel.hidden = !open;
  unreadToggle.setAttribute("aria-expanded", String(open));
}

async function loadUnread() {
  if (!person) return;
  const asked = person;
  const res = await fetch(`/chat/api/unread?person=${encodeURIComponent(asked)}`);
  if (res.ok && asked === person) drawUnread(await res.json());
}

async function markRead(ids) {
  const res = await fetch("/chat/api/unread/read", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ person, ids }),
  });
  if (res.ok) drawUnread(await res.json());
}

async function openItem(id, number) {
  const item = unread.items.find((i) => String(i.id) === String(id));
  if (!item) return;
  await markRead([item.id]);
  toggleUnread(false);
  if (item.html) addCard(item.html);
  if (number) {
    const res = await fetch(`/chat/api/cards/${encodeURIComponent(number)}?person=${encodeURIComponent(person)}`);
    if (res.ok) {
      const { html } = await res.json();
      const card = addCard(html);
      card.classList.add("flash");
      card.scrollIntoView({ block: "nearest" });
    } else {
      line((await res.json().catch(() => ({}))).detail || `${number} cannot be shown.`, "note");
    }
  }
  log.scrollTop = log.scrollHeight;
}

unreadToggle.addEventListener("click", () => toggleUnread(unreadPanel.hidden));
document.getElementById("unread-close").addEventListener("click", () => toggleUnread(false));
document.getElementById("unread-all").addEventListener("click", () => markRead(null));
unreadList.addEventListener("click", (e) => {
  const open = e.target.closest("button[data-open]");
  if (open) { openItem(open.dataset.open, open.dataset.number); return; }
  const read = e.target.closest("button[data-read]");
  if (read) markRead([Number(read.dataset.read)]);
});

function redrawAll() {
  const numbers = new Set([...log.querySelectorAll(".card[data-number]")].map((c) => c.dataset.number));
  numbers.forEach((number) => refresh(number, null));
}

function connect() {
  if (events) events.close();
  live.textContent = "connecting";
  live.classList.remove("on");
  events = new EventSource(`/chat/api/events?person=${encodeURIComponent(person)}`);
  let opened = false;
  events.onopen = () => {
    live.textContent = "live";
    live.classList.add("on");
    document.body.dataset.live = "1";
    // back after a break (this server restarted, or another one answers now): what changed meanwhile is redrawn
    if (opened) { redrawAll(); loadUnread(); }
    opened = true;
  };
  events.onerror = () => { live.textContent = "reconnecting"; live.classList.remove("on"); };
  events.addEventListener("change", (e) => {
    const ev = JSON.parse(e.data);
    const mine = (ev.audience || []).includes(person) && ev.actor !== person;
    refresh(ev.number, mine ? `${ev.number} changed: it concerns you.` : null);
    if (mine) loadUnread();  // what it tells the person was kept with the change: the count goes up now
  });
  events.addEventListener("resync", () => redrawAll());
  // the server is stopping: the browser connects again by itself (to another replica, or this one once back)
  events.addEventListener("reconnect", () => { live.textContent = "reconnecting"; live.classList.remove("on"); });
  // a notice is words, or a card when it has buttons (the ERP's Retry)
  events.addEventListener("notice", (e) => { show({ replies: [JSON.parse(e.data)] }); loadUnread(); });
  // items were read in another tab
  events.addEventListener("unread", () => loadUnread());
}

// ---- attachments: a file picked while asking goes with the request once submitted; a card's Attach adds one later
function size(n) {
  return n >= 1048576 ? `${Math.round((n / 1048576) * 10) / 10} MB` : n >= 1024 ? `${Math.round(n / 1024)} KB` : `${n} bytes`;
}

// the same checks the server makes first (it sniffs the content too): a refused file is said at once, with the limit
function refusal(file) {
  const ext = file.name.includes(".") ? "." + file.name.split(".").pop().toLowerCase() : "";
  if (!accepted.includes(ext)) {
    return `${file.name}: ${ext ? ext + " files" : "files without an extension"} can't be attached. Attachments may be up to ${size(maxBytes)}; files of type ${accepted.join(", ")}.`;
  }
  if (maxBytes && file.size > maxBytes) {
    return `${file.name} is ${size(file.size)}, over the ${size(maxBytes)} limit for attachments. Send a smaller file (a PDF export, or a photo at a lower resolution).`;
  }
  return null;
}

async function upload(number, file) {
  const refused = refusal(file);
  if (refused) { line(refused, "note refused"); return false; }
  const form = new FormData();
  form.append("person", person);
  form.append("file", file, file.name);
  const res = await fetch(`/chat/api/requisitions/${encodeURIComponent(number)}/attachments`, { method: "POST", body: form });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    line((data.error && data.error.message) || data.detail || `${file.name} was not attached (${res.status}).`, "note refused");
    return false;
  }
  show(data);
  return true;
}

files.addEventListener("change", () => {
  for (const file of files.files) {
    const refused = refusal(file);
    if (refused) { line(refused + " The request goes on without it.", "note refused"); continue; }
    queued.push(file);
    line(`${file.name} (${size(file.size)}) will be attached when you submit the request.`, "note queued");
  }
  files.value = "";
  log.scrollTop = log.scrollHeight;
});

async function choose(id) {
  person = id;
  queued = [];
  localStorage.setItem("procurebot.person", id);
  log.innerHTML = "";
  input.disabled = send.disabled = files.disabled = !id;
  toggleUnread(false);
  drawUnread(null);
  if (!id) return;
  connect();
  const hello = await post("/chat/api/hello", { person });
  if (person !== id) return;
  show(hello);
  if (hello.unread) {
    drawUnread(hello.unread);
    toggleUnread(hello.unread.count > 0);  // shown on connect when something waits
  }
  input.focus();
}

document.getElementById("say").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = input.value;
  if (!person) return;
  input.value = "";
  line(text || "(empty)", "me");
  show(await post("/chat/api/messages", { person, text }));
});

async function act(el, text, fields) {
  const action = el.dataset.action;
  const value = { ...JSON.parse(el.dataset.value || "{}"), ...(fields || {}) };
  const card = el.closest(".card");
  card.querySelectorAll("button").forEach((b) => (b.disabled = true));
  const data = await post("/chat/api/actions", { person, action, value, text });
  // a submit that worked answers with the new requisition's number; a refused one asks again
  const submitted = (data.replies || []).some((r) => /PR-\d+/.test((r.text || "") + (r.html || "")));
  const draftDone = value.draft_id && ((action === "submit" && submitted) || action === "cancel");
  if (draftDone) {
    // the draft became a requisition (or was dropped): this summary is history, not a form
    card.classList.add("done");
    const status = card.querySelector(".status");
    if (status) status.textContent = action === "submit" ? "Submitted." : "Cancelled.";
  } else {
    card.querySelectorAll("button").forEach((b) => (b.disabled = false));
  }
  show(data);
  if (action === "submit" && submitted && queued.length) {
    const number = (data.replies || []).map((r) => r.number).find(Boolean);
    const waiting = queued;
    queued = [];
    if (number) {
      for (const file of waiting) await upload(number, file);
      refresh(number, null);
    }
  }
  if (value.number) refresh(value.number, null);
}

log.addEventListener("click", (e) => {
  const btn = e.target.closest("button[data-action]");
  if (btn) act(btn, null);
});
log.addEventListener("submit", async (e) => {
  const attach = e.target.closest("form.attach");
  if (attach) {
    e.preventDefault();
    const file = attach.elements.file.files[0];
    if (!file) return;
    attach.querySelector("button").disabled = true;
    const number = attach.dataset.number;
    await upload(number, file);
    attach.reset();
    attach.querySelector("button").disabled = false;
    refresh(number, null);
    return;
  }
  const fields = e.target.closest("form.needs-fields");
  if (fields) {
    // a small form (a new supplier's name, e-mail, website): each field goes back in the action's value
    e.preventDefault();
    const values = {};
    for (const [name, v] of new FormData(fields)) {
      if (typeof v === "string") { values[name] = v; continue; }
      if (!v.name) continue; // no file picked
      // a file (a supplier's tax document) is checked and kept first; the form then names it by its key
      const form = new FormData();
      form.append("person", person);
      form.append("file", v, v.name);
      const res = await fetch("/chat/api/suppliers/documents", { method: "POST", body: form });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) {
        line((data.error && data.error.message) || data.detail || `${v.name} was not kept (${res.status}).`, "note refused");
        return;
      }
      values[name] = data.key;
      values[name + "_name"] = data.filename;
    }
    act(fields, null, values);
    return;
  }
  const form = e.target.closest("form.needs-text");
  if (!form) return;
  e.preventDefault();
  act(form, form.elements.text.value);
});
picker.addEventListener("change", () => choose(picker.value));

(async function start() {
  const res = await fetch("/chat/api/people");
  if (!res.ok) { line((await res.json()).detail || "The web chat is not available."); return; }
  for (const p of await res.json()) {
    const opt = document.createElement("option");
    opt.value = p.id;
    opt.textContent = `${p.name} — ${p.title}${p.site ? " (" + p.site + ")" : ""}`;
    picker.appendChild(opt);
  }
  const saved = localStorage.getItem("procurebot.person");
  if (saved && [...picker.options].some((o) => o.value === saved)) { picker.value = saved; choose(saved); }
})();
