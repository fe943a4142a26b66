// The registry dashboard (docs/http.md, "The dashboard"): plain JS, no dependencies,
// talks to its own origin only (/v1/events, /v1/status, /v1/services).
"use strict";

const TOKEN_KEY = "registry-write-token"; // sessionStorage: this tab only, never a cookie
const PAGE_ROWS = 100; // rows in the DOM at a time: 10 000 records stay fast
const STATUS_EVERY_MS = 1000;
const STREAM_SILENCE_MS = 15000; // PROGRESS comes every 5 s: this much silence is a dead stream
const NS_PER_MS = 1e6;

const $ = (id) => document.getElementById(id);

// ---- state ----------------------------------------------------------------------------
const records = new Map(); // name -> row
let view = []; // the filtered, sorted rows
let sortKey = "name";
let sortDir = 1;
let page = 0;
let loaded = false;
let renderQueued = false;
let sorted = null; // every row in table order; null once records or the sort change
const freshness = { streamUp: false, everUp: false, cutOff: false, quorum: true, statusError: "" };

// ---- token ----------------------------------------------------------------------------
function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

function authHeaders() {
  const t = token();
  return t ? { Authorization: "Bearer " + t } : {};
}

function showAccess() {
  const writable = token() !== "";
  $("access").replaceChildren();
  const strong = document.createElement("strong");
  strong.textContent = writable ? "Writes enabled." : "Read-only.";
  $("access").append(strong, writable
    ? " Your token is kept in this tab only (sessionStorage) and sent as a bearer header."
    : " Enter a write token to add, replace or delete records.");
  for (const el of document.querySelectorAll("#add, .write")) {
    el.disabled = !writable;
  }
  $("forget-token").disabled = !writable;
}

// ---- records --------------------------------------------------------------------------
function toRow(name, infoStr, revision) {
  let info = null;
  try {
    const parsed = JSON.parse(infoStr);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) info = parsed;
  } catch (e) { /* shown as unreadable */ }
  const num = (v) => (typeof v === "number" ? v : null);
  const rtt = (o) => (o && typeof o === "object" && typeof o.RTT === "number" ? o.RTT / NS_PER_MS : null);
  const str = (v) => (typeof v === "string" ? v : "");
  const row = {
    name, infoStr, revision: revision || 0, info,
    contentHash: info ? str(info.ContentHash) : "",
    dockerHash: info ? str(info.DockerHash) : "",
    softRtt: info ? rtt(info.NetworkSoftReq) : null,
    hardRtt: info ? rtt(info.NetworkHardReq) : null,
    cpu: info ? num(info.CpuReq) : null,
    memory: info ? num(info.MemoryReq) : null,
  };
  row.search = (name + "\n" + row.contentHash + "\n" + row.dockerHash).toLowerCase();
  return row;
}

function compare(a, b) {
  const x = a[sortKey];
  const y = b[sortKey];
  if (x === y) return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  if (x === null) return 1; // blanks last, whichever the direction
  if (y === null) return -1;
  return (x < y ? -1 : 1) * sortDir;
}

function rebuildView() {
  if (sorted === null) sorted = Array.from(records.values()).sort(compare);
  const needle = $("filter").value.trim().toLowerCase();
  view = needle ? sorted.filter((r) => r.search.includes(needle)) : sorted;
  const pages = Math.max(1, Math.ceil(view.length / PAGE_ROWS));
  if (page >= pages) page = pages - 1;
}

const fmtNum = new Intl.NumberFormat("en", { maximumFractionDigits: 3 });

function cell(tr, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  tr.append(td);
  return td;
}

