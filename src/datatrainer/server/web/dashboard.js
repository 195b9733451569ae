// The dashboard's only script: log in and out through the API (the pages themselves are server-rendered).
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
