// dydx-trader dashboard: renders the server's state (server-sent events) and
// sends the operator's controls. Every value is put in the page as text, never
// as HTML. Money arrives as exact decimal strings; numbers here are for display.
"use strict";

const $ = (id) => document.getElementById(id);
const UTC = { timeZone: "UTC" };

function num(s) { return s === null || s === undefined ? null : Number(s); }
function fixed(s, digits) {
  const v = num(s);
  return v === null ? "–" : v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
function usdc(s) { return s === null || s === undefined ? "–" : fixed(s, 2); }
function pct(fraction, digits = 1) { return fraction === null || fraction === undefined ? "–" : `${fixed(num(fraction) * 100, digits)} %`; }
function times(s) { return s === null || s === undefined ? "–" : `${fixed(s, 2)}x`; }
function plain(s) {
  if (s === null || s === undefined) return "–";
  const v = num(s);
  return Math.abs(v) >= 1000 ? fixed(s, 2) : String(Number(v.toPrecision(8)));
}
function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return `${d.toLocaleDateString("sv-SE", UTC)} ${d.toLocaleTimeString("en-GB", { ...UTC, hour: "2-digit", minute: "2-digit" })}`;
}
function signClass(s) { const v = num(s); return v > 0 ? "pos" : v < 0 ? "neg" : ""; }

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}
function fillTable(id, rows, columns, empty, decorate) {
  const body = $(id).tBodies[0];
  const fresh = document.createDocumentFragment();
  if (!rows.length) {
    const tr = document.createElement("tr");
    tr.className = "empty";
    const td = cell(empty);
    td.colSpan = $(id).tHead.rows[0].cells.length;
    tr.appendChild(td);
    fresh.appendChild(tr);
  }
  for (const row of rows) {
    const tr = document.createElement("tr");
    for (const [value, cls] of columns(row)) tr.appendChild(cell(value, cls));
    fresh.appendChild(tr);
    if (decorate) decorate(tr, row, fresh);
  }
  body.replaceChildren(fresh);
}

// -- state --------------------------------------------------------------------------------

let lastSampleAt = null;
let followSession = true;
const openArithmetic = new Set();

function render(state) {
  if (state.error) { $("link").textContent = state.error; return; }
  $("mode").textContent = state.mode === "paper" ? "paper (devnet)" : `live on ${state.mode}`;
  $("clock").textContent = `${state.mode === "paper" ? "market time" : "time"} ${when(state.now)} UTC`;
  renderTradingState(state.trading_state, state.starting, state.trader_failure);
  renderAccount(state.account, state.in_flight.length);
  renderReport(state.report);
  renderPositions(state.account ? state.account.positions : []);
  fillTable("orders", state.in_flight, (o) => [
    [String(o.client_id)], [o.market], [o.side], [plain(o.size), "n"], [plain(o.filled), "n"],
    [`${o.time_in_force}${o.reduce_only ? " reduce-only" : ""}`], [o.state], [o.last_reason],
  ], "no order in flight");
  fillTable("fills", state.fills, (f) => [
    [when(f.at)], [f.market], [f.side], [plain(f.size), "n"], [plain(f.price), "n"],
    [usdc(f.fee), "n"], [f.strategy],
  ], "no fill yet");
  renderSignals(state.signals);
  if (state.latest_sample_at !== lastSampleAt) {
    lastSampleAt = state.latest_sample_at;
    if (followSession) scheduleSeries();
  }
}

function renderTradingState(ts, starting, failure) {
  const box = $("trading-state-box");
  box.className = `card state ${ts.state}`;
  $("trading-state").textContent = starting ? `${ts.state} (starting)` : ts.state;
  const why = ts.state === "ACTIVE" ? "" : ts.reason;
  const who = ts.since ? `set by ${ts.authority} via ${ts.source}, ${when(ts.since)}` : "";
  $("trading-reason").textContent = [failure, why, who].filter(Boolean).join(" · ");
}

function renderAccount(account, inFlight) {
  $("equity").textContent = account ? usdc(account.equity) : "–";
  $("free-collateral").textContent = account ? usdc(account.free_collateral) : "–";
  $("margin-usage").textContent = account ? pct(account.margin_usage) : "–";
  $("leverage").textContent = account ? times(account.leverage) : "–";
  $("in-flight-count").textContent = String(inFlight);
  $("account-as-of").textContent = !account ? "no balance read yet"
    : account.source === "sample" ? `as marked at ${when(account.as_of)}` : "fresh balance";
}

