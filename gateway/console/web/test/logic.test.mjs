// The console's pure logic, without a browser: node --test test/logic.test.mjs
// (npm test). Runs on Node 18 and later.

import test from "node:test";
import assert from "node:assert/strict";

import { newBoard, applySnapshot, applyTransition, arrange, compareAlarms, groupKey, raisedAt } from "../src/logic/board.js";
import { actionsFor, fromServer, needsNote, usesNote } from "../src/logic/actions.js";
import { AlertLoop, needsTone } from "../src/logic/alert.js";
import { chartData, floorsOf, historyHash, parseHistoryQuery, devicesOn, apiQuery, around } from "../src/logic/history.js";
import { strings, setLang, t, tr } from "../src/i18n.js";
import {
  candidateList,
  evidenceLinks,
  fmtDuration,
  fmtFloor,
  fmtLocation,
  fmtTick,
  fromLocalInput,
  rfc3339,
  tagBadges,
  toLocalInput,
} from "../src/logic/format.js";

const T0 = Date.parse("2026-11-24T08:00:00Z");
const iso = (ms) => new Date(ms).toISOString();

function msg(id, seq, extra) {
  return Object.assign(
    {
      alarm: id,
      seq,
      kind: seq === 1 ? "raised" : "updated",
      time: iso(T0 + id * 1000 + seq),
      severity: "alarm",
      state: "raised",
      active: true,
      location: { building: "3号楼", floor: 12 },
    },
    extra || {},
  );
}

test("board keeps, per alarm, the message with the highest seq", () => {
  const b = newBoard();
  assert.deepEqual(applySnapshot(b, [msg(1, 2), msg(2, 1)]), [1, 2]);
  assert.equal(applyTransition(b, msg(1, 1, { state: "raised" })), "", "an older message changes nothing");
  assert.equal(applyTransition(b, msg(1, 2, { state: "acknowledged" })), "", "a repeated seq changes nothing");
  assert.equal(b.alarms.get(1).state, "raised");
  assert.equal(applyTransition(b, msg(1, 3, { state: "acknowledged" })), "updated");
  assert.equal(b.alarms.get(1).state, "acknowledged");
  assert.equal(applyTransition(b, msg(3, 1)), "added");
  assert.equal(b.alarms.size, 3);
});

test("closed takes an alarm off the board, and a late message cannot bring it back", () => {
  const b = newBoard();
  applySnapshot(b, [msg(1, 1), msg(2, 1)]);
  assert.equal(applyTransition(b, msg(1, 5, { state: "closed" })), "removed");
  assert.equal(b.alarms.has(1), false);
  assert.equal(applyTransition(b, msg(1, 4, { state: "resolved" })), "");
  assert.equal(b.alarms.has(1), false);
  // A closed alarm never seen before changes nothing either.
  assert.equal(applyTransition(b, msg(9, 3, { state: "closed" })), "");
  assert.equal(b.alarms.size, 1);
});

test("a snapshot replaces the board, keeping a newer message an action already brought", () => {
  const b = newBoard();
  applySnapshot(b, [msg(1, 1), msg(2, 1)]);
  applyTransition(b, msg(2, 3, { state: "acknowledged" }));
  const added = applySnapshot(b, [msg(2, 2), msg(4, 1)]);
  assert.deepEqual(added, [4]);
  assert.deepEqual(Array.from(b.alarms.keys()).sort(), [2, 4]);
  assert.equal(b.alarms.get(2).seq, 3, "the newer message stays");
});

test("the raise time survives messages that leave it out", () => {
  const b = newBoard();
  applyTransition(b, msg(1, 1, { time: iso(T0) }));
  applyTransition(b, msg(1, 2, { time: iso(T0 + 60000), state: "acknowledged" }));
  assert.equal(raisedAt(b.alarms.get(1)), T0);
  applyTransition(b, msg(1, 3, { time: iso(T0 + 120000), raised_at: iso(T0), state: "dispatched" }));
  assert.equal(raisedAt(b.alarms.get(1)), T0);
});

