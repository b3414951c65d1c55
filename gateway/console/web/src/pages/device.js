// One device (#/devices/<id>), for the installer at work on it: all the
// gateway knows, refreshed every 2 s, and the last hour of each point.

import { h, replace, every, single } from "../dom.js";
import { t, tr } from "../i18n.js";
import { get } from "../api.js";
import { chartData } from "../logic/history.js";
import { fmtDateTime, fmtLocation, fmtTime, rfc3339, tagBadges } from "../logic/format.js";
import { lineChart } from "../chart.js";
import { report, deviceStateChip, sevBadge, loading, table } from "../ui.js";
import { alarmLinks, counters, lastReadings } from "./devices.js";

const HOUR = 3600 * 1000;

function info(d) {
  const rows = [
    ["dev.id", d.id],
    ["dev.type", tr("type", d.type || "")],
    ["dev.location", fmtLocation(d.location)],
    ["dev.state", [deviceStateChip(d.state), d.since ? " " + t("dev.since", { t: fmtDateTime(d.since) }) : ""]],
    ["dev.faults", (d.faults || []).map((k) => tr("ev", k)).join(", ")],
    ["dev.profile", d.profile],
    ["dev.driver", d.driver],
    ["dev.address", d.address],
    ["dev.tags", tagBadges(d.tags).map((b) => h("span", { class: b.strong ? "tag tag-strong" : "tag" }, b.text))],
    ["dev.alarms", alarmLinks(d.alarms)],
    ["dev.readings", d.readings !== undefined ? String(d.readings) : ""],
    ["dev.events", d.events !== undefined ? String(d.events) : ""],
  ];
  return h(
    "table",
    { class: "facts" },
    h(
      "tbody",
      null,
      rows.filter((r) => r[1] !== undefined && r[1] !== "" && !(Array.isArray(r[1]) && !r[1].length)).map((r) => h("tr", null, h("th", null, t(r[0])), h("td", null, r[1]))),
    ),
  );
}

export default function mount(root, route) {
  const id = route.params[0];
  const title = h("h1", null, id);
  const infoBox = h("div", { class: "dev-info" }, loading());
  const nowBox = h("div", { class: "dev-now" });
  const charts = h("div", { class: "dev-charts" });
  const events = h("div", { class: "dev-events" });
  replace(
    root,
    h("div", { class: "page-head" }, h("a", { href: "#/devices", class: "back" }, "← ", t("nav.devices")), title),
    h("div", { class: "dev-top" }, infoBox, nowBox),
    h("h2", null, t("dev.lastHour"), " ", h("a", { class: "small", href: "#/history?device=" + encodeURIComponent(id) }, t("dev.moreHistory"))),
    charts,
    h("h2", null, t("dev.recentEvents")),
    events,
  );

  let gone = false;
  const aborts = new Set();
  async function fetchJSON(path) {
    const a = new AbortController();
    aborts.add(a);
    try {
      return await get(path, { signal: a.signal });
    } finally {
      aborts.delete(a);
    }
  }

  const loadDevice = single(async () => {
    try {
      const d = await fetchJSON("devices/" + encodeURIComponent(id));
      if (gone || !d) return;
      title.textContent = d.name || d.id;
      replace(infoBox, info(d));
      replace(
        nowBox,
        h("h3", null, t("dev.last")),
        lastReadings(d.last).length ? lastReadings(d.last, d.raw) : h("p", { class: "muted" }, t("dev.noReadings")),
        h("h3", null, t("dev.counters")),
        counters(d.counters).length ? counters(d.counters) : h("p", { class: "muted" }, "–"),
      );
    } catch (e) {
      report(e);
    }
  });

  // The last hour, fetched once and then topped up from the newest reading.
  let readings = [];
  const seen = new Set();
  let newest = 0;
  const shown = new Map(); // point → {chart, el, devices}
  const loadReadings = single(async () => {
    const now = Date.now();
    const from = newest ? newest : now - HOUR;
    const q = new URLSearchParams({ device: id, from: rfc3339(new Date(from)), to: rfc3339(new Date(now + 1000)), limit: "100000" });
    try {
      const res = await fetchJSON("readings?" + q);
      if (gone) return;
      for (const r of (res && res.readings) || []) {
        const key = r.point + "|" + r.time;
        if (seen.has(key)) continue;
        seen.add(key);
        readings.push(r);
        const ms = Date.parse(r.time);
        if (ms > newest) newest = ms;
      }
      const cut = now - HOUR;
      if (readings.length && Date.parse(readings[0].time) < cut) {
        readings = readings.filter((r) => {
          const keep = Date.parse(r.time) >= cut;
          if (!keep) seen.delete(r.point + "|" + r.time);
          return keep;
        });
      }
      drawCharts();
    } catch (e) {
      report(e);
    }
  });

  function drawCharts() {
    const per = chartData(readings, [id]);
    if (!per.length && !shown.size) {
      replace(charts, h("p", { class: "muted" }, t("dev.noReadingsHour")));
      return;
    }
    if (charts.firstChild && charts.firstChild.tagName === "P") charts.textContent = "";
    for (const c of per) {
      let s = shown.get(c.point);
      if (s) {
        s.chart.setData(c.data);
      } else {
        const el = h("div", { class: "chart small-chart", "data-chart": c.point });
        charts.appendChild(h("div", { class: "chart-box" }, h("h3", null, tr("point", c.point), c.unit ? ` (${c.unit})` : ""), el));
        s = { el, chart: lineChart(el, c.data, { names: [tr("point", c.point)], unit: c.unit, height: 160 }) };
        shown.set(c.point, s);
      }
      s.el.setAttribute("data-points", String(c.count));
    }
  }

  const loadEvents = single(async () => {
    const now = Date.now();
    const q = new URLSearchParams({ device: id, from: rfc3339(new Date(now - 24 * HOUR)), to: rfc3339(new Date(now + 1000)), limit: "1000" });
    try {
      const res = await fetchJSON("events?" + q);
      if (gone) return;
      const list = ((res && res.events) || []).slice(-50).reverse();
      replace(
        events,
        list.length
          ? table(
              ["hist.time", "ev.kind", "hist.severity", "ev.message"],
              list.map((e) => h("tr", null, h("td", null, fmtTime(e.time)), h("td", null, tr("ev", e.kind)), h("td", null, e.severity ? sevBadge(e.severity) : ""), h("td", null, e.message || ""))),
            )
          : h("p", { class: "muted" }, t("dev.noEvents")),
      );
    } catch (e) {
      report(e);
    }
  });

  loadDevice();
  loadReadings();
  loadEvents();
  const stops = [
    every(2000, () => {
      loadDevice();
      loadReadings();
    }),
    every(10000, loadEvents),
  ];
  return () => {
    gone = true;
    for (const s of stops) s();
    for (const a of aborts) a.abort();
    for (const s of shown.values()) s.chart.destroy();
  };
}
