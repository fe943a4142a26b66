"""`/ui/`: the dashboard's static files (adapters/http/ui/, shipped in the wheel), from memory.

The files are read once when the app is built: a handful of small files, never
changed while the daemon runs. Every answer carries a strict Content-Security-Policy:
the page may load and connect to its own origin only, and runs no inline script.
"""

from __future__ import annotations

import hashlib
from importlib import resources

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.http.responses import error_response

UI_PATH = "/ui/"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate (ETag): an upgraded daemon serves new files
}


def load_ui_files() -> dict[str, tuple[bytes, str]]:
    """Every file of the dashboard: name -> (content, content type)."""
    folder = resources.files("adapters.http") / "ui"
    files: dict[str, tuple[bytes, str]] = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in CONTENT_TYPES:
            files[entry.name] = (entry.read_bytes(), CONTENT_TYPES[suffix])
    return files


def ui_routes() -> list[Route]:
    files = load_ui_files()
    etags = {name: f'"{hashlib.sha256(body).hexdigest()[:32]}"'
             for name, (body, _) in files.items()}

    async def ui_file(request: Request) -> Response:
        name = request.path_params.get("file") or "index.html"
        if name not in files:
            return error_response(404, f"no file {name!r} in the dashboard")
        body, content_type = files[name]
        headers = {**_SECURITY_HEADERS, "ETag": etags[name]}
        if request.headers.get("if-none-match") == etags[name]:
            return Response(status_code=304, headers=headers)
        return Response(body, headers=headers, media_type=content_type)

    async def ui_root(request: Request) -> Response:
        return RedirectResponse(UI_PATH, status_code=308)

    return [
        Route("/ui", ui_root, methods=["GET"]),
        Route(UI_PATH, ui_file, methods=["GET"]),
        Route(UI_PATH + "{file}", ui_file, methods=["GET"]),
    ]
