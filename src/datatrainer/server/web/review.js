// The reviewer page: each submitted task with every annotator's result; accept, reject or adjudicate.
import { api } from "./api.js";
import { el, say, show } from "./dom.js";
import { onKeys } from "./keys.js";
import { renderDoc } from "./spans.js";

function describe(project, data, result) {
  if (!result) return "(no result)";
  switch (project.task_type) {
    case "ner":
      return (result.spans || []).map((s) => `${s.label}: ${data.text.slice(s.start, s.end)}`).join(" · ") || "(no spans)";
    case "classification": return (result.labels || []).join(", ") || "(no label)";
    case "preference": return `${(result.choice || "?").toUpperCase()} — ${result.reason || ""}`;
    default: return result.text || "";
  }
}

export async function reviewPage(project) {
  const queue = await api("GET", `/projects/${project.id}/review`);
  if (!queue.length) {
    onKeys(null);
    show(el("h2", {}, project.name, " · review"), el("p", { id: "review-empty" }, "Nothing waiting for review."),
      el("a", { href: `#/p/${project.id}` }, "Back to the project"));
    return;
  }
  const item = await api("POST", `/tasks/${queue[0].id}/review/start`);
  const decide = async (decision, result) => {
    await api("POST", `/tasks/${item.id}/review`, { decision, result });
    say(`task ${item.id}: ${decision}`, true);
    await reviewPage(project);
  };
  const annotations = item.annotations.map((a, i) => el("div", { class: "result", "data-annotator": a.username },
    el("strong", {}, `${i + 1}. ${a.username}`), ": ", describe(project, item.data, a.result), " ",
    el("button", { type: "button", class: "adjudicate", onclick: () => decide("adjudicate", a.result) },
      `use this (${i + 1})`),
    project.task_type === "ner"  // each annotator's spans in context
      ? renderDoc(item.data.text, a.result.spans || [], [], project.label_schema.labels, `doc-${i + 1}`) : ""));
  show(
    el("h2", {}, project.name, " · review · task ", String(item.id)),
    el("p", { class: "keys" }, `${queue.length} waiting · A accept · R reject · 1–9 adjudicate with that result`),
    project.task_type === "ner" ? "" : el("div", { class: "doc", id: "doc" }, item.data.text || item.data.prompt || item.data.instruction || ""),
    project.task_type === "preference"
      ? el("div", { class: "pair" }, el("div", { class: "choice" }, el("strong", {}, "A"), "\n", item.data.response_a),
        el("div", { class: "choice" }, el("strong", {}, "B"), "\n", item.data.response_b)) : "",
    project.task_type === "correction" ? el("div", { class: "doc" }, item.data.response || "") : "",
    el("section", { id: "annotations" }, annotations),
    el("p", {},
      el("button", { type: "button", id: "accept", class: "primary", onclick: () => decide("accept") }, "Accept (A)"), " ",
      el("button", { type: "button", id: "reject", onclick: () => decide("reject") }, "Reject (R)")),
  );
  onKeys((event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const pick = /^[1-9]$/.test(event.key) ? item.annotations[Number(event.key) - 1] : undefined;
    let action = null;
    if (event.key === "a" || event.key === "A") action = decide("accept");
    else if (event.key === "r" || event.key === "R") action = decide("reject");
    else if (pick) action = decide("adjudicate", pick.result);
    if (action) { event.preventDefault(); action.catch((e) => say(e.message)); }
  });
}
