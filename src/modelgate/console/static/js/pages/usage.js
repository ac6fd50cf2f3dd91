// Usage: credits and tokens per day (SVG charts), totals, a table by model, and
// the month's limits with what is left. Only figures the API returned are shown;
// a day the API has no row for is a day without calls.

import { get } from "../api.js";
import { h, mount } from "../dom.js";
import { barChart, legend } from "../chart.js";
import { emptyState, field, fmtCredits, fmtInt, fmtTokens, fmtUsd, guard, pageHeader, table } from "../ui.js";

export const title = "Usage";

const PERIODS = {
  month: "This month",
  "7": "Last 7 days",
  "30": "Last 30 days",
  "90": "Last 90 days",
};
let period = "month";

const iso = (date) => date.toISOString().slice(0, 10);

function range(choice) {
  const today = new Date();
  const end = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()));
  const start = choice === "month"
    ? new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), 1))
    : new Date(end.getTime() - (Number(choice) - 1) * 86400000);
  const days = [];
  for (let t = start.getTime(); t <= end.getTime(); t += 86400000) days.push(iso(new Date(t)));
  return { start: iso(start), end: iso(end), days };
}

function totalsCards(totals) {
  const item = (label, value, note) => h("div", { class: "stat" }, h("span", { class: "stat-label" }, label), h("span", { class: "stat-value" }, value),
    note ? h("span", { class: "stat-note" }, note) : null);
  return h("div", { class: "stats", id: "usage-totals" },
    item("Requests", fmtInt(totals.requests), totals.errors ? `${fmtInt(totals.errors)} error${totals.errors === 1 ? "" : "s"}` : "no errors"),
    item("Input tokens", fmtTokens(totals.input_tokens), totals.cached_input_tokens ? `${fmtTokens(totals.cached_input_tokens)} cached` : null),
    item("Output tokens", fmtTokens(totals.output_tokens), totals.reasoning_tokens ? `${fmtTokens(totals.reasoning_tokens)} reasoning` : null),
    item("Cost (list price)", fmtUsd(totals.cost_usd, 6)),
    item("Credits", fmtCredits(totals.credits, 6), "hosted calls only"));
}

function limitsCard(limits) {
  const rate = (label, value, unit) => h("div", { class: "limit" }, h("dt", {}, label), h("dd", {}, value === null ? "Unlimited" : `${fmtInt(value)} ${unit}`));
  let credits;
  if (limits.monthly_credits === null) {
    credits = h("div", { class: "limit limit-wide" }, h("dt", {}, "Monthly credits"),
      h("dd", {}, `Unlimited · ${fmtCredits(limits.credits_used, 6)} used this month`));
  } else {
    const taken = Number(limits.credits_used) + Number(limits.credits_reserved);
    const left = Math.max(0, Number(limits.monthly_credits) - taken);
    const meter = h("progress", { max: limits.monthly_credits, value: Math.min(taken, Number(limits.monthly_credits)), "aria-label": "Monthly credits used" });
    credits = h("div", { class: "limit limit-wide" }, h("dt", {}, "Monthly credits"),
      h("dd", {}, h("span", { class: "limit-left" }, `${fmtCredits(left)} left`),
        h("span", { class: "muted" }, ` of ${fmtCredits(limits.monthly_credits)} · ${fmtCredits(limits.credits_used, 6)} used`,
          Number(limits.credits_reserved) ? ` · ${fmtCredits(limits.credits_reserved)} held by calls in flight` : ""),
        meter));
  }
  return h("section", { class: "card", "aria-labelledby": "limits-title", id: "usage-limits" },
    h("h2", { id: "limits-title" }, "This month's limits"),
    h("p", { class: "muted" }, `Counted from ${limits.period_start} (UTC). Limits are set by the platform operator.`),
    h("dl", { class: "limits" }, credits,
      rate("Requests per minute", limits.rpm, "requests"),
      rate("Tokens per minute", limits.tpm, "tokens"),
      rate("Concurrent calls", limits.concurrency, "calls")));
}

