// The alarm board as data: the open alarms by id, kept from the live
// feed's snapshot and transitions, and how the board orders and groups
// them. No DOM here, so node --test can import it.

// How urgent a severity is; a fault (故障) ranks below every gas or fire
// severity and is never shown like one.
export const SEVERITY_RANK = { info: 0, fault: 1, warning: 2, alarm: 3, fire: 4 };

export function sevRank(severity) {
  const r = SEVERITY_RANK[severity];
  return r === undefined ? 0 : r;
}

// isAlarmSeverity says whether an alarm belongs on the fire-and-gas side of
// the board (warning, alarm, fire) rather than the quieter fault side.
export function isAlarmSeverity(severity) {
  return sevRank(severity) >= SEVERITY_RANK.warning;
}

// raisedAt is when the alarm was raised, in ms. A listing's time is the
// raise; a transition carries raised_at (or, for the raise itself, time).
export function raisedAt(m) {
  const t = Date.parse(m.raised_at || m.time);
  return Number.isNaN(t) ? 0 : t;
}

// How many closed alarms the board remembers, so that a late message about
// one cannot bring it back.
const MAX_CLOSED = 5000;

export function newBoard() {
  return { alarms: new Map(), closed: new Map() };
}

function remember(board, m, prev) {
  // Keep the raise time when a later message leaves it out.
  if (!m.raised_at) {
    const at = prev && prev.raised_at ? prev.raised_at : m.kind === "raised" || !prev ? m.time : undefined;
    if (at) m = Object.assign({}, m, { raised_at: at });
  }
  board.alarms.set(m.alarm, m);
}

function bury(board, id, seq) {
  board.alarms.delete(id);
  board.closed.set(id, seq);
  if (board.closed.size > MAX_CLOSED) {
    board.closed.delete(board.closed.keys().next().value);
  }
}

// applySnapshot replaces the board with a snapshot's alarms. A message the
// board already holds with a higher seq (an action's answer that overtook
// the feed) is kept. It returns the ids that were not on the board before.
export function applySnapshot(board, alarms) {
  const prev = board.alarms;
  board.alarms = new Map();
  const added = [];
  for (const m of alarms || []) {
    const old = prev.get(m.alarm);
    if (old && old.seq > m.seq) {
      board.alarms.set(m.alarm, old);
      continue;
    }
    const dead = board.closed.get(m.alarm);
    if (dead !== undefined && dead >= m.seq) continue;
    if (m.state === "closed") {
      bury(board, m.alarm, m.seq);
      continue;
    }
    if (!old) added.push(m.alarm);
    remember(board, m, old);
  }
  return added;
}

// applyTransition merges one message, keeping per alarm the one with the
// highest seq; state "closed" takes the alarm off the board. It returns
// "added", "updated", "removed", or "" when the message changed nothing
// (an old or repeated one).
export function applyTransition(board, m) {
  if (!m || typeof m.alarm !== "number") return "";
  const dead = board.closed.get(m.alarm);
  if (dead !== undefined && m.seq <= dead) return "";
  const cur = board.alarms.get(m.alarm);
  if (cur && m.seq <= cur.seq) return "";
  if (m.state === "closed") {
    bury(board, m.alarm, m.seq);
    return cur ? "removed" : "";
  }
  remember(board, m, cur);
  return cur ? "updated" : "added";
}

// compareAlarms orders the board: most severe first, then the oldest.
export function compareAlarms(a, b) {
  return sevRank(b.severity) - sevRank(a.severity) || raisedAt(a) - raisedAt(b) || a.alarm - b.alarm;
}

function loc(m) {
  return m.location || {};
}

// groupKey names an alarm's building and floor, as data-group shows it:
// "3号楼/12" ("3号楼/" without a floor).
export function groupKey(m) {
  const l = loc(m);
  return (l.building || "") + "/" + (l.floor ? String(l.floor) : "");
}

function groupsOf(list) {
  const byKey = new Map();
  for (const m of list.slice().sort(compareAlarms)) {
    const key = groupKey(m);
    let g = byKey.get(key);
    if (!g) {
      g = { key, building: loc(m).building || "", floor: loc(m).floor || 0, items: [] };
      byKey.set(key, g);
    }
    g.items.push(m);
  }
  // Groups keep the order of their first (most urgent) alarm.
  const groups = Array.from(byKey.values());
  for (const g of groups) g.raised = g.items.filter((m) => m.state === "raised").map((m) => m.alarm);
  return groups;
}

// arrange splits the board into its two areas, fire and gas alarms apart
// from faults, each grouped by building and floor in board order.
export function arrange(alarms) {
  const hot = [];
  const quiet = [];
  for (const m of alarms) (isAlarmSeverity(m.severity) ? hot : quiet).push(m);
  return { alarms: groupsOf(hot), faults: groupsOf(quiet) };
}
