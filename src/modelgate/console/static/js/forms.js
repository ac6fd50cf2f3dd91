// Form pieces shared by the configs and groups pages: a model picker fed by
// the catalog, number fields that send null when empty, inline delete confirms.

import { h } from "./dom.js";
import { button, errorBox } from "./ui.js";

/** A <select> of catalog models, one <optgroup> per provider; `current` is kept even if unlisted. */
export function modelSelect(catalog, current, { types } = {}) {
  const select = h("select", { required: true });
  select.append(h("option", { value: "" }, "Choose a model…"));
  let found = false;
  for (const group of catalog.groups) {
    const models = group.models.filter((m) => !types || types.includes(m.model_type || "chat_completion"));
    if (!models.length) continue;
    select.append(h("optgroup", { label: group.provider.label || group.provider.id },
      models.map((m) => {
        if (m.id === current) found = true;
        return h("option", { value: m.id }, `${m.label || m.id} (${m.id})${m.available ? "" : " · no key"}`);
      })));
  }
  if (current && !found) select.append(h("option", { value: current }, current));
  select.value = current || "";
  return select;
}

export function numberInput(value, { min, max } = {}) {
  return h("input", { type: "number", inputmode: "numeric", min, max, step: 1, value: value ?? "" });
}

/** The number in an input, or null when it is empty (the API then inherits). */
export function numberOrNull(input) {
  const text = input.value.trim();
  return text === "" ? null : Number(text);
}

export function textOrNull(input) {
  const text = input.value;
  return text.trim() === "" ? null : text;
}

/** Where a form shows the API's error, naming the field it blames. */
export function formProblem(slot, error, fields) {
  slot.replaceChildren(errorBox(error, { title: "Not saved" }));
  const blamed = error.param && fields[error.param.split(".")[0]];
  if (blamed) {
    blamed.setAttribute("aria-invalid", "true");
    blamed.focus();
  }
}

/** "Delete X? [Delete] [Cancel]" in place of a row's actions. */
export function deleteConfirm(what, onDelete, onCancel) {
  const problem = h("div", { "aria-live": "polite" });
  const remove = button("Delete", async () => {
    remove.disabled = true;
    try {
      await onDelete();
    } catch (error) {
      remove.disabled = false;
      if (error.status !== 401) problem.replaceChildren(errorBox(error, { title: "Not deleted" }));
    }
  }, { kind: "danger", label: `Delete ${what}` });
  setTimeout(() => remove.focus(), 0);
  return h("div", { class: "confirm" }, h("p", {}, `Delete ${what}? This cannot be undone.`), problem,
    h("div", { class: "form-actions" }, remove, button("Cancel", onCancel)));
}
