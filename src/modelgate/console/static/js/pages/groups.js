// Model groups (seed 004): one name that routes to several models, in order
// (fallback) or by weight (loadbalance). List, create, edit, delete.

import { del, patch, post } from "../api.js";
import { h, mount, uid } from "../dom.js";
import { loadCatalog, loadOptional } from "../catalog.js";
import { deleteConfirm, formProblem, textOrNull } from "../forms.js";
import { badge, button, emptyState, field, flash, fmtDateTime, guard, notAvailable, pageHeader, table } from "../ui.js";

export const title = "Model groups";

const MAX_MEMBERS = 10;
const STRATEGIES = { fallback: "Fallback: in order", loadbalance: "Load balance: by weight" };
const TYPES = { chat_completion: "Chat", embedding: "Embedding" };

function memberEditor(initial, listId) {
  const rows = h("ol", { class: "members" });
  const addButton = button("Add member", () => { addRow({ model: "", weight: 1 }); }, { kind: "secondary" });
  const sync = () => {
    const count = rows.children.length;
    addButton.disabled = count >= MAX_MEMBERS;
    for (const [index, row] of [...rows.children].entries()) {
      row.querySelector(".member-remove").disabled = count <= 1;
      row.querySelector(".member-number").textContent = `${index + 1}.`;
    }
  };
  const addRow = (member, focus = true) => {
    const modelId = uid("member");
    const weightId = uid("weight");
    const model = h("input", { type: "text", id: modelId, class: "member-model", list: listId, autocomplete: "off", required: true, value: member.model, placeholder: "gpt-5.5, anthropic:claude-…, or a config name" });
    const weight = h("input", { type: "number", id: weightId, class: "member-weight", min: 1, max: 100, step: 1, value: member.weight ?? 1 });
    const row = h("li", { class: "member-row" },
      h("span", { class: "member-number", "aria-hidden": "true" }),
      h("div", { class: "field" }, h("label", { for: modelId }, "Model"), model),
      h("div", { class: "field field-narrow" }, h("label", { for: weightId }, "Weight"), weight),
      button("Remove", () => { row.remove(); sync(); rows.querySelector(".member-model")?.focus(); }, { kind: "ghost", label: "Remove this member" }));
    row.querySelector("button").classList.add("member-remove");
    rows.append(row);
    sync();
    if (focus) model.focus();
  };
  for (const member of initial.length ? initial : [{ model: "", weight: 1 }]) addRow(member, false);
  const read = () => [...rows.children].map((row) => ({
    model: row.querySelector(".member-model").value.trim(),
    weight: Number(row.querySelector(".member-weight").value || 1),
  }));
  const element = h("fieldset", { class: "field field-wide members-field" },
    h("legend", {}, "Members"), h("p", { class: "hint" }, "1 to 10 models. Fallback tries them in this order; load balance picks the first by weight."),
    rows, addButton);
  return { element, read, first: () => rows.querySelector(".member-model") };
}

function groupForm(catalog, configs, group, onSaved, onCancel) {
  const editing = Boolean(group);
  const g = group || {};
  const listId = uid("models");
  const suggestions = h("datalist", { id: listId },
    configs.map((c) => h("option", { value: c.name }, `Your config on ${c.base_model}`)),
    catalog.models.map((m) => h("option", { value: m.id }, `${m.label || m.id}${m.available ? "" : " · no key"}`)));
  const inputs = {
    name: h("input", { type: "text", required: true, maxlength: 200, autocomplete: "off", value: g.name || "" }),
    description: h("textarea", { rows: 2, maxlength: 2000, value: g.description || "" }),
    model_type: h("select", {}, Object.entries(TYPES).map(([value, label]) => h("option", { value }, label))),
    strategy: h("select", {}, Object.entries(STRATEGIES).map(([value, label]) => h("option", { value }, label))),
  };
  inputs.model_type.value = g.model_type || "chat_completion";
  inputs.strategy.value = g.strategy || "fallback";
  const members = memberEditor(g.members || [], listId);
  const problem = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "btn btn-primary" }, editing ? "Save changes" : "Create group");
  const form = h("form", { class: "card form-card", novalidate: true, "aria-label": editing ? `Edit ${g.name}` : "New model group" },
    h("h2", {}, editing ? `Edit “${g.name}”` : "New model group"),
    suggestions,
    h("div", { class: "form-grid" },
      field("Name", inputs.name, { hint: "What calls use as model. Unique among your configs and groups." }),
      field("Strategy", inputs.strategy),
      field("Model type", inputs.model_type, { hint: "Every member must be of this type." }),
      field("Description", inputs.description, { wide: true }),
      members.element),
    problem,
    h("div", { class: "form-actions" }, save, button("Cancel", onCancel)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    const body = {
      name: inputs.name.value.trim(),
      description: textOrNull(inputs.description),
      model_type: inputs.model_type.value,
      strategy: inputs.strategy.value,
      members: members.read().filter((m) => m.model),
    };
    save.disabled = true;
    try {
      const saved = editing
        ? await patch(`/v1/tenant/model_groups/${encodeURIComponent(g.id)}`, body)
        : await post("/v1/tenant/model_groups", body);
      flash(editing ? `Group “${saved.name}” saved.` : `Group “${saved.name}” created.`);
      onSaved();
    } catch (error) {
      save.disabled = false;
      if (error.status === 401) return;
      if (error.status === 403) error.message = `${error.message} Creating and changing groups needs an admin token.`;
      formProblem(problem, error, { ...inputs, members: members.first() });
    }
  });
  setTimeout(() => inputs.name.focus(), 0);
  return form;
}

