// Talking to the gateway: same-origin fetch with the session cookie, the
// CSRF token on every request that changes something, and the server's
// error text carried to the page. API paths are relative to the page, so
// the console also works behind a proxy that mounts it under a prefix.

import { t } from "./i18n.js";

export const API = "api/v1/";

// session.current is the logged-in user as POST/GET /api/v1/session gave
// it: {user, role, csrf, can}; null when nobody is.
export const session = { current: null };

let unauthorized = () => {};

// onUnauthorized sets what a 401 does (go to the login page).
export function onUnauthorized(f) {
  unauthorized = f;
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// can says whether the session's role may do perm ("alarm.act", ...).
// Buttons are hidden by it; the server remains the real check.
export function can(perm) {
  const s = session.current;
  return !!(s && Array.isArray(s.can) && s.can.indexOf(perm) >= 0);
}

function errorText(res, text, data) {
  if (data && typeof data.error === "string") {
    let msg = data.error;
    if (Array.isArray(data.problems) && data.problems.length) {
      msg += ": " + data.problems.map((p) => `${p.parameter}: ${p.problem}`).join("; ");
    }
    if (res.status === 429 && data.retry_after_s) msg += " " + t("err.retryAfter", { s: data.retry_after_s });
    return msg;
  }
  const type = res.headers.get("Content-Type") || "";
  if (text && type.indexOf("html") < 0) return text.trim().slice(0, 300);
  return `HTTP ${res.status} ${res.statusText || ""}`.trim();
}

// api sends one request and returns the decoded JSON answer (null for an
// empty one). A failure throws ApiError with the server's error text; a
// 401 also calls the unauthorized handler unless opts.quiet401 is set.
export async function api(method, path, body, opts) {
  const o = opts || {};
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (method !== "GET" && method !== "HEAD") {
    init.headers["X-CSRF-Token"] = (session.current && session.current.csrf) || "";
  }
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (o.signal) init.signal = o.signal;
  let res;
  try {
    res = await fetch(path.indexOf("/") === 0 ? path : API + path, init);
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    throw new ApiError(0, t("err.network"));
  }
  const text = res.status === 204 ? "" : await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (res.ok) return data;
  const err = new ApiError(res.status, errorText(res, text, data), data);
  if (res.status === 401 && !o.quiet401) unauthorized(err);
  throw err;
}

export const get = (path, opts) => api("GET", path, undefined, opts);
export const post = (path, body, opts) => api("POST", path, body === undefined ? {} : body, opts);
