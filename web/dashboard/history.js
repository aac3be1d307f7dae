// History with filters, newest first, paged with `before`; reloaded when something finishes.

import { get } from "./api.js";
import { $, badge, clear, h, when } from "./dom.js";

const PAGE = 25;

export class History {
  constructor() {
    this.last = null;
    $("history-filters").addEventListener("submit", (event) => {
      event.preventDefault();
      this.load();
    });
    $("history-more").addEventListener("click", () => this.load(this.last));
  }

  filters() {
    return Object.fromEntries(
      [...new FormData($("history-filters"))].map(([k, v]) => [k, String(v).trim()]),
    );
  }

  async load(before = null) {
    const message = $("history-message");
    try {
      const answer = await get("/api/v3/plugins/operation/history", {
        ...this.filters(),
        limit: PAGE,
        before,
      });
      const records = answer.data || [];
      if (!before) clear($("history-list"));
      $("history-list").append(...records.map((r) => this.item(r)));
      this.last = records.length ? records[records.length - 1].operation_id : null;
      $("history-more").hidden = records.length < PAGE;
      message.textContent = !before && !records.length ? "Nothing recorded yet." : "";
    } catch (err) {
      message.textContent = err.message;
    }
  }

  item(record) {
    return h(
      "li",
      {},
      badge(record.status),
      " ",
      h("strong", {}, record.operation_type),
      record.plugin_id ? ` ${record.plugin_id}` : "",
      h("span", { class: "meta" }, ` · ${when(record.timestamp)} · ${record.user}`),
      record.error ? h("p", { class: "error" }, record.error) : null,
    );
  }
}
