// The annotation page: one task at a time, every action reachable from the keyboard.
import { api } from "./api.js";
import { el, labelColour, progressBar, say, show } from "./dom.js";
import { onKeys, typing } from "./keys.js";
import { renderDoc, selectionOffsets } from "./spans.js";

const KEYS = {
  ner: "select text, then 1–9 to label · Backspace removes the last span · A accepts all suggestions",
  classification: "1–9 toggle labels",
  preference: "1 or ← A … 2 or B → pick the better response; type a reason",
  correction: "edit the response; Ctrl+Enter submits",
};

export async function openNext(project) {
  const task = await api("POST", `/projects/${project.id}/tasks/next`);
  if (!task) {
    onKeys(null);
    show(el("h2", {}, project.name), el("p", { id: "done" }, "No more tasks for you in this project."),
      el("a", { href: "#/projects" }, "Back to projects"));
    return;
  }
  location.hash = `#/p/${project.id}/task/${task.id}`;
}

export async function annotatePage(project, taskId, me) {
  const reviewer = project.role === "reviewer" || project.role === "admin";
  const [task, mine, progress] = await Promise.all([
    api("GET", `/tasks/${taskId}`),
    api("GET", `/projects/${project.id}/tasks?limit=1000`),
    reviewer ? api("GET", `/projects/${project.id}/progress`) : null,
  ]);
  const state = initialState(project, task, me);
  const labels = project.label_schema.labels || [];
  // Annotators list their own tasks; reviewers and admins walk the whole project.
  const order = mine.map((t) => t.id);
  const position = order.indexOf(task.id);
  const suggestion = task.suggestions[0];

  const move = (delta) => {
    const target = order[position + delta];
    if (target !== undefined) location.hash = `#/p/${project.id}/task/${target}`;
    else if (delta > 0) openNext(project);
  };
  const submit = async () => {
    await api("POST", `/tasks/${task.id}/submit`,
      { result: resultOf(project, state), suggestion_id: suggestion ? suggestion.id : null });
    say(`task ${task.id} submitted`, true);
    await openNext(project);
  };
  const skip = async () => {
    await api("POST", `/tasks/${task.id}/skip`);
    say(`task ${task.id} skipped`, true);
    await openNext(project);
  };

  const body = el("section", { id: "task", "data-task-id": task.id, "data-task-type": project.task_type });
  const redraw = () => body.replaceChildren(...editor(project, task, state, labels, redraw));
  redraw();

  show(
    el("h2", {}, project.name, " · task ", String(task.id)),
    progress ? progressBar(progress)
      : el("p", { class: "progress-text" }, `task ${position + 1} of the ${order.length} assigned to you`),
    el("div", { class: "layout" },
      el("div", {}, body,
        el("p", {},
          el("button", { type: "button", onclick: () => move(-1), disabled: position <= 0 }, "← Previous"), " ",
          el("button", { type: "button", id: "skip", onclick: skip }, "Skip (S)"), " ",
          el("button", { type: "button", id: "submit", class: "primary", onclick: submit }, "Submit (Enter)"), " ",
          el("button", { type: "button", onclick: () => move(1) }, "Next →")),
        el("p", { class: "keys" }, KEYS[project.task_type] || "",
          " · Enter or Ctrl+Enter submits · S skips · ←/→ previous/next task")),
      el("aside", {}, el("strong", {}, "Guidelines"), "\n", project.guidelines || "(none)")),
  );

  onKeys((event) => {
    const ctrlEnter = event.key === "Enter" && (event.ctrlKey || event.metaKey);
    if (ctrlEnter || (event.key === "Enter" && !typing(event) && event.target.tagName !== "BUTTON")) {
      event.preventDefault();
      submit().catch((e) => say(e.message));
      return;
    }
    if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (handleTaskKey(project, state, labels, event.key)) { event.preventDefault(); redraw(); return; }
    if (event.key === "ArrowLeft" && project.task_type !== "preference") move(-1);
    else if (event.key === "ArrowRight" && project.task_type !== "preference") move(1);
    else if (event.key === "s" || event.key === "S") skip().catch((e) => say(e.message));
  });
}

function initialState(project, task, me) {
  const own = task.annotations.find((a) => a.username === me.username);
  const previous = own ? own.result : {};
  const suggestion = task.suggestions.length ? task.suggestions[0].result : {};
  switch (project.task_type) {
    case "ner":
      return { spans: (previous.spans || []).map((s) => ({ ...s })), suggestions: suggestion.spans || [] };
    case "classification":
      return { labels: new Set(previous.labels || []), suggested: suggestion.labels || [] };
    case "preference":
      return { choice: previous.choice || null, reason: previous.reason || "" };
    default:
      return { text: previous.text ?? (task.data.response || "") };
  }
}

function resultOf(project, state) {
  switch (project.task_type) {
    case "ner": return { spans: state.spans };
    case "classification": return { labels: [...state.labels] };
    case "preference": return { choice: state.choice, reason: state.reason };
    default: return { text: state.text };
  }
}

