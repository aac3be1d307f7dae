// The v3 API over fetch: the envelope unwrapped, errors as ApiError, the bearer token on request.

const TOKEN_KEY = "plugvisor.token";
let askToken = null; // set by the app: shows the prompt, resolves once a token was entered

export class ApiError extends Error {
  constructor(status, body) {
    const envelope = body && typeof body === "object" ? body : {};
    super(envelope.message || `Request failed (HTTP ${status})`);
    this.status = status;
    this.code = envelope.error_code || "UNKNOWN_ERROR";
    this.context = envelope.context || {};
    this.details = envelope.details || "";
    this.fixes = Array.isArray(envelope.suggested_fixes) ? envelope.suggested_fixes : [];
    this.data = envelope.status === "success" ? envelope.data : undefined; // 503 unhealthy report
  }
}

export function token() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

export function onUnauthorized(prompt) {
  askToken = prompt;
}

// request("GET", "/api/v3/plugins/installed") -> {data, message, etag}
// options: {body (JSON), form (FormData), query ({name: value}), ifMatch}
export async function request(method, path, options = {}) {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const response = await send(method, path, options);
    const body = await response.json().catch(() => null);
    if (response.ok) {
      return {
        data: body ? body.data : null,
        message: body ? body.message : "",
        etag: response.headers.get("ETag"),
      };
    }
    const error = new ApiError(response.status, body);
    if (response.status !== 401 || !askToken) throw error;
    setToken("");
    await askToken(error.message); // then try again with the token just entered
  }
  throw new ApiError(401, { message: "The token was refused" });
}

function send(method, path, { body, form, query, ifMatch }) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  const saved = token();
  if (saved) headers.Authorization = `Bearer ${saved}`;
  if (ifMatch) headers["If-Match"] = ifMatch;
  let payload;
  if (form) {
    payload = form;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  return fetch(url, { method, headers, body: payload, credentials: "same-origin" });
}

export const get = (path, query) => request("GET", path, { query });
export const post = (path, body, options = {}) => request("POST", path, { ...options, body });
