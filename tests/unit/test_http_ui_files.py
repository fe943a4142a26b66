"""The dashboard's static files (adapters/http/ui/): served with their content types and a
strict Content-Security-Policy, self-contained, small, and all of them shipped in the wheel."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import httpx
from starlette.applications import Starlette

from adapters.http.ui_files import CONTENT_SECURITY_POLICY, load_ui_files, ui_routes

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "adapters" / "http" / "ui"


def _client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=Starlette(routes=ui_routes()))
    return httpx.AsyncClient(transport=transport, base_url="http://registry")


async def test_each_file_is_served_with_its_type_and_a_strict_csp():
    expected = {"": "text/html", "index.html": "text/html", "app.js": "text/javascript",
                "style.css": "text/css", "favicon.svg": "image/svg+xml"}
    async with _client() as client:
        for name, content_type in expected.items():
            answer = await client.get("/ui/" + name)
            assert answer.status_code == 200, name
            assert answer.headers["content-type"].startswith(content_type), name
            assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert "set-cookie" not in answer.headers
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY  # no inline script or style, no eval


async def test_unknown_files_are_404_and_ui_redirects_to_ui_slash():
    async with _client() as client:
        assert (await client.get("/ui/nope.js")).status_code == 404
        assert (await client.get("/ui/../app.py")).status_code == 404
        moved = await client.get("/ui", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"].endswith("/ui/")


async def test_an_unchanged_file_answers_304():
    async with _client() as client:
        etag = (await client.get("/ui/app.js")).headers["etag"]
        again = await client.get("/ui/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_the_page_weighs_at_most_200_kb_and_names_no_other_origin():
    files = load_ui_files()
    assert set(files) == {p.name for p in UI.iterdir()}  # every file there is served
    assert sum(len(body) for body, _ in files.values()) <= 200 * 1024
    for name, (body, _) in files.items():
        text = body.decode()
        # No URL with a scheme or a protocol-relative one ("//host"): nothing from elsewhere.
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]", text.replace(
            "http://www.w3.org/2000/svg", "")), name
        assert "@import" not in text and "<style" not in text, name
        assert not re.search(r"<script>|\son[a-z]+=", text), name  # nothing inline


def test_every_dashboard_file_is_package_data_of_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["adapters.http"]
    for path in UI.iterdir():
        assert any(fnmatch(f"ui/{path.name}", p) for p in patterns), path.name
