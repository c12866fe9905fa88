"""pytest plugin: keep the lessons nbval executes, outputs and all, as notebooks (CI's artefact).

``make test KEEP_EXECUTED=1`` loads it (``-p executed_notebooks --keep-executed DIR``): every code
cell nbval ran gets the outputs its kernel sent, and each lesson is written to ``DIR/<name>.ipynb``
when the session ends, also when a cell failed (its error is in the notebook). Nothing runs twice:
the notebooks are the ones nbval executed anyway. Without ``--keep-executed`` it does nothing.
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

_KEPT = {}      # lesson path -> (notebook copy, its code cells in order)


def pytest_addoption(parser):
    parser.addoption("--keep-executed", metavar="DIR", default=None,
                     help="write each notebook nbval executed, with its outputs, to DIR/")


def pytest_runtest_makereport(item, call):
    """After a cell ran: copy the outputs nbval collected into this plugin's copy of the notebook."""
    if call.when != "call" or not item.config.getoption("keep_executed"):
        return
    outputs = getattr(item, "test_outputs", None)
    if outputs is None or not hasattr(item, "cell_num"):
        return
    path = Path(str(item.parent.fspath))
    if path not in _KEPT:
        nb = copy.deepcopy(item.parent.nb)
        _KEPT[path] = (nb, [cell for cell in nb.cells if cell.cell_type == "code"])
    cell = _KEPT[path][1][item.cell_num]
    cell.outputs = [nbformat.from_dict(dict(output)) for output in outputs]


def pytest_sessionfinish(session):
    folder = session.config.getoption("keep_executed")
    if not folder or not _KEPT:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for path, (nb, _) in sorted(_KEPT.items()):
        nbformat.write(nb, str(Path(folder) / path.name))


def pytest_terminal_summary(terminalreporter, config):
    if config.getoption("keep_executed") and _KEPT:
        terminalreporter.write_line(f"executed notebooks written to {config.getoption('keep_executed')}/ "
                                    f"({len(_KEPT)})")