function renderRows() {
  const rows = document.createDocumentFragment();
  const first = page * PAGE_ROWS;
  const slice = view.slice(first, first + PAGE_ROWS);
  slice.forEach((r, i) => {
    const tr = document.createElement("tr");
    tr.setAttribute("aria-rowindex", String(first + i + 2)); // row 1 is the header
    const th = document.createElement("th");
    th.scope = "row";
    const open = document.createElement("button");
    open.type = "button";
    open.className = "name";
    open.textContent = r.name;
    open.dataset.name = r.name;
    th.append(open);
    tr.append(th);
    if (!r.info) {
      const td = cell(tr, "not a JSON object: " + r.infoStr.slice(0, 80), "unreadable");
      td.colSpan = 6;
    } else {
      cell(tr, r.contentHash, "hash").title = r.contentHash;
      cell(tr, r.dockerHash, "hash").title = r.dockerHash;
      cell(tr, r.softRtt === null ? "" : fmtNum.format(r.softRtt), "num");
      cell(tr, r.hardRtt === null ? "" : fmtNum.format(r.hardRtt), "num");
      cell(tr, r.cpu === null ? "" : String(r.cpu), "num");
      cell(tr, r.memory === null ? "" : String(r.memory), "num");
    }
    cell(tr, String(r.revision), "num");
    rows.append(tr);
  });
  $("rows").replaceChildren(rows);
  $("services").setAttribute("aria-rowcount", String(view.length + 1));
  const total = records.size;
  const shown = view.length === total ? `${total} services` : `${view.length} of ${total} services`;
  $("count").textContent = loaded ? shown : "loading…";
  const pages = Math.max(1, Math.ceil(view.length / PAGE_ROWS));
  $("page").textContent = view.length
    ? `rows ${first + 1}–${first + slice.length} of ${view.length} (page ${page + 1} of ${pages})`
    : "no rows";
  $("prev").disabled = page === 0;
  $("next").disabled = page >= pages - 1;
  for (const th of document.querySelectorAll("#services thead th")) {
    if (th.dataset.key === sortKey) th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
    else th.removeAttribute("aria-sort");
  }
}

// Measured with the Performance API (docs/http.md): from the start of the work to the
// frame after the DOM changed.
function measured(name, work, also) {
  const start = performance.now();
  work();
  performance.measure(name + "-script", { start, end: performance.now() }); // the JS alone
  requestAnimationFrame(() => setTimeout(() => {
    const end = performance.now();
    performance.measure(name, { start, end });
    if (also) performance.measure(also, { start: 0, end }); // from the navigation's start
  }, 0));
}

function render() {
  rebuildView();
  renderRows();
}

function scheduleRender() {
  sorted = null;
  if (renderQueued || !loaded) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
    refreshDetail();
  });
}

// ---- the event stream (/v1/events, Server-Sent Events) ---------------------------------
// fetch rather than EventSource: it can send the bearer token (EventSource cannot set
// headers) and keeps retrying whatever the failure. It resumes as EventSource would:
// with Last-Event-ID, the id of the last event that had one.
let lastEventId = "";
let retryMs = 1000;
let streamAbort = null;
let reconnectNow = false; // the token changed: a new stream at once, no "lost" banner

function handleEvent(type, id, data, snapshot) {
  if (id) lastEventId = id;
  let ev;
  try { ev = JSON.parse(data); } catch (e) { return snapshot; }
  switch (type) {
    case "PUT": {
      const row = toRow(ev.Name, ev.InfoStr || "", ev.Revision);
      if (snapshot) snapshot.set(ev.Name, row);
      else { records.set(ev.Name, row); scheduleRender(); }
      return snapshot;
    }
    case "DELETE":
      records.delete(ev.Name);
      scheduleRender();
      return snapshot;
    case "RESET":
      return new Map();
    case "SYNCED":
      if (snapshot) {
        if (!loaded) performance.mark("ui-state-received");
        const firstLoad = !loaded;
        measured(firstLoad ? "ui-render" : "ui-resync", () => {
          records.clear();
          for (const [name, row] of snapshot) records.set(name, row);
          sorted = null;
          loaded = true;
          render();
        }, firstLoad ? "ui-load" : null);
        refreshDetail();
      }
      return null;
    case "PROGRESS":
      if (typeof ev.CutOff === "boolean") { freshness.cutOff = ev.CutOff; showBanners(); }
      return snapshot;
    default: // ERROR: the stream ends here; we reconnect and resume
      return snapshot;
  }
}

