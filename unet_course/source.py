"""Show the package's own code inside a lesson (every lesson).

A lesson calls :func:`show_source` on the function or class behind its idea,
so the code a student reads is the code that runs, rendered from the package
and never copied into the notebook. In JupyterLab it appears highlighted
(HTML from pygments); under nbval, in a terminal or in a plain-text export it
is the same source as plain text, headed by the object's name and where it
lives.

Examples
--------
>>> from unet_course.source import source_view
>>> from unet_course.validate import whole_number
>>> print(source_view(whole_number, docstring=False).text.splitlines()[1])
def whole_number(value, name: str, minimum: int = 1, error: type = ValueError) -> int:
"""
from __future__ import annotations

import ast
import html
import inspect
import textwrap
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SourceView", "source_view", "show_source"]

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SourceView:
    """The source of one function or class, ready to display.

    ``text`` is the plain version (a header comment, then the code);
    Jupyter asks for the highlighted one through ``_repr_html_``.
    """

    name: str
    where: str
    code: str

    @property
    def text(self) -> str:
        """The header and the code as plain text, the same on every machine."""
        return f"# {self.name}  ({self.where})\n{self.code}"

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        body = highlight(self.code, PythonLexer(), HtmlFormatter(noclasses=True, style="xcode"))  # WCAG AA contrast
        header = (f'<div style="font-family: monospace; font-size: 90%; color: #555;">'
                  f"<b>{html.escape(self.name)}</b> &nbsp;({html.escape(self.where)})</div>")
        return header + body


def _name(obj) -> str:
    module = getattr(obj, "__module__", None) or "?"
    return f"{module}.{getattr(obj, '__qualname__', getattr(obj, '__name__', repr(obj)))}"


def _where(obj, first_line: int) -> str:
    path = Path(inspect.getsourcefile(obj) or "?").resolve()
    try:
        path = path.relative_to(_PACKAGE_ROOT)
    except ValueError:
        pass
    return f"{path.as_posix()}, line {first_line}"


def _without_docstring(code: str) -> str:
    """``code`` (one ``def`` or ``class``) minus its docstring and those of its methods."""
    tree = ast.parse(code)
    drop = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str) and len(node.body) > 1):
                drop.update(range(first.lineno, first.end_lineno + 1))
    lines = code.splitlines()
    return "\n".join(line for number, line in enumerate(lines, start=1) if number not in drop) + "\n"


def source_view(obj, docstring: bool = True) -> SourceView:
    """The :class:`SourceView` of a function, method or class of the package.

    Parameters
    ----------
    obj : function, method or class
        What to show; a ``functools.partial`` or decorated function shows the
        function it wraps.
    docstring : bool
        Keep the docstrings (default); ``False`` shows the code alone, shorter
        to read on a projector.

    Raises
    ------
    TypeError
        When ``obj`` has no Python source (a number, a built-in, a module).
    """
    target = inspect.unwrap(getattr(obj, "func", obj))
    if not (inspect.isfunction(target) or inspect.ismethod(target) or inspect.isclass(target)):
        raise TypeError(f"show_source needs a function or a class of the package; got "
                        f"{type(obj).__name__} {obj!r:.60}")
    try:
        lines, first_line = inspect.getsourcelines(target)
    except (OSError, TypeError) as error:
        raise TypeError(f"show_source cannot find the source of {_name(target)}: {error}") from None
    code = textwrap.dedent("".join(lines))
    if not docstring:
        code = _without_docstring(code)
    return SourceView(_name(target), _where(target, first_line), code)


def show_source(obj, docstring: bool = True) -> None:
    """Display the source of ``obj``: highlighted in JupyterLab, plain text elsewhere (every lesson).

    Parameters and errors as :func:`source_view`. Returns nothing, so the
    code is shown once even as the last line of a cell.
    """
    from IPython.display import display

    display(source_view(obj, docstring=docstring))
