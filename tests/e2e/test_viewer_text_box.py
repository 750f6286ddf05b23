"""The browser viewer's text box in a real headless browser (as test_viewer_browser.py drives it): shown
because the server takes text, a typed text streams its signs and letters and shows its Notice."""
from __future__ import annotations

from tests.e2e.test_viewer_browser import astronaut, browser, playwright_api, viewer  # noqa: F401 (fixtures)


def test_a_typed_text_streams_and_shows_its_notice(viewer, browser, astronaut):  # noqa: F811
    page = browser.new_page(viewport={"width": 1200, "height": 760})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(viewer)
        page.wait_for_selector("body[data-state=idle]", timeout=10_000)
        assert page.is_visible("#text-row")
        page.set_input_files("#style", str(astronaut))
        page.fill("#text", "Hello Tom, zebra!")
        page.press("#text", "Enter")
        page.wait_for_selector("#notices li:has-text('UNKNOWN_WORD')", timeout=30_000)
        page.wait_for_function("() => Number(document.getElementById('frames').textContent) > 40", timeout=30_000)
        assert "zebra" in page.text_content("#notices")
    finally:
        page.close()
    assert errors == []
