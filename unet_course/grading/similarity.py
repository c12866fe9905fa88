"""How alike two solutions of one graded function are: fingerprints as MOSS and JPlag take them.

The similarity report (:mod:`unet_course.grading.similarity_report`, its
page :mod:`unet_course.grading.similarity_page`) compares every submission's
graded functions with the package's reference and with each other. What it
compares is a function's *fingerprints*, computed in four steps:

1. **Normalise.** The function is parsed with :mod:`ast` and written out as
   a sequence of tokens in source order: the node types (``Assign``,
   ``Call``, ``BinOp``, ``Add`` ...), the names it takes from outside
   (``float``, ``numpy``: an ``import numpy as np`` alias is written as the
   module it names), attribute and keyword names (``.asarray``, ``dtype=``),
   and placeholders for what a copier changes for free: ``V`` for every name
   the function binds itself (its own name, arguments, variables), ``STR``
   and ``NUM`` for literals. Line breaks, spacing, parentheses, comments and
   docstrings do not reach the sequence at all.
2. **Hash k-grams.** Every run of :data:`K` consecutive tokens is hashed
   (BLAKE2b: the same value on every machine and in every run).
3. **Winnow** (Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms
   for document fingerprinting", SIGMOD 2003, the method of MOSS): of every
   :data:`WINDOW` consecutive hashes the smallest is kept, the rightmost on
   ties. Any common passage of at least ``WINDOW + K - 1`` tokens is then
   certain to share a fingerprint, and none shorter than ``K`` tokens can.
4. **Compare.** :func:`jaccard`, the report's score: the share of the two
   functions' fingerprints that both have (1.0 for a copy under other
   names); :func:`containment`, the share of the smaller one's found in the
   other, which stays 1.0 for a copy padded with extra code.

Submissions are notebooks, some broken: :func:`definitions` reads a
function from a notebook's cells with ``ast``, cell by cell and statement by
statement, so a syntax error elsewhere, IPython magics, a renamed function
or a missing one each become a clear note instead of an exception.

Why not a library: ``copydetect`` (PyPI) winnows whole files from disk, on
characters of Pygments tokens with every name replaced alike, and writes its
own report; the report needs single functions out of notebook cells, names
from outside kept apart from the function's own, and the release's stub
discounted, and the fingerprints themselves take the standard library and
fifty lines here.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import pkgutil
import re
import textwrap
from collections import deque
from dataclasses import dataclass
from pathlib import Path

__all__ = ["K", "WINDOW", "Definition", "normalised_tokens", "kgram_hashes", "winnow",
           "fingerprints", "containment", "jaccard", "parse_cells", "definitions",
           "reference_source", "reference_definition", "source_definition"]

#: Tokens per k-gram: shorter common runs never count.
K = 5
#: Hashes per winnowing window: every common run of WINDOW + K - 1 tokens is found.
WINDOW = 4

_DEF = re.compile(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)
_CONTINUES = re.compile(r"(?:else|elif|except|finally)\b|[)\]}]")
_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError)


@dataclass(frozen=True)
class Definition:
    """A graded function as one submission (or the package) wrote it.

    ``tokens`` is its normalised token sequence; ``fingerprints`` the set of
    winnowed hashes; ``name`` the name it was defined under; ``where`` the
    cell (or module) it came from; ``note`` what was unusual, if anything.
    """

    name: str
    where: str
    tokens: tuple
    fingerprints: frozenset
    note: str = ""


# -- 1. normalise ----------------------------------------------------------------------------------

def bound_names(node):
    """Names that ``node`` (a function or class definition) binds itself: they become ``V``.

    Its own name, every argument, assigned, looped, caught and imported name,
    and functions defined inside functions; not the methods of a class
    (``update_state`` is what Keras calls, not a free choice) nor names
    declared ``global`` or ``nonlocal``.
    """
    names, methods, declared = {node.name}, set(), set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.arg):
            names.add(inner.arg)
        elif isinstance(inner, ast.Name) and not isinstance(inner.ctx, ast.Load):
            names.add(inner.id)
        elif isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(inner.name)
            if isinstance(inner, ast.ClassDef):
                methods.update(s.name for s in inner.body
                               if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)))
        elif isinstance(inner, ast.alias):
            names.add((inner.asname or inner.name).split(".")[0])
        elif isinstance(inner, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and inner.name:
            names.add(inner.name)
        elif isinstance(inner, (ast.Global, ast.Nonlocal)):
            declared.update(inner.names)
    return (names - methods - declared) | {node.name}


def import_aliases(statements):
    """``{alias: module}`` of ``import a.b as c`` and ``from a import b as c`` among ``statements``."""
    aliases = {}
    for statement in statements:
        if isinstance(statement, ast.Import):
            aliases.update({a.asname: a.name for a in statement.names if a.asname})
        elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            aliases.update({a.asname: f"{statement.module}.{a.name}" for a in statement.names
                            if a.asname})
    return aliases


def _literal(value):
    """The token of a constant: ``True``, ``False``, ``None`` as written; ``STR``, ``NUM`` otherwise."""
    if value is None or isinstance(value, bool) or value is Ellipsis:
        return repr(value)
    return "STR" if isinstance(value, (str, bytes)) else "NUM"


def normalised_tokens(node, aliases=None):
    """The token sequence of a function or class definition ``node`` (step 1 above).

    A pre-order walk of the syntax tree, written with an explicit stack so
    that a hostile, deeply nested expression cannot exhaust Python's
    recursion limit. Statements that are only a string (docstrings) are left
    out.
    """
    aliases, bound, out = aliases or {}, bound_names(node), []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, ast.expr_context) or (
                isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant)
                and isinstance(item.value.value, str)):
            continue
        elif isinstance(item, ast.Name):
            out.append("V" if item.id in bound else aliases.get(item.id, item.id))
        elif isinstance(item, ast.Constant):
            out.append(_literal(item.value))
        elif isinstance(item, ast.JoinedStr):
            out.append("STR")
        else:
            out.append("V" if isinstance(item, ast.arg) else type(item).__name__)
            stack.extend(reversed(_children(item)))
    return out


def _children(node):
    """What follows a node's own token: its child nodes, and the names it carries as text."""
    if isinstance(node, ast.Attribute):
        return [node.value, "." + node.attr]
    if isinstance(node, ast.keyword):
        return [f"{node.arg}=" if node.arg else "**", node.value]
    if isinstance(node, ast.alias):
        return [node.name]
    if isinstance(node, ast.ImportFrom):
        return [f"{'.' * node.level}{node.module or ''}", *node.names]
    return list(ast.iter_child_nodes(node))


