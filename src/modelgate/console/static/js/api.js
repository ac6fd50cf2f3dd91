// Talking to the gateway's /v1 API with the token the user typed in.
// The token lives in sessionStorage only: never in a URL, a cookie or
// localStorage, so it goes when the tab closes.

const TOKEN_KEY = "modelgate.console.token";

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An error answer from the API, in the OpenAI shape, or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message, param) {
    super(message);
    this.status = status;
    this.code = code;
    this.param = param;
  }

  get needsAdmin() {
    return this.status === 403;
  }

  get missingEndpoint() {
    // The gateway answers an unknown route with 404 "not_found"; a missing
    // object has a code of its own (model_not_found, provider_not_found, ...).
    return this.status === 404 && this.code === "not_found";
  }
}

const listeners = new Set();
/** Called with the ApiError of every 401, so the app can ask for a token again. */
export function onUnauthorized(listener) {
  listeners.add(listener);
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page, say): the status line is all we have.
  }
  const error = body && typeof body === "object" ? body.error : null;
  if (error && typeof error === "object") {
    return new ApiError(
      response.status,
      String(error.code || error.type || "error"),
      String(error.message || response.statusText),
      error.param ?? null,
    );
  }
  return new ApiError(response.status, "http_error", `HTTP ${response.status} ${response.statusText}`);
}

/**
 * api("GET", "/v1/tenant/models", {query, body}) -> the parsed JSON answer.
 * Throws ApiError; a 401 also tells the onUnauthorized listeners.
 */
export async function api(method, path, { query, body, token } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  const bearer = token ?? getToken();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network_error", "The gateway could not be reached. Check that it is running, then try again.");
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && token === undefined) listeners.forEach((listener) => listener(error));
    throw error;
  }
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path, query) => api("GET", path, { query });
export const post = (path, body) => api("POST", path, { body });
export const put = (path, body) => api("PUT", path, { body });
export const patch = (path, body) => api("PATCH", path, { body });
export const del = (path) => api("DELETE", path);