export function render(container) {
  const load = async () => {
    const [catalog, groups, configs] = await Promise.all([
      loadCatalog(), loadOptional("/v1/tenant/model_groups"), loadOptional("/v1/tenant/model_configs"),
    ]);
    if (groups.missing) return mount(container, pageHeader(title), notAvailable("Model groups"));
    const available = new Map(catalog.tenantEntries.filter((e) => e.kind === "group").map((e) => [e.id, e.available]));
    const formSlot = h("div");
    const reload = () => guard(container, "Model groups", load);
    const showForm = (group) => {
      mount(formSlot, groupForm(catalog, configs.items, group, reload, () => { formSlot.replaceChildren(); newButton.focus(); }));
      formSlot.scrollIntoView({ block: "nearest" });
    };
    const newButton = button("New group", () => showForm(null), { kind: "primary" });
    const actions = (group) => {
      const cell = h("span", { class: "row-actions" });
      const reset = () => mount(cell, edit, remove);
      const edit = button("Edit", () => showForm(group), { label: `Edit ${group.name}` });
      const remove = button("Delete", () => mount(cell, deleteConfirm(`“${group.name}”`, async () => {
        await del(`/v1/tenant/model_groups/${encodeURIComponent(group.id)}`);
        flash(`Group “${group.name}” deleted.`);
        reload();
      }, reset)), { kind: "ghost", label: `Delete ${group.name}` });
      reset();
      return cell;
    };
    const list = groups.items.length
      ? table({
        caption: "Your model groups",
        columns: [
          { label: "Name", cell: (g) => h("span", { class: "name-cell" }, h("strong", { class: "tenant-text" }, g.name),
            g.description ? h("span", { class: "muted block tenant-text" }, g.description) : null) },
          { label: "Strategy", cell: (g) => h("span", {}, STRATEGIES[g.strategy] || g.strategy, h("span", { class: "muted block" }, TYPES[g.model_type] || g.model_type)) },
          { label: "Members", cell: (g) => h("ol", { class: "member-list" }, g.members.map((m) => h("li", {}, h("code", {}, m.model),
            g.strategy === "loadbalance" ? h("span", { class: "muted" }, ` × ${m.weight}`) : null))) },
          { label: "Available", cell: (g) => available.get(g.name) === false ? badge("no key", "warning", "No member has a usable key") : available.get(g.name) ? badge("Yes", "success") : "—" },
          { label: "Updated", cell: (g) => fmtDateTime(g.updated_at) },
          { label: "Actions", class: "col-actions", cell: actions },
        ],
        rows: groups.items,
      })
      : emptyState("No model groups yet", "A group is one name for several models: calls fail over between them, or spread by weight. Create one with New group.");
    mount(container,
      pageHeader("Model groups", "One name that routes to several models, for fallback or load balancing.", newButton),
      formSlot, h("div", { class: "card card-flush", id: "groups-list" }, list));
  };
  guard(container, "Model groups", load);
}
