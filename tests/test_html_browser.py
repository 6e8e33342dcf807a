"""The HTML view in a real headless browser (Chromium from the distribution's packages; skipped where none is
installed): the page is laid out by the browser and measured by a script in it, and a screenshot is taken and
looked at (issue 13). Checked: the words of a span line are separate boxes, left to right, not overlapping, and
its text keeps the spaces; no tree reaches past the page (a long sentence scrolls inside its own block); no blank
band above a tree."""
import json
import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from hierarchy.cli import app

BROWSER = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium or Chrome installed")

TEXT = ("The bakery on Main Street opens at six, and the old man who lives next door buys bread there every single "
        "morning before he walks his two dogs along the river.\n\nDid you see the storm last night?\n")

# Runs in the page once it is laid out; its findings replace the body, which --dump-dom prints.
PROBE = """<script>
window.addEventListener("load", () => {
  const found = {pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth, spanLines: [],
                 trees: []};
  for (const line of document.querySelectorAll("div.spans")) {
    const words = [...line.children].filter(e => e.tagName === "SPAN");
    found.spanLines.push({words: words.map(e => e.firstChild.textContent.trim()),
                          boxes: words.map(e => e.getBoundingClientRect()).map(r => [r.left, r.right, r.top])});
  }
  for (const svg of document.querySelectorAll("svg.displacy")) {
    const block = svg.parentElement, box = svg.getBoundingClientRect();
    const paths = [...svg.querySelectorAll("path")].map(p => p.getBoundingClientRect().top);
    found.trees.push({blockWidth: block.clientWidth, scrolls: block.scrollWidth > block.clientWidth,
                      overflow: getComputedStyle(block).overflowX, top: box.top, firstArc: Math.min(...paths)});
  }
  document.body.innerHTML = "<pre id='probe'>" + JSON.stringify(found) + "</pre>";
});
</script>"""


def browser(*args) -> subprocess.CompletedProcess:
    return subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--window-size=1000,1200", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def page(trained_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "view.html"
    result = CliRunner().invoke(app, ["annotate", str(trained_model), "--format", "html", "-o", str(out)],
                                input=TEXT)
    assert result.exit_code == 0, result.output
    return out


def test_the_browser_lays_the_view_out_cleanly(page):
    probed = page.with_name("probed.html")
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = browser("--dump-dom", probed.as_uri())
    found = json.loads(re.search(r"<pre id=\"probe\">(.*)</pre>", done.stdout, re.S)[1])
    assert found["pageWidth"] <= found["viewport"]  # nothing pushes the page sideways
    assert len(found["trees"]) == 2 and len(found["spanLines"]) >= 2
    for tree in found["trees"]:
        assert tree["overflow"] == "auto" and tree["blockWidth"] <= found["viewport"]
        assert tree["firstArc"] - tree["top"] < 40  # the arcs start at the top: no blank band above them
    assert any(tree["scrolls"] for tree in found["trees"])  # the long sentence scrolls inside its block
    for line in found["spanLines"]:
        boxes = line["boxes"]
        assert len(boxes) > 3
        for (left, right, top), (next_left, _, next_top) in zip(boxes, boxes[1:]):
            assert next_top > top or next_left > right + 2  # a space's width apart on a line, or on the next line
    assert any(line["words"][:6] == ["The", "bakery", "on", "Main", "Street", "opens"] for line in found["spanLines"])


def test_a_screenshot_shows_the_trees(page, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "view.png"
    browser(f"--screenshot={shot}", page.as_uri())
    pixels = imread(shot)  # (height, width, channels), values in [0, 1]
    assert pixels.shape[:2] == (1200, 1000)
    dark = (pixels[..., :3].mean(-1) < 0.5).mean(1)  # per row: the share of dark pixels
    assert (dark > 0).mean() > 0.25  # text and arcs cover much of the page
    assert (dark[:200] > 0).mean() > 0.25  # the first tree starts near the top, not after a blank band


def test_span_markup_keeps_the_spaces_between_words(page):
    text = page.read_text(encoding="utf-8")
    line = text[text.index('<div class="spans"'):]
    words = re.findall(r'position: relative; height: \d+px;">\s*(\S+)\s*<', line)
    assert words[:4] == ["The", "bakery", "on", "Main"]
    assert "</span>\n\n<span" in line  # whitespace between the word boxes: the browser shows a space
