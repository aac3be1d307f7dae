// The registry's store (search, install) and installs from a URL or an uploaded archive.

import { get, post, request } from "./api.js";
import { $, clear, h } from "./dom.js";

export class Store {
  // queued(answer of an install request) tells the app an operation was queued
  constructor(queued) {
    this.queued = queued;
    this.entries = [];
    $("store-search").addEventListener("submit", (event) => {
      event.preventDefault();
      this.load();
    });
    $("store-refresh").addEventListener("click", () => this.refresh());
    $("install-url").addEventListener("submit", (event) => this.installUrl(event));
    $("install-archive").addEventListener("submit", (event) => this.installArchive(event));
  }

  async load() {
    const message = $("store-message");
    try {
      const answer = await get("/api/v3/plugins/store/list", { query: $("store-query").value.trim() });
      this.entries = answer.data.plugins || [];
      message.textContent = this.entries.length ? "" : "No plugin matches.";
      this.render();
    } catch (err) {
      message.textContent = err.message;
    }
  }

  async refresh() {
    const message = $("store-message");
    message.textContent = "Reading the registry…";
    try {
      await post("/api/v3/plugins/store/refresh");
      await this.load();
    } catch (err) {
      message.textContent = err.message;
    }
  }

  render() {
    clear($("store-list")).append(...this.entries.map((entry) => this.item(entry)));
  }

  item(entry) {
    const name = entry.name || entry.id;
    const error = h("p", { class: "error", role: "alert" });
    const install = h(
      "button",
      { type: "button", "aria-label": `Install ${name}` },
      entry.installed ? "Reinstall" : "Install",
    );
    install.addEventListener("click", async () => {
      install.disabled = true;
      error.textContent = "";
      try {
        this.queued(await post("/api/v3/plugins/install", { plugin_id: entry.id }), "install", entry.id);
      } catch (err) {
        error.textContent = err.message;
      } finally {
        install.disabled = false;
      }
    });
    const installed = entry.installed ? ` · installed ${entry.installed_version || ""}` : "";
    return h(
      "li",
      { class: "card", "data-store": entry.id },
      h("h3", {}, name),
      h("p", { class: "meta" }, `${entry.id} · latest ${entry.latest_version || "?"}${installed}`),
      entry.description ? h("p", {}, entry.description) : null,
      h("div", { class: "actions" }, install),
      error,
    );
  }

  async installUrl(event) {
    event.preventDefault();
    const form = event.target;
    const body = {};
    for (const [name, value] of new FormData(form)) {
      if (String(value).trim()) body[name] = String(value).trim();
    }
    await this.submit(form, $("install-url-error"), "install", body.plugin_id || body.repo_url, () =>
      post("/api/v3/plugins/install-from-url", body),
    );
  }

  async installArchive(event) {
    event.preventDefault();
    const form = event.target;
    const file = form.elements.archive.files[0];
    await this.submit(form, $("install-archive-error"), "install", file ? file.name : "", () =>
      request("POST", "/api/v3/plugins/install-archive", { form: new FormData(form) }),
    );
  }

  async submit(form, errorLine, operationType, what, send) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    errorLine.textContent = "";
    try {
      this.queued(await send(), operationType, what);
      form.reset();
    } catch (err) {
      errorLine.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  }
}
