// The catalog as the API lists it (GET /v1/tenant/models), grouped by provider
// in the API's own order (providers as listed, flagship first within each).

import { ApiError, get } from "./api.js";

export async function loadCatalog() {
  const answer = await get("/v1/tenant/models");
  const models = (answer.data || []).filter((m) => !m.kind || m.kind === "system");
  const tenantEntries = (answer.data || []).filter((m) => m.kind === "config" || m.kind === "group");
  const providers = answer.providers || [];
  const byProvider = new Map(providers.map((p) => [p.id, { provider: p, models: [] }]));
  for (const model of models) {
    if (!byProvider.has(model.provider)) {
      byProvider.set(model.provider, { provider: { id: model.provider, label: model.provider }, models: [] });
    }
    byProvider.get(model.provider).models.push(model);
  }
  return { models, providers, tenantEntries, groups: [...byProvider.values()] };
}

/** How a provider's calls get a key: "byok", "hosted" or null. */
export function providerSource(provider) {
  if (provider.configured) return "byok";
  if (provider.hosted) return "hosted";
  return null;
}

/**
 * A tenant list (configs or groups) that may not exist on an older gateway:
 * {items, missing}; other errors propagate.
 */
export async function loadOptional(path) {
  try {
    const answer = await get(path);
    return { items: answer.data || [], missing: false };
  } catch (error) {
    if (error instanceof ApiError && error.missingEndpoint) return { items: [], missing: true };
    throw error;
  }
}
