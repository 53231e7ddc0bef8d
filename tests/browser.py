"""A real browser for the report tests: Debian's chromium driven by Playwright, with the network blocked.

`.ci/run` installs the `chromium` package; Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


@contextlib.contextmanager
def offline_page(path: Path, *, width: int = 1280, height: int = 900) -> Iterator[tuple[object, list[str], list[str]]]:
    """Open ``path`` from file:// offline; yields the page, its console errors and the URLs it tried to fetch."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(offline=True, viewport={"width": width, "height": height})
            requested: list[str] = []

            def block(route) -> None:  # anything but the file itself: a CDN script, a font, a tile
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    requested.append(route.request.url)
                    route.abort()

            context.route("**/*", block)
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(Path(path).resolve().as_uri())
            page.wait_for_selector(".js-plotly-plot .main-svg")
            yield page, errors, requested
        finally:
            browser.close()


def screenshot(path: Path, out: Path) -> None:
    """Save a full-page PNG of the report at ``path`` (the README's picture)."""
    with offline_page(path) as (page, errors, _):
        if errors:
            raise RuntimeError(f"the report logged errors: {errors}")
        page.screenshot(path=str(out), full_page=True)


if __name__ == "__main__":  # python -m tests.browser RUN_DIR OUT.png: the README's picture of a run's report.html
    import sys

    screenshot(Path(sys.argv[1]) / "report.html", Path(sys.argv[2]))
