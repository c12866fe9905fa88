"""show_source: the package's code as the lessons show it, plain and highlighted."""
from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import unet_course
from unet_course.source import SourceView, show_source, source_view
from unet_course.validate import probability, whole_number


def test_the_plain_text_is_the_header_and_the_real_source():
    view = source_view(whole_number)
    header, _, code = view.text.partition("\n")
    line = inspect.getsourcelines(whole_number)[1]
    assert header == f"# unet_course.validate.whole_number  (unet_course/validate.py, line {line})"
    assert code == inspect.getsource(whole_number)
    assert repr(view) == view.text
    assert source_view(whole_number).text == view.text          # deterministic


def test_without_docstring_drops_only_the_docstrings():
    full = source_view(probability).code
    short = source_view(probability, docstring=False).code
    assert probability.__doc__.strip().splitlines()[0] in full
    assert probability.__doc__.strip().splitlines()[0] not in short
    code_lines = [line for line in short.splitlines() if line.strip()]
    assert all(line in full.splitlines() for line in code_lines)
    assert code_lines[0].startswith("def probability(")
    assert compile(short, "<short>", "exec")                     # still valid Python


def test_a_class_keeps_its_methods_and_loses_their_docstrings():
    view = source_view(SourceView, docstring=False)
    assert view.code.startswith("@dataclass(frozen=True)\nclass SourceView:")
    assert "def _repr_html_(self)" in view.code
    assert "The header and the code as plain text" not in view.code


def test_the_html_is_highlighted_and_escaped():
    html = source_view(whole_number)._repr_html_()
    assert "<span" in html and "style=" in html                  # pygments' inline colours
    assert "unet_course.validate.whole_number" in html
    assert "&gt;=" in html                                        # `>=` of the code, escaped


def test_show_source_prints_plain_text_outside_jupyter(capsys):
    assert show_source(whole_number) is None
    assert capsys.readouterr().out == source_view(whole_number).text + "\n"


@pytest.mark.parametrize("bad", [3, len, inspect, "unet_course.losses"])
def test_what_has_no_source_is_refused_with_one_clear_error(bad):
    with pytest.raises(TypeError, match="show_source"):
        source_view(bad)


def test_it_is_exported_lazily_without_tensorflow():
    assert unet_course.show_source is show_source
    code = ("import sys, unet_course; unet_course.show_source; "
            "print('tensorflow' in sys.modules, 'unet_course.source' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        unet_course.nothing
