"""Sphinx configuration for the sklstm documentation.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (warnings are errors;
the gallery examples run, on the CPU with one thread). The build needs no network:
``SKLSTM_DOCS_INTERSPHINX=1`` turns on links into the Python / numpy / scikit-learn / torch /
sktime docs (it fetches their inventories; an unreachable one fails the build).
``SKLSTM_DOCS_NO_GALLERY=1`` shows the examples without running them (a quick check).
"""

import os
import re

# Before torch is imported: one thread (shared CI machines) and no display.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import sklstm  # noqa: E402

project = "sklstm"
author = "The sklstm developers"
copyright = "The sklstm developers"
release = sklstm.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # MathJax 3 shipped with the docs (PyPI sphinx-mathjax-offline), not loaded from a CDN:
    # the equations render offline, e.g. from a downloaded copy of the site.
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",  # CHANGELOG.md
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
autosummary_generate = True
templates_path = ["_templates"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
autodoc_typehints = "none"  # the numpydoc Parameters sections say it better
html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_theme_options = {
    "github_url": "https://github.com/sklstm/sklstm",
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_title = f"sklstm {release}"
exclude_patterns = ["_build", "README.md", "_static/*.py", "auto_examples/*.ipynb"]

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "torch": ("https://docs.pytorch.org/docs/stable", None),
    "sktime": ("https://www.sktime.net/en/stable", None),
}
if not os.environ.get("SKLSTM_DOCS_INTERSPHINX"):
    # Off by default: an unreachable inventory is a warning, and warnings are errors.
    intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Run every example (quickstart included); each takes under a minute on one CPU core.
    "filename_pattern": r"/(plot_|quickstart)",
    "ignore_pattern": r"notebooks",
    "plot_gallery": "False" if os.environ.get("SKLSTM_DOCS_NO_GALLERY") else "True",
    # Rerun examples whose source did not change since the last local build (CI always
    # starts clean); tests/test_docs.py sets it so that every example really runs.
    "run_stale_examples": bool(os.environ.get("SKLSTM_DOCS_RUN_STALE")),
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "show_memory": False,
    "write_computation_times": False,  # no sg_execution_times.rst in the source tree
    "show_signature": False,
    # "Examples using X" on the API pages (the minigallery in _templates/autosummary).
    "doc_module": ("sklstm",),
    "backreferences_dir": "generated/backreferences",
}


def _escape_shape_names(app, what, name, obj, options, lines):
    """``(n_outputs_,)`` in a numpydoc type is read by docutils as a link target; escape it."""
    escape = lambda m: "(" + re.sub(r"(\w)_\b", r"\1\\_", m.group(1)) + ")"  # noqa: E731
    for k, line in enumerate(lines):
        if "shape (" in line:
            lines[k] = re.sub(r"\(([^()`]*)\)", escape, line)


def setup(app):
    app.connect("autodoc-process-docstring", _escape_shape_names)