// Returns true when the key changed the task's state (the editor is then redrawn).
function handleTaskKey(project, state, labels, key) {
  const digit = /^[1-9]$/.test(key) ? Number(key) - 1 : -1;
  switch (project.task_type) {
    case "ner": {
      if (digit >= 0 && digit < labels.length) {
        const range = selectionOffsets(document.getElementById("doc"));
        if (!range) { say("select some text first, then press a label key"); return false; }
        addSpan(project, state, { ...range, label: labels[digit] });
        window.getSelection().removeAllRanges();
        return true;
      }
      if (key === "Backspace" || key === "Delete") return state.spans.pop() !== undefined;
      if (key === "a" || key === "A") {
        state.suggestions.forEach((s) => addSpan(project, state, s));
        return true;
      }
      return false;
    }
    case "classification": {
      if (digit < 0 || digit >= labels.length) return false;
      toggleLabel(project, state, labels[digit]);
      return true;
    }
    case "preference": {
      const choice = { 1: "a", a: "a", A: "a", ArrowLeft: "a", 2: "b", b: "b", B: "b", ArrowRight: "b" }[key];
      if (!choice) return false;
      state.choice = choice;
      return true;
    }
    default:
      return false;
  }
}

function addSpan(project, state, span) {
  const same = (s) => s.start === span.start && s.end === span.end && s.label === span.label;
  if (state.spans.some(same)) return;
  const overlaps = (s) => s.start < span.end && span.start < s.end;
  if (!project.label_schema.allow_overlap && state.spans.some(overlaps)) {
    say("this project does not allow overlapping spans; remove the other span first");
    return;
  }
  state.spans.push({ start: span.start, end: span.end, label: span.label });
  state.spans.sort((x, y) => x.start - y.start || x.end - y.end);
}

function toggleLabel(project, state, label) {
  if (state.labels.has(label)) state.labels.delete(label);
  else {
    if (!project.label_schema.multi_label) state.labels.clear();
    state.labels.add(label);
  }
}

function labelButtons(labels, pressed, onPick) {
  return el("div", { class: "labels", role: "group", "aria-label": "labels" },
    labels.map((label, i) => el("button", {
      type: "button", "data-label": label, "aria-pressed": pressed(label) ? "true" : "false",
      style: `border-left: 8px solid ${labelColour(i)}`, onclick: () => onPick(label),
      onmousedown: (event) => event.preventDefault(),  // keep the text selection when clicking a label
    }, i < 9 ? el("kbd", {}, String(i + 1)) : "", " ", label)));
}

function editor(project, task, state, labels, redraw) {
  const data = task.data;
  switch (project.task_type) {
    case "ner": {
      const open = state.suggestions.filter(
        (s) => !state.spans.some((t) => t.start === s.start && t.end === s.end && t.label === s.label));
      return [
        labelButtons(labels, () => false, (label) => {
          const range = selectionOffsets(document.getElementById("doc"));
          if (!range) { say("select some text first"); return; }
          addSpan(project, state, { ...range, label });
          redraw();
        }),
        renderDoc(data.text, state.spans, open, labels),
        el("h3", {}, "Spans"),
        el("ul", { class: "spans", id: "span-list" }, state.spans.map((s, i) => el("li", {},
          el("button", { type: "button", "aria-label": `remove ${s.label} ${data.text.slice(s.start, s.end)}`,
            onclick: () => { state.spans.splice(i, 1); redraw(); } }, "✕"), " ",
          el("strong", {}, s.label), " ", data.text.slice(s.start, s.end), ` [${s.start}, ${s.end})`))),
        open.length ? el("h3", {}, "Suggestions") : "",
        el("ul", { class: "spans", id: "suggestion-list" }, open.map((s) => el("li", {},
          el("button", { type: "button", onclick: () => { addSpan(project, state, s); redraw(); } }, "accept"), " ",
          el("strong", {}, s.label), " ", data.text.slice(s.start, s.end)))),
      ];
    }
    case "classification":
      return [
        el("div", { class: "doc", id: "doc" }, data.text),
        labelButtons(labels, (label) => state.labels.has(label), (label) => {
          toggleLabel(project, state, label);
          redraw();
        }),
        state.suggested.length ? el("p", { class: "keys" }, "suggested: ", state.suggested.join(", ")) : "",
      ];
    case "preference": {
      const choice = (key, title, text) => el("div", {
        class: "choice" + (state.choice === key ? " chosen" : ""), id: `choice-${key}`,
        onclick: () => { state.choice = key; redraw(); },
      }, el("strong", {}, title), "\n", text);
      const reason = el("textarea", { id: "reason", rows: 3, cols: 60, placeholder: "why is it better?" });
      reason.value = state.reason;
      reason.addEventListener("input", () => { state.reason = reason.value; });
      return [
        el("div", { class: "doc" }, data.prompt || data.text || ""),
        el("div", { class: "pair" }, choice("a", "A (1)", data.response_a || ""),
          choice("b", "B (2)", data.response_b || "")),
        el("p", {}, el("label", { for: "reason" }, "Reason"), el("br"), reason),
      ];
    }
    default: {
      const area = el("textarea", { id: "correction", rows: 10, cols: 90 });
      area.value = state.text;
      area.addEventListener("input", () => { state.text = area.value; });
      return [el("div", { class: "doc" }, data.prompt || data.instruction || data.text || ""),
        el("p", {}, el("label", { for: "correction" }, "Corrected response"), el("br"), area)];
    }
  }
}
