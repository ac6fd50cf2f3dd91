// Models: the picker view. The catalog grouped by provider, flagship first;
// a model whose provider has no usable key is flagged "no key" and can still
// be picked (seed 000). The tenant's configs and groups are listed beside it.

import { h, mount, uid } from "../dom.js";
import { loadCatalog, loadOptional, providerSource } from "../catalog.js";
import { badge, emptyState, fmtCredits, fmtInt, fmtTokens, fmtUsd, guard, keyBadge, pageHeader } from "../ui.js";

export const title = "Models";

const CAPABILITIES = [["tools", "Tools"], ["vision", "Vision"], ["reasoning", "Reasoning"], ["streaming", "Streaming"]];
const TYPE_LABELS = { chat_completion: "Chat", embedding: "Embedding", completion: "Completion", agent: "Agent", reranking: "Reranking", generic: "Generic" };

let selectedId = null; // the picked model, kept while the tab lives

function prices(pricing, [inKey, outKey], format) {
  const input = pricing ? pricing[inKey] : null;
  const output = pricing ? pricing[outKey] : null;
  if (input === null && output === null) return null;
  return `in ${format(input)} · out ${format(output)}`;
}

function lifecycleBadge(lifecycle) {
  const state = lifecycle ? lifecycle.state : "active";
  if (state === "deprecated") return badge("Deprecated", "warning", lifecycle.notice || undefined);
  if (state === "end_of_life") return badge("Retired", "danger", lifecycle.notice || undefined);
  return badge("Active", "neutral");
}

function modelRow(model, onPick) {
  const radio = h("input", { type: "radio", name: "picked-model", value: model.id, checked: model.id === selectedId, onchange: () => onPick(model) });
  const caps = CAPABILITIES.filter(([name]) => model.capabilities && model.capabilities[name]);
  const nameId = uid("model");
  radio.setAttribute("aria-labelledby", nameId);
  const usd = prices(model.pricing, ["input_per_1k", "output_per_1k"], (v) => fmtUsd(v));
  const credits = prices(model.pricing, ["credits_input_per_1k", "credits_output_per_1k"], (v) => fmtCredits(v, 6));
  const sizes = [
    model.context_window ? `${fmtTokens(model.context_window)} context` : null,
    model.max_output_tokens ? `${fmtTokens(model.max_output_tokens)} output` : null,
  ].filter(Boolean);
  const lifecycle = model.lifecycle ? model.lifecycle.state : "active";
  return h("label", { class: ["model-row", !model.available && "model-row-nokey"], dataset: { model: model.id } },
    h("span", { class: "model-pick" }, radio),
    h("span", { class: "model-main" },
      h("span", { class: "model-title" },
        h("span", { class: "model-label", id: nameId }, model.label || model.id),
        h("code", { class: "model-id" }, model.id),
        model.recommended ? badge("Flagship", "accent") : null,
        model.tier === "premium" ? badge("Premium", "neutral") : null,
        model.model_type && model.model_type !== "chat_completion" ? badge(TYPE_LABELS[model.model_type] || model.model_type, "neutral") : null),
      h("span", { class: "model-meta" },
        sizes.map((text) => h("span", { class: "meta-item" }, text)),
        h("span", { class: "meta-item" }, h("span", { class: "meta-label" }, "USD/1k "), usd || "not published"),
        credits ? h("span", { class: "meta-item" }, h("span", { class: "meta-label" }, "credits/1k "), credits) : null,
        caps.length ? h("span", { class: "chips", "aria-label": "Capabilities" }, caps.map(([, label]) => h("span", { class: "chip" }, label))) : null)),
    h("span", { class: "model-status" }, lifecycle !== "active" ? lifecycleBadge(model.lifecycle) : null, keyBadge(model.source)));
}

