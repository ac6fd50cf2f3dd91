// Settings → Models: which providers hold a key (BYOK / hosted / none), adding,
// replacing and removing the tenant's own keys, and the hosted-keys switch.
// The key field is a password field, emptied the moment the form is sent:
// after saving, the key is nowhere in the page.

import { del, get, patch, put } from "../api.js";
import { h, mount, uid } from "../dom.js";
import { providerSource } from "../catalog.js";
import { badge, button, errorBox, field, flash, fmtDateTime, guard, keyBadge, pageHeader } from "../ui.js";

export const title = "Settings → Models";

const SOURCE_TEXT = {
  byok: "Your own key (BYOK) is used for every call.",
  hosted: "No key of yours: calls use the platform's hosted key, billed in credits.",
  null: "No key: calls to this provider's models fail until you add one.",
};

function hostedSwitch(settings, onChanged) {
  const toggle = h("input", { type: "checkbox", role: "switch", id: "hosted-switch", checked: settings.hosted_keys_enabled });
  const state = h("span", { class: "switch-state", "aria-hidden": "true" }, settings.hosted_keys_enabled ? "On" : "Off");
  const problem = h("div", { "aria-live": "polite" });
  toggle.addEventListener("change", async () => {
    const wanted = toggle.checked;
    toggle.disabled = true;
    problem.replaceChildren();
    try {
      const answer = await patch("/v1/tenant/settings", { hosted_keys_enabled: wanted });
      flash(answer.hosted_keys_enabled ? "Hosted keys turned on." : "Hosted keys turned off: only your own keys are used.");
      onChanged();
    } catch (error) {
      toggle.checked = !wanted;
      toggle.disabled = false;
      if (error.status !== 401) problem.replaceChildren(errorBox(error, { title: "The switch could not be changed" }));
    }
  });
  return h("section", { class: "card", "aria-labelledby": "hosted-title" },
    h("h2", { id: "hosted-title" }, "Hosted keys"),
    h("div", { class: "switch-row" },
      h("label", { class: "switch", for: "hosted-switch" }, toggle, h("span", { class: "switch-track", "aria-hidden": "true" }),
        h("span", { class: "switch-label" }, "Use the platform's hosted keys")),
      state),
    h("p", { class: "muted" }, "When on, a provider without a key of yours runs on the platform's key and is billed in credits. When off, only your own keys are used."),
    problem);
}

function keyForm(provider, onDone, onCancel) {
  const keyInput = h("input", { type: "password", name: "api_key", autocomplete: "off", spellcheck: "false", required: true, placeholder: "Paste the provider's API key" });
  const baseInput = provider.base_url
    ? h("input", { type: "url", name: "base_url", autocomplete: "off", spellcheck: "false", placeholder: "Leave empty for the provider's own endpoint" })
    : null;
  const problem = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "btn btn-primary" }, "Save key");
  const form = h("form", { class: "key-form", novalidate: true, autocomplete: "off" },
    field(`API key for ${provider.label}`, keyInput, { hint: "Sent once to the gateway, stored encrypted, never shown again." }),
    baseInput ? field("Base URL (optional)", baseInput, { hint: "An OpenAI-compatible endpoint to call with this key instead of the provider's." }) : null,
    problem,
    h("div", { class: "form-actions" }, save, button("Cancel", onCancel)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // Take the key out of the field before anything else: it is never kept in the page.
    const apiKey = keyInput.value;
    keyInput.value = "";
    const baseUrl = baseInput ? baseInput.value.trim() : "";
    if (!apiKey.trim()) {
      problem.replaceChildren(errorBox({ message: "Enter the API key." }, { title: "Nothing to save" }));
      keyInput.focus();
      return;
    }
    save.disabled = true;
    save.textContent = "Saving…";
    try {
      await put(`/v1/tenant/model_keys/${encodeURIComponent(provider.id)}`, { api_key: apiKey, base_url: baseUrl || null });
      flash(`Key for ${provider.label} saved.`);
      onDone();
    } catch (error) {
      save.disabled = false;
      save.textContent = "Save key";
      if (error.status === 401) return;
      problem.replaceChildren(errorBox(error, { title: "The key was not saved. Enter it again after fixing this." }));
      (error.param === "base_url" && baseInput ? baseInput : keyInput).focus();
    }
  });
  setTimeout(() => keyInput.focus(), 0);
  return form;
}

