// The status feed /api/v3/ws: a snapshot, then events in seq order; on a drop it reconnects
// with ?since=<last seq> (the server replays what it still has, or sends a fresh snapshot).

import { token } from "./api.js";

const PING_MS = 25000;
const MAX_BACKOFF_MS = 15000;

export class Feed {
  // handlers: {snapshot(data, seq), event(message), state("live" | "connecting" | "lost"), closed()}
  constructor(handlers) {
    this.handlers = handlers;
    this.seq = null;
    this.socket = null;
    this.backoff = 500;
    this.timer = null;
    this.pinger = null;
  }

  start() {
    this.connect();
  }

  url() {
    const url = new URL("/api/v3/ws", window.location.href);
    url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    if (this.seq !== null) url.searchParams.set("since", String(this.seq));
    const saved = token();
    if (saved) url.searchParams.set("token", saved);
    return url;
  }

  connect() {
    clearTimeout(this.timer);
    this.handlers.state("connecting");
    const socket = new WebSocket(this.url());
    this.socket = socket;
    let opened = false;
    socket.addEventListener("open", () => {
      opened = true;
      this.backoff = 500;
      this.pinger = setInterval(() => this.send({ type: "ping" }), PING_MS);
    });
    socket.addEventListener("message", (frame) => this.receive(frame.data));
    socket.addEventListener("close", () => {
      clearInterval(this.pinger);
      if (this.socket !== socket) return;
      this.handlers.state("lost");
      this.handlers.closed(opened);
      this.timer = setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    });
  }

  // Reconnect at once (after a token was entered, for instance).
  restart() {
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close();
    this.backoff = 500;
    this.connect();
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type === "snapshot") {
      this.seq = message.seq;
      this.handlers.state("live");
      this.handlers.snapshot(message.data, message.seq);
    } else if (message.type === "event") {
      if (this.seq !== null && message.seq !== this.seq + 1) {
        this.restart(); // a gap: ask again from what we have; the server fills it or resnapshots
        return;
      }
      this.seq = message.seq;
      this.handlers.event(message);
    }
  }
}
