"""How every browser test looks at a page, at desktop and at phone size (390×844): a screenshot
saved under screenshots/, axe-core (axe-playwright-python) finding no violation, no institution
level in digits (二级医院, not 2级), and at phone width nothing wider than the screen and every
button within reach.

    for size, page in sizes(browser):
        sign_in(page, base, "staff", "demo-clerk")   # or whatever the test does
        page.goto(...)
        look(page, f"desk-{size}")
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from axe_playwright_python.sync_playwright import Axe

from tests.web.conftest import SHOTS

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SIZES = {"desktop": DESKTOP, "phone": PHONE}
AXE = Axe()


def sizes(browser, **context) -> Iterator[tuple[str, object]]:
    """A fresh page at each size in turn (its context closed after)."""
    for size, viewport in SIZES.items():
        ctx = browser.new_context(**({"viewport": viewport, "locale": "zh-CN"} | context))  # as a clerk's browser
        try:
            yield size, ctx.new_page()
        finally:
            ctx.close()


def problems(page) -> list[str]:
    """What is wrong with the page as it stands: axe-core's violations, and at phone width what
    sticks out sideways or a button out of reach."""
    found = []
    for v in AXE.run(page).response["violations"]:
        nodes = [" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"]) for n in v["nodes"]]
        found.append(f"axe {v['id']} ({v['impact']}): {v['help']} at {nodes[:3]}")
    levels = re.findall(r".{0,12}\d级.{0,6}", page.inner_text("body"))
    if levels:  # 二级医院, never 2级
        found.append(f"a level in digits: {levels[:3]}")
    if page.viewport_size["width"] <= PHONE["width"]:
        wide = page.evaluate("""() => ({
            scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
            wide: [...document.querySelectorAll('body *')]
                  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
                  .slice(0, 5).map(e => e.tagName + (e.className ? '.' + e.className : '') + ' '
                                   + (e.textContent || '').trim().slice(0, 30)),
        })""")
        if wide["scroll"] > wide["inner"]:
            found.append(f"scrolls sideways: {wide}")
        for text, right in page.locator("main button:visible").evaluate_all(
                "bs => bs.map(b => [b.textContent.trim(), b.getBoundingClientRect().right])"):
            if right > PHONE["width"] + 0.5:
                found.append(f"button out of reach: {text}")
    return found


def look(page, name: str) -> None:
    """Save the screenshot, then fail on any problem of the page."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    found = problems(page)
    assert not found, f"{name} ({page.url}):\n" + "\n".join(found)
