// The alarm board (#/board), for the police duty room's wide screen: the
// day's figures, then fire and gas alarms, then faults apart and quieter,
// each grouped by building and floor. Cards are kept by id and rebuilt only
// when their alarm changes, so a note being typed survives new arrivals.

import { h, replace, every } from "../dom.js";
import { t, getLang } from "../i18n.js";
import { can, get, post } from "../api.js";
import { live } from "../live.js";
import { arrange } from "../logic/board.js";
import { fmtBuilding, fmtDuration, fmtFloor, fmtPercent, localMidnight, rfc3339 } from "../logic/format.js";
import { renderCard, refreshAgo } from "../card.js";
import { report, clearError, showError } from "../ui.js";

// figure is one number of the strip; name is the API's field
// (data-figure="raised", "to_acknowledge", "share_closed", "escalated").
function figure(name, label, value, sub) {
  return h("div", { class: "fig", "data-figure": name }, h("div", { class: "fig-n" }, value), h("div", { class: "fig-l" }, t(label)), sub ? h("div", { class: "fig-s muted" }, sub) : null);
}

// renderFigures fills the strip with today's closed-loop figures.
export function renderFigures(el, f) {
  const ack = f.to_acknowledge || {};
  replace(
    el,
    figure("raised", "fig.raised", String(f.raised || 0), t("fig.ackClosed", { a: f.acknowledged || 0, c: f.closed || 0 })),
    figure("to_acknowledge", "fig.ackMedian", ack.n ? fmtDuration(ack.median_s) : "–", ack.n ? t("fig.mean", { d: fmtDuration(ack.mean_s) }) : t("fig.noAck")),
    figure("share_closed", "fig.shareClosed", f.raised ? fmtPercent(f.share_closed) : "–"),
    figure("escalated", "fig.escalated", String(f.escalated || 0), f.reopened ? t("fig.reopened", { n: f.reopened }) : null),
  );
}

