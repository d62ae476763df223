"""End to end in a real headless browser: launch, watch charts fill, open a person, explain, compare.

Playwright drives Debian's chromium (``/usr/bin/chromium``; ``.ci/run`` installs it). Screenshots
are saved under ``test-artifacts/browser/`` and checked to be non-blank.
"""

from __future__ import annotations

import io
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "browser"

if CHROMIUM is None:
    pytest.skip(
        "chromium is not installed (apt-get install -y chromium; .ci/run does this)",
        allow_module_level=True,
    )
playwright_sync = pytest.importorskip("playwright.sync_api", reason="pip install playwright")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(runs_dir: Path):
    """The dashboard served by uvicorn on loopback, in a thread."""
    import uvicorn

    from feedlab.web.app import create_app

    port = _free_port()
    config = uvicorn.Config(create_app(runs_dir), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline:
            raise AssertionError("the server did not start within 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def page():
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
        context.close()
        browser.close()


def shot(page, name: str) -> Path:
    """Save a full-page screenshot and check it is not blank (pixel variance)."""
    from PIL import Image

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    data = page.screenshot(path=str(path), full_page=True)
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("L"), np.float64)
    assert pixels.std() > 10, f"{name} screenshot looks blank (std {pixels.std():.1f})"
    assert len(np.unique(pixels)) > 20, f"{name} screenshot has too few shades"
    return path


def painted(page, selector: str) -> int:
    """How many non-white pixels the first canvas under ``selector`` has."""
    return page.evaluate(
        """(sel) => {
            const c = document.querySelector(sel);
            if (!c) return -1;
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) n++;
            return n;
        }""",
        selector,
    )


def test_launch_watch_person_explain_compare(server: str, page) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")
    page.fill("input[name=n_people]", "500")
    page.fill("input[name=days]", "2")
    page.fill("input[name=warmup_days]", "0")
    page.fill("input[name=tracked]", "6")
    page.check("input[name=arms][value=engagement]")
    page.check("input[name=arms][value=chronological]")
    shot(page, "01-launch")
    page.click("[data-testid=start]")
    page.wait_for_url("**/live/*")
    page.wait_for_selector("body[data-status=finished]", timeout=180_000)
    assert page.inner_text("[data-testid=day]") == "2"
    # charts filled: uPlot drew lines on the canvases; the heat map has columns
    for chart in ("c-time", "c-outrage", "c-wellbeing", "c-auc"):
        assert painted(page, f"#{chart} canvas") > 200, chart
    assert painted(page, "canvas.heat") > 1000
    shot(page, "02-live")

    run_url = page.url
    first_person = page.locator("[data-testid^=person-]").first
    first_person.click()
    page.wait_for_selector("[data-testid=avatar]")
    assert "inferred by the platform" in page.inner_text("[data-testid=traits]")
    assert painted(page, "#p-leaning canvas") > 100
    shot(page, "03-person")

    page.click("[data-testid=open-feed]")
    page.wait_for_selector("[data-testid=post]")
    why = page.locator("[data-testid=why]").first
    why.locator("summary").click()
    assert "final score" in why.inner_text() or "newest first" in why.inner_text()
    assert "P(reply)" in why.inner_text()  # the engagement arm's probability x weight terms
    shot(page, "04-feed-explained")

    page.goto(run_url)
    page.locator("[data-testid^=compare-]").first.click()
    page.wait_for_selector("[data-testid=compare]")
    sides = page.locator("[data-testid=side]")
    assert sides.count() == 2
    assert "engagement" in sides.nth(0).inner_text()
    assert "chronological" in sides.nth(1).inner_text()
    shot(page, "05-compare")

    page.goto(server + "/runs")
    page.wait_for_selector("[data-testid=past-runs]")
    shot(page, "06-past-runs")
    assert not errors, errors


def test_predict_then_run_hides_the_metric_until_the_reveal(server: str, page) -> None:
    page.goto(server + "/")
    page.fill("input[name=n_people]", "300")
    page.fill("input[name=days]", "2")
    page.fill("input[name=warmup_days]", "0")
    page.check("#predict")
    page.select_option("select[name=guess_metric]", "time_spent_min")
    page.select_option("#guess-arm", "chronological")
    page.fill("input[name=guess_value]", "12.5")
    page.click("[data-testid=start]")
    page.wait_for_url("**/live/*")
    assert page.locator("[data-testid=chart-time].hidden-guess").count() == 1
    page.wait_for_selector("body[data-status=finished]", timeout=180_000)
    page.wait_for_selector("[data-testid=reveal]:not([hidden])")
    text = page.inner_text("[data-testid=reveal]")
    assert "You guessed chronological" in text and "12.5" in text
    assert page.locator(".hidden-guess").count() == 0
    shot(page, "07-reveal")