function renderPositions(positions) {
  fillTable("positions", positions, (p) => [
    [p.market], [p.side, p.side === "LONG" ? "pos" : "neg"], [plain(p.size), "n"],
    [plain(p.entry_price), "n"], [plain(p.oracle_price), "n"],
    [usdc(p.unrealized_pnl), `n ${signClass(p.unrealized_pnl)}`], [times(p.leverage), "n"],
    [plain(p.liquidation_price), "n"],
    [p.liquidation_distance_pct === null ? "–" : `${fixed(p.liquidation_distance_pct, 1)} %`, "n"],
    [p.protective_orders.length ? p.protective_orders.join(", ") : "none placed", "muted"],
  ], "flat: no position");
}

function renderReport(report) {
  const pnl = report.pnl, trips = report.round_trips;
  const figures = [
    ["PnL", usdc(pnl.total_usdc), signClass(pnl.total_usdc)],
    ["realized", usdc(pnl.realized_usdc), signClass(pnl.realized_usdc)],
    ["unrealized", usdc(pnl.unrealized_usdc), signClass(pnl.unrealized_usdc)],
    ["fees", usdc(pnl.fees_usdc), ""],
    ["funding", usdc(pnl.funding_usdc), signClass(pnl.funding_usdc)],
    ["return", pct(report.equity.return, 2), signClass(report.equity.return)],
    ["max drawdown", pct(report.drawdown.max, 2), ""],
    ["round trips", String(trips.count), ""],
    ["win rate", pct(trips.win_rate), ""],
    ["fills", String(report.fills), ""],
    ["max leverage", times(report.equity.max_leverage), ""],
  ];
  const box = document.createDocumentFragment();
  for (const [label, value, cls] of figures) {
    const div = document.createElement("div");
    const l = document.createElement("span"); l.className = "label"; l.textContent = label;
    const v = document.createElement("span"); v.className = `v ${cls}`; v.textContent = value;
    div.append(l, v);
    box.appendChild(div);
  }
  $("report").replaceChildren(box);
}

function renderSignals(signals) {
  fillTable("signals", signals, (s) => [
    [when(s.decided_at || s.at)], [s.strategy], [s.action], [s.market], [fixed(s.confidence, 2), "n"],
    [s.outcome, s.outcome], [s.reason, "reason"], [s.bound_by || "–"], [s.order_state || "–"],
  ], "no signal yet", (tr, s, fresh) => {
    tr.className = "decision";
    tr.dataset.signal = s.signal_id;
    tr.addEventListener("click", () => {
      if (openArithmetic.has(s.signal_id)) openArithmetic.delete(s.signal_id);
      else openArithmetic.add(s.signal_id);
      const next = tr.nextSibling;
      if (next && next.classList && next.classList.contains("arithmetic")) next.remove();
      else tr.after(arithmeticRow(s));
    });
    if (openArithmetic.has(s.signal_id)) fresh.appendChild(arithmeticRow(s));
  });
}

function arithmeticRow(s) {
  const tr = document.createElement("tr");
  tr.className = "arithmetic";
  const td = document.createElement("td");
  td.colSpan = 9;
  const inner = document.createElement("table");
  const lines = s.arithmetic.length ? s.arithmetic : [["", "no arithmetic (refused before sizing)"]];
  for (const [label, value] of lines) {
    const row = document.createElement("tr");
    row.append(cell(label, "muted"), cell(value));
    inner.appendChild(row);
  }
  td.appendChild(inner);
  tr.appendChild(td);
  return tr;
}

// -- charts -------------------------------------------------------------------------------

let equityChart = null, leverageChart = null, seriesTimer = null;

function chartWidth(id) { return Math.max(300, $(id).clientWidth - 4); }
function axis(stroke, scale, side, format) {
  return { scale, side, stroke: "#8593a3", grid: { stroke: "#26313d" }, ticks: { stroke: "#26313d" },
           values: (u, vals) => vals.map(format), size: 70 };
}