export default function mount(root) {
  const figs = h("div", { class: "figures", "data-figures": "" }, h("span", { class: "muted" }, t("loading")));
  const areas = {};
  for (const name of ["alarms", "faults"]) {
    const count = h("span", { class: "area-count" });
    const groups = h("div", { class: "groups" });
    const empty = h("p", { class: "empty muted" }, t(name === "alarms" ? "board.noAlarms" : "board.noFaults"));
    const el = h("section", { class: "area area-" + name, "data-area": name }, h("h2", null, t("board." + name), " ", count), empty, groups);
    areas[name] = { el, count, groups, empty };
  }
  const el = h(
    "section",
    { class: "board", "data-conn": live.conn() },
    h("div", { class: "conn-banner", "data-conn-banner": "", role: "status" }, t("board.connDown")),
    figs,
    h("div", { class: "areas" }, areas.alarms.el, areas.faults.el),
  );
  replace(root, el);

  const cards = new Map(); // alarm id → {el, seq, key}
  const groups = new Map(); // area|group key → {el, title, count, button, group}
  const lang = getLang();
  const canAct = can("alarm.act");

  function cardFor(m) {
    const have = cards.get(m.alarm);
    if (have && have.seq === m.seq) return have.el;
    const card = renderCard(m, { link: true });
    if (have && have.el.parentNode) {
      const focused = have.el.contains(document.activeElement) ? document.activeElement : null;
      have.el.parentNode.replaceChild(card, have.el);
      if (focused && focused.hasAttribute("data-note")) {
        const input = card.querySelector("[data-note]");
        if (input) {
          const pos = focused.selectionStart;
          input.focus();
          try {
            input.setSelectionRange(pos, pos);
          } catch (e) {
            /* not a text input */
          }
        }
      }
    }
    cards.set(m.alarm, { el: card, seq: m.seq });
    return card;
  }

  function groupFor(area, g) {
    const id = area + "|" + g.key;
    let ge = groups.get(id);
    if (!ge) {
      const title = h("span", { class: "group-title" });
      const count = h("span", { class: "group-count" });
      const button = canAct ? h("button", { type: "button", class: "act act-acknowledge group-ack", "data-group-action": "acknowledge" }) : null;
      const list = h("div", { class: "cards" });
      const el = h("section", { class: "group", "data-group": g.key }, h("header", { class: "group-head" }, title, " ", count, button), list);
      ge = { el, title, count, button, list, group: g };
      if (button) button.addEventListener("click", () => ackGroup(ge));
      groups.set(id, ge);
    }
    ge.group = g;
    const where = [fmtBuilding(g.building), fmtFloor(g.floor)].filter(Boolean).join(" ") || t("loc.unknown");
    ge.title.textContent = where;
    ge.count.textContent = t("board.count", { n: g.items.length });
    ge.el.setAttribute("data-size", g.items.length > 2 ? "many" : String(g.items.length));
    if (ge.button) {
      ge.button.hidden = g.raised.length === 0;
      ge.button.textContent = t("board.ackGroup", { n: g.raised.length });
    }
    return ge;
  }

  async function ackGroup(ge) {
    const ids = ge.group.raised.slice();
    if (!ids.length) return;
    ge.button.disabled = true;
    try {
      const res = await post("alarms/group/acknowledge", { ids, note: "" });
      clearError();
      live.merge((res && res.done) || []);
      const failed = (res && res.failed) || [];
      if (failed.length) showError(failed.map((f) => t("board.groupFailed", { id: f.alarm, error: f.error })).join("; "));
    } catch (e) {
      report(e);
    } finally {
      ge.button.disabled = false;
    }
  }

  function sync(parent, els) {
    let i = 0;
    for (const c of els) {
      const at = parent.children[i];
      if (at !== c) parent.insertBefore(c, at || null);
      i++;
    }
    while (parent.children.length > els.length) parent.removeChild(parent.lastChild);
  }

  function render() {
    el.setAttribute("data-conn", live.conn());
    const all = live.alarms();
    const arr = arrange(all);
    const seenCards = new Set();
    const seenGroups = new Set();
    for (const name of ["alarms", "faults"]) {
      const a = areas[name];
      const els = [];
      let n = 0;
      for (const g of arr[name]) {
        const ge = groupFor(name, g);
        seenGroups.add(name + "|" + g.key);
        sync(
          ge.list,
          g.items.map((m) => {
            seenCards.add(m.alarm);
            return cardFor(m);
          }),
        );
        els.push(ge.el);
        n += g.items.length;
      }
      sync(a.groups, els);
      a.count.textContent = n ? `(${n})` : "";
      a.empty.hidden = n > 0;
      a.el.classList.toggle("has", n > 0);
    }
    for (const id of Array.from(cards.keys())) if (!seenCards.has(id)) cards.delete(id);
    for (const id of Array.from(groups.keys())) if (!seenGroups.has(id)) groups.delete(id);
  }

  let figTimer = null;
  let figAbort = null;
  async function loadFigures() {
    clearTimeout(figTimer);
    figTimer = null;
    if (figAbort) figAbort.abort();
    figAbort = new AbortController();
    const now = new Date();
    const q = new URLSearchParams({ from: rfc3339(localMidnight(now)), to: rfc3339(now) });
    try {
      const f = await get("alarms/figures?" + q, { signal: figAbort.signal });
      if (getLang() === lang) renderFigures(figs, f || {});
    } catch (e) {
      if (e.name === "AbortError") return;
      replace(figs, h("span", { class: "muted" }, t("fig.unavailable")));
      report(e);
    }
  }

  let frame = 0;
  const unsub = live.subscribe((c) => {
    if (c.type === "conn") {
      el.setAttribute("data-conn", live.conn());
      return;
    }
    // Many messages in one burst are drawn once.
    if (!frame) frame = setTimeout(() => ((frame = 0), render()), 40);
    if (c.type === "transition" && !figTimer) figTimer = setTimeout(loadFigures, 3000);
  });
  render();
  loadFigures();
  const stopFig = every(60000, loadFigures);
  const stopAgo = every(15000, () => refreshAgo(el));

  return () => {
    unsub();
    stopFig();
    stopAgo();
    clearTimeout(figTimer);
    clearTimeout(frame);
    if (figAbort) figAbort.abort();
  };
}
