// A small element builder: h("div", {class: "x", "data-id": 1, onclick}, child, ...).
// Attributes whose value is null, undefined or false are left out; true
// sets an empty attribute. Children may be strings, numbers, nodes, arrays
// or null.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const k of Object.keys(attrs)) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "value" && (tag === "input" || tag === "select" || tag === "textarea")) el.value = v;
      else if (k === "checked") el.checked = !!v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// replace swaps an element's children.
export function replace(el, ...children) {
  el.textContent = "";
  append(el, children);
}

// every runs f every ms until the returned stop is called.
export function every(ms, f) {
  const id = setInterval(f, ms);
  return () => clearInterval(id);
}

// single wraps an async f so that a call while one is still running is
// skipped: a slow gateway is not sent a pile of overlapping polls.
export function single(f) {
  let running = false;
  return async (...args) => {
    if (running) return;
    running = true;
    try {
      await f(...args);
    } finally {
      running = false;
    }
  };
}
