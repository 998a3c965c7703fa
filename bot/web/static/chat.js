// The web chat page: a person picker, a transcript, cards with working buttons, live updates over SSE.
"use strict";
const log = document.getElementById("log");
const picker = document.getElementById("person");
const input = document.getElementById("text");
const send = document.getElementById("send");
const live = document.getElementById("live");
let person = "";
let events = null;

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

function addCard(html) {
  const tpl = document.createElement("template");
  tpl.innerHTML = html.trim();
  const el = tpl.content.firstElementChild;
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
    const fresh = tpl.content.firstElementChild;
    fresh.classList.add("flash");
    old.replaceWith(fresh);
  });
}

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
    if (opened) redrawAll();
    opened = true;
  };
  events.onerror = () => { live.textContent = "reconnecting"; live.classList.remove("on"); };
  events.addEventListener("change", (e) => {
    const ev = JSON.parse(e.data);
    const mine = (ev.audience || []).includes(person) && ev.actor !== person;
    refresh(ev.number, mine ? `${ev.number} changed: it concerns you.` : null);
  });
  events.addEventListener("resync", () => redrawAll());
  // the server is stopping: the browser connects again by itself (to another replica, or this one once back)
  events.addEventListener("reconnect", () => { live.textContent = "reconnecting"; live.classList.remove("on"); });
  // a notice is words, or a card when it has buttons (the ERP's Retry)
  events.addEventListener("notice", (e) => { show({ replies: [JSON.parse(e.data)] }); });
}

async function choose(id) {
  person = id;
  localStorage.setItem("procurebot.person", id);
  log.innerHTML = "";
  input.disabled = send.disabled = !id;
  if (!id) return;
  connect();
  show(await post("/chat/api/hello", { person }));
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

async function act(el, text) {
  const action = el.dataset.action;
  const value = JSON.parse(el.dataset.value || "{}");
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
  if (value.number) refresh(value.number, null);
}

log.addEventListener("click", (e) => {
  const btn = e.target.closest("button[data-action]");
  if (btn) act(btn, null);
});
log.addEventListener("submit", (e) => {
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