async function readStream(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  // No Last-Event-ID: the server sends the state (PUTs without ids) then SYNCED.
  let snapshot = lastEventId ? null : new Map();
  let buffer = "";
  let lastHeard = Date.now();
  const watchdog = setInterval(() => {
    if (Date.now() - lastHeard > STREAM_SILENCE_MS && streamAbort) streamAbort.abort();
  }, 1000);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      lastHeard = Date.now();
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = "message";
        let id = "";
        const data = [];
        for (const line of block.split("\n")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let v = colon < 0 ? "" : line.slice(colon + 1);
          if (v.startsWith(" ")) v = v.slice(1);
          if (field === "event") type = v;
          else if (field === "id") id = v;
          else if (field === "data") data.push(v);
          else if (field === "retry" && /^\d+$/.test(v)) retryMs = Number(v);
        }
        if (data.length) snapshot = handleEvent(type, id, data.join("\n"), snapshot);
        else if (id) lastEventId = id;
      }
    }
  } finally {
    clearInterval(watchdog);
  }
}

async function follow() {
  for (;;) {
    streamAbort = new AbortController();
    try {
      const headers = authHeaders();
      if (lastEventId) headers["Last-Event-ID"] = lastEventId;
      const resp = await fetch("/v1/events", { headers, cache: "no-store", signal: streamAbort.signal });
      if (resp.status === 401 || resp.status === 403) {
        freshness.statusError = "This listener needs a token to read: enter one above.";
      }
      if (!resp.ok || !resp.body) throw new Error("HTTP " + resp.status);
      if (!loaded) performance.mark("ui-stream-open");
      freshness.streamUp = true;
      freshness.everUp = true;
      freshness.cutOff = false; // a new stream: the status poll and the next notice tell
      showBanners();
      await readStream(resp.body);
    } catch (e) { /* reconnect below */ }
    if (reconnectNow) { reconnectNow = false; continue; }
    freshness.streamUp = false;
    showBanners();
    await new Promise((r) => setTimeout(r, retryMs));
  }
}

// ---- cluster status (/v1/status) ------------------------------------------------------
function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1024 / 1024).toFixed(1) + " MiB";
}

let statusSummary = "";
let statusAt = "";

// Without an answer the panel keeps the last one, marked as such.
function markStatusOutdated() {
  if (!statusSummary) return;
  $("cluster-summary").textContent = `Not current: the last answer, at ${statusAt}. ${statusSummary}`;
  $("cluster").classList.add("outdated");
}

function renderStatus(s) {
  statusAt = new Date().toLocaleTimeString();
  $("cluster").classList.remove("outdated");
  const summary = $("cluster-summary");
  summary.textContent = statusSummary =
    `This instance: member ${s.member}, peer ${s.peer_id.slice(0, 16)}…; ` +
    `quorum: ${s.quorum ? "yes" : "NO"}; revision ${s.revision}; ${s.services} services; ` +
    `${s.members.filter((m) => m.healthy).length} of ${s.members.length} members healthy.`;
  const rows = document.createDocumentFragment();
  const members = [...s.members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const m of members) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = (m.name || "(not started)") + (m.name === s.member ? " (this instance)" : "");
    tr.append(th);
    cell(tr, m.healthy ? "healthy" : "down", m.healthy ? "health-ok" : "health-down");
    // A member that does not answer has no role we know of (as `registry-service status`).
    cell(tr, !m.healthy ? "—" : m.learner ? "learner" : m.leader ? "leader" : "follower");
    const known = (v) => v !== null && v !== undefined;
    cell(tr, known(m.raft_index) ? String(m.raft_index) : "—", "num");
    cell(tr, known(m.db_size) ? fmtBytes(m.db_size) : "—", "num");
    cell(tr, m.client_url);
    rows.append(tr);
  }
  $("members").replaceChildren(rows);
}

