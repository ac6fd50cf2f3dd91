// Audit log: key, settings, token, limits, config and group changes, newest
// first, 20 a page. "Older" follows the API's cursor (after = the last id
// seen); "Newer" goes back through the cursors already visited.

import { get } from "../api.js";
import { h, mount } from "../dom.js";
import { badge, button, emptyState, fmtDateTime, guard, pageHeader, table } from "../ui.js";

export const title = "Audit log";

const PAGE_SIZE = 20;
const ACTIONS = {
  "model_key.put": ["Provider key set", "info"],
  "model_key.delete": ["Provider key removed", "warning"],
  "hosted_keys.enable": ["Hosted keys turned on", "info"],
  "hosted_keys.disable": ["Hosted keys turned off", "warning"],
  "token.create": ["Token created", "info"],
  "token.revoke": ["Token revoked", "warning"],
  "limits.set": ["Limits changed", "neutral"],
  "model_config.create": ["Config created", "info"],
  "model_config.update": ["Config changed", "neutral"],
  "model_config.delete": ["Config deleted", "warning"],
  "model_group.create": ["Group created", "info"],
  "model_group.update": ["Group changed", "neutral"],
  "model_group.delete": ["Group deleted", "warning"],
  "model_group.member_add": ["Group member added", "neutral"],
  "model_group.member_remove": ["Group member removed", "neutral"],
};

function details(entry) {
  const parts = [];
  if (entry.base_url_origin) parts.push(h("span", { class: "block" }, "Endpoint: ", h("code", {}, entry.base_url_origin)));
  if (entry.base_url_changed) parts.push(h("span", { class: "block muted" }, "Where calls go changed"));
  if (entry.target_token_prefix) parts.push(h("span", { class: "block" }, "Token ", h("code", {}, entry.target_token_prefix)));
  return parts.length ? parts : h("span", { class: "muted" }, "—");
}

export function render(container) {
  const cursors = [null]; // cursors[i]: the `after` of page i
  let index = 0;
  const body = h("div");
  const load = async () => {
    const answer = await get("/v1/tenant/audit_log", { limit: PAGE_SIZE, after: cursors[index] });
    const entries = answer.data || [];
    const older = button("Older", () => {
      cursors[index + 1] = entries[entries.length - 1].id;
      index += 1;
      guard(body, "Audit log", load);
    }, { disabled: !answer.has_more, label: "Older entries" });
    const newer = button("Newer", () => { index -= 1; guard(body, "Audit log", load); }, { disabled: index === 0, label: "Newer entries" });
    if (!entries.length && index === 0) {
      return mount(body, emptyState("Nothing recorded yet", "Changes to provider keys, hosted keys, tokens, limits, configs and groups are recorded here. Add a key in Settings → Models to see the first entry."));
    }
    mount(body,
      h("div", { class: "card card-flush", id: "audit-list" },
        table({
          caption: "Audit log entries, newest first",
          columns: [
            { label: "#", cell: (e) => String(e.id), class: "col-num" },
            { label: "When", cell: (e) => fmtDateTime(e.created_at) },
            { label: "Action", cell: (e) => { const [text, kind] = ACTIONS[e.action] || [e.action, "neutral"]; return h("span", {}, badge(text, kind), h("code", { class: "muted block" }, e.action)); } },
            { label: "Provider", cell: (e) => e.provider || h("span", { class: "muted" }, "—") },
            { label: "By", cell: (e) => e.token_prefix ? h("code", {}, e.token_prefix) : h("span", { class: "muted" }, "Command line") },
            { label: "Details", cell: details },
            { label: "Request", cell: (e) => e.request_id ? h("code", { class: "small" }, e.request_id) : h("span", { class: "muted" }, "—") },
          ],
          rows: entries,
        })),
      h("nav", { class: "pager", "aria-label": "Audit log pages" },
        newer, h("span", { class: "muted", "aria-live": "polite" }, `Page ${index + 1}`), older));
  };
  mount(container, pageHeader("Audit log", "Every change to your keys, settings, tokens, limits, configs and groups, newest first."), body);
  guard(body, "Audit log", load);
}
