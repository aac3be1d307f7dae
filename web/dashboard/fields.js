// Form fields generated from a JSON Schema (draft 7 subset): each field knows its JSON pointer,
// reads its value back, and shows the validation errors the server reports at that pointer.

import { h, slug } from "./dom.js";

export const MASK = "••••••••";

function kindOf(schema) {
  const types = Array.isArray(schema.type) ? schema.type.filter((t) => t !== "null") : [schema.type];
  if (Array.isArray(schema.enum)) return "enum";
  if (types.length !== 1) return "json";
  if (types[0] === "object" && schema.properties) return "object";
  return ["boolean", "integer", "number", "string"].includes(types[0]) ? types[0] : "json";
}

function labelText(name, schema) {
  return schema.title || name.replace(/_/g, " ");
}

// One field per property. `errors` maps a pointer to the element that shows its errors.
export function buildFields(schema, value, pointer, errors, prefix) {
  const fields = [];
  const nodes = [];
  const required = new Set(schema.required || []);
  for (const [name, prop] of Object.entries(schema.properties || {})) {
    if (pointer === "" && name === "enabled") continue; // the switch on the plugin's card
    const path = `${pointer}/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`;
    const field = buildField(name, prop || {}, value ? value[name] : undefined, path, prefix);
    field.required = required.has(name);
    if (field.required && field.input) field.input.required = true;
    errors.set(path, field);
    fields.push(field);
    nodes.push(field.node);
    if (field.children) {
      for (const [childPath, child] of field.children) errors.set(childPath, child);
    }
  }
  return { fields, nodes };
}

function buildField(name, schema, value, path, prefix) {
  const kind = kindOf(schema);
  const id = `${prefix}-${slug(path)}`;
  const errorLine = h("p", { class: "error", id: `${id}-error` });
  const hint = schema.description ? h("p", { class: "hint", id: `${id}-hint` }, schema.description) : null;
  const describedBy = [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(" ");
  const field = { name, path, kind, schema, errorLine, input: null, children: null };
  field.showError = (message) => {
    errorLine.textContent = message;
    if (field.input) field.input.setAttribute("aria-invalid", message ? "true" : "false");
  };
  if (kind === "object") {
    const children = new Map();
    const inner = buildFields(schema, value || {}, path, children, prefix);
    field.children = children;
    field.read = () => Object.fromEntries(
      inner.fields.map((f) => [f.name, f.read()]).filter(([, v]) => v !== undefined),
    );
    field.node = h(
      "fieldset",
      { class: "group" },
      h("legend", {}, labelText(name, schema)),
      hint,
      ...inner.nodes,
      errorLine,
    );
    return field;
  }
  const current = value === undefined ? schema.default : value;
  const common = { id, name, "aria-describedby": describedBy };
  let input;
  if (kind === "boolean") {
    input = h("input", { ...common, type: "checkbox", checked: Boolean(current) });
    field.read = () => input.checked;
  } else if (kind === "enum") {
    input = h("select", common, ...schema.enum.map((option) =>
      h("option", { value: JSON.stringify(option), selected: option === current }, option === "" ? "(none)" : String(option))));
    field.read = () => JSON.parse(input.value);
  } else if (kind === "integer" || kind === "number") {
    input = h("input", {
      ...common,
      type: "number",
      inputmode: kind === "integer" ? "numeric" : "decimal",
      step: kind === "integer" ? "1" : "any",
      min: schema.minimum,
      max: schema.maximum,
      value: current === undefined || current === null ? "" : String(current),
    });
    // What the person typed goes to the server as typed: it reports the error at the field.
    field.read = () => (input.value === "" ? undefined : Number(input.value));
  } else if (kind === "string" && schema["x-secret"]) {
    const stored = current === MASK;
    input = h("input", {
      ...common,
      type: "password",
      autocomplete: "new-password",
      placeholder: stored ? "stored: leave empty to keep it" : "not set",
    });
    // Never shown, never sent back: empty keeps the stored secret (the API keeps a masked one).
    field.read = () => (input.value === "" ? undefined : input.value);
  } else if (kind === "string") {
    input = h("input", {
      ...common,
      type: "text",
      minlength: schema.minLength,
      maxlength: schema.maxLength,
      value: current === undefined || current === null ? "" : String(current),
    });
    field.read = () => input.value;
  } else {
    const text = current === undefined ? "" : JSON.stringify(current, null, 1);
    input = h("textarea", { ...common, rows: "3", spellcheck: "false", value: text });
    input.value = text;
    field.read = () => {
      if (input.value.trim() === "") return undefined;
      try {
        return JSON.parse(input.value);
      } catch {
        throw new FieldError(field, "is not valid JSON");
      }
    };
  }
  field.input = input;
  // Browser-side limits (min, max, required) are hints; the server's answer is the judge.
  const suffix = kind === "json" ? " (JSON)" : "";
  const label = h("label", { for: id }, labelText(name, schema) + suffix);
  field.node = kind === "boolean"
    ? h("div", { class: "field check" }, input, label, hint, errorLine)
    : h("div", { class: "field" }, label, input, hint, errorLine);
  return field;
}

export class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

// Show each server error at the deepest field whose pointer is a prefix of the error's.
// Returns the errors that fit no field (shown by the caller at the top of the form).
export function placeErrors(fieldsByPath, validationErrors) {
  for (const field of fieldsByPath.values()) field.showError("");
  const loose = [];
  const messages = new Map();
  for (const error of validationErrors) {
    let path = String(error.path || "");
    while (path && !fieldsByPath.has(path)) path = path.slice(0, path.lastIndexOf("/"));
    if (!path) {
      loose.push(`${error.path || "/"}: ${error.message}`);
      continue;
    }
    const extra = error.path !== path ? `${error.path.slice(path.length)}: ` : "";
    messages.set(path, [...(messages.get(path) || []), `${extra}${error.message}`]);
  }
  let first = null;
  for (const [path, list] of messages) {
    const field = fieldsByPath.get(path);
    field.showError(list.join("; "));
    if (!first && field.input) first = field.input;
  }
  return { loose, first };
}
