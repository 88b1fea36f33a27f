"""/docs on a network without internet (the 医保专网): every request to another host is aborted,
and Swagger UI still draws the API's operations from the app's own files."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.web.look import SIZES


@pytest.mark.parametrize("size", SIZES)
def test_docs_render_with_the_internet_cut_off(site, browser, shot, size) -> None:
    """At desktop and phone size. Swagger UI's own markup is not ours to fix, so axe-core is not
    run here; the screenshots show it whole."""
    here = urlsplit(site.base).netloc
    elsewhere: list[str] = []

    def only_here(route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).netloc == here:
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort("internetdisconnected")

    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    page.route("**/*", only_here)
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("pageerror", lambda e: failed.append(f"page error: {e}"))
    page.goto(f"{site.base}/docs")
    settle = page.locator(".opblock-summary-path[data-path='/api/v1/settlements']").first
    settle.wait_for(state="visible", timeout=15000)
    assert "/api/v1/settlements" in settle.inner_text()
    assert "gongji 共济" in page.inner_text(".information-container .title")
    assert page.locator(".opblock").count() > 20  # the whole API, not one stray block
    settle.click()  # an operation opens, with its request body and the way to try it
    page.locator(".opblock.is-open .try-out__btn").first.wait_for(state="visible")
    shot(page, f"docs-{size}")
    assert elsewhere == [], f"/docs asked other hosts: {elsewhere}"
    assert failed == [], failed
    context.close()
