// The schedule editor (a form) and the main configuration (its JSON, for the system keys).

import { get, post } from "./api.js";
import { $, clear, h } from "./dom.js";
import { placeErrors } from "./fields.js";

const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

function errorText(err) {
  const listed = err.context.validation_errors;
  if (Array.isArray(listed)) return listed.map((e) => `${e.path}: ${e.message}`);
  if (err.status === 412) {
    return ["Changed elsewhere since it was loaded; not saved. Reload to see the current values."];
  }
  return [err.message];
}

function timeField(id, label, value, path, byPath) {
  const input = h("input", { id, type: "time", value: value || "", "aria-describedby": `${id}-error` });
  const errorLine = h("p", { class: "error", id: `${id}-error` });
  byPath.set(path, {
    input,
    showError: (message) => {
      errorLine.textContent = message;
      input.setAttribute("aria-invalid", message ? "true" : "false");
    },
  });
  return { input, node: h("div", { class: "field" }, h("label", { for: id }, label), input, errorLine) };
}

export class Schedule {
  constructor() {
    this.panel = $("schedule-panel");
  }

  async load() {
    try {
      const answer = await get("/api/v3/config/schedule");
      this.render(answer.data, answer.etag);
    } catch (err) {
      clear(this.panel).append(h("p", { class: "error" }, err.message));
    }
  }

  render(schedule, etag) {
    const byPath = new Map();
    const enabled = h("input", { type: "checkbox", id: "schedule-enabled", checked: schedule.enabled });
    const mode = h("select", { id: "schedule-mode" },
      h("option", { value: "global", selected: schedule.mode === "global" }, "Every day the same"),
      h("option", { value: "per-day", selected: schedule.mode === "per-day" }, "Per day"));
    const start = timeField("schedule-start", "On from", schedule.start_time, "/start_time", byPath);
    const end = timeField("schedule-end", "Off at", schedule.end_time, "/end_time", byPath);
    const days = DAYS.map((day) => {
      const value = (schedule.days || {})[day] || {};
      const on = h("input", { type: "checkbox", id: `day-${day}`, checked: value.enabled !== false });
      const from = timeField(`day-${day}-start`, "from", value.start_time, `/days/${day}/start_time`, byPath);
      const to = timeField(`day-${day}-end`, "to", value.end_time, `/days/${day}/end_time`, byPath);
      const node = h("fieldset", { class: "day" },
        h("legend", {}, day),
        h("div", { class: "field check" }, on, h("label", { for: `day-${day}` }, "on")),
        from.node, to.node);
      return { day, on, from: from.input, to: to.input, node };
    });
    const perDay = h("div", { class: "days", hidden: schedule.mode !== "per-day" }, ...days.map((d) => d.node));
    mode.addEventListener("change", () => { perDay.hidden = mode.value !== "per-day"; });
    const errors = h("div", { class: "error", role: "alert" });
    const status = h("p", { class: "muted", role: "status" });
    const form = h("form", { class: "stack", novalidate: true, "aria-labelledby": "schedule-title" },
      h("h3", { id: "schedule-title" }, "Display schedule"),
      h("div", { class: "field check" }, enabled, h("label", { for: "schedule-enabled" }, "Switch the display on and off on a schedule")),
      h("div", { class: "field" }, h("label", { for: "schedule-mode" }, "Mode"), mode),
      start.node, end.node, perDay, errors,
      h("button", { type: "submit" }, "Save schedule"), status);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clear(errors);
      status.textContent = "";
      const body = {
        enabled: enabled.checked,
        mode: mode.value,
        start_time: start.input.value,
        end_time: end.input.value,
        days: Object.fromEntries(days.map((d) => [d.day, {
          enabled: d.on.checked,
          ...(d.from.value ? { start_time: d.from.value } : {}),
          ...(d.to.value ? { end_time: d.to.value } : {}),
        }])),
      };
      try {
        const saved = await post("/api/v3/config/schedule", body, { ifMatch: etag });
        etag = saved.etag || etag;
        placeErrors(byPath, []);
        status.textContent = saved.message || "Saved.";
      } catch (err) {
        const listed = err.context.validation_errors;
        const { loose } = placeErrors(byPath, Array.isArray(listed) ? listed : []);
        errors.append(...(Array.isArray(listed) ? loose : errorText(err)).map((line) => h("p", {}, line)));
      }
    });
    clear(this.panel).append(form);
  }
}

export class MainConfig {
  constructor() {
    this.panel = $("main-config-panel");
  }

  async load() {
    try {
      const answer = await get("/api/v3/config/main");
      this.render(answer.data, answer.etag);
    } catch (err) {
      clear(this.panel).append(h("p", { class: "error" }, err.message));
    }
  }

  render(config, etag) {
    const text = h("textarea", { id: "main-config", rows: "14", spellcheck: "false", "aria-describedby": "main-config-hint main-config-errors" });
    text.value = JSON.stringify(config, null, 2);
    const errors = h("div", { class: "error", role: "alert", id: "main-config-errors" });
    const status = h("p", { class: "muted", role: "status" });
    const form = h("form", { class: "stack" },
      h("h3", {}, "Main configuration"),
      h("label", { for: "main-config" }, "System settings (JSON)"),
      h("p", { class: "hint", id: "main-config-hint" },
        "Display hardware, time zone, location and the other system keys. Secrets show as •••••••• " +
        "and keep their stored value when left so; null clears a setting."),
      text, errors,
      h("div", { class: "actions" },
        h("button", { type: "submit" }, "Save configuration"),
        h("button", { type: "button", onclick: () => this.load() }, "Reload")),
      status);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clear(errors);
      status.textContent = "";
      let body;
      try {
        body = JSON.parse(text.value);
      } catch (err) {
        errors.append(h("p", {}, `Not valid JSON: ${err.message}`));
        return;
      }
      try {
        const saved = await post("/api/v3/config/main", body, { ifMatch: etag });
        etag = saved.etag || etag;
        status.textContent = saved.message || "Saved.";
      } catch (err) {
        errors.append(...errorText(err).map((line) => h("p", {}, line)));
      }
    });
    clear(this.panel).append(form);
  }
}
