"use strict";
// The dashboard: hash routes over the read-only API, refreshed by its Server-Sent Events stream.

const main = document.getElementById("main");
const live = document.getElementById("live");
const charts = [];
let route = null;
let refreshTimer = null;
let jobFilter = "";
let bucket = 60;

const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

function tokens(wei) {
  if (wei === null || wei === undefined) return "–";
  const v = BigInt(wei), unit = 10n ** 18n;
  const whole = v / unit, frac = (v % unit).toString().padStart(18, "0").slice(0, 4).replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : `${whole}`;
}
const when = (s) => (s ? new Date(s * 1000).toLocaleString() : "–");
const short = (a) => (a ? `${a.slice(0, 6)}…${a.slice(-4)}` : "–");
const addr = (a) => (a ? `<a class="addr" href="#/provider/${esc(a)}" title="${esc(a)}">${esc(short(a))}</a>` : "–");
const jobLink = (id) => `<a href="#/job/${esc(id)}">#${esc(id)}</a>`;
const ZERO = /^0x0*$/;
const classId = (c) => `<span class="addr" title="${esc(c)}">${esc(c.slice(0, 10))}…</span>`;
const state = (s) => `<span class="state state-${esc(s)}">${esc(s)}</span>`;

async function api(path) {
  const res = await fetch(`/api/v1/${path}`, { headers: { Accept: "application/json" } });
  const body = await res.json();
  if (!res.ok) throw new Error(body.detail || `${res.status}`);
  return body;
}

function clearCharts() {
  while (charts.length) charts.pop().destroy();
}

// `pad`: seconds shown either side of the data, so one bucket is not stretched across years.
function chart(target, labels, series, data, pad) {
  const width = Math.max(260, target.clientWidth - 16);
  const xs = data[0], now = Date.now() / 1000;
  const first = xs.length ? xs[0] : now, last = xs.length ? xs[xs.length - 1] : now;
  const scales = { x: { time: true, auto: false, min: first - pad, max: last + pad } };
  const axes = [{}, { size: 60 }];
  if (series.length > 1) {
    scales.count = { range: (u, min, max) => [0, Math.max(1, max ?? 1)] };
    axes.push({ scale: "count", side: 1, size: 40, grid: { show: false } });
  }
  const opts = {
    width, height: 220, scales, axes,
    series: [{ label: labels[0], value: (u, v) => (v == null ? "–" : new Date(v * 1000).toLocaleString()) },
      ...series.map((s, i) => ({ label: labels[i + 1], stroke: s, width: 2, points: { show: true },
        scale: i === 1 ? "count" : "y" }))],
  };
  charts.push(new uPlot(opts, data, target));
}

function jobRows(items) {
  if (!items.length) return `<tr><td colspan="7" class="muted">No jobs yet.</td></tr>`;
  return items.map((j) => `<tr data-job="${j.job_id}"><td>${jobLink(j.job_id)}</td><td>${state(j.state)}</td>
    <td>${tokens(j.payment)}</td><td>${j.claimed}/${j.replicas}</td><td>${j.revealed}</td>
    <td>${addr(j.requester)}</td><td>${esc(when(j.created_at))}</td></tr>`).join("");
}

const jobTable = (caption, body) => `<div class="scroll"><table id="jobs-table"><caption>${caption}</caption>
  <thead><tr><th scope="col">Job</th><th scope="col">State</th><th scope="col">Payment</th><th scope="col">Claimed</th>
  <th scope="col">Revealed</th><th scope="col">Requester</th><th scope="col">Created</th></tr></thead>
  <tbody>${body}</tbody></table></div>`;

