// The live alarm board: one EventSource on /api/v1/alarms/stream for the
// whole session, so the tone keeps ringing while the officer looks at an
// alarm's page. Pages subscribe to its changes.

import { API, get } from "./api.js";
import { newBoard, applySnapshot, applyTransition, compareAlarms } from "./logic/board.js";
import { AlertLoop, needsTone } from "./logic/alert.js";
import * as sound from "./sound.js";

// window.__shouwangAlert is the alert loop's state, {ringing, starts}, for
// tests and for anyone looking from the developer tools.
const alertState = window.__shouwangAlert || { ringing: false, starts: 0 };
window.__shouwangAlert = alertState;

const board = newBoard();
const listeners = new Set();
let es = null;
let conn = "down";
let running = false;
let retry = null;

const alert = new AlertLoop({ alarms: () => board.alarms.values(), play: sound.play, state: alertState });

function emit(change) {
  for (const f of Array.from(listeners)) {
    try {
      f(change);
    } catch (e) {
      console.error(e);
    }
  }
}

function setConn(c) {
  if (conn === c) return;
  conn = c;
  emit({ type: "conn" });
}

function onSnapshot(e) {
  let data;
  try {
    data = JSON.parse(e.data);
  } catch (err) {
    return;
  }
  const added = applySnapshot(board, data.alarms || []);
  setConn("up");
  emit({ type: "snapshot" });
  alert.check();
  // An alarm raised while the board was away (or before the page loaded)
  // never had its announcement here: sound it now.
  const fresh = added.map((id) => board.alarms.get(id)).filter(Boolean);
  if (needsTone(fresh, Date.now())) alert.announce();
}

function onTransition(e) {
  let m;
  try {
    m = JSON.parse(e.data);
  } catch (err) {
    return;
  }
  setConn("up");
  const change = applyTransition(board, m);
  if (!change) return;
  emit({ type: "transition", id: m.alarm, change, message: m });
  alert.check();
  if (m.announce) alert.announce();
}

function connect() {
  clearTimeout(retry);
  es = new EventSource(API + "alarms/stream");
  es.addEventListener("open", () => setConn("up"));
  es.addEventListener("snapshot", onSnapshot);
  es.addEventListener("transition", onTransition);
  es.addEventListener("error", () => {
    setConn("down");
    // EventSource reconnects by itself after a dropped connection; after a
    // refused one (401, a proxy's 502) it gives up, so try again here.
    if (es && es.readyState === EventSource.CLOSED) {
      es.close();
      es = null;
      retry = setTimeout(recover, 3000);
    }
  });
}

async function recover() {
  if (!running) return;
  try {
    await get("session");
  } catch (e) {
    if (e.status === 401) return; // the login page takes over
  }
  if (running && !es) connect();
}

export const live = {
  alert: alertState,
  conn: () => conn,
  // alarms lists the board in board order.
  alarms: () => Array.from(board.alarms.values()).sort(compareAlarms),
  get: (id) => board.alarms.get(Number(id)),
  subscribe(f) {
    listeners.add(f);
    return () => listeners.delete(f);
  },
  start() {
    if (running) return;
    running = true;
    connect();
  },
  stop() {
    running = false;
    clearTimeout(retry);
    if (es) es.close();
    es = null;
    alert.stop();
    board.alarms.clear();
    board.closed.clear();
    setConn("down");
  },
  // merge takes the messages an action's answer carries, so the board
  // shows the step at once; the feed brings the same ones again.
  merge(messages) {
    for (const m of messages) {
      const change = applyTransition(board, m);
      if (change) emit({ type: "transition", id: m.alarm, change, message: m });
    }
    alert.check();
  },
};
