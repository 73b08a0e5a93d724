// The Hirestream console: a page over the audit API for auditors and admins. No framework and
// nothing fetched from elsewhere: every call goes to this server with the pasted token, and a
// proof is checked here, with Web Crypto, so that the page need not trust the server for it.
"use strict";

const TOKEN_KEY = "hirestream.console.token";
const $ = (selector) => document.querySelector(selector);
let token = sessionStorage.getItem(TOKEN_KEY);
let pipelineTimer = null;

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { authorization: `Bearer ${token}`, ...(options.headers ?? {}) },
  });
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function status(message) {
  $("#status").textContent = message;
}

/// A table body's rows from `rows`, each a list of cells (text or nodes).
function fill(tbody, rows) {
  tbody.replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement("tr");
      for (const cell of cells) {
        const td = document.createElement("td");
        if (cell instanceof Node) td.append(cell);
        else td.textContent = cell ?? "";
        tr.append(td);
      }
      return tr;
    }),
  );
}

function button(label, onClick, className) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (className) b.className = className;
  b.addEventListener("click", onClick);
  return b;
}

const short = (hex) => (hex ? `${hex.slice(0, 12)}…` : "");
const pretty = (value) => JSON.stringify(value, null, 2);

// Signing in: the token must belong to an auditor or an admin.

