// Time-series charts with uPlot: one line per device, and events and
// alarm steps as vertical markers drawn in uPlot's draw hook.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { t } from "./i18n.js";
import { fmtDateTime, fmtTick, fmtValue } from "./logic/format.js";

export const PALETTE = ["#1f5fbf", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#8d6e63", "#ad1457", "#558b2f", "#37474f"];

// markerColor gives an event's or an alarm step's marker colour.
export function markerColor(m) {
  const by = {
    fire: "#b71c1c",
    alarm: "#d32f2f",
    warning: "#ef6c00",
    fault: "#b08900",
    info: "#78909c",
    raised: "#d32f2f",
    acknowledged: "#1565c0",
    dispatched: "#1565c0",
    resolved: "#2e7d32",
    closed: "#2e7d32",
  };
  return by[m.key] || "#6a1b9a";
}

function drawMarkers(u, markers) {
  if (!markers || !markers.length) return;
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const dpr = window.devicePixelRatio || 1;
  ctx.save();
  ctx.lineWidth = 1.5 * dpr;
  ctx.setLineDash([5 * dpr, 4 * dpr]);
  for (const m of markers) {
    const x = Math.round(u.valToPos(m.t / 1000, "x", true));
    if (x < left || x > left + width) continue;
    ctx.strokeStyle = markerColor(m);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.fillStyle = markerColor(m);
    ctx.fillRect(x - 3 * dpr, top, 6 * dpr, 6 * dpr);
  }
  ctx.restore();
}

// lineChart draws data ([xs in s, ys per series...]) into container.
// opts: names (one per series), unit, height, markers ([{t: ms, key}]),
// from/to (ms: the x range shown, whatever the data covers).
export function lineChart(container, data, opts) {
  const o = opts || {};
  const height = o.height || 240;
  let markers = o.markers || [];
  const size = () => ({ width: Math.max(280, container.clientWidth || 600), height });
  const plot = new uPlot(
    Object.assign(size(), {
      scales: { x: { time: true } },
      series: [{ label: t("chart.time"), value: (u, v) => (v === null || v === undefined ? "" : fmtDateTime(v * 1000)) }].concat(
        o.names.map((name, i) => ({
          label: name,
          stroke: PALETTE[i % PALETTE.length],
          width: 1.5,
          spanGaps: true,
          value: (u, v) => (v === null || v === undefined ? "–" : fmtValue(v, o.unit)),
        })),
      ),
      axes: [
        {
          values: (u, splits) => {
            const span = splits.length > 1 ? (splits[splits.length - 1] - splits[0]) * 1000 : 0;
            return splits.map((v) => (v === null || v === undefined ? "" : fmtTick(v * 1000, span)));
          },
        },
        { label: o.unit || "", size: 56 },
      ],
      cursor: { drag: { x: true, y: false } },
      hooks: { draw: [(u) => drawMarkers(u, markers)] },
    }),
    data,
    container,
  );
  // Show the whole range asked for, not only where there is data; a drag
  // still zooms, a double click goes back to the data's extent.
  if (o.from !== undefined && o.to !== undefined) plot.setScale("x", { min: o.from / 1000, max: o.to / 1000 });
  let pending = 0;
  const onResize = () => {
    clearTimeout(pending);
    pending = setTimeout(() => plot.setSize(size()), 150);
  };
  window.addEventListener("resize", onResize);
  return {
    plot,
    setData(d) {
      plot.setData(d);
    },
    setMarkers(ms) {
      markers = ms || [];
      plot.redraw(false);
    },
    destroy() {
      clearTimeout(pending);
      window.removeEventListener("resize", onResize);
      plot.destroy();
    },
  };
}
