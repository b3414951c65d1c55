// Figures (#/figures): the closed-loop figures day by day for the last 30
// days (local days: from is sent with the browser's UTC offset), and the
// whole period in the last row.

import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { get } from "../api.js";
import { fmtDate, fmtDuration, fmtPercent, localMidnight, rfc3339 } from "../logic/format.js";
import { report, table, loading } from "../ui.js";

function row(f, label, attrs) {
  const ack = f.to_acknowledge || {};
  const close = f.to_close || {};
  const d = (s, n) => (n ? fmtDuration(s) : "–");
  return h(
    "tr",
    attrs,
    h("th", null, label),
    h("td", { class: "num" }, String(f.raised || 0)),
    h("td", { class: "num" }, String(f.acknowledged || 0)),
    h("td", { class: "num" }, String(f.closed || 0)),
    h("td", { class: "num" }, f.raised ? fmtPercent(f.share_closed) : "–"),
    h("td", { class: "num" }, d(ack.median_s, ack.n)),
    h("td", { class: "num" }, d(ack.mean_s, ack.n)),
    h("td", { class: "num" }, d(ack.p90_s, ack.n)),
    h("td", { class: "num" }, d(close.median_s, close.n)),
    h("td", { class: "num" }, String(f.escalated || 0)),
    h("td", { class: "num" }, String(f.reopened || 0)),
  );
}

export default function mount(root) {
  const body = h("div", null, loading());
  replace(root, h("div", { class: "page-head" }, h("h1", null, t("nav.figures")), h("span", { class: "muted" }, t("figs.sub"))), body);
  const abort = new AbortController();
  (async () => {
    const now = new Date();
    const start = localMidnight(new Date(now.getFullYear(), now.getMonth(), now.getDate() - 29));
    const q = new URLSearchParams({ from: rfc3339(start), to: rfc3339(now) });
    try {
      const [byDay, all] = await Promise.all([get("alarms/figures?by=day&" + q, { signal: abort.signal }), get("alarms/figures?" + q, { signal: abort.signal })]);
      const days = ((byDay && byDay.days) || []).slice().reverse();
      replace(
        body,
        table(
          ["figs.day", "figs.raised", "figs.acknowledged", "figs.closed", "figs.shareClosed", "figs.ackMedian", "figs.ackMean", "figs.ackP90", "figs.closeMedian", "figs.escalated", "figs.reopened"],
          days.map((f) => row(f, fmtDate(f.from), { "data-day": fmtDate(f.from) })).concat(all ? [row(all, t("figs.total"), { class: "total", "data-day": "total" })] : []),
          { class: "grid figures-table", "data-figures-table": "" },
        ),
      );
    } catch (e) {
      if (e.name === "AbortError") return;
      replace(body, h("p", { class: "muted" }, t("fig.unavailable")));
      report(e);
    }
  })();
  return () => abort.abort();
}
