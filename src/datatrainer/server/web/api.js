// The one place that talks to the server: JSON in and out, the CSRF header on every unsafe request.
const CSRF_COOKIE = "dt_csrf";

function csrfToken() {
  const entry = document.cookie.split("; ").find((c) => c.startsWith(CSRF_COOKIE + "="));
  return entry ? decodeURIComponent(entry.slice(CSRF_COOKIE.length + 1)) : "";
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch("/api/v1" + path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = data && data.detail;
    throw new ApiError(response.status, typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return data;
}
