// History (#/history?building=&floor=&device=&from=&to=&alarm=), for the
// fire team: a floor's devices over a time range, one chart per point kind
// with one line per device, and the events and alarm steps of the same
// range as markers on the charts and as a list. The query lives in the
// hash, so a view can be linked.

import { h, replace } from "../dom.js";
import { t, tr } from "../i18n.js";
import { API, get } from "../api.js";
import { apiQuery, around, buildingsOf, chartData, devicesOn, floorsOf, historyHash, inBuilding, parseHistoryQuery } from "../logic/history.js";
import { fmtDateTime, fmtFloor, fromLocalInput, rfc3339, toLocalInput } from "../logic/format.js";
import { lineChart, markerColor } from "../chart.js";
import { report, sevBadge, table, loading } from "../ui.js";

const HOUR = 3600 * 1000;

// resolve fills what the hash left out: an alarm's building, floor and
// time; a device's building and floor; the first building; the last hour.
async function resolve(q, buildings, devices, signal) {
  const out = Object.assign({}, q);
  let note = "";
  if (q.alarm && (!q.building || !q.from || !q.to)) {
    const res = await get("alarms/" + encodeURIComponent(q.alarm), { signal });
    const view = res.view || {};
    let raised = Date.parse(view.raised_at || (res.alarm && res.alarm.raised_at) || view.time);
    if (Number.isNaN(raised)) raised = Date.now();
    const r = around(raised, 30);
    out.from = out.from || rfc3339(new Date(r.from));
    out.to = out.to || rfc3339(new Date(r.to));
    const dev = devices.find((d) => d.id === view.device);
    const loc = (dev && dev.location) || view.location || {};
    if (!out.building) {
      const b = buildings.find((x) => x.name === loc.building || x.id === loc.building);
      out.building = b ? b.id : loc.building || "";
      out.floor = loc.floor || null;
      out.devices = [];
    }
    note = t("hist.aroundAlarm", { id: q.alarm });
  }
  if (!out.building && q.devices.length) {
    const dev = devices.find((d) => d.id === q.devices[0]);
    const b = dev && buildings.find((x) => inBuilding(dev, x));
    if (b) {
      out.building = b.id;
      out.floor = dev.location.floor;
    }
  }
  if (!out.building && buildings.length) out.building = buildings[0].id;
  const b = buildings.find((x) => x.id === out.building);
  if (b && (out.floor === null || out.floor === undefined)) {
    const withDevices = floorsOf(b).find((f) => devicesOn(devices, b, f).length);
    out.floor = withDevices !== undefined ? withDevices : floorsOf(b)[0];
  }
  if (!out.to) out.to = rfc3339(new Date());
  if (!out.from) out.from = rfc3339(new Date(Date.parse(out.to) - HOUR));
  return { q: out, note };
}

