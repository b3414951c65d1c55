// Formatting shared by the pages: places, times, durations, values and
// household badges, in the chosen language. No DOM.

import { t, tr } from "../i18n.js";

const digits = /^\d+$/;

export function fmtBuilding(b) {
  if (b === undefined || b === null || b === "") return "";
  return digits.test(String(b)) ? t("loc.building", { n: b }) : String(b);
}

export function fmtUnit(u) {
  if (u === undefined || u === null || u === "") return "";
  return digits.test(String(u)) ? t("loc.unit", { n: u }) : String(u);
}

// fmtFloor: 12 → "12层", -1 → "地下1层"; 0 (none) → "".
export function fmtFloor(f) {
  const n = Number(f);
  if (!n) return "";
  return n > 0 ? t("loc.floor", { n }) : t("loc.basement", { n: -n });
}

// locationParts gives an alarm's or device's place, most general first:
// building, unit, floor, room, and the window a camera named.
export function locationParts(loc, detail) {
  const l = loc || {};
  const parts = [fmtBuilding(l.building), fmtUnit(l.unit), fmtFloor(l.floor), l.room || ""];
  if (detail && detail.window) parts.push(t("loc.window", { w: detail.window }));
  return parts.filter((p) => p !== "");
}

export function fmtLocation(loc, detail) {
  return locationParts(loc, detail).join(" ");
}

function pad(n) {
  return n < 10 ? "0" + n : String(n);
}

function toDate(v) {
  if (v instanceof Date) return v;
  if (typeof v === "number") return new Date(v);
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : new Date(t);
}

// fmtDateTime: "2026-11-24 08:01:02" in local time.
export function fmtDateTime(v) {
  const d = toDate(v);
  if (!d) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtDate(v) {
  const d = toDate(v);
  if (!d) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// fmtTime: "08:01:02" today, "11-23 08:01" on another day.
export function fmtTime(v, now) {
  const d = toDate(v);
  if (!d) return "";
  const today = new Date(now === undefined ? Date.now() : now);
  if (d.toDateString() === today.toDateString()) {
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// fmtDuration gives seconds the way people say them: "45秒", "3分12秒",
// "2小时5分".
export function fmtDuration(sec) {
  if (sec === undefined || sec === null || Number.isNaN(Number(sec))) return "–";
  let s = Math.round(Number(sec));
  if (s < 60) return t("dur.s", { s });
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  s %= 60;
  if (h > 0) return t("dur.hm", { h, m });
  return t("dur.ms", { m, s });
}

// fmtAgo: "刚刚", "3 分钟前", "2 小时 5 分钟前".
export function fmtAgo(since, now) {
  const d = toDate(since);
  if (!d) return "";
  const sec = Math.max(0, Math.floor((now - d.getTime()) / 1000));
  if (sec < 60) return t("ago.now");
  const min = Math.floor(sec / 60);
  if (min < 60) return t("ago.min", { n: min });
  return t("ago.hmin", { h: Math.floor(min / 60), m: min % 60 });
}

export function fmtNumber(v) {
  if (v === undefined || v === null || v === "") return "";
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  return String(Math.round(n * 100) / 100);
}

export function fmtValue(v, unit) {
  const s = fmtNumber(v);
  return unit ? `${s} ${unit}` : s;
}

export function fmtPercent(share) {
  if (share === undefined || share === null) return "–";
  return `${Math.round(Number(share) * 1000) / 10}%`;
}

// rfc3339 writes a time with the browser's UTC offset,
// "2026-11-24T00:00:00+08:00", so that the server's days start at local
// midnight.
export function rfc3339(v) {
  const d = toDate(v);
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const a = Math.abs(off);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

export function localMidnight(v) {
  const d = toDate(v);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}

// toLocalInput is a datetime-local input's value: "2026-11-24T08:01".
export function toLocalInput(v) {
  const d = toDate(v);
  if (!d) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// fromLocalInput reads a datetime-local value as local time; null when
// it is not one.
export function fromLocalInput(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s || "");
  if (!m) return null;
  return new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
}

export function monthOf(v) {
  const d = toDate(v);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}`;
}

const yes = new Set(["yes", "true", "1", "y", "是"]);

// tagBadges turns a household's tags into badges: resident: elderly with
// alone: yes is "独居老人"; other tags show as key: value.
export function tagBadges(tags) {
  if (!tags) return [];
  const used = new Set();
  const elderly = tags.resident === "elderly" || yes.has(String(tags.elderly || "").toLowerCase());
  const alone = yes.has(String(tags.alone || "").toLowerCase());
  if (tags.resident === "elderly") used.add("resident");
  if (elderly && "elderly" in tags) used.add("elderly");
  if (alone) used.add("alone");
  const out = [];
  if (elderly && alone) out.push({ text: t("tag.elderlyAlone"), strong: true });
  else if (elderly) out.push({ text: t("tag.elderly"), strong: true });
  else if (alone) out.push({ text: t("tag.alone"), strong: true });
  for (const k of Object.keys(tags).sort()) {
    if (used.has(k)) continue;
    const v = tags[k];
    out.push({ text: `${tr("tagkey", k)}: ${tr("tagval", v)}`, strong: false });
  }
  return out;
}

// evidenceLinks reads detail.evidence: links separated by spaces. Only
// paths on the gateway and http(s) links are kept (a camera could send a
// javascript: link).
export function evidenceLinks(s) {
  return String(s || "")
    .split(/\s+/)
    .filter((x) => /^(\/(?!\/)|https?:\/\/)/i.test(x));
}

// candidateList reads detail.candidates: windows separated by commas.
export function candidateList(s) {
  return String(s || "")
    .split(/\s*,\s*/)
    .map((x) => x.trim())
    .filter((x) => x !== "");
}

// compareLocation orders places by building, unit, floor (numerically)
// and room.
export function compareLocation(a, b) {
  const x = a || {};
  const y = b || {};
  const str = (v) => (v === undefined || v === null ? "" : String(v));
  return (
    str(x.building).localeCompare(str(y.building), undefined, { numeric: true }) ||
    str(x.unit).localeCompare(str(y.unit), undefined, { numeric: true }) ||
    (Number(x.floor) || 0) - (Number(y.floor) || 0) ||
    str(x.room).localeCompare(str(y.room), undefined, { numeric: true })
  );
}

// fmtTick labels a chart's time axis in 24-hour time: "08:30" within a
// day or two ("08:30:30" for a tick off the minute), "11-24" (or
// "11-24 12:00" off midnight) over longer spans.
export function fmtTick(ms, spanMs) {
  const d = new Date(ms);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (spanMs < 2 * 86400000) return d.getSeconds() ? `${hm}:${pad(d.getSeconds())}` : hm;
  const md = `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return d.getHours() === 0 && d.getMinutes() === 0 ? md : `${md} ${hm}`;
}
