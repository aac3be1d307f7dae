// Building DOM nodes from data without parsing markup: every text goes through textContent.

// h("button", {class: "x", type: "button", onclick: fn, "aria-label": "..."}, "text", node)
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = value;
    } else if (["checked", "value", "disabled", "hidden", "required"].includes(key)) {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export function $(id) {
  return document.getElementById(id);
}

// "2026-11-26T10:12:32.123Z" -> a short local time
export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

export function badge(text, kind) {
  return h("span", { class: `badge ${kind || text}` }, text);
}

// A stable DOM id fragment from any text (plugin ids, JSON pointers).
export function slug(text) {
  return String(text).replace(/[^a-zA-Z0-9_-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`);
}