function chartsCard(days, byDay) {
  const rows = new Map(byDay.map((row) => [row.day, row]));
  const pick = (key) => days.map((day) => Number(rows.get(day)?.[key] || 0));
  const narrow = window.matchMedia("(max-width: 640px)").matches;
  const creditSeries = [{ label: "Credits", cls: "s-credits", values: pick("credits") }];
  const tokenSeries = [
    { label: "Input tokens", cls: "s-input", values: pick("input_tokens") },
    { label: "Output tokens", cls: "s-output", values: pick("output_tokens") },
  ];
  const daily = table({
    caption: "Figures per day",
    columns: [
      { label: "Day", cell: (r) => r.day },
      { label: "Requests", cell: (r) => fmtInt(r.requests) },
      { label: "Input tokens", cell: (r) => fmtInt(r.input_tokens) },
      { label: "Output tokens", cell: (r) => fmtInt(r.output_tokens) },
      { label: "Credits", cell: (r) => fmtCredits(r.credits) },
    ],
    rows: [...byDay].sort((a, b) => (a.day < b.day ? 1 : -1)),
  });
  return h("section", { class: "card", "aria-labelledby": "chart-title" },
    h("h2", { id: "chart-title" }, "Credits and tokens per day"),
    h("div", { class: "charts" },
      h("figure", { class: "chart-box" }, h("figcaption", {}, "Credits"), barChart({ title: "Credits per day", days, series: creditSeries, format: (v) => fmtCredits(v, 6), narrow }), legend(creditSeries)),
      h("figure", { class: "chart-box" }, h("figcaption", {}, "Tokens"), barChart({ title: "Tokens per day", days, series: tokenSeries, format: (v) => fmtInt(v), whole: true, narrow }), legend(tokenSeries))),
    h("details", {}, h("summary", {}, "Figures per day"), daily));
}

function modelsCard(byModel) {
  const rows = [...byModel].sort((a, b) => Number(b.credits) - Number(a.credits) || b.requests - a.requests);
  return h("section", { class: "card card-flush", "aria-labelledby": "by-model-title", id: "usage-by-model" },
    h("h2", { id: "by-model-title", class: "card-title-pad" }, "By model"),
    table({
      caption: "Usage by model",
      columns: [
        { label: "Model", cell: (r) => h("code", { class: "tenant-text" }, r.model) },
        { label: "Requests", cell: (r) => fmtInt(r.requests) },
        { label: "Errors", cell: (r) => fmtInt(r.errors) },
        { label: "Input tokens", cell: (r) => fmtInt(r.input_tokens) },
        { label: "Output tokens", cell: (r) => fmtInt(r.output_tokens) },
        { label: "Cost (USD)", cell: (r) => fmtUsd(r.cost_usd) },
        { label: "Credits", cell: (r) => fmtCredits(r.credits, 6) },
      ],
      rows,
    }));
}

export function render(container) {
  const select = h("select", { id: "usage-period" }, Object.entries(PERIODS).map(([value, label]) => h("option", { value }, label)));
  select.value = period;
  const body = h("div");
  const load = async () => {
    const { start, end, days } = range(period);
    const [byDay, byModel, limits] = await Promise.all([
      get("/v1/tenant/usage", { start, end, group_by: "day" }),
      get("/v1/tenant/usage", { start, end, group_by: "model" }),
      get("/v1/tenant/limits"),
    ]);
    const totals = byDay.totals;
    mount(body,
      h("p", { class: "muted" }, start === end ? `${start} (UTC)` : `${start} to ${end} (UTC)`),
      totalsCards(totals),
      totals.requests
        ? [chartsCard(days, byDay.data || []), modelsCard(byModel.data || [])]
        : emptyState("No calls in this period", "Calls to /v1/chat/completions and /v1/embeddings appear here a few seconds after they end. Pick a model on the Models page and call it with a token that has the runs:write scope."),
      limitsCard(limits));
  };
  select.addEventListener("change", () => { period = select.value; guard(body, "Usage", load); });
  mount(container,
    pageHeader("Usage", "What your calls used: requests, tokens, list-price cost and credits (hosted keys only)."),
    h("div", { class: "toolbar" }, field("Period", select)),
    body);
  guard(body, "Usage", load);
}
