"""The student's Validate button: a one-line-per-item summary on top, every line wrapped.

nbgrader's Validate dialog lists each failed test cell with its whole
message, one after the other: with four failures a student sees two without
scrolling, and a long line runs off to the side. This Jupyter server
extension answers the button's request (``POST /assignments/validate``)
with nbgrader's own result, changed in two ways:

- a first entry, the **summary**: one line per test cell of the notebook,
  ``✓`` or ``✗``, its points, and for a failure the first line of the check's
  message (``binarize_label(label) on a 3 x 3 tile ...``);
- every message's lines broken at spaces (:func:`unet_course.grading.wrap.wrapped`),
  so the dialog never scrolls sideways.

The dialog itself is nbgrader's: it shows each entry as "The following cell
failed:", the entry's source, then its message; the summary's "source" is the
list. Enable the extension where students run JupyterLab: the course's
``make`` writes ``.venv/etc/jupyter/jupyter_server_config.d/unet_course.json``
(``{"ServerApp": {"jpserver_extensions": {"unet_course.grading.validate": true}}}``;
the same file in ``/etc/jupyter/jupyter_server_config.d/`` does it for a
whole JupyterHub). Without it Validate works as before.
``nbgrader validate`` on the command line is unchanged.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
from jupyter_server.utils import url_path_join
from nbconvert.filters import ansi2html
from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler

from unet_course.grading.wrap import wrapped

__all__ = ["SummaryValidateHandler", "summary", "first_line"]

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LINE = 80      # characters per line of the summary: the dialog shows about 90


def first_line(raw_error, width=70):
    """The first line of a check's message (after "Check failed:"), at most ``width`` characters."""
    lines = [ANSI.sub("", line).strip() for line in raw_error.splitlines()]
    failed = [line.split("Check failed:", 1)[1].strip() for line in lines if "Check failed:" in line]
    text = failed[0] if failed else next((line for line in reversed(lines) if line), "no output")
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def summary(nb, failed):
    """The summary's text: one line per test cell of ``nb``; ``failed`` is nbgrader's list."""
    by_source = {entry["source"]: entry for entry in failed}
    lines, count = [], 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not (meta.get("grade") and not meta.get("solution") and cell.cell_type == "code"):
            continue
        count += 1
        points = f"{meta.get('points', 0):g} pt"
        entry = by_source.get(cell.source.strip())
        head = f"{'✗' if entry else '✓'} {meta.get('grade_id', '?')} ({points})"
        lines.append(f"{head}: {first_line(entry['raw_error'], LINE - len(head) - 2)}" if entry else head)
    fails = sum(line.startswith("✗") for line in lines)
    return "\n".join([f"Summary: {fails} of {count} checks fail.", *lines])


class SummaryValidateHandler(ValidateAssignmentHandler):
    """nbgrader's Validate handler, with :func:`summary` first and the messages wrapped."""

    def validate_notebook(self, path):
        result = super().validate_notebook(path)
        value = result.get("value")
        if not (result.get("success") and isinstance(value, dict) and value.get("failed")):
            return result
        nb = nbformat.read(str(self._target(path)), as_version=4)
        failed = []
        for entry in value["failed"]:
            raw = wrapped(entry["raw_error"])
            failed.append({**entry, "source": wrapped(entry["source"]), "error": ansi2html(raw), "raw_error": raw})
        top = summary(nb, value["failed"])
        below = "Each failing check follows, with its whole message."
        value["failed"] = [{"source": top, "error": below, "raw_error": below}, *failed]
        return result

    def _target(self, path):
        return (Path(self.root_dir) / path).resolve()


def _jupyter_server_extension_points():
    return [{"module": "unet_course.grading.validate"}]


def _load_jupyter_server_extension(serverapp):
    """Register the handler ahead of nbgrader's one for the same address."""
    web_app = serverapp.web_app
    web_app.settings.setdefault("root_dir", serverapp.root_dir)
    pattern = url_path_join(web_app.settings["base_url"], "/assignments/validate")
    web_app.add_handlers(".*$", [(pattern, SummaryValidateHandler)])
    # Tornado asks its rules in order, and add_handlers put this one after nbgrader's
    # (if that extension loaded first): move it to the front.
    rules = web_app.default_router.rules
    rules.insert(0, rules.pop(-2))
    serverapp.log.info("unet-course: Validate shows a summary first (unet_course.grading.validate)")
