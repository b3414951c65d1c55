// The one error bar ([data-error]) every page reports to, and small
// helpers the pages share.

import { t, tr } from "./i18n.js";
import { h } from "./dom.js";

let bar = null;

export function setErrorBar(el) {
  bar = el;
  bar.addEventListener("click", clearError);
}

// showError puts a message in the error bar; a click on it clears it.
export function showError(msg) {
  if (!bar) return;
  bar.textContent = msg;
  bar.hidden = false;
  bar.title = t("err.dismiss");
}

export function clearError() {
  if (!bar) return;
  bar.textContent = "";
  bar.hidden = true;
}

// report shows a failed request's error; a 401 shows nothing because the
// login page takes over, an aborted request nothing because nobody waits.
export function report(err) {
  if (!err) return;
  if (err.name === "AbortError") return;
  if (err.status === 401) return;
  if (err.status === undefined) console.error(err);
  showError(err.message || String(err));
}

export function sevBadge(severity) {
  return h("span", { class: "sev sev-" + severity }, tr("sev", severity));
}

export function stateBadge(state) {
  return h("span", { class: "state state-" + state }, tr("state", state));
}

export function deviceStateChip(state) {
  return h("span", { class: "dstate ds-" + (state || "unknown") }, tr("dstate", state || "unknown"));
}

// table builds a simple table: heads are i18n keys, rows arrays of cells.
export function table(heads, rows, attrs) {
  return h(
    "table",
    Object.assign({ class: "grid" }, attrs || {}),
    h("thead", null, h("tr", null, heads.map((k) => h("th", null, t(k))))),
    h("tbody", null, rows),
  );
}

export function loading() {
  return h("p", { class: "muted" }, t("loading"));
}