function drawCharts(data) {
  const t = data.t, eq = data.equity.map(num), dd = data.drawdown.map((d) => -100 * num(d));
  const lev = data.leverage.map(num), mu = data.margin_usage.map((m) => 100 * num(m));
  const time = { stroke: "#8593a3", grid: { stroke: "#26313d" }, ticks: { stroke: "#26313d" } };
  if (!equityChart) {
    equityChart = new uPlot({
      width: chartWidth("equity-chart"), height: 240, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      scales: { x: { time: true }, usdc: {}, dd: { range: (u, min) => [Math.min(min, -1), 0] } },
      series: [{}, { label: "equity (USDC)", scale: "usdc", stroke: "#58a6ff", width: 2 },
               { label: "drawdown (%)", scale: "dd", stroke: "#f85149", fill: "rgba(248,81,73,0.15)" }],
      axes: [time, axis("#58a6ff", "usdc", 3, (v) => v.toLocaleString("en-US")),
             axis("#f85149", "dd", 1, (v) => `${v.toFixed(1)}%`)],
    }, [t, eq, dd], $("equity-chart"));
    leverageChart = new uPlot({
      width: chartWidth("leverage-chart"), height: 180, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      scales: { x: { time: true }, lev: { range: (u, min, max) => [0, Math.max(max, 1)] }, mu: { range: [0, 100] } },
      series: [{}, { label: "leverage (x)", scale: "lev", stroke: "#d29922", width: 2 },
               { label: "margin usage (%)", scale: "mu", stroke: "#a371f7" }],
      axes: [time, axis("#d29922", "lev", 3, (v) => `${v.toFixed(2)}x`),
             axis("#a371f7", "mu", 1, (v) => `${v.toFixed(0)}%`)],
    }, [t, lev, mu], $("leverage-chart"));
  } else {
    equityChart.setData([t, eq, dd]);
    leverageChart.setData([t, lev, mu]);
  }
}

function windowQuery() {
  const q = new URLSearchParams();
  for (const id of ["from", "to"]) if ($(id).value) q.set(id, `${$(id).value}Z`);
  return q.toString();
}

// The token, once typed in, goes with every request: off loopback the views need it too.
function authorized(headers = {}) {
  const token = $("token").value.trim();
  return token ? { ...headers, Authorization: `Bearer ${token}` } : headers;
}

async function loadSeries() {
  seriesTimer = null;
  try {
    const answer = await fetch(`/api/series?${followSession ? "" : windowQuery()}`,
                               { cache: "no-store", headers: authorized() });
    if (!answer.ok) return;
    drawCharts(await answer.json());
  } catch (_) { /* the stream's status shows a lost server */ }
}
function scheduleSeries() { if (!seriesTimer) seriesTimer = setTimeout(loadSeries, 300); }

$("window-apply").addEventListener("click", () => { followSession = false; loadSeries(); });
$("window-session").addEventListener("click", () => {
  followSession = true; $("from").value = ""; $("to").value = ""; loadSeries();
});
window.addEventListener("resize", () => {
  if (equityChart) equityChart.setSize({ width: chartWidth("equity-chart"), height: 240 });
  if (leverageChart) leverageChart.setSize({ width: chartWidth("leverage-chart"), height: 180 });
});

// -- controls -------------------------------------------------------------------------------

async function control(state) {
  const result = $("control-result");
  const headers = authorized({ "Content-Type": "application/json" });
  result.className = "small muted";
  result.textContent = `sending ${state}…`;
  try {
    const answer = await fetch("/api/trading-state", {
      method: "POST", headers, credentials: "omit", cache: "no-store",
      body: JSON.stringify({ state, reason: $("reason").value }),
    });
    const body = await answer.json();
    if (answer.ok) {
      result.className = "small done";
      result.textContent = `trading state is ${body.state} (${body.reason})`;
    } else {
      result.className = "small refused";
      result.textContent = `refused (${answer.status}): ${body.error}`;
    }
  } catch (_) {
    result.className = "small refused";
    result.textContent = "the dashboard's server did not answer";
  }
}
for (const id of ["halt", "reduce", "resume"]) {
  $(id).addEventListener("click", () => control($(id).dataset.state));
}

// -- live updates ---------------------------------------------------------------------------

// Server-sent events read over fetch (EventSource cannot send the token).
function link(text, on) { $("link").textContent = text; $("link").className = `badge ${on ? "on" : "off"}`; }

async function follow() {
  const answer = await fetch("/api/events", { cache: "no-store", headers: authorized() });
  if (answer.status === 401) { link("enter the token to see this dashboard", false); return; }
  if (!answer.ok || !answer.body) { link("reconnecting", false); return; }
  link("live", true);
  const reader = answer.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
      if (block.startsWith("event: state") && data.length) render(JSON.parse(data.join("\n")));
    }
  }
  link("reconnecting", false);
}

async function connect() {
  for (;;) {
    try { await follow(); } catch (_) { link("reconnecting", false); }
    await new Promise((resume) => setTimeout(resume, 2000));
  }
}
connect();
