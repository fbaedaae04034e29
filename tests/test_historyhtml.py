"""`history --html`: one self-contained page (summary, plots, next numbers, what was left out and why),
read as text and then opened in a real headless browser with no server and no network."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from historyweek import EXERCISES, week

from voicecoach.apps.cli import main

pytest.importorskip("matplotlib")

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
REFERENCE = re.compile(
    r"""(?:\b(?:src|href|action|poster|data)\s*=\s*["']?|url\(\s*["']?|@import\s+["']?)([^"')\s>]*)""", re.IGNORECASE
)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page `voicecoach history --html` writes for a week with pain skips."""
    folder = tmp_path_factory.mktemp("page")
    history = folder / "history.sqlite3"
    week(history)
    out = folder / "progress.html"
    assert (
        main(["history", "--history", str(history), "--exercises", str(EXERCISES), "--html", str(out), "--weeks", "2"])
        == 0
    )
    return out


def references(text: str) -> list[str]:
    """Every address the page refers to: attributes that load something, CSS url() and @import."""
    return REFERENCE.findall(text)


def test_the_page_says_the_summary_next_numbers_and_what_was_left_out(page):
    text = page.read_text(encoding="utf-8")
    assert "a seven-day streak" in text and "back extensions hurt last time" in text
    next_session = text.split('id="next"')[1].split("</section>")[0]
    assert "<td>Back extensions</td><td>10 reps, hold 6 s</td>" in next_session and "Asked first." in next_session
    assert "Knees to chest" not in next_session
    left_out = text.split('id="left-out"')[1].split("</section>")[0]
    assert "Knees to chest" in left_out and "Hurt twice in a row" in left_out
    assert "voicecoach history --restore knees_to_chest" in left_out
    figures = re.findall(r'<figure id="exercise-([a-z_]+)"><svg', text)
    assert figures[:2] == ["knee_rolls", "pelvic_tilt"] and "knees_to_chest" in figures and len(figures) == 7
    assert "skipped twice because it hurt" in text.split('id="exercise-knees_to_chest"')[1].split("</figure>")[0]


def test_the_page_fetches_nothing(page):
    text = page.read_text(encoding="utf-8")
    assert all(ref.startswith(("#", "data:")) for ref in references(text)), references(text)
    assert "<script" not in text and "default-src 'none'" in text
    # The check itself sees a page that would fetch:
    assert references('<img src="https://example.org/a.png"><style>@import "x.css"</style>') == [
        "https://example.org/a.png",
        "x.css",
    ]


def test_text_from_the_routine_file_is_escaped(tmp_path):
    from voicecoach.apps.historyhtml import page as render
    from voicecoach.apps.historyplot import Picture

    empty = Picture([], {}, {}, {})
    text = render(
        empty, summary="You <b>did</b> it & more.", recent=[], names={}, weeks=1, written_at=datetime(2026, 3, 2, 8, 0)
    )
    assert "You &lt;b&gt;did&lt;/b&gt; it &amp; more." in text and "No exercise in these weeks." in text


@pytest.mark.skipif(BROWSER is None, reason="chromium is not installed (scripts/setup.sh --test)")
def test_a_real_browser_renders_the_page_offline(page, tmp_path):
    """One headless Chromium run: the DOM it built, a screenshot, its network log and its console."""
    shot, netlog = tmp_path / "page.png", tmp_path / "netlog.json"
    run = subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1100,5000",
            f"--log-net-log={netlog}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    dom = run.stdout
    assert "<h1>Your progress</h1>" in dom, run.stderr[-2000:]
    # What the browser parsed: the SVG plots with their text, and the sections.
    assert dom.count("<svg") == 8, "one plot per exercise, and the weeks"
    assert "Back extensions: hold (seconds)" in dom and "left out: it hurt" in dom
    assert "Left out, and why" in dom and "Next session" in dom
    # Nothing the page asked for went to the network; the browser's own housekeeping is not the page's.
    log = json.loads(netlog.read_text())
    kinds = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    fetched = [
        e["params"]["url"]
        for e in log["events"]
        if kinds[e["type"]] == "URL_REQUEST_START_JOB"
        and "url" in e.get("params", {})
        and (
            e["params"].get("initiator") != "not an origin" or "file://" in e["params"].get("network_isolation_key", "")
        )
    ]
    assert fetched == []
    assert "CONSOLE" not in run.stderr, [line for line in run.stderr.splitlines() if "CONSOLE" in line]
    # The plots were drawn: the shaded ranges cover far more of the screenshot than the key's swatch.
    import matplotlib.image

    pixels = matplotlib.image.imread(str(shot))[..., :3]
    green = ((abs(pixels - (0xCD / 255, 0xE8 / 255, 0xD0 / 255)) < 0.02).all(axis=-1)).sum()
    assert green > 50_000, green
