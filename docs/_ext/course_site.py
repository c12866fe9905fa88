"""The site's own Sphinx extension: MathJax served with the site, a language switch, figure alt text.

- ``build-finished``: copies MathJax 3 into ``_static/mathjax/`` of the site (no CDN),
  from where the feedback pages take it too (:func:`unet_course.grading.feedback.mathjax_folder`):
  its TeX-to-SVG build and the TeX extensions it loads on demand.
- ``env-get-outdated`` and ``html-page-context``: on a lesson page, a link to the same lesson in the other
  language (``course/NN_x`` <-> ``course_zh/NN_x``); the Chinese pages are marked
  ``lang="zh-Hans"`` so screen readers switch voice.
- ``html-page-context``: the sidebar's expand buttons (``<summary>`` holding only an
  icon) get a name, "show the pages under ...", which screen readers announce.
- ``doctree-resolved``: a figure a code cell draws gets, as its alt text, the
  caption the lesson writes under it (a paragraph starting "Figure"), so the
  notebook's caption and the site's text alternative have one owner.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from docutils import nodes

LESSON = re.compile(r"^(course|course_zh)/(\d\d_[a-z0-9_]+)$")
OTHER = {"course": ("course_zh", "中文", "zh-Hans", "阅读本课的中文版"),
         "course_zh": ("course", "English", "en", "Read this lesson in English")}
CAPTION = re.compile(r"^\s*(Figure|图)\b")


def copy_mathjax(app, exception):
    """MathJax's files into the site, from the installed wheel."""
    if exception is not None or app.builder.format != "html":
        return
    from unet_course.grading.feedback import MATHJAX_SCRIPT, mathjax_folder

    source = mathjax_folder()
    target = Path(app.outdir) / "_static" / "mathjax"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source / "input" / "tex" / "extensions", target / "input" / "tex" / "extensions")
    shutil.copy2(source / MATHJAX_SCRIPT, target / MATHJAX_SCRIPT)
    shutil.copy2(source.parent / "LICENSE", target / "LICENSE")


def language_switch(app, pagename, templatename, context, doctree):
    """A link to the other language's edition of a lesson, at the top of its body."""
    match = LESSON.match(pagename)
    if not match or "body" not in context:
        return
    folder, name = match.groups()
    other, label, lang, title = OTHER[folder]
    if f"{other}/{name}" not in app.env.found_docs:
        return
    href = f"../{other}/{name}.html"
    switch = (f'<nav class="language-switch" aria-label="language"><a href="{href}" hreflang="{lang}" '
              f'lang="{lang}" title="{title}">{label}</a></nav>')
    body = context["body"]
    if folder == "course_zh":
        body = f'<div lang="zh-Hans">{body}</div>'
    context["body"] = switch + body


_SUMMARY = re.compile(r'(<a class="[^"]*reference internal[^"]*" href="[^"]*">([^<]+)</a>\s*<details[^>]*>\s*)<summary>')


def name_sidebar_toggles(app, pagename, templatename, context, doctree):
    """Give each icon-only ``<summary>`` of the sidebar the name of the section it opens."""
    generate = context.get("generate_toctree_html")
    if not callable(generate) or getattr(generate, "_named", False):
        return

    def named(*args, **kwargs):
        html = str(generate(*args, **kwargs))
        return _SUMMARY.sub(lambda m: f'{m.group(1)}<summary aria-label="show the pages under {m.group(2)}">', html)

    named._named = True
    context["generate_toctree_html"] = named


def figure_alt_text(app, doctree, docname):
    """Give each figure a code cell draws the caption written under the cell as its alt text."""
    for cell in list(doctree.findall(nodes.container)):
        if "cell" not in cell.get("classes", []):
            continue
        images = [image for image in cell.findall(nodes.image) if not image.get("alt")]
        if not images:
            continue
        parent = cell.parent
        index = parent.index(cell)
        following = parent[index + 1] if index + 1 < len(parent) else None
        if not isinstance(following, nodes.paragraph):
            continue
        text = following.astext().strip()
        if CAPTION.match(text):
            for image in images:
                image["alt"] = text


def other_language_outdated(app, env, added, changed, removed):
    """A lesson added, changed or removed in one language: re-render its page in the other (its switch)."""
    again = []
    for docname in set(added) | set(changed) | set(removed):
        match = LESSON.match(docname)
        if match:
            other = f"{OTHER[match.group(1)][0]}/{match.group(2)}"
            if other in env.found_docs:
                again.append(other)
    return again


def setup(app):
    app.connect("env-get-outdated", other_language_outdated)
    app.connect("build-finished", copy_mathjax)
    app.connect("html-page-context", language_switch)
    app.connect("html-page-context", name_sidebar_toggles, priority=900)  # after the theme adds its function
    app.connect("doctree-resolved", figure_alt_text)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
