// Which lifecycle steps an alarm's state allows, as the gateway's alarm book
// decides them (rules.Alarm.can); the server remains the real check.

export const ACTIONS = ["acknowledge", "dispatch", "resolve", "reset", "close"];

// actionsFor lists the buttons an alarm card shows, in order: only the
// steps the server would take now. Close waits until the condition has
// returned to normal and, for a latching rule, until the reset (the card
// says so with its flags); a button that would only be refused is not
// shown, so a click never lands on one.
export function actionsFor(m) {
  const out = [];
  switch (m.state) {
    case "raised":
      out.push({ action: "acknowledge" });
      break;
    case "acknowledged":
      out.push({ action: "dispatch" }, { action: "resolve" });
      break;
    case "dispatched":
      out.push({ action: "resolve" });
      break;
    case "resolved":
      break;
    default: // closed or unknown: nothing to do
      return out;
  }
  if (m.latched && !m.active && m.state !== "raised") out.push({ action: "reset" });
  if (m.state === "resolved" && !m.active && !m.latched) out.push({ action: "close" });
  return out;
}

// fromServer turns the actions GET /api/v1/alarms/{id} lists into the
// same shape, keeping the steps the console offers, in its order.
export function fromServer(names, m) {
  if (!Array.isArray(names)) return actionsFor(m);
  return ACTIONS.filter((a) => names.indexOf(a) >= 0).map((action) => ({ action }));
}

// needsNote says whether a step needs the note input filled: dispatch says
// to whom, resolve says the cause. It returns the i18n key of the prompt.
export function needsNote(action) {
  if (action === "dispatch") return "note.needDispatch";
  if (action === "resolve") return "note.needResolve";
  return "";
}

// usesNote says whether a card with these actions shows the note input.
export function usesNote(actions) {
  return actions.some((a) => a.action === "dispatch" || a.action === "resolve");
}
