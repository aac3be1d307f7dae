// A plugin's configuration form: built from its config_schema.json, saved with If-Match,
// every validation error shown at its field, a conflicting save explained.

import { get, post } from "./api.js";
import { $, clear, h } from "./dom.js";
import { buildFields, FieldError, placeErrors } from "./fields.js";

export class ConfigPanel {
  constructor() {
    this.panel = $("config-panel");
  }

  close() {
    clear(this.panel).hidden = true;
  }

  async open(pluginId, name) {
    this.panel.hidden = false;
    clear(this.panel).append(h("p", { role: "status" }, `Loading the settings of ${name}…`));
    try {
      const [schema, config] = await Promise.all([
        get("/api/v3/plugins/schema", { plugin_id: pluginId }),
        get("/api/v3/plugins/config", { plugin_id: pluginId }),
      ]);
      this.render(pluginId, name, schema.data || {}, config.data || {}, config.etag);
    } catch (err) {
      clear(this.panel).append(h("p", { class: "error", role: "alert" }, err.message));
    }
  }

  render(pluginId, name, schema, config, etag) {
    const byPath = new Map();
    const { fields, nodes } = buildFields(schema, config, "", byPath, `cfg-${pluginId}`);
    const summary = h("div", { class: "error", role: "alert", id: "config-form-errors" });
    const status = h("p", { role: "status", class: "muted" });
    const title = h("h3", { id: "config-title", tabindex: "-1" }, `Settings of ${name}`);
    const form = h(
      "form",
      { class: "stack", novalidate: true, "aria-labelledby": "config-title" },
      ...(nodes.length ? nodes : [h("p", { class: "muted" }, "This plugin has no settings.")]),
      summary,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit" }, "Save settings"),
        h("button", { type: "button", onclick: () => this.close() }, "Close"),
      ),
      status,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clear(summary);
      status.textContent = "";
      let values;
      try {
        values = Object.fromEntries(
          fields.map((f) => [f.name, f.read()]).filter(([, v]) => v !== undefined),
        );
      } catch (err) {
        if (!(err instanceof FieldError)) throw err;
        placeErrors(byPath, [{ path: err.field.path, message: err.message }]);
        err.field.input.focus();
        return;
      }
      try {
        const saved = await post(
          "/api/v3/plugins/config",
          { plugin_id: pluginId, config: values },
          { ifMatch: etag },
        );
        etag = saved.etag || etag;
        placeErrors(byPath, []);
        status.textContent = saved.message || "Saved.";
      } catch (err) {
        this.showFailure(err, byPath, summary, () => this.open(pluginId, name));
      }
    });
    clear(this.panel).append(title, form);
    title.focus();
  }

  showFailure(err, byPath, summary, reload) {
    const listed = err.context.validation_errors;
    if (Array.isArray(listed)) {
      const { loose, first } = placeErrors(byPath, listed);
      summary.append(
        h("p", {}, `${err.message}: ${listed.length} problem(s), shown at their fields.`),
        ...loose.map((line) => h("p", {}, line)),
      );
      if (first) first.focus();
      return;
    }
    if (err.status === 412) {
      summary.append(
        h("p", {}, "These settings were changed elsewhere (another browser, the API or a restore) " +
          "since this form was loaded, so they were not saved: saving would have overwritten " +
          "that change."),
        h("button", { type: "button", onclick: reload }, "Load the current settings"),
      );
      return;
    }
    const field = err.context.field && byPath.get(`/${err.context.field}`);
    if (field) {
      placeErrors(byPath, [{ path: field.path, message: err.message }]);
      return;
    }
    summary.append(h("p", {}, err.message), ...err.fixes.map((fix) => h("p", { class: "hint" }, fix)));
  }
}
