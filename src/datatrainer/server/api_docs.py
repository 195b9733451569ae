"""The interactive API reference at `/api/v1/docs`: Swagger UI 5 (OpenAPI 3.1, which FastAPI writes) served from
the assets that the `fastapi-offline` package ships.

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script, both of which the app's
Content-Security-Policy (`default-src 'self'`) blocks. Here the page, its assets and its start-up script
(`web/api-docs.js`) all come from this server.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/api/v1/docs/assets"

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>datatrainer API</title>
  <link rel="icon" href="{ASSETS}/favicon.png">
  <link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="/api/v1/openapi.json"></div>
  <script src="{ASSETS}/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""


def add_api_docs(app: FastAPI, path: str) -> None:
    """Mount the Swagger UI assets and the page at `path` (left out of the schema it documents)."""
    assets = Path(str(files("fastapi_offline") / "static"))
    app.mount(ASSETS, StaticFiles(directory=assets), name="api-docs-assets")

    @app.get(path, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(_PAGE, headers={"Cache-Control": "no-cache"})
