// One alarm (#/alarm/<id>): its card with the steps the server allows, all
// it knows about the alarm, the camera's evidence and the history.

import { h, replace } from "../dom.js";
import { t, tr } from "../i18n.js";
import { get } from "../api.js";
import { live } from "../live.js";
import { fromServer } from "../logic/actions.js";
import { candidateList, evidenceLinks, fmtDateTime, fmtValue } from "../logic/format.js";
import { renderCard, refreshAgo } from "../card.js";
import { report, sevBadge, stateBadge, table, loading } from "../ui.js";

function mark(m) {
  if (!m || !m.time) return "";
  return [fmtDateTime(m.time), m.operator, m.note].filter(Boolean).join(" · ");
}

function facts(a, view) {
  const rows = [
    ["alarm.rule", a.rule],
    ["alarm.device", h("a", { href: "#/devices/" + encodeURIComponent(a.device) }, view.device_name || a.device)],
    ["alarm.severity", [sevBadge(a.severity), a.peak && a.peak !== a.severity ? [" ", t("alarm.peak"), " ", sevBadge(a.peak)] : null]],
    ["alarm.level", tr("level", a.level || "")],
    ["alarm.value", a.point ? `${tr("point", a.point)} ${fmtValue(a.value, view.unit)}` : ""],
    ["alarm.active", a.active ? t("yes") : t("no")],
    ["alarm.latched", a.latch ? (a.latched ? t("alarm.waitsReset") : t("alarm.latches")) : t("no")],
    ["alarm.raisedAt", fmtDateTime(a.raised_at)],
    ["alarm.activeSince", fmtDateTime(a.active_since)],
    ["alarm.returnedAt", fmtDateTime(a.returned_at)],
    ["alarm.acknowledged", mark(a.acknowledged)],
    ["alarm.dispatched", mark(a.dispatched)],
    ["alarm.resolved", mark(a.resolved)],
    ["alarm.closed", mark(a.closed)],
    ["alarm.reset", mark(a.reset)],
    ["alarm.escalation", a.escalation ? t("alarm.escalationOf", { n: a.escalation, max: Math.max(a.escalation, a.reached || 0) }) : ""],
    ["alarm.escalateAt", fmtDateTime(a.escalate_at)],
    ["alarm.shelved", a.shelf && a.shelf.until ? [fmtDateTime(a.shelf.until), a.shelf.operator, a.shelf.reason].filter(Boolean).join(" · ") : ""],
    ["alarm.reopened", a.reopened ? String(a.reopened) : ""],
    ["alarm.chattering", a.chattering ? t("yes") : ""],
    ["alarm.grid", (view.location || {}).grid],
    ["alarm.community", (view.location || {}).community],
  ];
  const detail = Object.assign({}, a.detail || view.detail || {});
  delete detail.evidence;
  delete detail.candidates;
  for (const k of Object.keys(detail).sort()) rows.push([null, detail[k], tr("detail", k)]);
  return h(
    "table",
    { class: "facts" },
    h(
      "tbody",
      null,
      rows.filter((r) => r[1] !== "" && r[1] !== undefined && r[1] !== null).map((r) => h("tr", null, h("th", null, r[0] ? t(r[0]) : r[2]), h("td", null, r[1]))),
    ),
  );
}

function lightbox(src) {
  const box = h("div", { class: "lightbox", "data-lightbox": "", title: t("alarm.closePicture") }, h("img", { src, alt: "" }));
  const close = () => {
    box.remove();
    document.removeEventListener("keydown", esc);
  };
  const esc = (e) => {
    if (e.key === "Escape") close();
  };
  box.addEventListener("click", close);
  document.addEventListener("keydown", esc);
  document.body.appendChild(box);
}

function evidence(detail) {
  const links = evidenceLinks(detail && detail.evidence);
  const cands = candidateList(detail && detail.candidates);
  if (!links.length && !cands.length) return null;
  return h(
    "section",
    { class: "evidence" },
    h("h2", null, t("alarm.evidence")),
    links.length
      ? h(
          "div",
          { class: "pictures" },
          links.map((src) =>
            h(
              "a",
              {
                href: src,
                target: "_blank",
                rel: "noopener",
                onclick: (e) => {
                  if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
                  e.preventDefault();
                  lightbox(src);
                },
              },
              h("img", { "data-evidence": "", src, alt: t("alarm.picture"), loading: "lazy" }),
            ),
          ),
        )
      : null,
    cands.length ? h("div", { class: "candidates", "data-candidates": "" }, h("h3", null, t("alarm.candidates")), h("ul", null, cands.map((c) => h("li", null, c)))) : null,
  );
}

function historyTable(history) {
  return table(
    ["hist.time", "hist.kind", "hist.state", "hist.severity", "hist.value", "hist.escalation", "hist.operator", "hist.note"],
    (history || []).map((x) =>
      h(
        "tr",
        { "data-seq": x.seq },
        h("td", null, fmtDateTime(x.time)),
        h("td", null, tr("kind", x.kind)),
        h("td", null, stateBadge(x.state)),
        h("td", null, sevBadge(x.severity), x.level ? " " + tr("level", x.level) : ""),
        h("td", null, x.point ? fmtValue(x.value, x.unit) : ""),
        h("td", null, x.escalation ? String(x.escalation) : ""),
        h("td", null, x.operator || ""),
        h("td", null, x.note || ""),
      ),
    ),
    { "data-history": "" },
  );
}

export default function mount(root, route) {
  const id = Number(route.params[0]);
  const top = h("div", { class: "page-head" }, h("a", { href: "#/board", class: "back" }, "← ", t("nav.board")), h("h1", null, t("alarm.title", { id })));
  const body = h("div", { class: "alarm-page" }, loading());
  replace(root, top, body);

  let abort = null;
  let timer = null;
  let seq = 0;
  async function load() {
    if (abort) abort.abort();
    abort = new AbortController();
    try {
      const res = await get("alarms/" + id, { signal: abort.signal });
      seq = (res.view && res.view.seq) || 0;
      const view = Object.assign({}, res.view, { raised_at: (res.view && res.view.raised_at) || (res.alarm && res.alarm.raised_at) });
      const actions = fromServer(res.actions, view);
      replace(
        body,
        renderCard(view, { actions, big: true, onDone: load }),
        h(
          "p",
          { class: "links" },
          h("a", { href: `#/history?alarm=${id}`, "data-history-link": "" }, t("alarm.chart")),
          " · ",
          h("a", { href: "#/devices/" + encodeURIComponent(view.device) }, t("alarm.devicePage")),
        ),
        evidence(view.detail || (res.alarm && res.alarm.detail)),
        h("section", null, h("h2", null, t("alarm.facts")), facts(res.alarm || {}, view)),
        h("section", null, h("h2", null, t("alarm.history")), historyTable(res.history)),
      );
    } catch (e) {
      if (e.name === "AbortError") return;
      replace(body, h("p", { class: "muted" }, t("alarm.notLoaded")));
      report(e);
    }
  }
  const unsub = live.subscribe((c) => {
    if (c.type === "transition" && c.id === id && c.message.seq > seq) {
      clearTimeout(timer);
      timer = setTimeout(load, 300);
    }
    if (c.type === "snapshot") {
      const m = live.get(id);
      if (m && m.seq > seq) {
        clearTimeout(timer);
        timer = setTimeout(load, 300);
      }
    }
  });
  const ago = setInterval(() => refreshAgo(body), 15000);
  load();
  return () => {
    unsub();
    clearTimeout(timer);
    clearInterval(ago);
    if (abort) abort.abort();
  };
}