# -- 2. and 3. hash and winnow ---------------------------------------------------------------------

def kgram_hashes(tokens, k=K):
    """The 64-bit BLAKE2b hash of every run of ``k`` consecutive tokens, in order."""
    return [int.from_bytes(hashlib.blake2b("\x1f".join(tokens[i:i + k]).encode(),
                                           digest_size=8).digest(), "big")
            for i in range(len(tokens) - k + 1)]


def winnow(hashes, window=WINDOW):
    """``{(position, hash)}`` chosen by winnowing: the rightmost minimum of every window.

    A sequence shorter than one window is a single window. The deque holds
    the positions whose hashes could still be a window's minimum, smallest
    first, so each hash is looked at a bounded number of times (linear time).
    """
    if not hashes:
        return set()
    window = min(window, len(hashes))
    chosen, candidates = set(), deque()
    for i, value in enumerate(hashes):
        while candidates and hashes[candidates[-1]] >= value:
            candidates.pop()
        candidates.append(i)
        if candidates[0] <= i - window:
            candidates.popleft()
        if i >= window - 1:
            chosen.add((candidates[0], hashes[candidates[0]]))
    return chosen


def fingerprints(tokens, k=K, window=WINDOW):
    """The set of winnowed hashes of a token sequence (steps 2 and 3)."""
    return frozenset(value for _, value in winnow(kgram_hashes(list(tokens), k), window))


# -- 4. compare ------------------------------------------------------------------------------------

def containment(a, b):
    """Shared fingerprints over those of the smaller set: 1.0 when one is inside the other."""
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def jaccard(a, b):
    """Shared fingerprints over all fingerprints of the two sets."""
    return len(a & b) / len(a | b) if a or b else 0.0


# -- reading definitions from a notebook's cells ---------------------------------------------------

def _is_magic(line):
    """``True`` for IPython's ``%magic``, ``!shell`` and ``name?`` lines, which are not Python."""
    text = line.strip()
    return text[:1] in ("%", "!") or (text.endswith("?") and not text.startswith("#"))


def _without_magics(source):
    """The cell with its IPython-only lines turned into comments."""
    return "\n".join("#" + line if _is_magic(line) else line for line in source.splitlines())


def _chunks(source):
    """The cell's top-level statements as separate pieces of text, with their first line number.

    A piece starts at every line in the first column that does not continue
    the one before (``else:``, a closing bracket, a ``def`` after its
    decorator, a line inside a triple-quoted string may be cut wrongly; that
    piece then fails to parse alone and is reported).
    """
    pieces, start, lines = [], 0, source.splitlines()
    for number, line in enumerate(lines):
        if (number and line[:1] not in ("", " ", "\t", "#") and not _CONTINUES.match(line)
                and not lines[number - 1].startswith("@")):
            pieces.append((start + 1, "\n".join(lines[start:number])))
            start = number
    pieces.append((start + 1, "\n".join(lines[start:])))
    return pieces


