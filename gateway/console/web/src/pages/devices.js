// Every device (#/devices) in one table with a filter box, refreshed every
// 5 s; the filter and the scroll position survive the refresh.

import { h, replace, every } from "../dom.js";
import { t, tr } from "../i18n.js";
import { get } from "../api.js";
import { compareLocation, fmtLocation, fmtTime, fmtValue } from "../logic/format.js";
import { report, deviceStateChip, loading } from "../ui.js";

// counterName shortens a driver metric for the table:
// shouwang_modbus_requests_total → modbus requests.
export function counterName(k) {
  return k.replace(/^shouwang_/, "").replace(/_total$/, "").replace(/_/g, " ");
}

// lastReadings shows each point's last value and, on the device page,
// what the device sent for it before decoding (raw), to hold one
// against the other.
export function lastReadings(last, raw) {
  return Object.keys(last || {})
    .sort()
    .map((p) => {
      const r = last[p];
      return h(
        "div",
        { class: "reading" + (r.quality && r.quality !== "good" ? " bad" : ""), "data-point": p, title: r.quality ? tr("quality", r.quality) : null },
        h("span", { class: "muted" }, tr("point", p) + " "),
        h("b", null, fmtValue(r.value, r.unit)),
        raw && raw[p] ? h("code", { class: "raw small", "data-raw": p, title: t("dev.raw") }, " " + raw[p]) : null,
        h("span", { class: "muted small" }, " " + fmtTime(r.time)),
      );
    });
}

export function counters(c) {
  return Object.keys(c || {})
    .sort()
    .map((k) => h("div", { class: "counter", title: k, "data-counter": k }, h("span", { class: "muted" }, counterName(k) + ": "), String(c[k])));
}

export function alarmLinks(ids) {
  return (ids || []).map((id, i) => [i ? ", " : "", h("a", { href: "#/alarm/" + id, "data-alarm-link": id }, "#" + id)]);
}

function matches(d, words) {
  if (!words.length) return true;
  const text = [d.id, d.name, d.type, tr("type", d.type || ""), d.state, tr("dstate", d.state || ""), fmtLocation(d.location), d.driver, d.address, d.profile]
    .concat(Object.keys(d.tags || {}).map((k) => k + ":" + d.tags[k]))
    .join(" ")
    .toLowerCase();
  return words.every((w) => text.indexOf(w) >= 0);
}

export default function mount(root, route) {
  const filter = h("input", {
    type: "search",
    id: "device-filter",
    "data-filter": "",
    placeholder: t("dev.filter"),
    "aria-label": t("dev.filter"),
    value: route.query.get("q") || "",
  });
  const count = h("span", { class: "muted" });
  const tbody = h("tbody");
  const tableEl = h(
    "table",
    { class: "grid devices", "data-devices": "" },
    h("thead", null, h("tr", null, ["dev.name", "dev.type", "dev.location", "dev.state", "dev.last", "dev.counters", "dev.alarms"].map((k) => h("th", null, t(k))))),
    tbody,
  );
  const body = h("div", null, loading());
  replace(root, h("div", { class: "page-head" }, h("h1", null, t("nav.devices")), filter, count), body);

  let devices = null;
  function render() {
    if (!devices) return;
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = devices.filter((d) => matches(d, words));
    count.textContent = t("dev.count", { n: shown.length, all: devices.length });
    replace(
      tbody,
      shown.map((d) =>
        h(
          "tr",
          { "data-device": d.id, class: "ds-row-" + (d.state || "unknown") },
          h("td", null, h("a", { href: "#/devices/" + encodeURIComponent(d.id) }, d.name || d.id), h("div", { class: "muted small" }, d.id)),
          h("td", null, tr("type", d.type || "")),
          h("td", null, fmtLocation(d.location)),
          h(
            "td",
            null,
            deviceStateChip(d.state),
            d.since ? h("div", { class: "muted small" }, fmtTime(d.since)) : null,
            (d.faults || []).length ? h("div", { class: "small faults", "data-faults": "" }, d.faults.map((k) => tr("ev", k)).join(", ")) : null,
          ),
          h("td", null, lastReadings(d.last)),
          h("td", null, counters(d.counters)),
          h("td", null, alarmLinks(d.alarms)),
        ),
      ),
    );
    if (body.firstChild !== tableEl) replace(body, tableEl);
  }
  filter.addEventListener("input", () => {
    render();
    // Keep the filter in the address, so a reload or a link keeps it.
    const q = filter.value.trim();
    history.replaceState(null, "", q ? "#/devices?q=" + encodeURIComponent(q) : "#/devices");
  });

  let abort = null;
  async function load() {
    if (abort) abort.abort();
    abort = new AbortController();
    try {
      const res = await get("devices", { signal: abort.signal });
      devices = ((res && res.devices) || []).slice().sort((a, b) => compareLocation(a.location, b.location) || (a.name || a.id).localeCompare(b.name || b.id));
      render();
    } catch (e) {
      report(e);
    }
  }
  load();
  const stop = every(5000, load);
  return () => {
    stop();
    if (abort) abort.abort();
  };
}
