"""Sphinx configuration of the course's site (``make site``; the source is the repository root).

The pages: the lessons ``course/NN_*.ipynb`` with their outputs (executed at build
time in the profile ``UNET_COURSE_PROFILE`` names, ``smoke`` by default, cached by
jupyter-cache so an unchanged lesson is not run again), their Chinese edition
``course_zh/``, the guides ``docs/*.md`` and the data card ``data/README.md`` (each page the one
owner of what it says), and the API reference
generated from the docstrings. Everything the pages load is served with the
site: MathJax 3 comes from where the feedback pages take it
(``unet_course.grading.feedback.mathjax_folder``), no CDN.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
sys.path.insert(0, str(ROOT))

import unet_course  # noqa: E402  (the version and the repository: pyproject.toml's, through the package)
from unet_course.setup_runtime import REPOSITORY  # noqa: E402

project = "unet-course"
author = "the unet-course authors"
copyright = "the unet-course authors, MIT licence"
release = version = unet_course.__version__
language = "en"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "course_site",
]

root_doc = "docs/index"
# Only these files are pages; the rest of the repository is not part of the site.
include_patterns = ["docs/**", "data/README.md", "course/[0-9][0-9]_*.ipynb", "course_zh/[0-9][0-9]_*.ipynb"]
exclude_patterns = [".venv", "_site", "_build", "docs/_extra", "docs/_ext", "**/.ipynb_checkpoints"]
html_extra_path = ["_extra"]
suppress_warnings = ["myst.header"]

# --- notebooks: executed once, cached ------------------------------------------------
nb_execution_mode = os.environ.get("UNET_COURSE_SITE_EXECUTE", "cache")
nb_execution_cache_path = str(ROOT / "_build" / "jupyter_cache")
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_render_image_options = {}
# Widgets need a kernel: the site shows their text, and loads no widget JavaScript from a CDN.
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# --- API reference from the docstrings --------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "ignore-module-all": True}
autodoc_typehints = "description"
autodoc_mock_imports = []
napoleon_numpy_docstring = True

# --- formulas: MathJax 3, the feedback pages' build, served with the site (course_site.copy_mathjax) --
mathjax_path = "mathjax/tex-svg.js"
# Only what myst marks as maths (the pages' own text is not scanned); formulas as SVG, with the hidden
# MathML screen readers read (MathJax 3's assistive MathML, on by default).
mathjax3_config = {"options": {"processHtmlClass": "tex2jax_process|mathjax_process|math|output_area"},
                   "svg": {"fontCache": "global"}}

# --- the book theme, with a launch button per lesson ---------------------------------
html_theme = "sphinx_book_theme"
html_title = f"unet-course {release}"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_copy_source = False  # the repository button links each page's source
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": REPOSITORY,  # pyproject.toml's, where the lessons' first cells install from
    "repository_branch": os.environ.get("UNET_COURSE_BRANCH", f"v{release}"),
    "path_to_docs": "",
    "use_repository_button": True,
    "launch_buttons": {
        "notebook_interface": "jupyterlab",
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": os.environ.get("UNET_COURSE_BINDERHUB", "https://mybinder.org"),
        # A course's own JupyterHub (nbgitpuller): `UNET_COURSE_JUPYTERHUB=https://hub.example.edu make site`.
        "jupyterhub_url": os.environ.get("UNET_COURSE_JUPYTERHUB", ""),
    },
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
