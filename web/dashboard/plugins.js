// The installed plugins: one card per plugin, kept by id and updated in place (focus survives).

import { $, badge, clear, h } from "./dom.js";

export class PluginList {
  // actions: {toggle(id, enabled), update(id), uninstall(id), configure(id)}
  constructor(actions) {
    this.actions = actions;
    this.cards = new Map();
    this.list = $("plugin-list");
  }

  // plugins: [{id, name, version, status, enabled, health, update_available, latest_version}]
  render(plugins) {
    const seen = new Set();
    for (const plugin of plugins) {
      seen.add(plugin.id);
      let card = this.cards.get(plugin.id);
      if (!card) {
        card = this.create(plugin.id);
        this.cards.set(plugin.id, card);
      }
      this.fill(card, plugin);
      this.list.append(card.root); // keeps the given order; moving an element keeps its focus
    }
    for (const [id, card] of this.cards) {
      if (!seen.has(id)) {
        card.root.remove();
        this.cards.delete(id);
      }
    }
    $("plugins-empty").hidden = plugins.length > 0;
  }

  create(id) {
    const card = {
      title: h("h3"),
      meta: h("p", { class: "meta" }),
      badges: h("p", { class: "badges" }),
      toggle: h("input", { type: "checkbox", role: "switch" }),
      update: h("button", { type: "button" }, "Update"),
      configure: h("button", { type: "button" }, "Configure"),
      uninstall: h("button", { type: "button", class: "danger" }, "Uninstall"),
      error: h("p", { class: "error", role: "alert" }),
    };
    card.toggle.addEventListener("change", () => {
      card.toggle.disabled = true;
      this.actions.toggle(id, card.toggle.checked, card);
    });
    card.update.addEventListener("click", () => this.actions.update(id, card));
    card.configure.addEventListener("click", () => this.actions.configure(id));
    card.uninstall.addEventListener("click", () => this.actions.uninstall(id, card));
    const switchLabel = h("label", { class: "switch" }, card.toggle, h("span", {}, "Enabled"));
    card.root = h(
      "li",
      { class: "card", "data-plugin": id },
      card.title,
      card.meta,
      card.badges,
      h("div", { class: "actions" }, switchLabel, card.configure, card.update, card.uninstall),
      card.error,
    );
    return card;
  }

  fill(card, plugin) {
    const name = plugin.name || plugin.id;
    card.title.textContent = name;
    card.meta.textContent = `${plugin.id} · version ${plugin.version || "?"}`;
    const update = plugin.update_available
      ? badge(`update to ${plugin.latest_version}`, "update")
      : null;
    clear(card.badges).append(
      ...[badge(plugin.status || "unknown"), badge(`health: ${plugin.health || "unknown"}`,
        plugin.health || "unknown"), update].filter(Boolean),
    );
    if (!card.toggle.disabled) card.toggle.checked = Boolean(plugin.enabled);
    card.toggle.setAttribute("aria-label", `${name} enabled`);
    card.update.setAttribute("aria-label", `Update ${name}`);
    card.update.disabled = !plugin.update_available;
    card.configure.setAttribute("aria-label", `Configure ${name}`);
    card.uninstall.setAttribute("aria-label", `Uninstall ${name}`);
  }
}