def parse_cells(cells):
    """Parse notebook cells tolerantly: ``(statements, broken)``.

    ``cells`` is a list of ``(label, source, grade_id)``. ``statements``
    lists ``(label, grade_id, node)`` of every top-level statement that
    parses; ``broken`` maps a function name whose definition does not parse
    (or ``""`` for other code) to a line saying where and why.
    """
    statements, broken = [], {}
    for label, source, grade_id in cells:
        source = _without_magics(source)
        try:
            pieces = [(1, ast.parse(source))]
        except _PARSE_ERRORS:
            pieces = []
            for first, text in _chunks(source):
                try:
                    pieces.append((first, ast.parse(text)))
                except _PARSE_ERRORS as error:
                    defined = _DEF.search(text)
                    where = f"{label}, line {first - 1 + (getattr(error, 'lineno', None) or 1)}"
                    why = getattr(error, "msg", None) or type(error).__name__
                    broken.setdefault(defined.group(1) if defined else "", f"{where}: {why}")
        statements += [(label, grade_id, node) for _, tree in pieces for node in tree.body]
    return statements, broken


def definitions(cells, names):
    """Find each of ``names`` in a submission's cells: ``{name: (Definition or None, note)}``.

    The last definition of a name wins, as in a kernel that ran every cell.
    A name defined under another name (in the solution cell of that name, or
    through ``name = other``) is taken with a note; a definition that does
    not parse or does not exist is ``None`` with a note saying so.
    """
    statements, broken = parse_cells(cells)
    aliases = import_aliases(node for _, _, node in statements)
    defined, assigned, by_cell = {}, {}, {}
    for label, grade_id, node in statements:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined[node.name] = (label, node)
            by_cell.setdefault(grade_id, []).append(node.name)
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Name)):
            assigned[node.targets[0].id] = node.value.id
    found = {}
    for name in names:
        other = _defined_instead(name, defined, assigned, by_cell)
        if name in defined:
            found[name] = (_definition(*defined[name], aliases), "")
        elif name in broken:
            found[name] = (None, f"{name} does not parse ({broken[name]})")
        elif other:
            note = f"defined as {other} instead of {name}"
            found[name] = (_definition(*defined[other], aliases, note), note)
        else:
            found[name] = (None, f"no definition of {name}")
    return found


def _defined_instead(name, defined, assigned, by_cell):
    """The name a function was defined under instead of ``name``, or ``None``.

    ``name = other`` with ``other`` defined, or else the one name defined in
    the cell whose nbgrader ``grade_id`` is ``name`` (its solution cell).
    """
    if assigned.get(name) in defined:
        return assigned[name]
    own = set(by_cell.get(name, []))
    return own.pop() if len(own) == 1 and name not in own else None


def _definition(where, node, aliases, note=""):
    tokens = tuple(normalised_tokens(node, aliases))
    return Definition(node.name, where, tokens, fingerprints(tokens), note)


def source_definition(source, where="source"):
    """The first function or class defined in ``source`` (a release's stub, a test's snippet)."""
    tree = ast.parse(textwrap.dedent(source))
    node = next(n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                      ast.ClassDef)))
    return _definition(where, node, import_aliases(tree.body))


def _module_file(path):
    """``(module file, attribute names)`` of a dotted path, importing packages only, never the module.

    ``importlib.util.find_spec`` imports a name's parent packages, so the walk
    goes from the top down and stops at the first plain module.
    """
    parts = path.split(".")
    for cut in range(1, len(parts)):
        spec = importlib.util.find_spec(".".join(parts[:cut]))
        if spec is None or spec.origin is None:
            return None, parts
        if spec.submodule_search_locations is None:
            return Path(spec.origin), parts[cut:]
    return None, parts


def reference_source(path):
    """``(source, aliases)`` of the package's reference at dotted ``path`` (an ``Item.references`` entry).

    It is found in its module's file with ``ast``, without importing the
    module (most references' modules start TensorFlow); a reference that its
    module only imports from elsewhere is read with ``inspect.getsource``.
    ``aliases`` are its module's ``import ... as`` names.
    """
    file, names = _module_file(path)
    if file is not None and file.suffix == ".py":
        text = file.read_text(encoding="utf-8")
        tree = ast.parse(text)
        body, node = tree.body, None
        for name in names:
            node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                            ast.ClassDef)) and n.name == name), None)
            body = node.body if node is not None else []
        if node is not None:
            lines = text.splitlines(keepends=True)[node.lineno - 1:node.end_lineno]
            return textwrap.dedent("".join(lines)), import_aliases(tree.body)
    obj = pkgutil.resolve_name(path)
    module = inspect.getmodule(obj)
    aliases = import_aliases(ast.parse(inspect.getsource(module)).body) if module else {}
    return textwrap.dedent(inspect.getsource(obj)), aliases


def reference_definition(path):
    """The package's reference at dotted ``path`` as a :class:`Definition` (see :func:`reference_source`)."""
    source, aliases = reference_source(path)
    return _definition(path, ast.parse(source).body[0], aliases)