async function signIn(candidate) {
  token = candidate.trim();
  try {
    await api("/audit/streams");
  } catch (error) {
    token = null;
    $("#signin-error").textContent =
      error.status === 403
        ? "Refused: this console is for auditors and admins."
        : error.status === 401
          ? "Refused: the token is not valid (or has expired)."
          : `Could not sign in: ${error.message}`;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $("#signin-error").textContent = "";
  $("#signin").hidden = true;
  $("#nav").hidden = false;
  show(location.hash.slice(1) || "streams");
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  location.hash = "";
  location.reload();
}

const views = {
  streams: loadStreams,
  integrity: loadIntegrity,
  pipeline: startPipeline,
  ledger: async () => {},
  people: async () => {},
};

async function show(view) {
  if (!views[view]) view = "streams";
  clearInterval(pipelineTimer);
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== view;
  for (const b of document.querySelectorAll("#nav [data-view]")) {
    b.setAttribute("aria-current", b.dataset.view === view ? "page" : "false");
  }
  if (location.hash !== `#${view}`) history.replaceState(null, "", `#${view}`);
  try {
    await views[view]();
  } catch (error) {
    status(`Could not load ${view}: ${error.message}`);
  }
}

// Streams: types and counts, one aggregate at any version, a correlation's trace.

async function loadStreams() {
  const { aggregate_types: types } = await api("/audit/streams");
  fill(
    $("#type-counts tbody"),
    types.map((t) => [t.aggregate_type, String(t.streams), String(t.events)]),
  );
  const select = $("#aggregate-type");
  const chosen = select.value;
  select.replaceChildren(
    ...types.map((t) => new Option(t.aggregate_type, t.aggregate_type)),
  );
  if (chosen) select.value = chosen;
}

let opened = null;

async function openAggregate(type, id, version) {
  const query = version ? `?version=${version}` : "";
  const path = `/audit/aggregates/${encodeURIComponent(type)}/${encodeURIComponent(id)}${query}`;
  const found = await api(path);
  if (!version) {
    opened = { type, id, events: found.events, latest: found.version };
    const slider = $("#version");
    slider.max = String(found.version);
    slider.value = String(found.version);
    renderEvents(found.events);
  }
  $("#version-label").textContent = `${found.version} of ${opened.latest}`;
  $("#state").textContent = pretty(found.state);
  for (const row of document.querySelectorAll("#events tbody tr")) {
    row.classList.toggle("later", Number(row.dataset.sequence) > found.version);
  }
  $("#aggregate").hidden = false;
  status(`${type} ${id} at version ${found.version}`);
}

function renderEvents(events) {
  fill(
    $("#events tbody"),
    events.map((event) => {
      const meta = event.metadata;
      const detail = button(event.event_type, () => {
        $("#event-detail").textContent = pretty(event);
      }, "link");
      const correlation = meta.correlation_id
        ? button(short(meta.correlation_id), () => trace(meta.correlation_id), "link correlation")
        : "";
      return [
        String(event.sequence),
        detail,
        event.recorded_at,
        `${meta.actor_role ?? ""} ${short(meta.actor_subject)}`,
        meta.command ?? "",
        correlation,
        short(event.hash),
        button("Verify", () => verifyProof(event.global_position), "verify-proof"),
      ];
    }),
  );
  document.querySelectorAll("#events tbody tr").forEach((row, i) => {
    row.dataset.sequence = String(events[i].sequence);
  });
}

async function trace(correlation) {
  const page = await api(`/audit/events?correlation_id=${encodeURIComponent(correlation)}&limit=500`);
  $("#trace-id").textContent = correlation;
  fill(
    $("#trace-events tbody"),
    page.events.map((event) => [
      String(event.global_position),
      `${event.aggregate_type} ${short(event.aggregate_id)}`,
      event.event_type,
      `${event.metadata.actor_role ?? ""} ${short(event.metadata.actor_subject)}`,
      event.metadata.causation_id ?? "",
    ]),
  );
  $("#trace").hidden = false;
  status(`${page.events.length} events share correlation ${correlation}`);
}

// Integrity: the store verified by the server, and one event's proof checked here.

async function loadIntegrity() {
  const page = await api("/audit/checkpoints?limit=500");
  const newest = [...page.checkpoints].reverse();
  fill(
    $("#checkpoints tbody"),
    newest.map((c) => [String(c.number), String(c.events), String(c.global_position), short(c.root), c.signed_at]),
  );
}

async function runVerify() {
  const result = $("#verify-result");
  result.textContent = "Verifying…";
  const report = await api("/audit/verification");
  result.replaceChildren();
  const verdict = document.createElement("p");
  verdict.id = "verify-verdict";
  verdict.className = report.problems.length ? "error" : "ok";
  verdict.textContent = report.problems.length
    ? `Failing: ${report.problems.length} problem(s) in ${report.events} events`
    : `Intact: ${report.events} events in ${report.streams} streams, ${report.checkpoints} checkpoints (${report.unsigned_events} not yet signed), verified at ${report.verified_at}`;
  result.append(verdict);
  if (report.problems.length) {
    const list = document.createElement("ul");
    list.id = "verify-problems";
    for (const problem of report.problems) {
      const item = document.createElement("li");
      item.textContent = JSON.stringify(problem);
      list.append(item);
    }
    result.append(list);
  }
}

const hexBytes = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
const base64Bytes = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

async function sha256(...parts) {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
}

const leaf = (hash) => sha256(Uint8Array.of(0), hash);
const node = (left, right) => sha256(Uint8Array.of(1), left, right);

/// RFC 9162's verification of an inclusion proof: the root from a leaf and its path.
async function rootFromPath(hash, index, size, path) {
  if (index >= size) return null;
  let [fn, sn] = [index, size - 1];
  for (const sibling of path) {
    if (sn === 0) return null;
    if ((fn & 1) === 1 || fn === sn) {
      hash = await node(sibling, hash);
      while ((fn & 1) === 0 && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      hash = await node(hash, sibling);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 ? hash : null;
}

async function verifyProof(position) {
  const out = $("#proof-result");
  out.className = "";
  out.textContent = `Checking the proof of the event at position ${position}…`;
  try {
    const proof = await api(`/audit/events/${position}/proof`);
    const problems = [];
    const hash = await sha256(new TextEncoder().encode(proof.encoding));
    if (toHex(hash) !== proof.event.hash) problems.push("its hash does not match its content");
    const checkpoint = proof.checkpoint;
    if (!checkpoint) {
      out.textContent = problems.length
        ? `Failing: ${problems.join("; ")}`
        : "The event's hash matches its content; no checkpoint signs it yet.";
      out.className = problems.length ? "error" : "";
      return;
    }
    const root = await rootFromPath(
      await leaf(hexBytes(proof.event.hash)),
      proof.leaf_index,
      checkpoint.events,
      proof.merkle_path.map(hexBytes),
    );
    if (!root || toHex(root) !== checkpoint.root) problems.push("its Merkle path does not lead to the checkpoint's root");
    if (JSON.parse(checkpoint.statement).root !== checkpoint.root) problems.push("the signed statement names another root");
    const { public_key: served } = await api("/audit/public-key");
    if (served !== checkpoint.public_key) problems.push("the checkpoint is signed with another key than the server's");
    const key = await crypto.subtle.importKey("raw", base64Bytes(checkpoint.public_key), { name: "Ed25519" }, false, ["verify"]);
    const signed = await crypto.subtle.verify(
      { name: "Ed25519" },
      key,
      hexBytes(checkpoint.signature),
      new TextEncoder().encode(checkpoint.statement),
    );
    if (!signed) problems.push("the checkpoint's signature does not verify");
    out.className = problems.length ? "error" : "ok";
    out.textContent = problems.length
      ? `Failing: ${problems.join("; ")}`
      : `Verified in this browser: the event's hash, its path to checkpoint ${checkpoint.number}'s root, and the Ed25519 signature.`;
  } catch (error) {
    out.className = "error";
    out.textContent = `Could not check the proof: ${error.message}`;
  }
}

// Pipeline: the relay's and each projection's progress, refreshed.

async function loadPipeline() {
  const p = await api("/audit/pipeline");
  $("#head").textContent = `The store holds events up to position ${p.head_position}.`;
  fill(
    $("#relays tbody"),
    p.relays.map((r) => [r.relay_name, String(r.global_position), String(r.published), String(Math.max(0, p.head_position - r.global_position)), r.last_error ?? ""]),
  );
  fill(
    $("#projections tbody"),
    p.projections.map((row) => {
      const part = p.parts[row.projection];
      return [
        row.projection,
        String(row.generation),
        String(row.last_position ?? 0),
        part?.lag == null ? "" : String(part.lag),
        String(row.events_applied),
        String(row.events_skipped),
        part ? part.state : "not in this process",
        part?.last_problem ?? "",
        part ? button("Rebuild", () => rebuild(row.projection), "rebuild") : "",
      ];
    }),
  );
}

/// Asks this process to rebuild a projection from the store (admins), then follows it.
async function rebuild(projection) {
  const out = $("#rebuild-status");
  const path = `/admin/projections/${encodeURIComponent(projection)}/rebuild`;
  out.className = "";
  try {
    await api(path, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  } catch (error) {
    out.className = "error";
    out.textContent = `${projection}: ${error.message}`;
    return;
  }
  for (;;) {
    const s = await api(path);
    if (s.state === "done") {
      out.className = "ok";
      out.textContent = `${projection} rebuilt: ${s.read} events at ${Math.round(s.events_per_second)} events/s.`;
      return;
    }
    if (s.state === "failed") {
      out.className = "error";
      out.textContent = `${projection}: the rebuild failed: ${s.error}`;
      return;
    }
    out.textContent = `${projection}: ${s.state}, ${s.read} of ${s.total} events…`;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

async function startPipeline() {
  await loadPipeline();
  pipelineTimer = setInterval(() => loadPipeline().catch((e) => status(e.message)), 2000);
}

// Ledger: one wallet's entries and its balance over time.

async function showWallet(wallet) {
  const page = await api(`/wallets/${encodeURIComponent(wallet)}/entries?limit=500`);
  const entries = page.entries;
  fill(
    $("#entries tbody"),
    entries.map((e) => [String(e.sequence), e.kind, String(e.amount), String(e.balance_after), e.recorded_at]),
  );
  drawBalance(entries);
  status(`${entries.length} entries of wallet ${wallet}`);
}

function drawBalance(entries) {
  const svg = $("#balance-chart");
  const [width, height, pad] = [640, 200, 24];
  const balances = entries.map((e) => e.balance_after);
  const top = Math.max(1, ...balances);
  const x = (i) => pad + (i * (width - 2 * pad)) / Math.max(1, entries.length - 1);
  const y = (b) => height - pad - (b * (height - 2 * pad)) / top;
  const points = balances.map((b, i) => `${x(i).toFixed(1)},${y(b).toFixed(1)}`).join(" ");
  svg.innerHTML = "";
  const ns = "http://www.w3.org/2000/svg";
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", points);
  line.setAttribute("class", "balance");
  const axis = document.createElementNS(ns, "line");
  for (const [k, v] of Object.entries({ x1: pad, y1: height - pad, x2: width - pad, y2: height - pad })) axis.setAttribute(k, v);
  axis.setAttribute("class", "axis");
  svg.append(axis, line);
  $("#balance-caption").textContent = entries.length
    ? `Balance after each of ${entries.length} entries: from ${balances[0]} to ${balances.at(-1)} credits (highest ${top}).`
    : "No entries.";
  $("#balance-figure").hidden = false;
}

async function runReconcile() {
  const result = await api("/audit/ledger/reconciliation");
  const out = $("#reconcile-result");
  out.className = result.clean ? "ok" : "error";
  out.textContent = result.clean
    ? `Clean: every wallet matches the store (${result.pending_events} events still on their way).`
    : `${result.mismatches.length} wallet(s) disagree: ${result.mismatches.map((m) => `${m.wallet_id}: ${m.problem}`).join("; ")}`;
}

// People: one candidate's export, and erasure after a typed confirmation.

async function exportPerson(id) {
  const data = await api(`/candidates/${encodeURIComponent(id)}/export`);
  $("#export").textContent = pretty(data);
  $("#export").hidden = false;
  $("#erase-form").hidden = false;
  $("#erase-confirm").value = "";
  status(`${data.events.length} events about candidate ${id}`);
}

async function erasePerson() {
  const id = $("#person-id").value.trim();
  const out = $("#erase-result");
  if ($("#erase-confirm").value.trim() !== id) {
    out.className = "error";
    out.textContent = "Type the candidate's id exactly to confirm the erasure.";
    return;
  }
  await api(`/candidates/${encodeURIComponent(id)}`, { method: "DELETE" });
  out.className = "ok";
  out.textContent = `Candidate ${id} was erased.`;
  await exportPerson(id);
}

// Wiring.

function on(selector, event, handler) {
  $(selector).addEventListener(event, async (e) => {
    e.preventDefault();
    try {
      await handler(e);
    } catch (error) {
      status(`Failed: ${error.message}`);
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  on("#signin-form", "submit", () => signIn($("#token").value));
  on("#sign-out", "click", signOut);
  for (const b of document.querySelectorAll("#nav [data-view]")) {
    b.addEventListener("click", () => show(b.dataset.view));
  }
  on("#aggregate-form", "submit", () => openAggregate($("#aggregate-type").value, $("#aggregate-id").value.trim()));
  on("#version", "change", () => openAggregate(opened.type, opened.id, $("#version").value));
  on("#run-verify", "click", runVerify);
  on("#wallet-form", "submit", () => showWallet($("#wallet-id").value.trim()));
  on("#run-reconcile", "click", runReconcile);
  on("#person-form", "submit", () => exportPerson($("#person-id").value.trim()));
  on("#erase-form", "submit", erasePerson);
  if (token) signIn(token);
});
