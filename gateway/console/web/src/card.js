// An alarm card, as the board and the alarm's own page show it: where,
// what, since when, who lives there, and the lifecycle buttons.

import { h } from "./dom.js";
import { t, tr } from "./i18n.js";
import { can, post } from "./api.js";
import { live } from "./live.js";
import { actionsFor, needsNote, usesNote } from "./logic/actions.js";
import { isAlarmSeverity, raisedAt } from "./logic/board.js";
import { fmtAgo, fmtTime, fmtValue, locationParts, tagBadges } from "./logic/format.js";
import { report, clearError, sevBadge, stateBadge, showError } from "./ui.js";

// Notes typed but not yet sent, by alarm id: a card rebuilt by a new
// message keeps what the officer was typing.
const drafts = new Map();

export function agoText(ms) {
  return fmtAgo(ms, Date.now());
}

// refreshAgo updates every live "x min ago" under root.
export function refreshAgo(root) {
  const now = Date.now();
  for (const el of root.querySelectorAll("[data-ago]")) {
    el.textContent = fmtAgo(Number(el.getAttribute("data-since")), now);
  }
}

// act sends one step; the answer's transition goes onto the board at once.
export async function act(m, action, input, buttons) {
  const need = needsNote(action);
  const note = input ? input.value.trim() : "";
  if (need && !note) {
    showError(t(need));
    if (input) input.focus();
    return false;
  }
  for (const b of buttons || []) b.disabled = true;
  try {
    const res = await post(`alarms/${m.alarm}/${action}`, { note });
    clearError();
    drafts.delete(m.alarm);
    if (input) input.value = "";
    if (res && res.transition) live.merge([res.transition]);
    return true;
  } catch (e) {
    report(e);
    return false;
  } finally {
    for (const b of buttons || []) b.disabled = false;
  }
}

function flags(m) {
  const out = [];
  if (m.active === false) out.push(h("span", { class: "flag" }, t("flag.returned")));
  else if (m.state === "resolved") out.push(h("span", { class: "flag" }, t("flag.stillActive")));
  if (m.latched) out.push(h("span", { class: "flag flag-warn" }, t("flag.latched")));
  if (m.chattering) out.push(h("span", { class: "flag" }, t("flag.chattering")));
  if (m.shelved_until && Date.parse(m.shelved_until) > Date.now()) {
    out.push(h("span", { class: "flag" }, t("flag.shelved", { until: fmtTime(m.shelved_until) })));
  }
  return out;
}

// renderCard builds the card for message m. opts.actions overrides the
// buttons (the alarm page passes the server's list); opts.link makes a
// click on the card open the alarm's page; opts.big is the alarm page's
// larger card.
export function renderCard(m, opts) {
  const o = opts || {};
  const since = raisedAt(m);
  const actions = can("alarm.act") ? o.actions || actionsFor(m) : [];
  const where = locationParts(m.location, m.detail);
  const level = m.escalation || 0;

  let input = null;
  const buttons = [];
  let actionRow = null;
  if (actions.length) {
    if (usesNote(actions)) {
      input = h("input", {
        type: "text",
        class: "note",
        "data-note": "",
        placeholder: t("note.placeholder"),
        "aria-label": t("note.placeholder"),
        value: drafts.get(m.alarm) || "",
        maxlength: "500",
      });
      input.addEventListener("input", () => drafts.set(m.alarm, input.value));
      input.addEventListener("keydown", (e) => {
        if (e.key !== "Enter") return;
        const first = buttons.find((b) => b.dataset.action === "dispatch" || b.dataset.action === "resolve");
        if (first) first.click();
      });
    }
    for (const a of actions) {
      const b = h(
        "button",
        { type: "button", class: "act act-" + a.action, "data-action": a.action },
        tr("action", a.action),
      );
      b.addEventListener("click", (e) => {
        e.stopPropagation();
        act(m, a.action, input, buttons).then((ok) => {
          if (ok && o.onDone) o.onDone();
        });
      });
      buttons.push(b);
    }
    // A lone step (acknowledge, close, reset) sits at the end of the time
    // line; the note input and its steps get a line of their own.
    actionRow = h("div", { class: "actions" + (input ? "" : " inline") }, input, buttons);
  }

  const what = [sevBadge(m.severity), " ", h("span", { class: "dev" }, m.device_name || m.device)];
  if (m.point) what.push(" · ", h("span", { class: "point" }, tr("point", m.point), " ", h("b", null, fmtValue(m.value, m.unit))));
  const ruleBits = [m.rule && t("card.rule", { rule: m.rule }), m.level && t("card.level", { level: tr("level", m.level) })].filter(Boolean);
  if (ruleBits.length) what.push(" ", h("span", { class: "rule muted" }, ruleBits.join(" · ")));
  const badges = tagBadges(m.tags);

  const card = h(
    "article",
    {
      class: `card sev-${m.severity} st-${m.state}` + (isAlarmSeverity(m.severity) ? "" : " quiet") + (o.big ? " big" : "") + (o.link ? " link" : ""),
      "data-alarm": m.alarm,
      "data-state": m.state,
      "data-severity": m.severity,
      tabindex: o.link ? "0" : null,
    },
    h(
      "div",
      { class: "where" },
      where.length ? where.map((p, i) => h("span", { class: i === where.length - 1 && m.detail && m.detail.window ? "window" : "" }, p)) : h("span", { class: "muted" }, t("loc.unknown")),
      badges.length ? h("span", { class: "tags" }, badges.map((b) => h("span", { class: b.strong ? "tag tag-strong" : "tag" }, b.text))) : null,
    ),
    h("div", { class: "what" }, what),
    h(
      "div",
      { class: "when" },
      h("span", { class: "raised", title: t("card.raised") }, fmtTime(since)),
      " · ",
      h("span", { "data-ago": "", "data-since": since }, agoText(since)),
      " ",
      stateBadge(m.state),
      level > 0 ? h("span", { class: "esc" + (level > 1 ? " esc-high" : ""), title: t("card.escalationTitle") }, t("card.escalation", { n: level })) : null,
      flags(m),
      m.operator ? h("span", { class: "muted op" }, t("card.operator", { who: m.operator })) : null,
      actionRow && !input ? actionRow : null,
    ),
    m.note && !o.big ? h("div", { class: "lastnote muted" }, t("card.note", { note: m.note })) : null,
    actionRow && input ? actionRow : null,
  );
  if (o.link) {
    const open = (e) => {
      if (e.target.closest("button, input, a, select, textarea")) return;
      location.hash = `#/alarm/${m.alarm}`;
    };
    card.addEventListener("click", open);
    card.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && e.target === card) open(e);
    });
  }
  return card;
}
