// The building view (#/buildings): each building a column of floors, top
// floor at the top and basements below, each floor its devices as chips
// coloured by state. A floor with an active alarm stands out.

import { h, replace, every } from "../dom.js";
import { t, tr } from "../i18n.js";
import { get } from "../api.js";
import { live } from "../live.js";
import { buildingsOf, floorsOf, inBuilding } from "../logic/history.js";
import { fmtFloor, fmtLocation } from "../logic/format.js";
import { report, loading } from "../ui.js";

function chip(d) {
  const state = d.state || "unknown";
  return h("a", {
    class: "chip ds-" + state,
    href: "#/devices/" + encodeURIComponent(d.id),
    title: `${d.name || d.id} — ${tr("dstate", state)}`,
    "data-device": d.id,
    "data-state": state,
    "aria-label": `${d.name || d.id} ${tr("dstate", state)}`,
  });
}

// alarmFloors lists "building/floor" for every active alarm on the board.
function alarmFloors() {
  const out = new Set();
  for (const m of live.alarms()) {
    if (m.active === false) continue;
    const l = m.location || {};
    out.add(`${l.building || ""}/${l.floor || ""}`);
  }
  return out;
}

export function renderBuildings(site, devices, hot) {
  const placed = new Set();
  const cols = buildingsOf(site).map((b) => {
    const mine = devices.filter((d) => inBuilding(d, b));
    const label = b.name || b.id;
    const rows = floorsOf(b).map((f) => {
      const here = mine.filter((d) => Number((d.location || {}).floor) === f);
      for (const d of here) placed.add(d.id);
      const alarm = here.some((d) => d.state === "alarm") || hot.has(`${label}/${f}`) || hot.has(`${b.id}/${f}`);
      const fault = !alarm && here.some((d) => d.state === "fault" || d.state === "offline");
      return h(
        "div",
        { class: "floor" + (alarm ? " floor-alarm" : fault ? " floor-fault" : "") + (f < 0 ? " basement" : ""), "data-floor": f, "data-alarm-floor": alarm ? "" : null },
        h("span", { class: "floor-n" }, fmtFloor(f)),
        h("span", { class: "chips" }, here.map(chip)),
      );
    });
    const ground = floorsOf(b).indexOf(-1);
    if (ground > 0) rows.splice(ground, 0, h("div", { class: "ground", "aria-hidden": "true" }));
    return h(
      "section",
      { class: "building", "data-building": label },
      h("h2", null, label, b.units ? h("span", { class: "muted small" }, " · " + t("bld.units", { n: b.units })) : null),
      h("div", { class: "floors" }, rows),
    );
  });
  const rest = devices.filter((d) => !placed.has(d.id));
  return [
    h("div", { class: "buildings" }, cols),
    rest.length
      ? h(
          "section",
          { class: "unplaced" },
          h("h2", null, t("bld.unplaced")),
          h(
            "div",
            { class: "chips" },
            rest.map((d) => h("span", { class: "unplaced-dev" }, chip(d), " ", d.name || d.id, h("span", { class: "muted" }, " " + fmtLocation(d.location)))),
          ),
        )
      : null,
  ];
}

function legend() {
  return h(
    "div",
    { class: "legend" },
    ["alarm", "fault", "offline", "online", "unknown"].map((s) => h("span", null, h("span", { class: "chip ds-" + s }), " ", tr("dstate", s))),
  );
}

export default function mount(root) {
  const body = h("div", null, loading());
  replace(root, h("div", { class: "page-head" }, h("h1", null, t("nav.buildings")), legend()), body);
  let abort = null;
  async function load() {
    if (abort) abort.abort();
    abort = new AbortController();
    try {
      const [site, devs] = await Promise.all([get("site", { signal: abort.signal }), get("devices", { signal: abort.signal })]);
      replace(body, renderBuildings(site, (devs && devs.devices) || [], alarmFloors()));
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
