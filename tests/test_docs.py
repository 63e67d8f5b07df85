"""The documentation builds with warnings as errors, and the gallery runs and draws.

``sphinx-build -W --keep-going -b html docs <tmp>`` runs in a subprocess (on the CPU,
one thread, no network: see docs/conf.py); every example of examples/ is executed by
sphinx-gallery, so this test also checks that each example page shows its figures.

Visual check, done by hand when the pages change (not automated): open the built HTML in
a headless browser and look at the screenshots, e.g.::

    chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run \
        --screenshot=/tmp/gallery.png --window-size=1280,1600 \
        file://<tmp>/auto_examples/plot_peephole_timing.html

The gallery pages should show their figures, and generated/sklstm.LSTMRegressor.html should
read as an API page (parameters table, methods, "Examples using LSTMRegressor").

The equations are checked automatically: MathJax ships with the docs (sphinx-mathjax-offline),
no page loads a script from another host, and the peephole page is rendered by headless
Chromium with every host name unresolvable, so its math must typeset offline. That last
test needs a Chromium binary (``apt install chromium-headless-shell`` on Debian/Ubuntu) and
says so when it skips.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("sphinx", reason="the docs build needs the [docs] extras: sphinx")
for _module in ("numpydoc", "sphinx_gallery", "pydata_sphinx_theme", "myst_parser",
                "sphinx-mathjax-offline"):  # fmt: skip
    pytest.importorskip(_module, reason=f"the docs build needs the [docs] extras: {_module}")
pytest.importorskip("sktime", reason="the examples and the LSTMForecaster page use sktime")
pytest.importorskip("matplotlib", reason="the gallery draws with matplotlib")

#: Example -> the number of figures it draws (each becomes one PNG in the gallery).
FIGURES = {
    "plot_keras_recipe": 1,
    "plot_pipeline_gridsearch": 1,
    "plot_forecast_intervals": 1,
    "plot_backtest_tuning": 1,
    "plot_peephole_timing": 1,
    "quickstart": 0,
}


@pytest.fixture(scope="module")
def built_docs(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "SKLSTM_DOCS_INTERSPHINX": "",
        "SKLSTM_DOCS_NO_GALLERY": "",
        "SKLSTM_DOCS_RUN_STALE": "1",  # run every example, even if a local build cached it
    }
    # A fresh doctree cache, so that every warning is reported (a warm cache hides them);
    # generated sources land in docs/generated and docs/auto_examples (git-ignored).
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-b", "html",
         "-d", str(out / ".doctrees"), str(ROOT / "docs"), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    return out, log, time.perf_counter() - start


def test_build_has_no_warnings(built_docs):
    _, log, seconds = built_docs
    assert "WARNING" not in log, [line for line in log.splitlines() if "WARNING" in line]
    print(f"docs built in {seconds:.0f} s")


@pytest.mark.parametrize("page", ["index", "install", "quickstart", "user_guide", "api",
                                  "peephole", "gpu", "persistence", "reliability", "concepts",
                                  "windows", "changelog", "auto_examples/index",
                                  "generated/sklstm.LSTMRegressor",
                                  "generated/sklstm.LSTMForecaster",
                                  "generated/sklstm.nn.PeepholeLSTM"])  # fmt: skip
def test_pages_exist(built_docs, page):
    out, _, _ = built_docs
    assert (out / f"{page}.html").is_file()


@pytest.mark.parametrize("example", sorted(FIGURES))
def test_gallery_page_ran_and_shows_its_figures(built_docs, example):
    out, _, _ = built_docs
    assert (ROOT / "examples" / f"{example}.py").is_file()
    page = (out / "auto_examples" / f"{example}.html").read_text(encoding="utf-8")
    images = out / "_images"
    pngs = sorted(images.glob(f"sphx_glr_{example}_[0-9][0-9][0-9].png"))
    assert len(pngs) == FIGURES[example], pngs
    for png in pngs:
        assert png.stat().st_size > 5000, png  # a real plot, not an empty canvas
        assert png.name in page
    # the example was executed: its run time is on the page
    assert re.search(r"Total running time of the script:", page)


def test_api_pages_document_the_methods(built_docs):
    out, _, _ = built_docs
    page = (out / "generated" / "sklstm.LSTMRegressor.html").read_text(encoding="utf-8")
    for method in ("fit", "predict", "partial_fit", "plot_history", "save_weights",
                   "load_weights", "export_torchscript"):  # fmt: skip
        assert f"sklstm.LSTMRegressor.{method}" in page, method
    assert "Examples using" in page  # the sphinx-gallery backreferences


#: The MathJax bundle sphinx-mathjax-offline copies into the site (docs/conf.py).
MATHJAX = "_static/mathjax/tex-chtml.js"
CHROMIUM = next(
    filter(None, map(shutil.which, ["chromium-headless-shell", "chromium", "google-chrome"])),
    None,
)


def _script_sources(page: str) -> list[str]:
    return re.findall(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", page)


def test_math_script_is_a_local_file_not_a_cdn(built_docs):
    out, _, _ = built_docs
    page = (out / "peephole.html").read_text(encoding="utf-8")
    assert page.count('class="math notranslate nohighlight"') >= 10  # the page has equations
    math = [src for src in _script_sources(page) if "mathjax" in src.lower()]
    assert math == [MATHJAX], math
    bundle = out / MATHJAX
    assert bundle.is_file() and bundle.stat().st_size > 100_000, bundle
    # ...and the fonts MathJax's CommonHTML output loads, relative to the bundle.
    assert list((bundle.parent / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    for html in sorted(out.rglob("*.html")):
        remote = [
            src
            for src in _script_sources(html.read_text(encoding="utf-8"))
            if re.match(r"(https?:)?//", src)
        ]
        assert not remote, (html.relative_to(out), remote)


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="the offline rendering check needs headless Chromium "
    "(apt install chromium-headless-shell)",
)
def test_peephole_math_renders_offline_in_a_browser(built_docs, tmp_path):
    """Chromium renders the page with every host name unresolvable: no CDN can help."""
    from html.parser import HTMLParser

    out, _, _ = built_docs
    page = out / "peephole.html"
    n_math = page.read_text(encoding="utf-8").count('class="math notranslate nohighlight"')
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--virtual-time-budget=20000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    dom = result.stdout

    class Text(HTMLParser):
        """The text a reader sees: everything outside <script>, <style> and the <head>."""

        def __init__(self):
            super().__init__()
            self.hidden, self.parts = 0, []

        def handle_starttag(self, tag, attrs):
            self.hidden += tag in ("script", "style", "head")

        def handle_endtag(self, tag):
            self.hidden -= tag in ("script", "style", "head")

        def handle_data(self, data):
            if not self.hidden:
                self.parts.append(data)

    reader = Text()
    reader.feed(dom)
    text = "".join(reader.parts)
    assert "Peephole" in text  # the page's own text came through
    raw = [m.group() for m in re.finditer(r"\\[(\[]", text)]
    assert not raw, f"{len(raw)} equations left as raw LaTeX: {text[:500]}"
    assert dom.count("<mjx-container") == n_math, (dom.count("<mjx-container"), n_math)