async function overview(first) {
  const [stats, jobs, prices] = await Promise.all([api("stats"), api("jobs?limit=15"), api(`prices?bucket=${bucket}`)]);
  const open = stats.jobs_by_state.claiming + stats.jobs_by_state.committing + stats.jobs_by_state.revealing;
  const median = stats.median_submit_to_settled_s;
  const cards = [["Jobs", stats.jobs_total], ["Open", open], ["Settled", stats.jobs_by_state.settled],
    ["Failed", stats.jobs_by_state.failed], ["Providers", stats.providers], ["Staked", tokens(stats.total_staked)],
    ["Slashed", tokens(stats.total_slashed)], ["Paid to providers", tokens(stats.total_paid)],
    ["Median submit → settled", median == null ? "–" : `${median.toFixed(0)} s`], ["Indexed block", stats.indexed_block ?? "–"]];
  const cardHtml = cards.map(([k, v]) => `<div><dt>${k}</dt><dd>${esc(v)}</dd></div>`).join("");
  if (first) {
    main.innerHTML = `<h2>Network overview</h2>
      <dl class="cards" id="counters" aria-live="polite"></dl>
      <div class="toolbar"><label for="bucket">Chart buckets</label>
        <select id="bucket"><option value="60">1 minute</option><option value="3600">1 hour</option><option value="86400">1 day</option></select></div>
      <div class="charts">
        <figure><figcaption id="settled-title">Settled jobs per hour</figcaption><div id="settled-chart" role="img" aria-labelledby="settled-title"></div></figure>
        <figure><figcaption id="price-title">Price per GPU-second (median, tokens) and jobs created</figcaption><div id="price-chart" role="img" aria-labelledby="price-title"></div></figure>
      </div>
      <div id="recent"></div>`;
    const select = document.getElementById("bucket");
    select.value = String(bucket);
    select.addEventListener("change", () => { bucket = Number(select.value); render(true); });
  }
  document.getElementById("counters").innerHTML = cardHtml;
  document.getElementById("recent").innerHTML = jobTable("Latest jobs (live)", jobRows(jobs.items));
  clearCharts();
  const hours = stats.settled_per_hour;
  chart(document.getElementById("settled-chart"), ["Hour", "Settled"], ["#116329"],
    [hours.map((h) => h.hour), hours.map((h) => h.count)], 3600);
  const pts = prices.points;
  chart(document.getElementById("price-chart"), ["Time", "Median price", "Jobs"], ["#0b57d0", "#a4001d"],
    [pts.map((p) => p.start), pts.map((p) => (p.price_median == null ? null : Number(BigInt(p.price_median)) / 1e18)), pts.map((p) => p.jobs)], bucket);
}

async function jobsView(first) {
  if (first) {
    main.innerHTML = `<h2>Jobs</h2><div class="toolbar"><label for="state">State</label>
      <select id="state"><option value="">any</option>${["claiming", "committing", "revealing", "settled", "failed", "cancelled", "expired"]
        .map((s) => `<option>${s}</option>`).join("")}</select></div><div id="list"></div>
      <p><button id="more" type="button" hidden>Load more</button></p>`;
    const select = document.getElementById("state");
    select.value = jobFilter;
    select.addEventListener("change", () => { jobFilter = select.value; render(true); });
  }
  const query = `jobs?limit=50${jobFilter ? `&state=${jobFilter}` : ""}`;
  const page = await api(query);
  document.getElementById("list").innerHTML = jobTable("Jobs, newest first (live)", jobRows(page.items));
  const more = document.getElementById("more");
  let cursor = page.next_cursor;
  more.hidden = !cursor;
  more.onclick = async () => {
    const next = await api(`${query}&cursor=${encodeURIComponent(cursor)}`);
    document.querySelector("#jobs-table tbody").insertAdjacentHTML("beforeend", jobRows(next.items));
    cursor = next.next_cursor;
    more.hidden = !cursor;
  };
}

function bitsApart(a, b) {
  let x = BigInt(a) ^ BigInt(b), n = 0;
  for (; x; x &= x - 1n) n++;
  return n;
}

