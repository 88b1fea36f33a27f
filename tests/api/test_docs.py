"""/docs works without internet: Swagger UI's files come from the app itself (the 医保专网 has no
CDN), and so does the site's icon."""

from __future__ import annotations

import re

from tests.api.test_rest import ok


def test_docs_load_nothing_from_elsewhere(api) -> None:
    r = api.anon.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert not re.search(r"https?://", html), "the docs page names another host"
    assert '"validatorUrl": null' in html  # no badge asked of validator.swagger.io
    refs = set(re.findall(r'(?:src|href)="([^"]+)"', html)) | set(re.findall(r"url: '([^']+)'", html))
    assert refs == {"/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css",
                    "/static/favicon.ico", "/openapi.json"}
    kinds = {"/static/swagger-ui/swagger-ui-bundle.js": ("text/javascript", "application/javascript"),
             "/static/swagger-ui/swagger-ui.css": ("text/css",),
             "/static/favicon.ico": ("image/",), "/openapi.json": ("application/json",)}
    for ref in refs:
        got = api.anon.get(ref)
        assert got.status_code == 200, ref
        assert got.headers["content-type"].startswith(kinds[ref]), (ref, got.headers["content-type"])
    assert "SwaggerUIBundle" in api.anon.get("/static/swagger-ui/swagger-ui-bundle.js").text
    assert "/api/v1/settlements" in ok(api.anon.get("/openapi.json"))["paths"]
    assert "/docs" not in ok(api.anon.get("/openapi.json"))["paths"]  # the page is no operation


def test_redoc_is_off(api) -> None:
    assert api.anon.get("/redoc").status_code == 404  # ReDoc is not vendored: it would load from a CDN


def test_favicon(api) -> None:
    r = api.anon.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    svg = api.anon.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    page = api.anon.get("/login").text
    assert '<link rel="icon" href="/favicon.ico"' in page and 'href="/static/favicon.svg"' in page
