// The history page's pure parts: its query as the hash keeps it, the API
// URLs it leads to, the site map's floors, and readings turned into
// uPlot's aligned columns. No DOM.

// parseHistoryQuery reads "#/history?..."'s query (a URLSearchParams).
export function parseHistoryQuery(q) {
  const floor = q.get("floor");
  return {
    alarm: q.get("alarm") || "",
    building: q.get("building") || "",
    floor: floor === null || floor === "" ? null : Number(floor),
    devices: q.getAll("device"),
    from: q.get("from") || "",
    to: q.get("to") || "",
  };
}

// historyHash writes the query back, for the address bar and links.
export function historyHash(h) {
  const q = new URLSearchParams();
  if (h.alarm) q.set("alarm", h.alarm);
  if (h.building) q.set("building", h.building);
  if (h.floor !== null && h.floor !== undefined && h.floor !== "") q.set("floor", String(h.floor));
  for (const d of h.devices || []) q.append("device", d);
  if (h.from) q.set("from", h.from);
  if (h.to) q.set("to", h.to);
  const s = q.toString();
  return "#/history" + (s ? "?" + s : "");
}

// apiQuery is the readings' or events' query for the chosen devices and
// range; extra adds parameters (limit, format).
export function apiQuery(devices, from, to, extra) {
  const q = new URLSearchParams();
  for (const d of devices) q.append("device", d);
  if (from) q.set("from", from);
  if (to) q.set("to", to);
  for (const k of Object.keys(extra || {})) q.set(k, extra[k]);
  return q.toString();
}

// sameBuilding says whether a device's location names the building (by
// name, or by id when the building has no name).
export function inBuilding(dev, b) {
  const name = (dev.location || {}).building;
  return name !== undefined && (name === b.name || name === b.id);
}

// floorsOf lists a building's floors top down: the top floor first, then
// down to 1, then the basements -1, -2, ...
export function floorsOf(b) {
  const out = [];
  for (let f = b.floors || 0; f >= 1; f--) out.push(f);
  for (let f = 1; f <= (b.basements || 0); f++) out.push(-f);
  return out;
}

// buildingsOf flattens the site map: [{site, id, name, floors, basements}].
export function buildingsOf(site) {
  const out = [];
  for (const s of (site && site.sites) || []) {
    for (const b of s.buildings || []) out.push(Object.assign({ site: s.id, siteName: s.name }, b));
  }
  return out;
}

// devicesOn lists the devices on a building's floor, by name.
export function devicesOn(devices, b, floor) {
  return devices
    .filter((d) => inBuilding(d, b) && Number((d.location || {}).floor) === Number(floor))
    .sort((x, y) => (x.name || x.id).localeCompare(y.name || y.id));
}

// chartData turns readings into one chart per point: {point, unit,
// devices, data: [xs (s), ys per device...], count}. Columns are aligned
// on the union of the times, null where a device has no reading then.
// order lists the devices in the order their series appear.
export function chartData(readings, order) {
  const byPoint = new Map();
  for (const r of readings) {
    const t = Date.parse(r.time);
    const v = Number(r.value);
    if (Number.isNaN(t) || !Number.isFinite(v)) continue;
    let p = byPoint.get(r.point);
    if (!p) {
      p = { point: r.point, unit: r.unit || "", byDevice: new Map(), count: 0 };
      byPoint.set(r.point, p);
    }
    if (!p.unit && r.unit) p.unit = r.unit;
    let rows = p.byDevice.get(r.device);
    if (!rows) p.byDevice.set(r.device, (rows = []));
    rows.push([t / 1000, v]);
    p.count++;
  }
  const rank = new Map((order || []).map((d, i) => [d, i]));
  const out = [];
  for (const p of byPoint.values()) {
    const devices = Array.from(p.byDevice.keys()).sort((a, b) => {
      const ra = rank.has(a) ? rank.get(a) : Infinity;
      const rb = rank.has(b) ? rank.get(b) : Infinity;
      return ra - rb || (a < b ? -1 : a > b ? 1 : 0);
    });
    const xsSet = new Set();
    for (const rows of p.byDevice.values()) for (const r of rows) xsSet.add(r[0]);
    const xs = Array.from(xsSet).sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const cols = devices.map((d) => {
      const ys = new Array(xs.length).fill(null);
      for (const r of p.byDevice.get(d)) ys[index.get(r[0])] = r[1];
      return ys;
    });
    out.push({ point: p.point, unit: p.unit, devices, data: [xs].concat(cols), count: p.count });
  }
  return out.sort((a, b) => (a.point < b.point ? -1 : a.point > b.point ? 1 : 0));
}

// around is the range ±30 min around a time, in ms.
export function around(ms, minutes) {
  const w = (minutes || 30) * 60000;
  return { from: ms - w, to: ms + w };
}