test("board order: severity first, then the oldest", () => {
  const list = [
    msg(1, 1, { severity: "warning", raised_at: iso(T0) }),
    msg(2, 1, { severity: "fire", raised_at: iso(T0 + 5000) }),
    msg(3, 1, { severity: "alarm", raised_at: iso(T0 + 1000) }),
    msg(4, 1, { severity: "fire", raised_at: iso(T0 + 2000) }),
  ];
  assert.deepEqual(list.sort(compareAlarms).map((m) => m.alarm), [4, 2, 3, 1]);
});

test("faults stand apart from fire and gas alarms, grouped by building and floor", () => {
  const list = [
    msg(1, 1, { severity: "fault", location: { building: "3号楼", floor: 12 } }),
    msg(2, 1, { severity: "alarm", location: { building: "3号楼", floor: 12 }, raised_at: iso(T0 + 3000) }),
    msg(3, 1, { severity: "fire", location: { building: "1号楼", floor: 4 }, raised_at: iso(T0 + 9000) }),
    msg(4, 1, { severity: "warning", location: { building: "3号楼", floor: 12 }, state: "acknowledged", raised_at: iso(T0) }),
    msg(5, 1, { severity: "info", location: { building: "3号楼", floor: -1 } }),
  ];
  const a = arrange(list);
  assert.deepEqual(a.alarms.map((g) => g.key), ["1号楼/4", "3号楼/12"], "the group with a fire comes first");
  assert.deepEqual(a.alarms[1].items.map((m) => m.alarm), [2, 4]);
  assert.deepEqual(a.alarms[1].raised, [2], "only raised alarms are acknowledged as a group");
  assert.deepEqual(a.faults.map((g) => g.key), ["3号楼/12", "3号楼/-1"]);
  assert.equal(a.faults.flatMap((g) => g.items).some((m) => m.severity === "fire" || m.severity === "alarm"), false);
  assert.equal(groupKey({ location: { building: "3号楼" } }), "3号楼/");
});

test("50 alarms within a minute all land on the board", () => {
  const b = newBoard();
  applySnapshot(b, []);
  for (let i = 1; i <= 50; i++) applyTransition(b, msg(i, 1, { severity: ["fire", "alarm", "warning", "fault"][i % 4], location: { building: "3号楼", floor: (i % 18) + 1 } }));
  const a = arrange(Array.from(b.alarms.values()));
  const n = (gs) => gs.reduce((s, g) => s + g.items.length, 0);
  assert.equal(n(a.alarms) + n(a.faults), 50);
});

test("which actions each state allows", () => {
  const names = (m) => actionsFor(m).map((a) => a.action);
  assert.deepEqual(names({ state: "raised", active: true }), ["acknowledge"]);
  assert.deepEqual(names({ state: "acknowledged", active: true }), ["dispatch", "resolve"]);
  assert.deepEqual(names({ state: "dispatched", active: true }), ["resolve"]);
  assert.deepEqual(names({ state: "resolved", active: false }), ["close"]);
  assert.deepEqual(names({ state: "resolved", active: true }), [], "close waits for the condition to return");
  assert.deepEqual(names({ state: "resolved", active: false, latched: true }), ["reset"], "close waits for the reset");
  assert.deepEqual(names({ state: "acknowledged", active: false, latched: true }), ["dispatch", "resolve", "reset"]);
  assert.deepEqual(names({ state: "dispatched", active: false, latched: true }), ["resolve", "reset"]);
  assert.deepEqual(names({ state: "raised", active: false, latched: true }), ["acknowledge"], "a raised alarm is acknowledged before a reset");
  assert.deepEqual(names({ state: "acknowledged", active: true, latched: true }), ["dispatch", "resolve"], "no reset while active");
  assert.deepEqual(names({ state: "closed" }), []);
  // The alarm page takes the server's list, in the board's order, without
  // the steps the console does not offer.
  assert.deepEqual(fromServer(["shelve", "close"], { state: "resolved", active: true }).map((a) => a.action), ["close"]);
  assert.deepEqual(fromServer(["dispatch", "resolve", "reset", "shelve"], {}).map((a) => a.action), ["dispatch", "resolve", "reset"]);
  assert.deepEqual(fromServer(undefined, { state: "raised" }).map((a) => a.action), ["acknowledge"]);
  assert.equal(needsNote("dispatch"), "note.needDispatch");
  assert.equal(needsNote("resolve"), "note.needResolve");
  assert.equal(needsNote("acknowledge"), "");
  assert.equal(usesNote(actionsFor({ state: "raised" })), false);
  assert.equal(usesNote(actionsFor({ state: "dispatched" })), true);
});