export default function mount(root, route) {
  const q0 = parseHistoryQuery(route.query);
  const controls = h("form", { class: "hist-controls", "data-hist-form": "" }, loading());
  const exports = h("p", { class: "exports" });
  const status = h("p", { class: "muted", "data-hist-status": "" });
  const charts = h("div", { class: "hist-charts" });
  const marks = h("div", { class: "hist-marks" });
  replace(root, h("div", { class: "page-head" }, h("h1", null, t("nav.history"))), controls, exports, status, charts, marks);

  const abort = new AbortController();
  const signal = abort.signal;
  const drawn = [];

  // go shows another query; the same one again is drawn anew (fresh data).
  function go(q) {
    const before = location.hash;
    location.hash = historyHash(q);
    if (location.hash === before) window.dispatchEvent(new HashChangeEvent("hashchange"));
  }

  function renderControls(q, buildings, devices, note) {
    const bSel = h(
      "select",
      { id: "hist-building", "data-hist": "building" },
      buildings.map((b) => h("option", { value: b.id, selected: b.id === q.building ? "" : null }, b.name || b.id)),
    );
    const fSel = h("select", { id: "hist-floor", "data-hist": "floor" });
    const devBox = h("div", { class: "hist-devices", "data-hist": "devices" });
    const from = h("input", { type: "datetime-local", id: "hist-from", "data-hist": "from", value: toLocalInput(q.from), step: "60" });
    const to = h("input", { type: "datetime-local", id: "hist-to", "data-hist": "to", value: toLocalInput(q.to), step: "60" });

    const building = () => buildings.find((b) => b.id === bSel.value);
    function fillFloors(keep) {
      const b = building();
      replace(
        fSel,
        (b ? floorsOf(b) : []).map((f) => {
          const n = devicesOn(devices, b, f).length;
          return h("option", { value: String(f), selected: keep !== null && Number(keep) === f ? "" : null }, `${fmtFloor(f)} (${n})`);
        }),
      );
    }
    function fillDevices(chosen) {
      const b = building();
      const list = b ? devicesOn(devices, b, Number(fSel.value)) : [];
      const all = !chosen || !chosen.length;
      replace(
        devBox,
        list.length
          ? list.map((d) =>
              h(
                "label",
                { class: "check" },
                h("input", { type: "checkbox", value: d.id, "data-hist-device": d.id, checked: all || chosen.indexOf(d.id) >= 0 }),
                " ",
                d.name || d.id,
              ),
            )
          : h("span", { class: "muted" }, t("hist.noDevices")),
      );
    }
    fillFloors(q.floor);
    fillDevices(q.devices);
    bSel.addEventListener("change", () => {
      fillFloors(null);
      const b = building();
      const first = b && floorsOf(b).find((f) => devicesOn(devices, b, f).length);
      if (first !== undefined) fSel.value = String(first);
      fillDevices(null);
    });
    fSel.addEventListener("change", () => fillDevices(null));

    function current() {
      const checked = Array.from(devBox.querySelectorAll("input[type=checkbox]"));
      const on = checked.filter((c) => c.checked).map((c) => c.value);
      const f = fromLocalInput(from.value);
      const tt = fromLocalInput(to.value);
      return {
        alarm: q.alarm,
        building: bSel.value,
        floor: fSel.value === "" ? null : Number(fSel.value),
        // All of the floor is the default, and stays so in the link.
        devices: on.length === checked.length ? [] : on,
        from: f ? rfc3339(f) : q.from,
        to: tt ? rfc3339(tt) : q.to,
      };
    }
    function quick(ms) {
      const now = Date.now();
      go(Object.assign(current(), { from: rfc3339(new Date(now - ms)), to: rfc3339(new Date(now)) }));
    }
    const quickButtons = [
      h("button", { type: "button", "data-range": "1h", onclick: () => quick(HOUR) }, t("hist.1h")),
      h("button", { type: "button", "data-range": "6h", onclick: () => quick(6 * HOUR) }, t("hist.6h")),
      h("button", { type: "button", "data-range": "24h", onclick: () => quick(24 * HOUR) }, t("hist.24h")),
      q.alarm
        ? h(
            "button",
            {
              type: "button",
              "data-range": "alarm",
              onclick: () => go({ alarm: q.alarm, building: "", floor: null, devices: [], from: "", to: "" }),
            },
            t("hist.aroundAlarm", { id: q.alarm }),
          )
        : null,
    ];
    controls.onsubmit = (e) => {
      e.preventDefault();
      go(current());
    };
    replace(
      controls,
      h("div", { class: "row" }, h("label", null, t("hist.building"), " ", bSel), h("label", null, t("hist.floor"), " ", fSel), note ? h("span", { class: "hist-note" }, note) : null),
      h("div", { class: "row" }, devBox),
      h(
        "div",
        { class: "row" },
        h("label", null, t("hist.from"), " ", from),
        h("label", null, t("hist.to"), " ", to),
        quickButtons,
        h("button", { type: "submit", class: "primary", id: "hist-apply", "data-hist": "apply" }, t("hist.show")),
      ),
    );
  }

  async function draw(q, buildings, devices) {
    const b = buildings.find((x) => x.id === q.building);
    const onFloor = b ? devicesOn(devices, b, q.floor) : [];
    const ids = q.devices.length ? q.devices : onFloor.map((d) => d.id);
    const names = new Map(devices.map((d) => [d.id, d.name || d.id]));
    const csv = (what, limit) => API + what + "?" + apiQuery(ids, q.from, q.to, { limit, format: "csv" });
    replace(
      exports,
      h("a", { href: csv("readings", "100000"), "data-export": "readings", download: "" }, t("hist.exportReadings")),
      " · ",
      h("a", { href: csv("events", "100000"), "data-export": "events", download: "" }, t("hist.exportEvents")),
    );
    if (!ids.length) {
      status.textContent = t("hist.noDevices");
      return;
    }
    status.textContent = t("loading");
    const range = apiQuery(ids, q.from, q.to, {});
    const [rd, ev, tr_] = await Promise.all([
      get("readings?" + apiQuery(ids, q.from, q.to, { limit: "100000" }), { signal }),
      get("events?" + apiQuery(ids, q.from, q.to, { limit: "10000" }), { signal }).catch((e) => (report(e), { events: [] })),
      get("alarms/transitions?" + range, { signal }).catch((e) => (report(e), { transitions: [] })),
    ]);
    const readings = (rd && rd.readings) || [];
    const events = (ev && ev.events) || [];
    const steps = (tr_ && tr_.transitions) || [];
    const markers = events
      .map((e) => ({ t: Date.parse(e.time), key: e.severity || "info", what: "event", e }))
      .concat(steps.map((x) => ({ t: Date.parse(x.time), key: x.kind === "raised" ? "raised" : x.state, what: "step", x })))
      .filter((m) => !Number.isNaN(m.t))
      .sort((a, b) => a.t - b.t);

    const per = chartData(readings, ids);
    const from = Date.parse(q.from);
    const to = Date.parse(q.to);
    const truncated = [rd, ev].some((x) => x && x.truncated);
    status.textContent =
      t("hist.summary", { r: readings.length, e: events.length, s: steps.length, from: fmtDateTime(from), to: fmtDateTime(to) }) + (truncated ? " " + t("hist.truncated") : "");
    charts.textContent = "";
    if (!per.length) charts.appendChild(h("p", { class: "muted" }, t("hist.noReadings")));
    for (const c of per) {
      const el = h("div", { class: "chart", "data-chart": c.point });
      charts.appendChild(h("section", { class: "chart-box" }, h("h3", null, tr("point", c.point), c.unit ? ` (${c.unit})` : ""), el));
      drawn.push(
        lineChart(el, c.data, {
          names: c.devices.map((d) => names.get(d) || d),
          unit: c.unit,
          height: 260,
          markers,
          from: Number.isNaN(from) ? undefined : from,
          to: Number.isNaN(to) ? undefined : to,
        }),
      );
      el.setAttribute("data-points", String(c.count));
    }
    replace(
      marks,
      h("h2", null, t("hist.marks")),
      markers.length
        ? table(
            ["hist.time", "hist.device", "hist.what", "hist.severity", "hist.detail"],
            markers.map((m) =>
              m.what === "event"
                ? h(
                    "tr",
                    { "data-marker": "event" },
                    h("td", null, h("span", { class: "swatch", style: `background:${markerColor(m)}` }), " ", fmtDateTime(m.t)),
                    h("td", null, names.get(m.e.device) || m.e.device),
                    h("td", null, tr("ev", m.e.kind)),
                    h("td", null, m.e.severity ? sevBadge(m.e.severity) : ""),
                    h("td", null, m.e.message || ""),
                  )
                : h(
                    "tr",
                    { "data-marker": "transition" },
                    h("td", null, h("span", { class: "swatch", style: `background:${markerColor(m)}` }), " ", fmtDateTime(m.t)),
                    h("td", null, names.get(m.x.device) || m.x.device),
                    h("td", null, h("a", { href: "#/alarm/" + m.x.alarm }, "#" + m.x.alarm), " ", tr("kind", m.x.kind)),
                    h("td", null, sevBadge(m.x.severity)),
                    h("td", null, [m.x.operator, m.x.note].filter(Boolean).join(": ")),
                  ),
            ),
            { "data-markers": "" },
          )
        : h("p", { class: "muted" }, t("hist.noMarks")),
    );
  }

  (async () => {
    try {
      const [site, devs] = await Promise.all([get("site", { signal }), get("devices", { signal })]);
      const buildings = buildingsOf(site);
      const devices = (devs && devs.devices) || [];
      const { q, note } = await resolve(q0, buildings, devices, signal);
      // The resolved query goes into the address, so the view can be linked.
      const hash = historyHash(q);
      if (hash !== location.hash) history.replaceState(null, "", hash);
      renderControls(q, buildings, devices, note);
      await draw(q, buildings, devices);
    } catch (e) {
      if (e.name === "AbortError") return;
      status.textContent = "";
      report(e);
    }
  })();

  return () => {
    abort.abort();
    for (const c of drawn) c.destroy();
  };
}