function describe(e, j) {
  const a = e.args, who = addr(e.account);
  switch (e.name) {
    case "JobCreated": return `Created by ${who}, paying ${tokens(a.payment)} for ${a.replicas} replica(s), quorum ${a.quorum}, collateral ${tokens(a.collateral)}`;
    case "JobClaimed": return `${who} claimed slot ${a.slot}`;
    case "StakeLocked": return `${who} locked ${tokens(a.amount)} collateral`;
    case "JobAbandoned": return `${who} abandoned slot ${a.slot}; penalty ${tokens(a.penalty)} burned`;
    case "ResultCommitted": return `${who} committed <span class="addr">${esc(a.commitment.slice(0, 12))}…</span>`;
    case "ResultRevealed": return `${who} revealed digest <span class="addr">${esc(a.digest.slice(0, 12))}…</span>${
      a.fingerprint && !ZERO.test(a.fingerprint) ? `, fingerprint <span class="addr">${esc(a.fingerprint.slice(0, 12))}…</span>` : ""}`;
    case "JobVerificationSet": return `Verification ${a.verification === 1 ? `tolerant (≤ ${a.tolerance} bits)` : "exact"}${
      ZERO.test(a.deviceClass) ? "" : `, class ${classId(a.deviceClass)}`}, re-run reserve ${tokens(a.reserve)}`;
    case "JobClassFixed": return `The first claim fixed the device class to ${classId(a.deviceClass)}`;
    case "JobEscalated": return `<strong>Round 1 disagreed: re-run by slots ${a.firstSlot}–${a.firstSlot + a.slots - 1}</strong>`;
    case "RerunUnfilled": return `The re-run did not fill (${a.claimed} claimed): round 1 decided by its vote, reserve refunded`;
    case "RerunPaid": return `Re-run paid: ${a.winners} slot(s) ${tokens(a.rewardPerWinner)} each; ${tokens(a.refund)} of the reserve refunded`;
    case "JobSettled": {
      // rewardPerWinner is round 1's share; a re-run's winners were paid from the reserve (RerunPaid).
      const rerun = j.escalation?.winners ?? 0;
      const paid = rerun ? `${a.winners - rerun} of round 1 paid ${tokens(a.rewardPerWinner)} each, ${rerun} of the re-run paid from the reserve`
        : `paid ${tokens(a.rewardPerWinner)} each`;
      return `Settled: ${a.winners} winner(s), ${paid}; ${tokens(a.burned)} burned; ${addr(a.settler)} tipped ${tokens(a.tip)}`;
    }
    case "JobFailed": return `Failed (${a.reason === 0 ? "UnderClaimed" : "NoQuorum"}): ${tokens(a.burned)} burned, ${tokens(a.paidPerRevealer)} per revealer, ${tokens(a.refund)} refunded`;
    case "StakeSlashed": return `<strong>${who} slashed ${tokens(a.amount)}</strong>`;
    case "StakeUnlocked": return `${who} collateral ${tokens(a.amount)} unlocked`;
    case "JobCancelled": return "Cancelled by the requester; payment refunded";
    case "JobExpired": return "Expired unclaimed; payment refunded";
    default: return esc(e.name);
  }
}