function fakeLoop(board) {
  const timers = new Map();
  let next = 1;
  const played = [];
  const state = {};
  const loop = new AlertLoop({
    alarms: () => board.alarms.values(),
    play: (k) => played.push(k),
    every: 4000,
    setTimer: (f) => {
      timers.set(next, f);
      return next++;
    },
    clearTimer: (id) => timers.delete(id),
    now: () => T0,
    state,
  });
  const tick = () => {
    for (const f of Array.from(timers.values())) f();
  };
  return { loop, timers, played, state, tick };
}

test("the alert rings once however many alarms arrive, and stops when none waits", () => {
  const b = newBoard();
  const { loop, timers, played, state, tick } = fakeLoop(b);
  for (let i = 1; i <= 50; i++) {
    applyTransition(b, msg(i, 1, { announce: true }));
    loop.check();
    loop.announce();
  }
  assert.equal(state.ringing, true);
  assert.equal(state.starts, 1);
  assert.equal(timers.size, 1, "one repeating tone, not fifty");
  tick();
  tick();
  assert.equal(played.filter((k) => k === "alarm").length, 3);
  for (let i = 1; i <= 49; i++) applyTransition(b, msg(i, 2, { state: "acknowledged" }));
  loop.check();
  assert.equal(state.ringing, true, "one alarm still waits");
  applyTransition(b, msg(50, 2, { state: "acknowledged" }));
  loop.check();
  assert.equal(state.ringing, false);
  assert.equal(timers.size, 0);
  tick();
  assert.equal(played.filter((k) => k === "alarm").length, 3, "silent once stopped");
  // A new alarm starts it again.
  applyTransition(b, msg(51, 1, { severity: "fire" }));
  loop.announce();
  assert.equal(state.starts, 2);
});

test("a fault beeps once and does not ring; the tick stops a tone nobody needs", () => {
  const b = newBoard();
  const { loop, played, state, tick } = fakeLoop(b);
  applyTransition(b, msg(1, 1, { severity: "fault" }));
  loop.announce();
  assert.equal(state.ringing, false);
  assert.deepEqual(played, ["notice"]);
  applyTransition(b, msg(2, 1, { severity: "warning" }));
  loop.announce();
  assert.equal(state.ringing, true);
  applyTransition(b, msg(2, 2, { state: "closed" }));
  tick(); // nobody called check: the loop's own tick stops it
  assert.equal(state.ringing, false);
});

test("needsTone: raised, warning or worse, not shelved", () => {
  const now = T0;
  assert.equal(needsTone([msg(1, 1, { severity: "warning" })], now), true);
  assert.equal(needsTone([msg(1, 1, { severity: "fault" })], now), false);
  assert.equal(needsTone([msg(1, 1, { severity: "info" })], now), false);
  assert.equal(needsTone([msg(1, 1, { state: "acknowledged" })], now), false);
  assert.equal(needsTone([msg(1, 1, { shelved_until: iso(now + 60000) })], now), false);
  assert.equal(needsTone([msg(1, 1, { shelved_until: iso(now - 60000) })], now), true);
});

test("i18n: zh and en have the same keys and the same placeholders", () => {
  const zh = Object.keys(strings.zh).sort();
  const en = Object.keys(strings.en).sort();
  assert.deepEqual(
    zh.filter((k) => !(k in strings.en)),
    [],
    "keys missing in en",
  );
  assert.deepEqual(
    en.filter((k) => !(k in strings.zh)),
    [],
    "keys missing in zh",
  );
  const holes = (s) => (s.match(/\{\w+\}/g) || []).sort().join(",");
  for (const k of zh) {
    assert.equal(holes(strings.en[k]), holes(strings.zh[k]), `placeholders of ${k}`);
    assert.notEqual(strings.en[k].trim(), "", `empty en string ${k}`);
    assert.notEqual(strings.zh[k].trim(), "", `empty zh string ${k}`);
  }
});