async function pollStatus() {
  for (;;) {
    try {
      const resp = await fetch("/v1/status", { headers: authHeaders(), cache: "no-store" });
      if (resp.ok) {
        const s = await resp.json();
        freshness.quorum = s.quorum;
        freshness.statusError = "";
        renderStatus(s);
      } else if (resp.status === 401 || resp.status === 403) {
        freshness.statusError = "This listener needs a token to read: enter one above.";
      } else {
        freshness.statusError = "This instance's etcd member does not answer (status " + resp.status + ").";
        markStatusOutdated();
      }
    } catch (e) {
      freshness.statusError = "This instance does not answer.";
      markStatusOutdated();
    }
    showBanners();
    await new Promise((r) => setTimeout(r, STATUS_EVERY_MS));
  }
}

// ---- freshness banners ----------------------------------------------------------------
function showBanners() {
  const wanted = [];
  if (!freshness.streamUp && freshness.everUp) {
    wanted.push(["stream", "error", "Lost the live event stream: reconnecting. The table may be out of date."]);
  }
  if (freshness.cutOff || !freshness.quorum) {
    wanted.push(["stale", "", "This instance is cut off from its cluster (no quorum): it serves its own copy, which may be stale, and no changes arrive until it is back."]);
  }
  if (freshness.statusError) wanted.push(["status", "error", freshness.statusError]);
  const box = $("banners");
  const have = Array.from(box.children).map((el) => el.dataset.kind + "|" + el.textContent).join("\n");
  if (have === wanted.map(([k, , t]) => k + "|" + t).join("\n")) return; // unchanged: no re-announce
  box.replaceChildren(...wanted.map(([kind, cls, text]) => {
    const p = document.createElement("p");
    p.className = "banner " + cls;
    p.dataset.kind = kind;
    p.textContent = text;
    return p;
  }));
}

// ---- detail, editor, delete -----------------------------------------------------------
let detailName = null;

function openDetail(name) {
  detailName = name;
  $("detail-error").textContent = "";
  refreshDetail();
  $("detail").showModal();
}

function refreshDetail() {
  if (detailName === null) return;
  const r = records.get(detailName);
  $("detail-h").textContent = detailName;
  if (!r) {
    $("detail-meta").textContent = "This record was deleted.";
    $("detail-json").textContent = "";
  } else {
    $("detail-meta").textContent = `Revision ${r.revision}` +
      (r.info ? "" : "; the stored record is not a JSON object (shown as stored)");
    $("detail-json").textContent = r.info ? JSON.stringify(r.info, null, 2) : r.infoStr;
  }
  $("detail-edit").disabled = !token() || !r;
  $("detail-delete").disabled = !token() || !r;
}

const TEMPLATE = { ContentHash: "", DockerHash: "", NetworkSoftReq: { RTT: 0 }, NetworkHardReq: { RTT: 0 }, CpuReq: 0, MemoryReq: 0 };
let editorCas = null;

function openEditor(name) {
  const r = name === null ? null : records.get(name);
  $("editor-h").textContent = r ? `Replace ${name}` : "Add a record";
  $("editor-name").value = r ? name : "";
  $("editor-name").readOnly = !!r;
  $("editor-json").value = r ? (r.info ? JSON.stringify(r.info, null, 2) : r.infoStr) : JSON.stringify(TEMPLATE, null, 2);
  editorCas = r ? r.revision : 0; // add: only if absent; replace: only if unchanged
  showEditorError(null);
  $("editor").showModal();
  (r ? $("editor-json") : $("editor-name")).focus();
}