function providerSection(group, models, { onPick, expanded, onToggle, filtering }) {
  const { provider } = group;
  const name = provider.label || provider.id;
  const source = providerSource(provider);
  const headingId = uid("provider");
  // The picker offers each provider's curated set (seed 000) first; the rest is one click away.
  const curated = models.filter((m) => m.curated);
  const short = filtering || expanded || !curated.length ? models : curated;
  const toggle = models.length > curated.length && curated.length && !filtering
    ? h("button", { type: "button", class: "btn btn-ghost show-more", "aria-expanded": String(Boolean(expanded)), onclick: onToggle },
      expanded ? `Show ${name}'s picks only` : `Show all ${models.length} ${name} models`)
    : null;
  return h("section", { class: "provider-group", "aria-labelledby": headingId, dataset: { provider: provider.id } },
    h("div", { class: "provider-head" },
      h("h2", { id: headingId, tabindex: "-1" }, name),
      keyBadge(source),
      h("span", { class: "muted" }, `${models.length} model${models.length === 1 ? "" : "s"}`)),
    source === null
      ? h("p", { class: "callout callout-warning" }, `No key for ${name}: add one in `,
        h("a", { href: "#/settings/models" }, "Settings → Models"), ". Its models can still be picked, but calls to them fail until a key is set.")
      : null,
    h("div", { class: "model-list", role: "radiogroup", "aria-labelledby": headingId },
      short.map((model) => modelRow(model, onPick))),
    toggle ? h("div", { class: "show-more-row" }, toggle) : null);
}

function providerStrip(catalog) {
  return h("ul", { class: "provider-strip", "aria-label": "Providers and their keys" },
    catalog.groups.filter((g) => g.models.length).map((g) => h("li", {},
      h("button", {
        type: "button", class: "provider-pill",
        onclick: () => {
          const heading = document.querySelector(`section[data-provider="${CSS.escape(g.provider.id)}"] h2`);
          if (heading) { heading.scrollIntoView({ block: "start" }); heading.focus({ preventScroll: true }); }
        },
      }, g.provider.label || g.provider.id, keyBadge(providerSource(g.provider))))));
}

function selectionCard(catalog) {
  const model = catalog.models.find((m) => m.id === selectedId);
  if (!model) {
    return h("div", { class: "card", id: "picked" }, h("h2", {}, "Picked model"),
      h("p", { class: "muted" }, "Pick a model in the list to see how to call it."));
  }
  const provider = catalog.providers.find((p) => p.id === model.provider);
  const providerName = provider ? provider.label : model.provider;
  return h("div", { class: "card", id: "picked" }, h("h2", {}, "Picked model"),
    h("p", { class: "picked-name" }, model.label || model.id, " ", keyBadge(model.source)),
    h("p", {}, "Use it with ", h("code", {}, `"model": "${model.id}"`), "."),
    model.available
      ? h("p", { class: "muted" }, model.source === "byok" ? `Calls run on your own ${providerName} key.` : `Calls run on the platform's ${providerName} key and are billed in credits.`)
      : h("p", { class: "callout callout-warning" }, `No key for ${providerName}: calls fail with model_key_missing until you add one in `,
        h("a", { href: "#/settings/models" }, "Settings → Models"), "."),
    model.lifecycle && model.lifecycle.notice ? h("p", { class: "muted" }, model.lifecycle.notice) : null);
}

function tenantModelsCard(configs, groups, tenantEntries) {
  const availability = new Map(tenantEntries.map((e) => [e.name || e.id, e.available]));
  const sections = [];
  if (!configs.missing) {
    sections.push(h("h3", {}, "Model configs"),
      configs.items.length
        ? h("ul", { class: "mini-list", id: "side-configs" }, configs.items.map((c) => h("li", {},
          h("span", { class: "mini-name" }, c.name),
          h("span", { class: "muted" }, `on ${c.base_model}`),
          c.enabled === false ? badge("Disabled", "neutral") : null)))
        : h("p", { class: "muted" }, "None yet. ", h("a", { href: "#/configs" }, "Create a config"), " to give a catalog model your own name, limits and system prompt."));
  }
  if (!groups.missing) {
    sections.push(h("h3", {}, "Model groups"),
      groups.items.length
        ? h("ul", { class: "mini-list", id: "side-groups" }, groups.items.map((g) => h("li", {},
          h("span", { class: "mini-name" }, g.name),
          h("span", { class: "muted" }, `${g.strategy} · ${(g.members || []).length} member${(g.members || []).length === 1 ? "" : "s"}`),
          availability.get(g.name) === false ? keyBadge(null) : null)))
        : h("p", { class: "muted" }, "None yet. ", h("a", { href: "#/groups" }, "Create a group"), " to fail over between models or spread load."));
  }
  if (!sections.length) return null;
  return h("div", { class: "card" }, h("h2", {}, "Your models"), sections);
}