test("i18n: every key the source names is in the table", async () => {
  const fs = await import("node:fs");
  const path = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  const src = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src");
  // A key is a string literal "prefix.name" whose prefix the table uses
  // (t("login.user"), table heads ["dev.name", ...], figure("fig.raised")).
  const prefixes = new Set(Object.keys(strings.zh).filter((k) => k.includes(".")).map((k) => k.split(".")[0]));
  const used = new Set();
  const walk = (dir) => {
    for (const f of fs.readdirSync(dir)) {
      const p = path.join(dir, f);
      if (fs.statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".js") && !p.endsWith("i18n.js")) {
        for (const m of fs.readFileSync(p, "utf8").matchAll(/"([a-z]+)\.(\w+)"/g)) if (prefixes.has(m[1])) used.add(m[1] + "." + m[2]);
        for (const m of fs.readFileSync(p, "utf8").matchAll(/\bt\("(\w+)"/g)) used.add(m[1]);
      }
    }
  };
  walk(src);
  // Keys built at run time.
  for (const n of ["board", "buildings", "devices", "history", "figures", "grades"]) used.add("nav." + n);
  for (const n of ["alarms", "faults"]) used.add("board." + n);
  for (const s of ["info", "fault", "warning", "alarm", "fire"]) used.add("sev." + s);
  for (const s of ["raised", "acknowledged", "dispatched", "resolved", "closed"]) used.add("state." + s);
  for (const a of ["acknowledge", "dispatch", "resolve", "close", "reset"]) used.add("action." + a);
  for (const s of ["online", "offline", "fault", "alarm", "unknown"]) used.add("dstate." + s);
  for (const r of ["admin", "operator", "installer", "fire", "viewer"]) used.add("role." + r);
  for (const g of ["green", "yellow", "red"]) used.add("grade." + g);
  // Permission names look like keys but are the server's.
  used.delete("alarm.act");
  used.delete("device.write");
  assert.ok(used.size > 150, `only ${used.size} keys found`);
  assert.deepEqual(
    Array.from(used).filter((k) => !(k in strings.zh)),
    [],
  );
});

test("i18n: values from the server are translated, unknown ones shown as they are", () => {
  setLang("zh");
  assert.equal(tr("sev", "fire"), "火警");
  assert.equal(tr("sev", "fault"), "故障");
  assert.equal(tr("point", "radon"), "radon");
  assert.equal(t("board.count", { n: 3 }), "3 条");
  setLang("en");
  assert.equal(tr("sev", "fault"), "fault");
  setLang("zh");
});

test("format: places, household badges, durations", () => {
  setLang("zh");
  assert.equal(fmtLocation({ building: "3", unit: "2", floor: 12, room: "1202" }, { window: "12F-3" }), "3号楼 2单元 12层 1202 窗 12F-3");
  assert.equal(fmtLocation({ building: "3号楼", unit: "2单元", floor: -1, room: "车库" }), "3号楼 2单元 地下1层 车库");
  assert.equal(fmtFloor(0), "");
  assert.deepEqual(tagBadges({ resident: "elderly", alone: "yes" }).map((b) => b.text), ["独居老人"]);
  assert.deepEqual(tagBadges({ resident: "elderly" }).map((b) => b.text), ["老人"]);
  assert.deepEqual(tagBadges({ elderly: "yes", alone: "yes", pets: "dog" }).map((b) => b.text), ["独居老人", "pets: dog"]);
  assert.deepEqual(tagBadges({ floorplan: "B" }).map((b) => b.text), ["floorplan: B"]);
  assert.equal(fmtDuration(45), "45秒");
  assert.equal(fmtDuration(192), "3分12秒");
  assert.equal(fmtDuration(7500), "2小时5分");
  assert.deepEqual(evidenceLinks("/api/v1/evidence/cams/x-1.jpg  http://cam/x-2.jpg"), ["/api/v1/evidence/cams/x-1.jpg", "http://cam/x-2.jpg"]);
  assert.deepEqual(candidateList("12F-3, 13F-3"), ["12F-3", "13F-3"]);
  assert.deepEqual(evidenceLinks("javascript:alert(1) //evil/x.jpg /api/v1/evidence/a.jpg"), ["/api/v1/evidence/a.jpg"]);
});

