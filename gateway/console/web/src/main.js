// The console's shell: header (navigation, sound, language, user), the
// error bar, and a hash router that mounts one page at a time. Each page's
// mount returns the function that stops its timers and requests.

import "./style.css";
import { h, replace } from "./dom.js";
import { getLang, initLang, setLang, t, tr } from "./i18n.js";
import { api, get, onUnauthorized, session } from "./api.js";
import { live } from "./live.js";
import * as sound from "./sound.js";
import { clearError, report, setErrorBar, showError } from "./ui.js";
import board from "./pages/board.js";
import alarm from "./pages/alarm.js";
import buildings from "./pages/buildings.js";
import devices from "./pages/devices.js";
import device from "./pages/device.js";
import historyPage from "./pages/history.js";
import figures from "./pages/figures.js";
import grades from "./pages/grades.js";
import login from "./pages/login.js";

const routes = [
  [/^\/board$/, board, "board"],
  [/^\/alarm\/(\d+)$/, alarm, "board"],
  [/^\/buildings$/, buildings, "buildings"],
  [/^\/devices$/, devices, "devices"],
  [/^\/devices\/(.+)$/, device, "devices"],
  [/^\/history$/, historyPage, "history"],
  [/^\/figures$/, figures, "figures"],
  [/^\/grades$/, grades, "grades"],
  [/^\/login$/, login, ""],
];

const NAV = ["board", "buildings", "devices", "history", "figures", "grades"];
const NEXT = "shouwang.next";

const header = h("header", { class: "top" });
const errorBar = h("div", { class: "error-bar", "data-error": "", role: "alert", hidden: true });
const page = h("main", { id: "page" });
let dispose = null;
let booted = false;
// keepError keeps the error bar through the next page change (an error
// met while booting or when the session ended, shown on the login page).
let keepError = false;

export function parseHash(hash) {
  const s = (hash || "").replace(/^#/, "");
  const i = s.indexOf("?");
  const path = (i < 0 ? s : s.slice(0, i)) || "/board";
  return { path, query: new URLSearchParams(i < 0 ? "" : s.slice(i + 1)) };
}

function renderHeader(active) {
  const s = session.current;
  const langs = h(
    "span",
    { class: "langs" },
    ["zh", "en"].map((l) =>
      h(
        "button",
        { type: "button", class: "lang" + (getLang() === l ? " on" : ""), "data-lang": l, "aria-pressed": getLang() === l ? "true" : "false", onclick: () => switchLang(l) },
        l === "zh" ? "中文" : "EN",
      ),
    ),
  );
  if (!s) {
    replace(header, h("span", { class: "brand" }, t("app.name")), h("span", { class: "spacer" }), langs);
    return;
  }
  const openCount = h("span", { class: "nav-count", "data-open-count": "" });
  const soundBtn = h(
    "button",
    {
      type: "button",
      class: "sound",
      "data-sound": "",
      hidden: sound.unlocked(),
      title: t("sound.why"),
      onclick: () => sound.unlock(true),
    },
    t("sound.enable"),
  );
  replace(
    header,
    h("a", { class: "brand", href: "#/board" }, t("app.name")),
    h(
      "nav",
      null,
      NAV.map((n) => h("a", { href: "#/" + n, class: n === active ? "on" : "", "data-nav": n }, t("nav." + n), n === "board" ? openCount : null)),
    ),
    h("span", { class: "spacer" }),
    soundBtn,
    langs,
    h("span", { class: "who" }, h("span", { "data-user": "" }, s.user), " ", h("span", { class: "role", "data-role": s.role }, tr("role", s.role))),
    h("button", { type: "button", class: "logout", "data-logout": "", onclick: logout }, t("logout")),
  );
  updateCount();
}

// updateCount shows the open alarms beside "Board", and marks the sound
// button when alarms ring with the sound still locked.
function updateCount() {
  const el = header.querySelector("[data-open-count]");
  if (el) {
    const n = live.alarms().length;
    el.textContent = n ? String(n) : "";
  }
  const btn = header.querySelector("[data-sound]");
  if (btn) {
    btn.hidden = sound.unlocked();
    btn.classList.toggle("urgent", !!live.alert.ringing);
  }
}

function route() {
  const { path, query } = parseHash(location.hash);
  if (!session.current && path !== "/login") {
    try {
      sessionStorage.setItem(NEXT, location.hash || "#/board");
    } catch (e) {
      /* private mode */
    }
    location.replace("#/login");
    return;
  }
  if (session.current && path === "/login") {
    location.replace("#/board");
    return;
  }
  let found = null;
  for (const r of routes) {
    const m = r[0].exec(path);
    if (m) {
      found = { mount: r[1], nav: r[2], params: m.slice(1).map((p) => decodeURIComponent(p)) };
      break;
    }
  }
  if (!found) {
    location.replace("#/board");
    return;
  }
  if (dispose) dispose();
  dispose = null;
  if (keepError) keepError = false;
  else clearError();
  renderHeader(found.nav);
  document.body.setAttribute("data-page", path.split("/")[1] || "board");
  page.textContent = "";
  window.scrollTo(0, 0);
  try {
    dispose = found.mount(page, { path, query, params: found.params }, app) || null;
  } catch (e) {
    report(e);
  }
}

function switchLang(l) {
  setLang(l);
  document.documentElement.lang = l === "zh" ? "zh-CN" : "en";
  document.title = t("app.title");
  route();
}

const app = {
  // loggedIn is called by the login page with POST /session's answer.
  loggedIn(s) {
    session.current = s;
    live.start();
    let next = "#/board";
    try {
      next = sessionStorage.getItem(NEXT) || next;
      sessionStorage.removeItem(NEXT);
    } catch (e) {
      /* private mode */
    }
    if (next.indexOf("#/login") === 0) next = "#/board";
    navigate(next);
  },
};

// navigate shows hash, replacing the current history entry.
function navigate(hash) {
  if (location.hash === hash) route();
  else location.replace(hash); // hashchange routes
}

async function logout() {
  try {
    await api("DELETE", "session", undefined, { quiet401: true });
  } catch (e) {
    if (e.status !== 401) report(e);
  }
  ended();
}

// ended forgets the session: the board closes and the login page shows.
function ended() {
  session.current = null;
  live.stop();
  if (dispose) dispose();
  dispose = null;
  navigate("#/login");
}

onUnauthorized((err) => {
  if (!session.current) return;
  try {
    sessionStorage.setItem(NEXT, location.hash || "#/board");
  } catch (e) {
    /* private mode */
  }
  showError(t("err.sessionEnded") + (err && err.message ? ` (${err.message})` : ""));
  keepError = true;
  ended();
});

async function boot() {
  initLang();
  document.documentElement.lang = getLang() === "zh" ? "zh-CN" : "en";
  document.title = t("app.title");
  setErrorBar(errorBar);
  replace(document.body, header, errorBar, page);
  live.subscribe(updateCount);
  sound.onUnlockChange(updateCount);
  try {
    session.current = await get("session", { quiet401: true });
  } catch (e) {
    session.current = null;
    if (e.status !== 401) {
      report(e);
      keepError = true;
    }
  }
  if (session.current) {
    live.start();
    // A page opened with a session already (a reload, the wall screen
    // after a restart) had no click yet: see whether the browser lets the
    // tone play anyway (a kiosk set to allow autoplay). After the login
    // form the "enable sound" button asks for the click instead.
    sound.probe();
  }
  window.addEventListener("hashchange", route);
  booted = true;
  route();
}

if (typeof document !== "undefined" && !booted) boot();