function removeConfirm(provider, onDone, onCancel) {
  const problem = h("div", { "aria-live": "polite" });
  const remove = button("Remove key", async () => {
    remove.disabled = true;
    try {
      await del(`/v1/tenant/model_keys/${encodeURIComponent(provider.id)}`);
      flash(`Key for ${provider.label} removed.`);
      onDone();
    } catch (error) {
      remove.disabled = false;
      if (error.status !== 401) problem.replaceChildren(errorBox(error, { title: "The key was not removed" }));
    }
  }, { kind: "danger" });
  setTimeout(() => remove.focus(), 0);
  return h("div", { class: "confirm", role: "group", "aria-label": `Remove the key for ${provider.label}` },
    h("p", {}, `Remove your key for ${provider.label}? `, provider.hosted ? "Calls will use the platform's hosted key." : "Calls to its models will fail until a key is set."),
    problem, h("div", { class: "form-actions" }, remove, button("Cancel", onCancel)));
}

function providerCard(provider, stored, reload) {
  const source = providerSource(provider);
  const slot = h("div", { class: "provider-card-body" });
  const headingId = uid("prov");
  const actions = h("div", { class: "provider-actions" });
  const close = () => { slot.replaceChildren(); actions.hidden = false; };
  const open = (content) => { actions.hidden = true; slot.replaceChildren(content); };
  actions.append(
    button(provider.configured ? "Replace key" : "Add key", () => open(keyForm(provider, reload, () => { close(); addButton.focus(); })), { kind: "secondary", label: `${provider.configured ? "Replace" : "Add"} key for ${provider.label}` }),
    provider.configured ? button("Remove", () => open(removeConfirm(provider, reload, close)), { kind: "ghost", label: `Remove key for ${provider.label}` }) : "");
  const addButton = actions.firstChild;
  const endpoint = stored && stored.base_url
    ? h("span", {}, "Endpoint: ", h("code", {}, stored.base_url))
    : provider.base_url ? h("span", { class: "muted" }, "Accepts a custom endpoint") : null;
  const status = source === "byok" ? keyBadge("byok") : source === "hosted" ? keyBadge("hosted") : badge("None", "warning", "No key");
  return h("li", { class: "provider-card", dataset: { provider: provider.id }, "aria-labelledby": headingId },
    h("div", { class: "provider-card-title" }, h("h3", { id: headingId }, provider.label), h("code", { class: "muted" }, provider.id)),
    h("div", { class: "provider-card-info" },
      h("p", { class: "provider-card-text" }, status, h("span", { class: "muted" }, SOURCE_TEXT[source])),
      h("p", { class: "provider-card-meta" }, endpoint,
        stored && stored.updated_at ? h("span", { class: "muted" }, `Key updated ${fmtDateTime(stored.updated_at)}`) : null)),
    actions,
    slot);
}

export function render(container, ctx) {
  const load = async () => {
    const [models, keys, settings] = await Promise.all([
      get("/v1/tenant/models"), get("/v1/tenant/model_keys"), get("/v1/tenant/settings"),
    ]);
    const stored = new Map((keys.data || []).map((k) => [k.provider, k]));
    const providers = models.providers || [];
    const reload = () => guard(container, "Settings → Models", load);
    const counts = { byok: 0, hosted: 0, none: 0 };
    for (const p of providers) counts[providerSource(p) || "none"] += 1;
    mount(container,
      pageHeader("Settings → Models", "Which providers hold a key, and your own keys (BYOK). A key of yours always wins over the platform's hosted key."),
      hostedSwitch(settings, reload),
      h("section", { class: "card", "aria-labelledby": "providers-title" },
        h("div", { class: "card-head" }, h("h2", { id: "providers-title" }, "Providers"),
          h("p", { class: "muted" }, `${counts.byok} with your key · ${counts.hosted} hosted · ${counts.none} without a key`)),
        h("ul", { class: "provider-cards" }, providers.map((p) => providerCard(p, stored.get(p.id), reload)))));
  };
  guard(container, "Settings → Models", load);
}
