// Model configs (seed 003): a tenant's own name on top of a catalog model, with
// its own limits and system prompt. List, create, edit, delete.

import { del, patch, post } from "../api.js";
import { h, mount } from "../dom.js";
import { loadCatalog, loadOptional } from "../catalog.js";
import { deleteConfirm, formProblem, modelSelect, numberInput, numberOrNull, textOrNull } from "../forms.js";
import { badge, button, checkboxField, emptyState, field, flash, fmtDateTime, fmtTokens, guard, keyBadge, notAvailable, pageHeader, table } from "../ui.js";

export const title = "Model configs";

function configForm(catalog, config, onSaved, onCancel) {
  const editing = Boolean(config);
  const c = config || {};
  const inputs = {
    name: h("input", { type: "text", required: true, maxlength: 200, autocomplete: "off", value: c.name || "" }),
    base_model: modelSelect(catalog, c.base_model),
    description: h("textarea", { rows: 2, maxlength: 2000, value: c.description || "" }),
    context_window: numberInput(c.context_window, { min: 1, max: 2000000 }),
    max_tokens: numberInput(c.max_tokens, { min: 1, max: 200000 }),
    system_prompt: h("textarea", { rows: 5, maxlength: 50000, value: c.system_prompt || "" }),
    streaming: h("input", { type: "checkbox", checked: c.streaming !== false }),
    enabled: h("input", { type: "checkbox", checked: c.enabled !== false }),
  };
  const problem = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "btn btn-primary" }, editing ? "Save changes" : "Create config");
  const form = h("form", { class: "card form-card", novalidate: true, "aria-label": editing ? `Edit ${c.name}` : "New model config" },
    h("h2", {}, editing ? `Edit “${c.name}”` : "New model config"),
    h("div", { class: "form-grid" },
      field("Name", inputs.name, { hint: "What calls use as model. Unique among your configs and groups." }),
      field("Base model", inputs.base_model, { hint: "The catalog model that serves the calls." }),
      field("Context window (tokens)", inputs.context_window, { hint: "Empty: the base model's." }),
      field("Max output tokens", inputs.max_tokens, { hint: "Empty: the base model's. Calls may ask for less." }),
      field("Description", inputs.description, { wide: true }),
      field("System prompt", inputs.system_prompt, { wide: true, hint: "Sent first, as a system message, before each call's messages." }),
      checkboxField("Streaming allowed", inputs.streaming),
      checkboxField("Enabled", inputs.enabled, "A disabled config answers 404 to calls.")),
    problem,
    h("div", { class: "form-actions" }, save, button("Cancel", onCancel)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const input of Object.values(inputs)) input.removeAttribute("aria-invalid");
    const body = {
      name: inputs.name.value.trim(),
      base_model: inputs.base_model.value,
      description: textOrNull(inputs.description),
      context_window: numberOrNull(inputs.context_window),
      max_tokens: numberOrNull(inputs.max_tokens),
      system_prompt: textOrNull(inputs.system_prompt),
      streaming: inputs.streaming.checked,
      enabled: inputs.enabled.checked,
    };
    save.disabled = true;
    try {
      const saved = editing
        ? await patch(`/v1/tenant/model_configs/${encodeURIComponent(c.id)}`, body)
        : await post("/v1/tenant/model_configs", body);
      flash(editing ? `Config “${saved.name}” saved.` : `Config “${saved.name}” created.`);
      onSaved();
    } catch (error) {
      save.disabled = false;
      if (error.status === 401) return;
      if (error.status === 403) error.message = `${error.message} Creating and changing configs needs an admin token.`;
      formProblem(problem, error, inputs);
    }
  });
  setTimeout(() => inputs.name.focus(), 0);
  return form;
}

export function render(container) {
  const load = async () => {
    const [catalog, configs] = await Promise.all([loadCatalog(), loadOptional("/v1/tenant/model_configs")]);
    if (configs.missing) return mount(container, pageHeader(title), notAvailable("Model configs"));
    const sources = new Map(catalog.providers.map((p) => [p.id, p.configured ? "byok" : p.hosted ? "hosted" : null]));
    const formSlot = h("div");
    const reload = () => guard(container, "Model configs", load);
    const showForm = (config) => {
      mount(formSlot, configForm(catalog, config, reload, () => { formSlot.replaceChildren(); newButton.focus(); }));
      formSlot.scrollIntoView({ block: "nearest" });
    };
    const newButton = button("New config", () => showForm(null), { kind: "primary" });
    const actions = (config) => {
      const cell = h("span", { class: "row-actions" });
      const reset = () => mount(cell, edit, remove);
      const edit = button("Edit", () => showForm(config), { label: `Edit ${config.name}` });
      const remove = button("Delete", () => mount(cell, deleteConfirm(`“${config.name}”`, async () => {
        await del(`/v1/tenant/model_configs/${encodeURIComponent(config.id)}`);
        flash(`Config “${config.name}” deleted.`);
        reload();
      }, reset)), { kind: "ghost", label: `Delete ${config.name}` });
      reset();
      return cell;
    };
    const list = configs.items.length
      ? table({
        caption: "Your model configs",
        columns: [
          { label: "Name", cell: (c) => h("span", { class: "name-cell" }, h("strong", { class: "tenant-text" }, c.name),
            c.description ? h("span", { class: "muted block tenant-text" }, c.description) : null) },
          { label: "Base model", cell: (c) => h("span", {}, h("code", {}, c.base_model), " ", keyBadge(sources.get(c.provider) ?? null)) },
          { label: "Limits", cell: (c) => `${c.context_window ? fmtTokens(c.context_window) : "base"} context · ${c.max_tokens ? fmtTokens(c.max_tokens) : "base"} output` },
          { label: "Options", cell: (c) => h("span", { class: "chips" }, c.enabled ? badge("Enabled", "success") : badge("Disabled", "neutral"),
            c.streaming ? badge("Streaming", "neutral") : badge("No streaming", "neutral"), c.system_prompt ? badge("System prompt", "neutral") : null) },
          { label: "Updated", cell: (c) => fmtDateTime(c.updated_at) },
          { label: "Actions", class: "col-actions", cell: actions },
        ],
        rows: configs.items,
      })
      : emptyState("No model configs yet", "A config gives a catalog model your own name, limits and system prompt; calls then use that name as model. Create one with New config.");
    mount(container,
      pageHeader("Model configs", "Your own model names on top of catalog models, with their own limits and system prompt.", newButton),
      formSlot, h("div", { class: "card card-flush", id: "configs-list" }, list));
  };
  guard(container, "Model configs", load);
}
