// Shared pieces of every page: loading and error states, empty states,
// badges, tables that turn into cards on a phone, form fields, formatting.

import { h, uid } from "./dom.js";

// ---- formatting -------------------------------------------------------------

const integer = new Intl.NumberFormat("en-US");

export function fmtInt(value) {
  return value === null || value === undefined ? "—" : integer.format(value);
}

/** Money and credits: exact-looking, up to 6 decimals, never rounded to 0 silently. */
export function fmtAmount(value, { prefix = "", digits = 6 } = {}) {
  if (value === null || value === undefined) return "—";
  const number = Number(value);
  const text = number.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: digits });
  return `${prefix}${text}`;
}

export const fmtUsd = (value, digits = 6) => fmtAmount(value, { prefix: "$", digits });
export const fmtCredits = (value, digits = 4) => fmtAmount(value, { digits });

/** Tokens: 1,000,000 → "1M", 128000 → "128k". */
export function fmtTokens(value) {
  if (value === null || value === undefined) return "—";
  if (value >= 1_000_000) return `${+(value / 1_000_000).toFixed(2)}M`;
  if (value >= 1_000) return `${+(value / 1_000).toFixed(1)}k`;
  return String(value);
}

export function fmtDateTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString("en-GB", { timeZone: "UTC", dateStyle: "medium", timeStyle: "short" }) + " UTC";
}

export function fmtDate(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleDateString("en-GB", { timeZone: "UTC", dateStyle: "medium" });
}

// ---- states -----------------------------------------------------------------

export function loading(text = "Loading…") {
  return h("div", { class: "state loading", role: "status", "aria-live": "polite" },
    h("span", { class: "spinner", "aria-hidden": "true" }), h("span", {}, text));
}

/** Every API error, shown with the gateway's own message (and its code). */
export function errorBox(error, { title = "Something went wrong", retry } = {}) {
  return h("div", { class: "alert alert-error", role: "alert" },
    h("p", { class: "alert-title" }, title),
    h("p", {}, error.message || String(error)),
    error.code ? h("p", { class: "alert-code" }, `Error code: ${error.code}${error.status ? ` (HTTP ${error.status})` : ""}`) : null,
    retry ? h("button", { type: "button", class: "btn btn-secondary", onclick: retry }, "Try again") : null);
}

export function needsAdmin(what, error) {
  return h("div", { class: "state needs-admin", role: "alert" },
    h("h2", {}, "This page needs an admin token"),
    h("p", {}, `${what} is for tenant admins. The token you signed in with does not have the admin scope, so the gateway refused it.`),
    error ? h("p", { class: "muted" }, `The gateway said: ${error.message}`) : null,
    h("p", {}, "Sign out and sign in with a token created with ",
      h("code", {}, "modelgate token create --tenant … --scope admin"), "."));
}

export function notAvailable(what) {
  return h("div", { class: "state empty" },
    h("h2", {}, `${what} is not available on this gateway`),
    h("p", {}, "The gateway answered that this API does not exist. Upgrade the gateway to use this page."));
}

export function emptyState(title, text, action) {
  return h("div", { class: "state empty" }, h("h2", {}, title), h("p", {}, text), action || null);
}

// ---- small pieces -----------------------------------------------------------

export function badge(text, kind = "neutral", title) {
  return h("span", { class: `badge badge-${kind}`, title }, text);
}

export function button(text, onclick, { kind = "secondary", type = "button", label, disabled } = {}) {
  return h("button", { type, class: `btn btn-${kind}`, onclick, "aria-label": label, disabled }, text);
}

/**
 * A table whose rows become labelled cards on narrow screens (app.css):
 * columns = [{label, cell: (row) => node|text, class}].
 */
export function table({ caption, columns, rows, rowClass }) {
  return h("div", { class: "table-wrap" },
    h("table", { class: "table" },
      caption ? h("caption", { class: "sr-only" }, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((col) => h("th", { scope: "col", class: col.class }, col.label)))),
      h("tbody", {}, rows.map((row) => h("tr", { class: rowClass ? rowClass(row) : undefined },
        columns.map((col) => h("td", { class: col.class, "data-label": col.label }, col.cell(row))))))));
}

/** A labelled form field; `control` is an input, select or textarea without an id. */
export function field(labelText, control, { hint, wide } = {}) {
  const id = control.id || uid("field");
  control.id = id;
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: ["field", wide && "field-wide"] }, h("label", { for: id }, labelText), control, hintEl);
}

export function checkboxField(labelText, control, hint) {
  const id = control.id || uid("check");
  control.id = id;
  return h("div", { class: "field field-check" }, control, h("label", { for: id }, labelText),
    hint ? h("p", { class: "hint" }, hint) : null);
}

/**
 * Run a page's loader with a loading state in `container`; errors become the
 * right message: 403 → needs admin, a missing API → not available, others →
 * the gateway's message with a retry button.
 */
export async function guard(container, what, load) {
  container.replaceChildren(loading());
  container.setAttribute("aria-busy", "true");
  try {
    await load();
  } catch (error) {
    if (error && error.status === 401) return; // the app is back at the token prompt
    if (error && error.needsAdmin) container.replaceChildren(needsAdmin(what, error));
    else if (error && error.missingEndpoint) container.replaceChildren(notAvailable(what));
    else container.replaceChildren(errorBox(error, { title: `${what} could not be loaded`, retry: () => guard(container, what, load) }));
  } finally {
    container.removeAttribute("aria-busy");
  }
}

/** A short-lived message in the page's live region ("Key for OpenAI saved."). */
export function flash(text, kind = "success") {
  const region = document.getElementById("flash");
  if (!region) return;
  const note = h("div", { class: `flash flash-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  region.replaceChildren(note);
  setTimeout(() => { if (note.isConnected) note.remove(); }, 6000);
}

export function pageHeader(title, intro, ...actions) {
  return h("div", { class: "page-header" },
    h("div", {}, h("h1", {}, title), intro ? h("p", { class: "page-intro" }, intro) : null),
    actions.length ? h("div", { class: "page-actions" }, actions) : null);
}

/** The key badge of a provider or model: BYOK, Hosted, or the "no key" flag. */
export function keyBadge(source) {
  if (source === "byok") return badge("BYOK", "success", "Runs on your own key");
  if (source === "hosted") return badge("Hosted", "info", "Runs on the platform's key, billed in credits");
  return badge("no key", "warning", "No key for this provider: calls fail until one is set");
}
