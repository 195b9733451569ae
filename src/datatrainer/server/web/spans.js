// Character offsets of a mouse selection, and the document drawn as segments so overlapping spans show.
import { el, labelColour } from "./dom.js";

// Offsets are counted on the text content of `root`, which holds nothing but the document's text, so they
// are the [start, end) character offsets the server stores.
export function selectionOffsets(root) {
  const selection = window.getSelection();
  if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
  const range = selection.getRangeAt(0);
  if (!root.contains(range.startContainer) || !root.contains(range.endContainer)) return null;
  const before = document.createRange();
  before.setStart(root, 0);
  before.setEnd(range.startContainer, range.startOffset);
  const start = before.toString().length;
  const end = start + range.toString().length;
  return trim(root.textContent, start, end);
}

// A double-click or a sloppy drag grabs surrounding spaces; entity spans should not include them.
function trim(text, start, end) {
  while (start < end && /\s/.test(text[start])) start++;
  while (end > start && /\s/.test(text[end - 1])) end--;
  return start < end ? { start, end } : null;
}

export function renderDoc(text, spans, suggestions, labels, id = "doc") {
  const cuts = new Set([0, text.length]);
  for (const s of [...spans, ...suggestions]) { cuts.add(s.start); cuts.add(s.end); }
  const points = [...cuts].sort((a, b) => a - b);
  const root = el("div", { class: "doc", id, tabindex: "0", "aria-label": "document text" });
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    const covering = spans.filter((s) => s.start <= a && s.end >= b);
    const suggested = suggestions.filter((s) => s.start <= a && s.end >= b);
    const piece = text.slice(a, b);
    if (!covering.length && !suggested.length) { root.append(piece); continue; }
    const top = covering.length ? covering[covering.length - 1] : suggested[0];
    root.append(el("span", {
      class: "span" + (covering.length ? "" : " suggested"),
      "data-label": top.label,
      title: [...covering.map((s) => s.label), ...suggested.map((s) => `suggested: ${s.label}`)].join(", "),
      style: covering.length ? `background:${labelColour(labels.indexOf(top.label))}` : "",
    }, piece));
  }
  return root;
}
