// The dashboard's wiring: the status feed drives plugins, operations and health; the REST API
// answers what the feed does not carry (names, the store, settings, history).

import { get, onUnauthorized, post, setToken } from "./api.js";
import { ConfigPanel } from "./config_form.js";
import { $ } from "./dom.js";
import { Feed } from "./feed.js";
import { Health } from "./health.js";
import { History } from "./history.js";
import { OperationList } from "./operations.js";
import { PluginList } from "./plugins.js";
import { MainConfig, Schedule } from "./settings.js";
import { Store } from "./store.js";

const ACTIVE = new Set(["pending", "running"]);
const states = new Map(); // plugin id -> state, from the feed
const listing = new Map(); // plugin id -> /installed entry (name, update_available, ...)

function notice(text) {
  const line = $("notice");
  line.textContent = text;
  line.hidden = !text;
}

// -- the token prompt (only when the server asks for one) -----------------------------------

let pendingPrompt = null;
function promptForToken(reason) {
  if (pendingPrompt) return pendingPrompt;
  const dialog = $("token-dialog");
  pendingPrompt = new Promise((resolve) => {
    const form = $("token-form");
    const input = $("token-input");
    input.value = "";
    input.setAttribute("aria-description", reason || "");
    form.addEventListener("submit", () => {
      setToken(input.value.trim());
      pendingPrompt = null;
      resolve();
      feed.restart();
    }, { once: true });
    dialog.showModal();
    input.focus();
  });
  return pendingPrompt;
}
onUnauthorized(promptForToken);

// -- plugins ------------------------------------------------------------------------------------

async function loadInstalled() {
  try {
    const answer = await get("/api/v3/plugins/installed");
    listing.clear();
    for (const plugin of answer.data.plugins || []) listing.set(plugin.id, plugin);
    renderPlugins();
  } catch (err) {
    notice(err.message);
  }
}

function renderPlugins() {
  const ids = [...new Set([...states.keys(), ...listing.keys()])].sort();
  const merged = ids
    .filter((id) => states.has(id) || !feedLive)
    .map((id) => {
      const state = states.get(id) || {};
      return { id, ...listing.get(id), ...pick(state, ["status", "enabled", "health", "version"]) };
    });
  plugins.render(merged);
}

function pick(object, names) {
  return Object.fromEntries(names.filter((n) => object[n] !== undefined).map((n) => [n, object[n]]));
}

// What an install, update or uninstall request answered (202): the feed carries the rest.
function queued(answer, operationType, pluginId) {
  notice("");
  const data = answer.data || {};
  if (data.operation_id) {
    operations.noteQueued({
      operation_type: operationType,
      plugin_id: pluginId,
      stage: "queued",
      progress: 0,
      ...data,
    });
  }
}

const plugins = new PluginList({
  async toggle(id, enabled, card) {
    card.error.textContent = "";
    try {
      const answer = await post("/api/v3/plugins/toggle", { plugin_id: id, enabled });
      states.set(id, { ...states.get(id), enabled: answer.data.enabled, status: answer.data.status });
    } catch (err) {
      card.error.textContent = err.message;
    } finally {
      card.toggle.disabled = false;
      renderPlugins();
    }
  },
  async update(id, card) {
    card.error.textContent = "";
    try {
      queued(await post("/api/v3/plugins/update", { plugin_id: id }), "update", id);
    } catch (err) {
      card.error.textContent = err.message;
    }
  },
  async uninstall(id, card) {
    const name = (listing.get(id) || {}).name || id;
    if (!window.confirm(`Uninstall ${name}? Its settings are kept.`)) return;
    card.error.textContent = "";
    try {
      queued(
        await post("/api/v3/plugins/uninstall", { plugin_id: id, preserve_config: true }),
        "uninstall",
        id,
      );
    } catch (err) {
      card.error.textContent = err.message;
    }
  },
  configure(id) {
    config.open(id, (listing.get(id) || {}).name || id);
  },
});

const operations = new OperationList((id) =>
  post(`/api/v3/plugins/operation/${encodeURIComponent(id)}/cancel`),
);
const config = new ConfigPanel();
const store = new Store(queued);
const history = new History();
const health = new Health();
const schedule = new Schedule();
const mainConfig = new MainConfig();

// -- the feed -----------------------------------------------------------------------------------

let feedLive = false;
const FEED_TEXT = {
  live: "Live",
  connecting: "Connecting…",
  lost: "Connection lost: reconnecting…",
};

const feed = new Feed({
  state(kind) {
    feedLive = kind === "live" || (feedLive && kind !== "lost");
    const line = $("feed-status");
    line.textContent = FEED_TEXT[kind];
    line.dataset.state = kind;
  },
  snapshot(data) {
    states.clear();
    for (const [id, state] of Object.entries(data.plugins || {})) states.set(id, state);
    operations.reset(data.operations || []);
    health.load();
    loadInstalled();
  },
  event(message) {
    const data = message.data || {};
    if (message.event === "operation") {
      operations.update(data);
      if (!ACTIVE.has(data.status)) history.load();
    } else if (message.event === "plugin_state") {
      const known = listing.get(data.plugin_id);
      if (data.state) states.set(data.plugin_id, data.state);
      else states.delete(data.plugin_id);
      // Installed, removed or another version: names, updates and the store's marks change.
      if (!data.state || !known || known.version !== data.state.version) {
        loadInstalled();
        store.load();
      } else {
        renderPlugins();
      }
    } else if (message.event === "health" && data.kind === "supervisor") {
      health.load();
    } else if (message.event === "reconcile") {
      health.showResult(data);
      history.load();
    } else if (message.event === "config") {
      history.load();
    }
  },
  async closed(opened) {
    // A socket refused before it opened may be a missing token: ask the API, which says 401.
    if (!opened) {
      try {
        await get("/api/v3/supervisor/health");
      } catch {
        // shown by the sections themselves; the feed keeps retrying
      }
    }
  },
});

feed.start();
store.load();
history.load();
schedule.load();
mainConfig.load();