// The API names the field of a rule violation as `$.Field`: show it first, then the message.
function showEditorError(message) {
  const box = $("editor-error");
  box.replaceChildren();
  $("editor-json").removeAttribute("aria-invalid");
  if (!message) return;
  const field = /`(\$[^`]*)`/.exec(message);
  if (field) {
    const code = document.createElement("code");
    code.textContent = field[1];
    box.append("Field ", code, ": ");
    $("editor-json").setAttribute("aria-invalid", "true");
  }
  box.append(message);
}

async function write(method, name, cas, body) {
  const url = "/v1/services/" + encodeURIComponent(name) + (cas === null ? "" : "?cas=" + cas);
  const headers = authHeaders();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch(url, { method, headers, body, cache: "no-store" });
  } catch (e) {
    return "The instance did not answer: " + e.message;
  }
  if (resp.ok) return null;
  let text = "";
  try { text = (await resp.json()).Error || ""; } catch (e) { /* no JSON body */ }
  const prefix = { 401: "Refused (401): the token is not valid. ", 403: "Refused (403): the token may not write. ",
    409: "Conflict: ", 503: "Not now: " }[resp.status] || `Refused (${resp.status}): `;
  return prefix + (text || resp.statusText);
}

async function saveEditor(event) {
  event.preventDefault();
  const name = $("editor-name").value;
  if (!name.trim()) { showEditorError("A record needs a name."); return; }
  $("editor-save").disabled = true;
  const error = await write("PUT", name, editorCas, $("editor-json").value);
  $("editor-save").disabled = false;
  if (error) { showEditorError(error); return; }
  $("editor").close();
  if (detailName === name) refreshDetail();
}

async function confirmDelete() {
  const name = detailName;
  const r = records.get(name);
  $("confirm").close();
  const error = await write("DELETE", name, r ? r.revision : null);
  if (error) { $("detail-error").textContent = error; return; }
  $("detail").close();
}

// ---- wiring ---------------------------------------------------------------------------
function init() {
  showAccess();
  showBanners();
  $("token-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const t = $("token").value.trim();
    $("token").value = "";
    if (!t) return;
    // A token the instance does not know would also break the reads: check it first.
    let known = false;
    try {
      const resp = await fetch("/v1/status", { headers: { Authorization: "Bearer " + t }, cache: "no-store" });
      known = resp.status !== 401;
    } catch (err) { /* the instance does not answer: not accepted */ }
    if (!known) {
      showAccess();
      $("access").append(" That token was not accepted by this instance.");
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, t);
    showAccess();
    refreshDetail();
    if (streamAbort && freshness.streamUp) { // reconnect with the token (resumes, misses nothing)
      reconnectNow = true;
      streamAbort.abort();
    }
  });
  $("forget-token").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showAccess();
    refreshDetail();
  });
  $("filter").addEventListener("input", () => {
    page = 0;
    measured("ui-filter", render);
  });
  document.addEventListener("keydown", (e) => {
    const typing = /^(INPUT|TEXTAREA)$/.test(document.activeElement.tagName);
    if (e.key === "/" && !typing && !document.querySelector("dialog[open]")) {
      e.preventDefault();
      $("filter").focus();
    }
  });
  for (const th of document.querySelectorAll("#services thead th")) {
    th.querySelector("button").addEventListener("click", () => {
      if (sortKey === th.dataset.key) sortDir = -sortDir;
      else { sortKey = th.dataset.key; sortDir = 1; }
      sorted = null;
      render();
    });
  }
  $("prev").addEventListener("click", () => { page -= 1; renderRows(); });
  $("next").addEventListener("click", () => { page += 1; renderRows(); });
  $("rows").addEventListener("click", (e) => {
    const button = e.target.closest("button.name");
    if (button) openDetail(button.dataset.name);
  });
  $("detail-close").addEventListener("click", () => $("detail").close());
  $("detail").addEventListener("close", () => { detailName = null; });
  $("detail-edit").addEventListener("click", () => openEditor(detailName));
  $("detail-delete").addEventListener("click", () => {
    $("confirm-name").textContent = detailName;
    $("confirm").showModal();
    $("confirm-no").focus(); // the safe choice first
  });
  $("confirm-yes").addEventListener("click", confirmDelete);
  $("confirm-no").addEventListener("click", () => $("confirm").close());
  $("add").addEventListener("click", () => openEditor(null));
  $("editor-form").addEventListener("submit", saveEditor);
  $("editor-cancel").addEventListener("click", () => $("editor").close());
  renderRows();
  follow();
  pollStatus();
}

init();