async function jobView(id) {
  const j = await api(`jobs/${encodeURIComponent(id)}`);
  const tolerant = j.verification === "tolerant";
  // A tolerant slot's distance from the first paid slot's fingerprint: the agreeing group's is small.
  const reference = j.slots.find((s) => s.outcome === "paid" && s.fingerprint)?.fingerprint;
  const apart = (fp) => (fp && reference ? `${bitsApart(fp, reference)}` : "–");
  const slots = j.slots.map((s) => `<tr data-round="${s.round}"><td>${s.slot}</td><td>${s.round}</td><td>${addr(s.provider)}</td>
    <td><span class="outcome outcome-${esc(s.outcome)}">${esc(s.outcome)}</span></td><td>${tokens(s.collateral)}</td>
    <td>${tokens(s.reward)}</td><td>${tokens(s.slashed)}</td>
    <td class="addr">${s.digest ? esc(s.digest.slice(0, 12)) + "…" : "–"}</td>${
      tolerant ? `<td class="addr" title="${esc(s.fingerprint ?? "")}">${s.fingerprint ? esc(s.fingerprint.slice(0, 12)) + "…" : "–"}</td>
      <td class="apart">${apart(s.fingerprint)}</td>` : ""}</tr>`).join("");
  const verification = tolerant ? `tolerant: fingerprints within ${j.tolerance} bits match`
    : `exact: digests must be equal${j.device_class ? `, class ${classId(j.device_class)}` : ""}`;
  const x = j.escalation;
  const rerun = !x ? (j.escalated ? "drawn" : "–") : `slots ${x.first_slot}–${x.first_slot + x.slots - 1}: ${
    x.outcome === "paid" ? `decided the job; ${x.winners} slot(s) paid ${tokens(x.reward_per_winner)} each, ${tokens(x.refund)} refunded`
    : x.outcome === "unfilled" ? "never filled; round 1 decided by its vote, reserve refunded"
    : `running (claims until ${esc(when(x.claim_deadline))})`}`;
  main.innerHTML = `<h2>Job #${esc(j.job_id)} ${state(j.state)}</h2>
    <dl class="facts">
      <dt>Requester</dt><dd>${addr(j.requester)}</dd>
      <dt>Payment</dt><dd>${tokens(j.payment)} (fee ${j.fee_bps / 100}%)</dd>
      <dt>Replicas / quorum</dt><dd>${j.replicas} / ${j.quorum}</dd>
      <dt>Collateral per slot</dt><dd>${tokens(j.collateral)}</dd>
      <dt>Verification</dt><dd id="verification">${verification}</dd>
      <dt>Re-run reserve</dt><dd>${BigInt(j.reserve) === 0n ? "none: the vote decides" : tokens(j.reserve)}</dd>
      <dt>Re-run</dt><dd id="escalation">${rerun}</dd>
      <dt>Hardware</dt><dd>${j.gpu_count} GPU × ${j.vram_mb} MiB, tier ≥ ${j.tier}, ≤ ${j.max_gpu_seconds} GPU-s</dd>
      <dt>Created</dt><dd>${esc(when(j.created_at))} (block ${j.created_block})</dd>
      <dt>Concluded</dt><dd>${esc(when(j.concluded_at))}</dd>
      <dt>Spec CID</dt><dd class="addr">${esc(j.spec_cids.raw)}</dd>
      <dt>Result CID</dt><dd class="addr" id="result-cid">${j.result_cids ? `${esc(j.result_cids.raw)} <span class="muted">(dag-pb: ${esc(j.result_cids.dag_pb)})</span>` : "–"}</dd>
    </dl>
    <div class="scroll"><table id="slots"><caption>Slots</caption><thead><tr><th scope="col">Slot</th><th scope="col">Round</th><th scope="col">Provider</th>
      <th scope="col">Outcome</th><th scope="col">Collateral</th><th scope="col">Paid</th><th scope="col">Slashed</th><th scope="col">Digest</th>${
      tolerant ? `<th scope="col">Fingerprint</th><th scope="col" title="Hamming distance from the first paid slot's fingerprint">Bits apart</th>` : ""}</tr></thead>
      <tbody>${slots || `<tr><td colspan="${tolerant ? 10 : 8}" class="muted">Not claimed yet.</td></tr>`}</tbody></table></div>
    <h3>Timeline</h3>
    <ol class="timeline" id="timeline">${j.timeline.map((e) => `<li><time datetime="${new Date(e.block_time * 1000).toISOString()}">${esc(when(e.block_time))}</time>
      — ${describe(e, j)} <span class="muted">(block ${e.block_number})</span></li>`).join("")}</ol>`;
}

async function providersView() {
  const page = await api("providers?limit=200");
  main.innerHTML = `<h2>Providers</h2><div class="scroll"><table><caption>Registered providers</caption><thead><tr>
    <th scope="col">Address</th><th scope="col">Tier</th><th scope="col">GPUs</th><th scope="col">Staked</th>
    <th scope="col">Earned</th><th scope="col">Slashed</th><th scope="col">Jobs (paid / slashed)</th></tr></thead><tbody>
    ${page.items.map((p) => `<tr><td>${addr(p.address)}</td><td>${p.tier}</td><td>${p.gpu_count} × ${p.vram_mb} MiB</td>
      <td>${tokens(p.staked)}</td><td>${tokens(p.earned)}</td><td>${tokens(p.slashed)}</td>
      <td>${p.jobs} (${p.jobs_paid} / ${p.jobs_slashed})</td></tr>`).join("") || `<tr><td colspan="7" class="muted">None registered.</td></tr>`}
    </tbody></table></div>`;
}

