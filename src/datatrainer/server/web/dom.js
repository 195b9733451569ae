// Tiny DOM helpers. Every piece of user data goes in as text, never as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function show(...nodes) {
  document.getElementById("app").replaceChildren(...nodes);
}

export function say(message, ok = false) {
  const status = document.getElementById("status");
  status.textContent = message;
  status.className = ok ? "ok" : "";
}

export function labelColour(index) {
  return `hsl(${(index * 67) % 360} 80% 82%)`;
}

export function progressBar(progress) {
  const total = progress.total || 0;
  const done = progress.done || 0;
  const pct = total ? Math.round((100 * done) / total) : 0;
  return el("div", {},
    el("div", { class: "progress", role: "progressbar", "aria-valuenow": pct, "aria-valuemin": 0, "aria-valuemax": 100 },
      el("div", { style: `width:${pct}%` })),
    el("span", { class: "progress-text" }, `${done} / ${total} tasks done (${pct}%)`,
      progress.mine !== undefined ? ` · ${progress.mine} by you` : ""));
}
