// Grades (#/grades?month=YYYY-MM): each building's safety grade for a
// month, green, yellow or red, with the points that make up its score.

import { h, replace } from "../dom.js";
import { t, tr } from "../i18n.js";
import { get } from "../api.js";
import { fmtNumber, monthOf } from "../logic/format.js";
import { report, table, loading } from "../ui.js";

export default function mount(root, route) {
  const month = /^\d{4}-\d{2}$/.test(route.query.get("month") || "") ? route.query.get("month") : monthOf(new Date());
  const picker = h("input", { type: "month", id: "grades-month", "data-month": "", value: month, max: monthOf(new Date()) });
  picker.addEventListener("change", () => {
    if (/^\d{4}-\d{2}$/.test(picker.value)) location.hash = "#/grades?month=" + picker.value;
  });
  const body = h("div", null, loading());
  replace(root, h("div", { class: "page-head" }, h("h1", null, t("nav.grades")), h("label", null, t("grades.month"), " ", picker)), body);
  const abort = new AbortController();
  (async () => {
    try {
      const res = await get("grades?month=" + encodeURIComponent(month), { signal: abort.signal });
      const th = (res && res.thresholds) || {};
      const list = (res && res.buildings) || [];
      replace(
        body,
        h("p", { class: "muted" }, t("grades.rule", { y: fmtNumber(th.yellow), r: fmtNumber(th.red) })),
        list.length ? null : h("p", { class: "muted" }, t("grades.none")),
        h(
          "div",
          { class: "grades" },
          list.map((b) =>
            h(
              "section",
              { class: "grade-card", "data-building": b.name || b.building },
              h(
                "h2",
                null,
                h("span", { class: "grade grade-" + b.grade, "data-grade": b.grade }, tr("grade", b.grade)),
                " ",
                b.name || b.building,
                " ",
                h("span", { class: "score", "data-score": "" }, t("grades.score", { s: fmtNumber(b.score) })),
              ),
              table(
                ["grades.what", "grades.count", "grades.weight", "grades.points", "grades.explain"],
                (b.parts || []).map((p) =>
                  h(
                    "tr",
                    { "data-part": p.what },
                    h("td", null, tr("part", p.what)),
                    h("td", { class: "num" }, fmtNumber(p.count)),
                    h("td", { class: "num" }, fmtNumber(p.weight)),
                    h("td", { class: "num" }, fmtNumber(p.points)),
                    // The server's explanation is English; the table
                    // writes its own, with the server's as the tooltip.
                    h("td", { class: "muted", title: p.explain || null }, t("grades.formula", { count: fmtNumber(p.count), weight: fmtNumber(p.weight), points: fmtNumber(p.points) })),
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    } catch (e) {
      if (e.name === "AbortError") return;
      replace(body, h("p", { class: "muted" }, t("grades.unavailable")));
      report(e);
    }
  })();
  return () => abort.abort();
}
