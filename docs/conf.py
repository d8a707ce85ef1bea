"""Sphinx configuration of skvae's documentation.

Build it with ``sphinx-build -W --keep-going -b html docs docs/_build/html``
(the README's command). The build reaches no network: external names are
written as literals, not cross-references, and there is no intersphinx.
"""

import os
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # numpydoc depends on tomli there
    import tomli as tomllib

import torch

import skvae

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "sphinxext"))

project = "skvae"
author = "the skvae developers"
copyright = "the skvae developers"
release = skvae.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "skip_foreign_members",
]

exclude_patterns = ["_build", "sg_execution_times.rst"]
templates_path = ["_templates"]
# Every cross-reference must resolve: a broken one is a warning, and -W
# makes warnings errors. References to the libraries skvae builds on stay
# unresolved by design (offline, there is no intersphinx inventory to
# resolve them with), and render as code.
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(sklearn|skorch|torch|numpy|matplotlib)(\..*)?")]
default_role = "literal"

# -- API reference ------------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "inherited-members": True}
# A method skvae overrides without a docstring of its own (a skorch or torch
# hook) is not documented with the docstring of the method it overrides.
autodoc_inherit_docstrings = False
# numpydoc renders the docstrings; autodoc lists the members (see the class
# template), so numpydoc's own member tables would repeat them.
numpydoc_show_class_members = False
# Parameter types stay text: most name numpy, torch or scikit-learn types,
# which have no page here.
numpydoc_xref_param_type = False

# One list of checks, in pyproject.toml, for numpydoc's tools, this build
# and tests/test_docstrings.py.
_validation = tomllib.loads((DOCS.parent / "pyproject.toml").read_text())
_validation = _validation["tool"]["numpydoc_validation"]
numpydoc_validation_checks = set(_validation["checks"])
numpydoc_validation_exclude = set(_validation["exclude"])

# -- Gallery ------------------------------------------------------------------
# The gallery's networks are small: one torch thread trains them as fast as
# two, and does not slow down tenfold when another process shares the cores
# (torch's threads then wait on each other).
torch.set_num_threads(1)

# The pages on images draw on MNIST when the build finds it: the folder
# ``SKVAE_MNIST_DIR`` names, or else the MNIST test split that CI keeps in
# ``shared/data/mnist`` beside the clone (read there, never copied into the
# repository). Without either, they fall back to scikit-learn's 8x8 digits.
_SHARED_MNIST = DOCS.parent.parent / "shared" / "data" / "mnist"
if not os.environ.get("SKVAE_MNIST_DIR") and _SHARED_MNIST.is_dir():
    os.environ["SKVAE_MNIST_DIR"] = str(_SHARED_MNIST)

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Run every example, not only plot_*.py: each page shows its figures.
    "filename_pattern": r"\.py$",
    # _settings.py reads the scripts' command lines: a helper, not a page.
    "ignore_pattern": r"(^|[\\/])_[^\\/]*\.py$",
    "within_subsection_order": "gallery_order.UserGuideOrder",
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "capture_repr": (),
    "matplotlib_animations": False,
}

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skvae {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "api": []}
html_show_sourcelink = False
html_copy_source = False