export function render(container) {
  guard(container, "Models", async () => {
    const [catalog, configs, groups] = await Promise.all([
      loadCatalog(), loadOptional("/v1/tenant/model_configs"), loadOptional("/v1/tenant/model_groups"),
    ]);
    const search = h("input", { type: "search", placeholder: "Name or id", autocomplete: "off" });
    const onlyAvailable = h("input", { type: "checkbox" });
    const typeSelect = h("select", {},
      h("option", { value: "" }, "All types"),
      [...new Set(catalog.models.map((m) => m.model_type || "chat_completion"))].map((t) => h("option", { value: t }, TYPE_LABELS[t] || t)));
    const list = h("div", { class: "provider-groups" });
    const side = h("aside", { class: "side", "aria-label": "Picked model and your models" });
    const summary = h("p", { class: "summary", "aria-live": "polite" });
    const expanded = new Set();

    const pick = (model) => {
      selectedId = model.id;
      side.replaceChildren(selectionCard(catalog), tenantModelsCard(configs, groups, catalog.tenantEntries) || "");
    };

    const draw = () => {
      const text = search.value.trim().toLowerCase();
      const type = typeSelect.value;
      const matches = (m) => (!text || m.id.toLowerCase().includes(text) || (m.label || "").toLowerCase().includes(text)
        || (m.aliases || []).some((a) => a.toLowerCase().includes(text)))
        && (!onlyAvailable.checked || m.available) && (!type || (m.model_type || "chat_completion") === type);
      const filtering = Boolean(text || type || onlyAvailable.checked);
      const sections = [];
      let shown = 0;
      for (const group of catalog.groups) {
        const models = group.models.filter(matches);
        if (!models.length) continue;
        shown += models.length;
        const id = group.provider.id;
        sections.push(providerSection(group, models, {
          onPick: pick, filtering, expanded: expanded.has(id),
          onToggle: () => {
            if (expanded.has(id)) expanded.delete(id); else expanded.add(id);
            draw();
            list.querySelector(`section[data-provider="${CSS.escape(id)}"] .show-more`)?.focus();
          },
        }));
      }
      const ready = catalog.models.filter((m) => m.available).length;
      const providerCount = catalog.groups.filter((g) => g.models.length).length;
      summary.textContent = `${fmtInt(catalog.models.length)} models from ${fmtInt(providerCount)} providers · ${fmtInt(ready)} ready to call${filtering ? ` · ${fmtInt(shown)} match` : ""}`;
      mount(list, sections.length ? sections : emptyState("No model matches",
        onlyAvailable.checked && !catalog.models.some((m) => m.available)
          ? "No provider has a key yet: add one in Settings → Models, or show every model."
          : "Change the search or the filters to see more models."));
    };
    for (const control of [search, typeSelect, onlyAvailable]) control.addEventListener("input", draw);

    mount(container,
      pageHeader("Models", "The catalog this gateway routes to, grouped by provider, flagship first. A model flagged “no key” can still be picked, but calls to it fail until its provider has a key."),
      h("div", { class: "toolbar", role: "search" },
        h("div", { class: "field" }, h("label", { for: "model-search" }, "Search models"), Object.assign(search, { id: "model-search" })),
        h("div", { class: "field" }, h("label", { for: "model-type" }, "Type"), Object.assign(typeSelect, { id: "model-type" })),
        h("div", { class: "field field-check" }, Object.assign(onlyAvailable, { id: "model-available" }), h("label", { for: "model-available" }, "Only models with a key"))),
      summary,
      providerStrip(catalog),
      h("div", { class: "with-side" }, list, side));
    draw();
    side.replaceChildren(selectionCard(catalog), tenantModelsCard(configs, groups, catalog.tenantEntries) || "");
  });
}
