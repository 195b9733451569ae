// The dashboard's only script: log in and out, and stop or resume a job, through the API (with its CSRF
// header); the pages themselves are server-rendered.
import { api } from "./api.js";

const form = document.getElementById("login");
if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("login-error");
    error.textContent = "";
    try {
      await api("POST", "/login", {
        username: document.getElementById("username").value,
        password: document.getElementById("password").value,
      });
      location.reload();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
}

const logout = document.getElementById("logout");
if (logout) {
  logout.addEventListener("click", async () => {
    await api("POST", "/logout").catch(() => null);
    location.assign("/dashboard");
  });
}

for (const button of document.querySelectorAll("button[data-job]")) {
  button.addEventListener("click", async () => {
    const message = document.getElementById("job-message");
    message.textContent = "";
    try {
      await api("POST", `/jobs/${button.dataset.job}/${button.dataset.action}`);
      location.reload();
    } catch (failure) {
      message.textContent = failure.message;
      message.className = "error";
    }
  });
}
