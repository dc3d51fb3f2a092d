// The Subsonic API as the web player calls it: same-origin JSON calls authenticated by the
// session cookie plus the CSRF token (no password or token ever lives in this script).
const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";
export const BASE = meta("base-url");
const CSRF = meta("csrf-token");
const CLIENT = "longplay-web";

export class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function query(params) {
  const q = new URLSearchParams({ f: "json", c: CLIENT, v: "1.16.1" });
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.append(k, String(v));
  }
  return q;
}

// One API call; `signal` lets a caller cancel a stale request (search as you type).
export async function api(name, params = {}, { signal, post = false } = {}) {
  const url = `${BASE}/rest/${name}`;
  const q = query(params);
  const init = {
    credentials: "same-origin",
    headers: { "X-CSRF-Token": CSRF },
    signal,
  };
  let res;
  if (post) {
    init.method = "POST";
    init.body = q;
    res = await fetch(url, init);
  } else {
    res = await fetch(`${url}?${q}`, init);
  }
  if (res.status === 401 || res.status === 403) {
    window.location.assign(`${BASE}/login`);
    throw new ApiError(40, "not logged in");
  }
  const body = (await res.json())["subsonic-response"];
  if (body.status !== "ok") {
    if (body.error?.code === 40) window.location.assign(`${BASE}/login`);
    throw new ApiError(body.error?.code ?? 0, body.error?.message ?? "request failed");
  }
  return body;
}

// Media elements cannot send headers, so these URLs carry the token as a parameter.
export function streamUrl(id, format) {
  const q = new URLSearchParams({ id, csrf: CSRF, c: CLIENT, v: "1.16.1" });
  if (format) q.set("format", format);
  return `${BASE}/rest/stream?${q}`;
}

// What a missing or broken cover shows: a plain tile, never the browser's broken-image icon.
export const COVER_PLACEHOLDER =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'%3E%3Crect width='10' height='10' fill='%23888'/%3E%3C/svg%3E";

export function coverUrl(id, size = 300) {
  const q = new URLSearchParams({ id, size: String(size), csrf: CSRF, c: CLIENT, v: "1.16.1" });
  return `${BASE}/rest/getCoverArt?${q}`;
}

export function formatTime(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "0:00";
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

// The torrents carrying songs the archive does not hold: {"tr-1": "longplay-t2-0003"}.
export async function carriers(ids) {
  const q = new URLSearchParams();
  ids.forEach((id) => q.append("id", id));
  const res = await fetch(`${BASE}/carriers?${q}`, {
    credentials: "same-origin",
    headers: { "X-CSRF-Token": CSRF },
  });
  return res.ok ? res.json() : {};
}
