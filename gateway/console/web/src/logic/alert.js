// The board's audible alert: one repeating tone while any alarm waits to be
// acknowledged, however many arrive. Timers and the sound are injected, so
// node --test can drive it without a browser.

import { SEVERITY_RANK, sevRank } from "./board.js";

// needsTone says whether the board holds an alarm that must keep the tone
// going: state raised, severity warning or higher, and not shelved.
export function needsTone(alarms, now) {
  for (const m of alarms) {
    if (m.state !== "raised" || sevRank(m.severity) < SEVERITY_RANK.warning) continue;
    if (m.shelved_until && Date.parse(m.shelved_until) > now) continue;
    return true;
  }
  return false;
}

export class AlertLoop {
  // opts: alarms() gives the board's messages; play(kind) sounds "alarm"
  // (one ring) or "notice" (a single soft beep); every is the repeat in ms;
  // setTimer/clearTimer default to setInterval/clearInterval; now to
  // Date.now; state is the object to keep current (window.__shouwangAlert).
  constructor(opts) {
    this.alarms = opts.alarms;
    this.play = opts.play;
    this.every = opts.every || 4000;
    this.setTimer = opts.setTimer || ((f, ms) => setInterval(f, ms));
    this.clearTimer = opts.clearTimer || ((id) => clearInterval(id));
    this.now = opts.now || (() => Date.now());
    this.state = opts.state || {};
    this.state.ringing = false;
    this.state.starts = 0;
    this.timer = null;
  }

  // announce is called for a transition with announce: true (or an alarm
  // the board had not seen, in a snapshot after a reconnect). It starts the
  // repeating tone when an alarm needs it and none is ringing yet; an
  // announcement that needs no tone (a fault) beeps once.
  announce() {
    if (this.state.ringing) return;
    if (needsTone(this.alarms(), this.now())) {
      this.state.ringing = true;
      this.state.starts++;
      this.play("alarm");
      this.timer = this.setTimer(() => this.tick(), this.every);
    } else {
      this.play("notice");
    }
  }

  tick() {
    if (!this.check()) return;
    this.play("alarm");
  }

  // check stops the tone once no alarm needs it; call it on every change
  // of the board. It returns whether the tone is still ringing.
  check() {
    if (this.state.ringing && !needsTone(this.alarms(), this.now())) this.stop();
    return this.state.ringing;
  }

  stop() {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this.state.ringing = false;
  }
}
