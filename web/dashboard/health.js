// Supervisor health (reasons with remediations, actors and their restarts) and reconciliation.

import { get, post } from "./api.js";
import { $, badge, clear, h, when } from "./dom.js";

export class Health {
  constructor() {
    $("reconcile").addEventListener("click", () => this.reconcile());
  }

  async load() {
    const panel = $("health-panel");
    try {
      this.render((await get("/api/v3/supervisor/health")).data);
    } catch (err) {
      if (err.data) this.render(err.data); // unhealthy: HTTP 503 with the whole report
      else clear(panel).append(h("p", { class: "error" }, err.message));
    }
  }

  render(health) {
    const reasons = health.reasons || [];
    const actors = health.actors || [];
    clear($("health-panel")).append(
      h("p", {}, "Status: ", badge(health.status), ` · version ${health.version} · up since ${when(health.started_at)}`),
      h("h3", {}, "Reasons"),
      reasons.length
        ? h("ul", { class: "log" }, ...reasons.map((r) => h("li", {},
            h("strong", {}, r.code), ` ${r.message}`,
            h("span", { class: "meta" }, ` · since ${when(r.since)}`),
            r.remediation ? h("p", { class: "hint" }, `What to do: ${r.remediation}`) : null)))
        : h("p", { class: "muted" }, "No open problem."),
      h("h3", {}, "Actors"),
      h("ul", { class: "log" }, ...actors.map((a) => h("li", {},
        badge(a.status), ` ${a.name} · restarts ${a.restarts}`,
        a.last_restart_at ? ` (last ${when(a.last_restart_at)})` : "",
        a.last_error ? h("p", { class: "error" }, a.last_error) : null))),
    );
  }

  async reconcile() {
    const button = $("reconcile");
    const out = $("reconcile-result");
    button.disabled = true;
    clear(out).append(h("p", {}, "Reconciling…"));
    try {
      const answer = await post("/api/v3/plugins/state/reconcile", { dry_run: $("reconcile-dry-run").checked });
      this.showResult(answer.data);
    } catch (err) {
      clear(out).append(h("p", { class: "error" }, err.message));
    } finally {
      button.disabled = false;
    }
  }

  showResult(result) {
    const items = result.inconsistencies || [];
    clear($("reconcile-result")).append(
      h("p", {}, `Found ${result.inconsistencies_found}, fixed ${result.inconsistencies_fixed}, ` +
        `needing you ${result.inconsistencies_manual}.`),
      items.length
        ? h("ul", { class: "log" }, ...items.map((i) => h("li", {},
            h("strong", {}, i.plugin_id || "system"), ` ${i.type}: ${i.description} `, badge(i.fix_action, "stage"))))
        : h("p", { class: "muted" }, "Everything agrees."),
    );
  }
}