async function providerView(address) {
  const p = await api(`providers/${encodeURIComponent(address)}`);
  main.innerHTML = `<h2>${p.registered ? "Provider" : "Account"} <span class="addr">${esc(p.address)}</span></h2>
    <dl class="facts">
      <dt>Hardware</dt><dd>${p.gpu_count} GPU × ${p.vram_mb} MiB, tier ${p.tier}</dd>
      <dt>Asking price</dt><dd>${tokens(p.price_per_gpu_second)} per GPU-second</dd>
      <dt>Staked (locked)</dt><dd>${tokens(p.staked)} (${tokens(p.locked)})</dd>
      <dt>Unstaking</dt><dd>${tokens(p.unstaking)}</dd>
      <dt>Earned</dt><dd>${tokens(p.earned)}</dd>
      <dt>Claimable</dt><dd>${tokens(p.claimable)}</dd>
      <dt>Slashed</dt><dd>${tokens(p.slashed)}</dd>
      <dt>Jobs</dt><dd>${p.jobs} (${p.jobs_paid} paid, ${p.jobs_slashed} slashed)</dd>
    </dl>
    <div class="scroll"><table><caption>History</caption><thead><tr><th scope="col">Job</th><th scope="col">Slot</th><th scope="col">Job state</th>
      <th scope="col">Outcome</th><th scope="col">Paid</th><th scope="col">Slashed</th></tr></thead><tbody>
      ${p.history.map((h) => `<tr><td>${jobLink(h.job_id)}</td><td>${h.slot}</td><td>${state(h.state)}</td>
        <td><span class="outcome outcome-${esc(h.outcome)}">${esc(h.outcome)}</span></td><td>${tokens(h.reward)}</td><td>${tokens(h.slashed)}</td></tr>`).join("")
        || `<tr><td colspan="6" class="muted">No jobs yet.</td></tr>`}</tbody></table></div>`;
}

async function searchView(q) {
  const r = await api(`search?q=${encodeURIComponent(q)}`);
  if (r.hits.length === 1) { location.hash = r.hits[0].url; return; }
  main.innerHTML = `<h2>Search: ${esc(q)}</h2>${r.hits.length ? `<ul>${r.hits.map((h) => `<li><a href="${esc(h.url)}">${esc(h.kind)} ${esc(h.id)}</a> <span class="muted">(${esc(h.why)})</span></li>`).join("")}</ul>`
    : `<p>Nothing matches. Try a job id, a 0x address or a CID.</p>`}`;
}

async function render(first) {
  const [, view, arg] = (location.hash || "#/").split("/");
  try {
    if (!view) await overview(first);
    else if (view === "jobs") await jobsView(first);
    else if (view === "job") await jobView(arg);
    else if (view === "providers") await providersView();
    else if (view === "provider") await providerView(arg);
    else if (view === "search") await searchView(decodeURIComponent(arg || ""));
    else main.innerHTML = `<h2>Not found</h2><p><a href="#/">Back to the overview</a></p>`;
  } catch (err) {
    clearCharts();
    main.innerHTML = `<h2>Not available</h2><p role="alert">${esc(err.message)}</p>`;
  }
}

function navigate() {
  if (location.hash === route) return;
  // After an in-page navigation, keyboard and screen-reader users land on the new content.
  const moved = route !== null;
  route = location.hash;
  clearCharts();
  render(true).then(() => moved && main.focus({ preventScroll: true }));
}

document.getElementById("search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = document.getElementById("q").value.trim();
  if (q) location.hash = `#/search/${encodeURIComponent(q)}`;
});
window.addEventListener("hashchange", navigate);

const stream = new EventSource("/api/v1/stream");
stream.addEventListener("hello", () => { live.textContent = "live"; });
stream.addEventListener("chain", (ev) => {
  const e = JSON.parse(ev.data);
  live.textContent = `live · block ${e.block_number}: ${e.name}${e.job_id ? ` (job ${e.job_id})` : ""}`;
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => render(false), 300);
});
stream.addEventListener("reorg", () => { live.textContent = "live · chain reorganised, refreshed"; render(false); });
stream.onerror = () => { live.textContent = "reconnecting…"; };
navigate();
