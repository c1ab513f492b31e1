// Etsy-Gen dashboard: plain JavaScript against the gateway's /v1 API (session cookie + CSRF header),
// with live job progress over a WebSocket and Server-Sent Events as the fallback.
"use strict";

const state = { csrf: sessionStorage.getItem("etsygen-csrf") || "", job: null, socket: null, events: null };
const $ = (selector) => document.querySelector(selector);

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (className) td.className = className;
  return td;
}

function badge(text) {
  const span = document.createElement("span");
  span.className = `badge ${text}`;
  span.textContent = text;
  return span;
}

async function api(path, options = {}) {
  const headers = { accept: "application/json", ...(options.headers || {}) };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.method && options.method !== "GET") headers["x-csrf-token"] = state.csrf;
  const response = await fetch(path, {
    ...options, headers, credentials: "same-origin",
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (response.status === 401) { showLogin(); throw new Error("please log in"); }
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new Error((data && (data.detail || data.title)) || response.statusText);
  return data;
}

function showLogin() {
  $("#login-view").hidden = false;
  $("#app-view").hidden = true;
  $("#logout").hidden = true;
  $("#who").textContent = "";
}

async function showApp() {
  const me = await api("/v1/auth/me");
  $("#who").textContent = `${me.email} (${me.role})`;
  $("#login-view").hidden = true;
  $("#app-view").hidden = false;
  $("#logout").hidden = false;
  await loadJobs();
  watchHealth();
}

// --- jobs ---------------------------------------------------------------------------------------------

async function loadJobs() {
  const page = await api("/v1/jobs?limit=50");
  const body = $("#jobs tbody");
  body.replaceChildren();
  for (const job of page.items) {
    const row = document.createElement("tr");
    row.dataset.jobId = job.id;
    row.append(cell(job.id.slice(0, 8)), document.createElement("td"),
      cell(`${job.keywords_finished}/${job.keyword_count}`), cell(new Date(job.created_at).toLocaleString()));
    row.children[1].append(badge(job.status));
    row.addEventListener("click", () => openJob(job.id));
    body.append(row);
  }
}

const WAITING_REASONS = {
  breaker_open: "a service it needs is failing (circuit breaker open)",
  daily_budget: "Etsy daily budget used up",
  rate_limited: "Etsy rate limit",
  retry_pending: "a retry not yet due",
  database_unavailable: "the database is unreachable",
  dependency_unavailable: "a service it needs is unavailable",
};

function waitingText(waiting) {
  const at = new Date(waiting.resume_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return `waiting: ${WAITING_REASONS[waiting.reason] || waiting.reason} — resumes about ${at}`;
}

const OUTCOMES = {
  new_product: "new product",
  existing_product: "existing product",
  no_concept: "no concept",
  failed: "failed",
};

// What a keyword's generation ended with and why (a gate's or a guard's decision is not a failure). The
// reason starts with the outcome in words ("existing product <id> (...)", "no concept: ..."), so it is shown
// instead of the label when it does.
function outcomeCell(k) {
  const label = OUTCOMES[k.outcome] || k.outcome || "";
  const why = k.error || k.reason || "";
  const td = cell(why.startsWith(label) && why ? "" : label);
  td.className = "outcome";
  if (why) {
    const note = document.createElement("div");
    note.className = why.startsWith(label) ? "reason" : "reason muted";
    note.textContent = why;
    td.append(note);
  }
  if (k.existing_product_id) {
    const link = document.createElement("a");
    link.href = "#";
    link.textContent = "open the product";
    link.addEventListener("click", (event) => { event.preventDefault(); event.stopPropagation(); openTab("products"); });
    td.append(link);
  }
  return td;
}

function renderJob(detail) {
  $("#job-detail").hidden = false;
  $("#job-id").textContent = detail.job.id;
  const status = $("#job-status");
  status.textContent = detail.job.status;
  status.className = `badge ${detail.job.status}`;
  // Each keyword shows its own reason; the job's (its keywords' together, a cancellation's, a stall's) is
  // shown when the job did not simply succeed.
  $("#job-reason").textContent = detail.job.status === "succeeded" ? "" : detail.job.status_reason || "";
  const body = $("#job-keywords tbody");
  body.replaceChildren();
  for (const k of detail.keywords) {
    const row = document.createElement("tr");
    row.dataset.keyword = k.keyword;
    row.append(cell(k.keyword), cell(k.stages.scrape), cell(k.stages.analyze), cell(k.stages.generate),
      document.createElement("td"), outcomeCell(k));
    row.children[4].append(badge(k.status));
    if (k.waiting) {
      const note = document.createElement("div");
      note.className = "waiting";
      note.textContent = waitingText(k.waiting);
      note.title = k.waiting.detail;
      row.children[4].append(note);
    }
    body.append(row);
  }
}

async function openJob(jobId) {
  state.job = jobId;
  renderJob(await api(`/v1/jobs/${jobId}`));
  followJob(jobId);
}

function stopFollowing() {
  if (state.socket) { state.socket.onclose = null; state.socket.close(); state.socket = null; }
  if (state.events) { state.events.close(); state.events = null; }
}

function followJob(jobId) {
  stopFollowing();
  const refresh = async () => {
    if (state.job !== jobId) return;
    renderJob(await api(`/v1/jobs/${jobId}`));
    await loadJobs();
  };
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/v1/jobs/${jobId}/live`);
  state.socket = socket;
  let opened = false;
  socket.onopen = () => { opened = true; $("#job-live").textContent = "live (WebSocket)"; };
  socket.onmessage = () => { refresh(); };
  socket.onclose = () => {
    if (state.job !== jobId) return;
    if (!opened) { followWithEvents(jobId, refresh); return; }  // WebSocket unavailable: use SSE
    $("#job-live").textContent = "";
    refresh();
  };
}

function followWithEvents(jobId, refresh) {
  const events = new EventSource(`/v1/jobs/${jobId}/events`);
  state.events = events;
  $("#job-live").textContent = "live (server-sent events)";
  events.addEventListener("job", () => refresh());
  events.addEventListener("timeline", () => refresh());
  events.addEventListener("end", () => { refresh(); events.close(); $("#job-live").textContent = ""; });
}

// --- trends and products ----------------------------------------------------------------------------

async function loadTrends() {
  const page = await api("/v1/trends?sort=-score&limit=50");
  const body = $("#trends tbody");
  body.replaceChildren();
  for (const t of page.items) {
    const row = document.createElement("tr");
    row.append(cell(t.keyword), cell(Number(t.score).toFixed(3)), cell(Number(t.confidence).toFixed(2)),
      document.createElement("td"), cell(t.runs), cell(new Date(t.created_at).toLocaleString()),
      cell(t.synthetic ? "synthetic" : "Etsy"));
    row.children[3].append(badge(t.risk));
    row.addEventListener("click", () => openTrend(t.id));
    body.append(row);
  }
}

async function openTrend(trendId) {
  const detail = await api(`/v1/trends/${encodeURIComponent(trendId)}`);
  $("#trend-detail").hidden = false;
  $("#trend-keyword").textContent = detail.trend.keyword;
  const relevance = detail.relevance;
  $("#relevance").textContent = relevance == null ? ""
    : relevance.status === "insufficient_data"
      ? `Insufficient data: ${relevance.reason}`
      : `${relevance.relevant_listings} of ${relevance.listings} listings ` +
        `(${Math.round(relevance.share * 100)} %) are about the keyword; only those are scored.`;
  const body = $("#factors tbody");
  body.replaceChildren();
  for (const f of detail.factors) {
    const row = document.createElement("tr");
    row.append(cell(f.name), cell(Number(f.value).toFixed(3)), cell(`${Math.round(f.weight * 100)} %`),
      cell(f.explanation ? `${f.explanation}${f.measured ? "" : " (estimate)"}` : f.sentence));
    body.append(row);
  }
  const list = $("#estimates");
  list.replaceChildren();
  for (const e of detail.estimates) {
    const item = document.createElement("li");
    item.textContent = `${e.name}: ${Math.round(e.range.low)}–${Math.round(e.range.high)} ${e.unit} ` +
      `(estimate; ${e.basis})`;
    list.append(item);
  }
  const runs = $("#trend-history tbody");
  runs.replaceChildren();
  for (const h of detail.history) {
    const row = document.createElement("tr");
    row.append(cell(new Date(h.created_at).toLocaleString()), cell(Number(h.score).toFixed(3)),
      cell(Number(h.confidence).toFixed(2)), document.createElement("td"));
    row.children[3].append(badge(h.risk));
    if (h.id === detail.trend.id) row.className = "current";
    row.addEventListener("click", () => openTrend(h.id));
    runs.append(row);
  }
  const m = detail.momentum;
  $("#momentum").textContent = m.status === "ok"
    ? `Momentum: sales ${(m.sales_change * 100).toFixed(0)} %/month, supply ${(m.supply_change * 100).toFixed(0)} %/month`
    : "Momentum: insufficient history";
}

async function loadProducts() {
  const page = await api("/v1/products?limit=50");
  const body = $("#products tbody");
  body.replaceChildren();
  for (const p of page.items) {
    const row = document.createElement("tr");
    row.append(cell(p.title), cell(p.keyword), cell(`${Number(p.price).toFixed(2)} ${p.currency}`), cell(p.status));
    body.append(row);
  }
}

// --- health -------------------------------------------------------------------------------------------

function watchHealth() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/v1/health/live-stream`);
  socket.onmessage = (message) => {
    const item = JSON.parse(message.data);
    const report = item.data || {};
    const score = report.score == null ? "?" : Number(report.score).toFixed(2);
    const el = $("#health");
    el.textContent = `health: ${report.status || "?"} (${score})`;
    el.className = `badge ${report.status === "ok" ? "ok" : "medium"}`;
  };
}

// --- wiring -------------------------------------------------------------------------------------------

async function openTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.tab === name);
  for (const body of document.querySelectorAll(".tab-body")) body.hidden = body.id !== `tab-${name}`;
  if (name === "trends") await loadTrends();
  if (name === "products") await loadProducts();
  if (name === "jobs") await loadJobs();
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    $("#login-error").textContent = "";
    try {
      const result = await api("/v1/auth/login", {
        method: "POST", body: { email: form.get("email"), password: form.get("password") },
      });
      state.csrf = result.csrf_token;
      sessionStorage.setItem("etsygen-csrf", state.csrf);
      await showApp();
    } catch (error) {
      $("#login-error").textContent = error.message;
    }
  });
  $("#logout").addEventListener("click", async () => {
    stopFollowing();
    await api("/v1/auth/logout", { method: "POST" }).catch(() => {});
    sessionStorage.removeItem("etsygen-csrf");
    showLogin();
  });
  $("#job-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const keywords = String(form.get("keywords")).split(/[\n,]/).map((k) => k.trim()).filter(Boolean);
    $("#job-error").textContent = "";
    try {
      const job = await api("/v1/jobs", {
        method: "POST",
        body: {
          keywords, listing_budget: Number(form.get("listing_budget")),
          generation: { concepts_per_niche: Number(form.get("concepts")), variants: form.get("variants") === "on" },
        },
      });
      event.target.reset();
      await loadJobs();
      await openJob(job.id);
    } catch (error) {
      $("#job-error").textContent = error.message;
    }
  });
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => openTab(tab.dataset.tab));
  }
  if (state.csrf) showApp().catch(showLogin); else showLogin();
});
