// The alert tone, made by a WebAudio oscillator (no sound file). Browsers
// start audio only after a user gesture: until then unlocked is false and
// the header shows the "enable sound" button.

let ctx = null;
const listeners = new Set();

export function unlocked() {
  return !!ctx && ctx.state === "running";
}

// onUnlockChange calls f whenever unlocked() may have changed.
export function onUnlockChange(f) {
  listeners.add(f);
  return () => listeners.delete(f);
}

function changed() {
  for (const f of listeners) f(unlocked());
}

// probe creates the audio context without a gesture: a browser set to
// allow autoplay (a duty-room kiosk) runs it at once, and the "enable
// sound" button never shows; elsewhere it waits, suspended, for unlock.
export function probe() {
  if (ctx) return;
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) return;
  try {
    ctx = new AC();
    ctx.onstatechange = changed;
  } catch (e) {
    ctx = null;
  }
  changed();
}

// unlock creates or resumes the audio context; call it from a click or a
// key press. It plays a short quiet beep so that the user hears it works.
export function unlock(beep) {
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) return Promise.resolve(false);
  if (!ctx) {
    try {
      ctx = new AC();
      ctx.onstatechange = changed;
    } catch (e) {
      return Promise.resolve(false);
    }
  }
  const p = ctx.state === "running" ? Promise.resolve() : ctx.resume();
  return p.then(
    () => {
      changed();
      if (beep) play("notice");
      return unlocked();
    },
    () => false,
  );
}

function tone(freq, start, length, volume, type) {
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = type;
  osc.frequency.value = freq;
  gain.gain.setValueAtTime(0, start);
  gain.gain.linearRampToValueAtTime(volume, start + 0.02);
  gain.gain.setValueAtTime(volume, start + length - 0.05);
  gain.gain.linearRampToValueAtTime(0, start + length);
  osc.connect(gain);
  gain.connect(ctx.destination);
  osc.start(start);
  osc.stop(start + length + 0.01);
}

// play sounds "alarm" (a high-low ring, about 1.5 s) or "notice" (one
// soft beep); nothing while audio is locked.
export function play(kind) {
  if (!unlocked()) return;
  const now = ctx.currentTime + 0.01;
  if (kind === "alarm") {
    for (let i = 0; i < 3; i++) {
      tone(960, now + i * 0.5, 0.22, 0.35, "square");
      tone(720, now + i * 0.5 + 0.25, 0.22, 0.35, "square");
    }
  } else {
    tone(660, now, 0.25, 0.15, "sine");
  }
}
