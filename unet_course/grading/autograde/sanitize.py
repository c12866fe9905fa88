"""The package as a student's kernel sees it while grading: no references, no checks.

While assignment A is graded, the sandbox binds :func:`sanitized_package`
over the ``unet_course`` folder. It is a copy of the package (source files
only: no ``__pycache__``, no ``.pyc``) in which

- every reference of A's items (the dotted paths of each
  :class:`~unet_course.grading.common.Item` in A's check module) keeps its
  name and signature but its body is one line that raises
  :class:`~unet_course.grading.harness.Unavailable`: "X is not available
  while grading: write it yourself". Its code is not in the copy, so it can
  be neither called, nor rebuilt from a code object, nor read from disk;
- every check module (``grading/data_imbalance.py`` ...) is replaced by
  ``check_*`` functions that say the checks run in the grader: their
  expected values stay outside the sandbox too.

Everything else (the helpers an assignment's notebook imports, the other
assignments' answers) is as in the package. The copy is built once per
content (its folder name is a hash of the package's files and the
assignment) in the temporary folder, world-readable, and reused.
"""
from __future__ import annotations

import ast
import hashlib
import importlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["sanitized_package", "reference_paths", "sanitize_source"]

_RAISE = '__import__("unet_course.grading.harness", fromlist=["Unavailable"]).Unavailable({path!r})'


def _package_dir():
    import unet_course
    return Path(unet_course.__file__).resolve().parent


def _check_modules():
    """Module names of the check modules: those that define ``check_*`` functions."""
    from unet_course import grading
    return {module for module in grading.MODULES.values()} | {
        "unet_course.grading.dataset_metric", "unet_course.grading.augment_threshold"}


def reference_paths(assignment):
    """``{dotted path: (module name, qualified name)}`` of every reference of ``assignment``'s items."""
    from unet_course import grading
    from unet_course.grading.common import Item, _resolve
    if assignment not in grading.MODULES:   # not one of the course's: no reference to take out
        return {}
    module = importlib.import_module(grading.MODULES[assignment])
    paths = {path for value in vars(module).values() if isinstance(value, Item) for path in value.references}
    out = {}
    for path in sorted(paths):
        obj = _resolve(path)
        obj = getattr(obj, "__func__", obj)
        out[path] = (obj.__module__, obj.__qualname__)
    return out


def _find(tree, qualname):
    """The ``def``/``class`` node of ``qualname`` in a module's AST, or ``None``."""
    nodes = tree.body
    found = None
    for part in qualname.split("."):
        found = next((n for n in nodes if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                      and n.name == part), None)
        if found is None:
            return None
        nodes = found.body
    return found


def sanitize_source(source, stubs):
    """``source`` with each ``{qualified name: dotted path}`` in ``stubs`` made to raise ``Unavailable``."""
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    spans = []
    for qualname, path in stubs.items():
        node = _find(tree, qualname)
        if node is None:
            raise LookupError(f"{qualname} is not defined in its module's source")
        body = node.body
        first = body[1] if len(body) > 1 and isinstance(body[0], ast.Expr) and \
            isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str) \
            else body[0]
        indent = " " * first.col_offset
        if isinstance(node, ast.ClassDef):
            stub = (f"{indent}def __init__(self, *args, **kwargs):\n"
                    f"{indent}    raise {_RAISE.format(path=path)}\n")
        else:
            stub = f"{indent}raise {_RAISE.format(path=path)}\n"
        spans.append((first.lineno - 1, node.end_lineno, stub))
    kept = []
    for start, end, stub in sorted(spans, reverse=True):
        if any(s <= start and end <= e for s, e, _ in kept):
            continue   # inside a class already replaced
        lines[start:end] = [stub]
        kept.append((start, end, stub))
    return "".join(lines)


def _check_stub(source):
    """A check module's replacement: its ``check_*`` names, each saying the checks run in the grader."""
    names = [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name.startswith("check_")]
    return ('"""Not here while grading: the checks run in the grader, outside this sandbox."""\n\n\n'
            "def _outside(name):\n"
            "    def check(*args, **kwargs):\n"
            "        raise RuntimeError(f\"grading.{name} runs in the grader while grading, not in the "
            "notebook's kernel\")\n"
            "    check.__name__ = name\n"
            "    return check\n\n\n"
            + "".join(f"{name} = _outside({name!r})\n" for name in names))


def _files(root):
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            yield path


def sanitized_package(assignment, folder=None):
    """The sanitized copy's ``unet_course`` folder for ``assignment`` (built once per content)."""
    root = _package_dir()
    stubs = {}
    for path, (module, qualname) in reference_paths(assignment).items():
        stubs.setdefault(module, {})[qualname] = path
    checks = _check_modules()
    digest = hashlib.sha256(assignment.encode() + repr(sorted(stubs.items())).encode())
    digest.update(Path(__file__).read_bytes())
    files = list(_files(root))
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    base = Path(folder or tempfile.gettempdir())
    target = base / f"unet-course-grading-{assignment}-{digest.hexdigest()[:16]}"
    if (target / ".complete").is_file():
        return target / "unet_course"
    build = Path(tempfile.mkdtemp(prefix=".unet-course-grading-", dir=base))
    try:
        for path in files:
            relative = path.relative_to(root)
            module = ".".join(("unet_course",) + relative.with_suffix("").parts).removesuffix(".__init__")
            out = build / "unet_course" / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix != ".py":
                shutil.copyfile(path, out)
                continue
            source = path.read_text(encoding="utf-8")
            if module in checks:
                source = _check_stub(source)
            elif module in stubs:
                source = sanitize_source(source, stubs[module])
            out.write_text(source, encoding="utf-8")
        (build / ".complete").write_text(assignment)
        for path in [build, *build.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        try:
            os.rename(build, target)
        except OSError:   # another worker made the same copy first
            shutil.rmtree(build, ignore_errors=True)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return target / "unet_course"
