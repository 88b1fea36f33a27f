"""The page's confirmation dialog (base.html #confirm-dialog, static/confirm.js) from a test."""

from __future__ import annotations


def asked(page) -> str:
    """The words of the dialog now open (it opens once its name lookup, if any, has answered)."""
    dialog = page.locator("#confirm-dialog")
    dialog.wait_for(state="visible")
    return dialog.locator(".confirm-text").inner_text()


def confirm(page, ok: str) -> None:
    """Press the dialog's ``ok`` button and wait for the form it sends to come back."""
    with page.expect_navigation():
        page.locator("#confirm-dialog").get_by_role("button", name=ok, exact=True).click()


def cancel(page) -> None:
    page.locator("#confirm-dialog").get_by_role("button", name="取消").click()
    page.locator("#confirm-dialog").wait_for(state="hidden")
