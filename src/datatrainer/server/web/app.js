// Entry point: the hash router, the login page, the project list and the project page.
import { annotatePage, openNext } from "./annotate.js";
import { api, ApiError } from "./api.js";
import { el, progressBar, say, show } from "./dom.js";
import { onKeys } from "./keys.js";
import { reviewPage } from "./review.js";

let me = null;

function loginPage() {
  onKeys(null);
  const user = el("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const pass = el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password",
    required: true });
  const form = el("form", { class: "login", onsubmit: async (event) => {
    event.preventDefault();
    try {
      me = await api("POST", "/login", { username: user.value, password: pass.value });
      say("");
      location.hash = "#/projects";
      route();
    } catch (error) { say(error.message); }
  } },
  el("h2", {}, "Log in"), el("label", { for: "username" }, "User name"), user,
  el("label", { for: "password" }, "Password"), pass, el("button", { class: "primary", type: "submit" }, "Log in"));
  show(form);
  user.focus();
}

async function projectsPage() {
  onKeys(null);
  const projects = await api("GET", "/projects");
  const rows = projects.map((p) => el("tr", {},
    el("td", {}, el("a", { href: `#/p/${p.id}` }, p.name)), el("td", {}, p.task_type), el("td", {}, p.role || "admin")));
  show(el("h2", {}, "Projects"),
    projects.length
      ? el("table", { id: "projects" }, el("tr", {}, el("th", {}, "project"), el("th", {}, "type"), el("th", {}, "your role")), rows)
      : el("p", {}, "You are not a member of any project yet."));
  document.querySelector("#projects a")?.focus();
}

async function projectPage(project) {
  onKeys(null);
  const canReview = project.role === "reviewer" || project.role === "admin";
  const progress = canReview ? await api("GET", `/projects/${project.id}/progress`) : null;
  const exportButton = el("button", { type: "button", id: "export", onclick: async () => {
    const version = await api("POST", `/projects/${project.id}/export`, {});
    say(`exported as dataset version ${version.ref} (${version.num_rows} records)`, true);
  } }, "Export as a new dataset version");
  const formats = ["jsonl", "conll", "spacy", "label-studio", "hf"];
  show(
    el("h2", {}, project.name), el("p", {}, `${project.task_type} · labels: ${(project.label_schema.labels || []).join(", ")}`),
    progress ? progressBar(progress) : "",
    el("p", {},
      el("a", { href: `#/p/${project.id}/annotate`, id: "start", class: "button" }, "Annotate"),
      canReview ? [" · ", el("a", { href: `#/p/${project.id}/review`, id: "review" }, "Review")] : ""),
    canReview ? el("p", {}, exportButton, " download: ",
      formats.map((f) => [el("a", { href: `/api/v1/projects/${project.id}/download/${f}`, download: "" }, f), " "])) : "",
    el("aside", {}, el("strong", {}, "Guidelines"), "\n", project.guidelines || "(none)"),
  );
  document.getElementById("start").focus();
}

async function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  try {
    if (!me) me = await api("GET", "/me");
    document.getElementById("who").textContent = me.username + (me.is_admin ? " (admin)" : "");
    document.getElementById("logout").hidden = false;
    if (parts[0] !== "p") { await projectsPage(); return; }
    const project = await api("GET", `/projects/${parts[1]}`);
    if (parts[2] === "annotate") await openNext(project);
    else if (parts[2] === "task") await annotatePage(project, parts[3], me);
    else if (parts[2] === "review") await reviewPage(project);
    else await projectPage(project);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      me = null;
      document.getElementById("who").textContent = "";
      document.getElementById("logout").hidden = true;
      loginPage();
    } else say(error.message);
  }
}

document.getElementById("logout").addEventListener("click", async () => {
  await api("POST", "/logout");
  me = null;
  location.hash = "#/";
  route();
});
window.addEventListener("hashchange", route);
route();
