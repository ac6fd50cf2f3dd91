// A small bar chart drawn as inline SVG (createElementNS, no library): one bar
// per day, several series stacked. Every bar carries a <title> with its figures.

import { s } from "./dom.js";

const STEPS = 4;

/** A round step so that STEPS of them cover `value` (tokens: whole numbers). */
function niceStep(value, whole) {
  if (!(value > 0)) return whole ? 1 : 0.25;
  const raw = value / STEPS;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 2.5, 5, 10]) {
    const step = factor * power;
    if (step >= raw && (!whole || Number.isInteger(step))) return step;
  }
  return Math.max(1, 10 * power);
}

/** A tick's label: a few significant digits, never two ticks alike. */
export function tickLabel(value) {
  if (value === 0) return "0";
  if (Math.abs(value) >= 1000) return `${+(value / 1000).toPrecision(3)}k`;
  return String(+value.toPrecision(3));
}

/**
 * barChart({title, days: ["2026-12-01", …], series: [{label, cls, values: [..]}], format})
 * -> <svg>. Series stack in the order given.
 */
export function barChart({ title, days, series, format, whole = false, narrow = false }) {
  const width = narrow ? 360 : 640;
  const height = narrow ? 200 : 220;
  const pad = { top: 12, right: 8, bottom: 26, left: narrow ? 44 : 56 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const totals = days.map((_, i) => series.reduce((sum, serie) => sum + (serie.values[i] || 0), 0));
  const step = niceStep(Math.max(0, ...totals), whole);
  const max = step * STEPS;
  const y = (value) => pad.top + plotH - (value / max) * plotH;
  const slot = plotW / Math.max(days.length, 1);
  const barW = Math.max(2, Math.min(28, slot * 0.7));
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title, preserveAspectRatio: "xMidYMid meet" });
  svg.append(s("title", {}, title));

  for (let i = 0; i <= STEPS; i += 1) {
    const value = step * i;
    const lineY = y(value);
    svg.append(s("line", { x1: pad.left, x2: width - pad.right, y1: lineY, y2: lineY, class: i === 0 ? "axis" : "grid" }));
    svg.append(s("text", { x: pad.left - 6, y: lineY + 4, class: "tick", "text-anchor": "end" }, tickLabel(value)));
  }
  const labelEvery = Math.ceil(days.length / (narrow ? 5 : 10));
  days.forEach((day, i) => {
    const x = pad.left + slot * i + (slot - barW) / 2;
    let base = 0;
    const parts = [];
    for (const serie of series) {
      const value = serie.values[i] || 0;
      if (value > 0) {
        const top = y(base + value);
        parts.push(s("rect", { x, y: top, width: barW, height: Math.max(1, y(base) - top), class: `bar ${serie.cls}`, rx: 2 }));
      }
      base += value;
    }
    const text = `${day}: ${series.map((serie) => `${serie.label} ${format(serie.values[i] || 0)}`).join(", ")}`;
    // A full-height invisible band under each day, so the tooltip works on empty days too.
    svg.append(s("g", { class: "day" }, s("title", {}, text),
      s("rect", { x: pad.left + slot * i, y: pad.top, width: slot, height: plotH, class: "band" }), parts));
    if (i % labelEvery === 0) {
      svg.append(s("text", { x: x + barW / 2, y: height - 8, class: "tick", "text-anchor": "middle" }, day.slice(5)));
    }
  });
  return svg;
}

export function legend(series) {
  const list = document.createElement("ul");
  list.className = "legend";
  for (const serie of series) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch ${serie.cls}`;
    swatch.setAttribute("aria-hidden", "true");
    item.append(swatch, document.createTextNode(serie.label));
    list.append(item);
  }
  return list;
}
