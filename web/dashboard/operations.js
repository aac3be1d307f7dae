// Operations: live from the feed (every status, stage and progress change is an event),
// the active ones first, then the last few that ended; each active one can be cancelled.

import { $, badge, clear, h, when } from "./dom.js";

const ACTIVE = new Set(["pending", "running"]);
const KEEP_FINISHED = 8;

export class OperationList {
  // cancel(operation_id) -> Promise
  constructor(cancel) {
    this.cancel = cancel;
    this.operations = new Map();
    this.list = $("operation-list");
  }

  // The snapshot's active operations replace what we knew to be active.
  reset(active) {
    for (const [id, op] of this.operations) {
      if (ACTIVE.has(op.status)) this.operations.delete(id);
    }
    for (const op of active) this.operations.set(op.operation_id, op);
    this.render();
  }

  // An operation just queued by this page: shown at once unless the feed already told us more.
  noteQueued(op) {
    if (!this.operations.has(op.operation_id)) this.update(op);
  }

  update(op) {
    this.operations.set(op.operation_id, op);
    const finished = [...this.operations.values()].filter((o) => !ACTIVE.has(o.status));
    for (const old of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) {
      this.operations.delete(old.operation_id);
    }
    this.render();
  }

  render() {
    const ops = [...this.operations.values()];
    const active = ops.filter((o) => ACTIVE.has(o.status));
    const ended = ops.filter((o) => !ACTIVE.has(o.status)).reverse();
    const focused = document.activeElement && document.activeElement.dataset.cancel;
    clear(this.list).append(...[...active, ...ended].map((op) => this.item(op)));
    if (focused) {
      const again = this.list.querySelector(`[data-cancel="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
    $("operations-empty").hidden = ops.length > 0;
  }

  item(op) {
    const parameters = op.parameters || {};
    const subject = op.plugin_id || parameters.repo_url || parameters.filename || "";
    const what = `${op.operation_type} ${subject}`.trim();
    const percent = Math.round((op.progress || 0) * 100);
    const progress = h("progress", {
      max: "100",
      value: String(percent),
      "aria-label": `${what}: ${percent}%`,
    });
    const error = h("p", { class: "error", role: "alert" });
    const cancel = ACTIVE.has(op.status)
      ? h(
          "button",
          {
            type: "button",
            "data-cancel": op.operation_id,
            "aria-label": `Cancel ${what}`,
            onclick: (event) => {
              event.target.disabled = true;
              this.cancel(op.operation_id).catch((err) => {
                error.textContent = err.message;
                event.target.disabled = false;
              });
            },
          },
          "Cancel",
        )
      : null;
    return h(
      "li",
      { class: `card op ${op.status}`, "data-operation": op.operation_id },
      h("h3", {}, what),
      h("p", { class: "badges" }, badge(op.status), badge(`stage: ${op.stage}`, "stage")),
      progress,
      h("p", { class: "meta" }, `${percent}% · ${op.message || ""}`),
      op.error ? h("p", { class: "error" }, `${op.error.error_code}: ${op.error.message}`) : null,
      h("p", { class: "meta" }, `queued ${when(op.created_at)}`),
      cancel,
      error,
    );
  }
}
