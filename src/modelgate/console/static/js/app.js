// The console's shell: the token prompt, the navigation and hash routing.
// Each page is a module under pages/ exporting {title, render(container, ctx)}.

import { api, clearToken, getToken, onUnauthorized, setToken } from "./api.js";
import { h, mount } from "./dom.js";
import * as audit from "./pages/audit.js";
import * as configs from "./pages/configs.js";
import * as groups from "./pages/groups.js";
import * as models from "./pages/models.js";
import * as settings from "./pages/settings.js";
import * as usage from "./pages/usage.js";

const ROUTES = [
  { path: "/models", nav: "Models", page: models },
  { path: "/settings/models", nav: "Settings → Models", page: settings },
  { path: "/configs", nav: "Model configs", page: configs },
  { path: "/groups", nav: "Model groups", page: groups },
  { path: "/usage", nav: "Usage", page: usage },
  { path: "/audit", nav: "Audit log", page: audit },
];
const DEFAULT_ROUTE = "/models";

const root = document.getElementById("app");
let firstRender = true;

function currentPath() {
  const hash = window.location.hash;
  return hash.startsWith("#/") ? hash.slice(1) : null;
}

function logo() {
  return h("span", { class: "logo" }, h("span", { class: "logo-mark", "aria-hidden": "true" }, "m"), "modelgate",
    h("span", { class: "logo-sub" }, "console"));
}

// ---- the token prompt -------------------------------------------------------

function showLogin(reason) {
  clearToken();
  const input = h("input", {
    type: "password", id: "token", name: "token", autocomplete: "off", spellcheck: "false",
    required: true, placeholder: "mg_…", "aria-describedby": "token-hint",
  });
  const message = h("div", { class: "login-message", "aria-live": "polite" },
    reason ? h("p", { class: "alert alert-error", role: "alert" }, reason) : null);
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Sign in");
  const form = h("form", { class: "login-form", novalidate: true, onsubmit: (event) => { event.preventDefault(); signIn(); } },
    h("label", { for: "token" }, "Tenant token"),
    input,
    h("p", { class: "hint", id: "token-hint" },
      "A token from ", h("code", {}, "modelgate token create"), ". It stays in this browser tab (session storage) and is sent only to this gateway."),
    submit);

  async function signIn() {
    const token = input.value.trim();
    if (!token) {
      mount(message, h("p", { class: "alert alert-error", role: "alert" }, "Enter a token to sign in."));
      input.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Checking…";
    try {
      await api("GET", "/v1/tenant/models", { token });
    } catch (error) {
      // 403: a real token without runs:read; the pages say what it may not do.
      if (error.status !== 403) {
        input.value = "";
        submit.disabled = false;
        submit.textContent = "Sign in";
        const text = error.status === 401 ? `The gateway did not accept this token: ${error.message}` : error.message;
        mount(message, h("p", { class: "alert alert-error", role: "alert" }, text));
        input.focus();
        return;
      }
    }
    input.value = "";
    setToken(token);
    showShell();
  }

  mount(root, h("main", { id: "main", class: "login", tabindex: "-1" },
    h("div", { class: "login-card" }, logo(), h("h1", {}, "Sign in to the console"),
      h("p", { class: "muted" }, "Manage your tenant's provider keys, models, usage and audit log."),
      message, form)));
  input.focus();
}

onUnauthorized((error) => showLogin(`Your session ended: ${error.message} Sign in again.`));

// ---- the shell --------------------------------------------------------------

function showShell() {
  if (!currentPath()) window.history.replaceState(null, "", `#${DEFAULT_ROUTE}`);
  const nav = h("nav", { class: "sidebar", "aria-label": "Console" },
    h("ul", {}, ROUTES.map((route) => h("li", {}, h("a", { href: `#${route.path}`, dataset: { path: route.path } }, route.nav)))));
  const signOut = h("button", { type: "button", class: "btn btn-ghost", onclick: () => { showLogin(); } }, "Sign out");
  mount(root,
    h("header", { class: "topbar" }, logo(), h("div", { class: "topbar-actions" }, signOut)),
    h("div", { class: "layout" }, nav,
      h("main", { id: "main", class: "content", tabindex: "-1" },
        h("div", { id: "flash", class: "flash-region", "aria-live": "polite" }),
        h("div", { id: "page" }))));
  firstRender = true;
  route();
}

function route({ navigated = false } = {}) {
  if (!getToken()) return showLogin();
  const path = currentPath();
  if (path === null) return; // an in-page anchor (#main): not a route
  const found = ROUTES.find((r) => r.path === path);
  if (!found) return window.location.replace(`#${DEFAULT_ROUTE}`);
  const slot = document.getElementById("page");
  if (!slot) return showShell();
  for (const link of document.querySelectorAll(".sidebar a")) {
    if (link.dataset.path === path) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${found.page.title} · modelgate console`;
  // A fresh container per visit: a slow answer for a page left behind writes
  // into a detached node, never over the page now shown.
  const container = h("div", { class: "page" });
  slot.replaceChildren(container);
  if (navigated) document.getElementById("flash")?.replaceChildren();
  found.page.render(container, { refresh: () => route() });
  // After a click in the navigation, keyboard and screen-reader users land on the page.
  if (navigated && !firstRender) document.getElementById("main")?.focus();
  firstRender = false;
}

window.addEventListener("hashchange", () => route({ navigated: true }));

document.addEventListener("click", (event) => {
  const skip = event.target.closest && event.target.closest(".skip-link");
  if (skip) {
    event.preventDefault();
    document.getElementById("main")?.focus();
  }
});

if (getToken()) showShell();
else showLogin();