test("format: times go out with the local offset and come back from datetime-local", () => {
  const d = new Date(2026, 10, 24, 8, 5, 9);
  const s = rfc3339(d);
  assert.match(s, /^2026-11-24T08:05:09[+-]\d{2}:\d{2}$/);
  assert.equal(Date.parse(s), d.getTime());
  assert.equal(toLocalInput(d), "2026-11-24T08:05");
  assert.equal(fromLocalInput("2026-11-24T08:05").getTime(), new Date(2026, 10, 24, 8, 5).getTime());
  assert.equal(fromLocalInput("nonsense"), null);
  assert.equal(fmtTick(d.getTime(), 3600000), "08:05:09");
  assert.equal(fmtTick(new Date(2026, 10, 24, 8, 5).getTime(), 3600000), "08:05");
  assert.equal(fmtTick(d.getTime(), 7 * 86400000), "11-24 08:05");
  assert.equal(fmtTick(new Date(2026, 10, 24).getTime(), 7 * 86400000), "11-24");
});

test("history: the query round-trips through the hash", () => {
  const h = { alarm: "7", building: "3", floor: -1, devices: ["a", "b c"], from: "2026-11-24T08:00:00+08:00", to: "2026-11-24T09:00:00+08:00" };
  const hash = historyHash(h);
  const back = parseHistoryQuery(new URLSearchParams(hash.slice(hash.indexOf("?") + 1)));
  assert.deepEqual(back, h);
  assert.equal(historyHash({ devices: [] }), "#/history");
  assert.equal(apiQuery(["a", "b"], "F", "T", { format: "csv" }), "device=a&device=b&from=F&to=T&format=csv");
  assert.deepEqual(around(T0, 30), { from: T0 - 1800000, to: T0 + 1800000 });
});

test("history: floors top down, basements below; devices of a floor", () => {
  assert.deepEqual(floorsOf({ floors: 3, basements: 2 }), [3, 2, 1, -1, -2]);
  const b = { id: "3", name: "3号楼" };
  const devs = [
    { id: "x", name: "B", location: { building: "3号楼", floor: 12 } },
    { id: "y", name: "A", location: { building: "3号楼", floor: 12 } },
    { id: "z", name: "C", location: { building: "1号楼", floor: 12 } },
    { id: "w", name: "D", location: { building: "3", floor: 12 } },
  ];
  assert.deepEqual(devicesOn(devs, b, 12).map((d) => d.id), ["y", "x", "w"]);
});

test("history: readings become one chart per point, series aligned on time", () => {
  const r = (device, point, sec, value) => ({ device, point, value, unit: point === "gas" ? "%LEL" : "ppm", time: iso(T0 + sec * 1000) });
  const charts = chartData(
    [r("a", "gas", 0, 1), r("b", "gas", 5, 2), r("a", "gas", 10, 3), r("a", "co", 0, 9), r("b", "gas", 10, 4)],
    ["b", "a"],
  );
  assert.deepEqual(charts.map((c) => c.point), ["co", "gas"]);
  const gas = charts[1];
  assert.equal(gas.unit, "%LEL");
  assert.deepEqual(gas.devices, ["b", "a"]);
  assert.equal(gas.count, 4);
  const t0 = T0 / 1000;
  assert.deepEqual(gas.data, [
    [t0, t0 + 5, t0 + 10],
    [null, 2, 4],
    [1, null, 3],
  ]);
  assert.equal(charts[0].count, 1);
});
