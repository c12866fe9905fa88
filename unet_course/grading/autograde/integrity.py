"""Tamper detection: did this notebook change the grading environment?

The grader asks the kernel before and after every test cell. The kernel's
answer comes from an **audit hook** (:pep:`578`) that the trusted grader
installs as the very first thing the kernel runs, before any student cell:

1. The hook keeps, in its closure, the objects that decide a grade as they
   were at the start: every function and class of ``unet_course`` (the
   checks, their messages, the references they compare against) with its
   code, defaults and closure; every builtin (``AssertionError``, ``print``,
   ``isinstance`` ...); numpy's and ``numpy.testing``'s functions; the
   ``sys`` hooks (``excepthook``, ``displayhook``, ``stdout`` ...); and
   IPython's and ipykernel's execution machinery (``run_cell``,
   ``showtraceback``, the custom exception handler, input and AST
   transformers, the kernel's ``do_execute``, the session's ``send``).
2. A probe (``sys.audit("unet_course.integrity", CHALLENGE)``) makes the hook
   compare each of them with ``is`` against what it holds now, and write the
   names that changed to a file, signed with HMAC-SHA256 over the grader's
   fresh random challenge. The key came from a file the hook read and
   deleted before any student code ran, so only the hook can sign.
3. The grader accepts only a correctly signed answer with nothing changed.
   A missing, unsigned or wrongly signed answer (``sys.audit`` replaced, the
   hook silenced) counts as tampering too.

The hook also watches the ways to reach its own closure or rewrite code
behind the grader's back: ``sys.settrace``/``setprofile``, ``gc``'s object
walks, ``sys._current_frames``, ``ctypes`` memory access, and setting
attributes or ``__code__`` on a watched class or function from anywhere but
the grading package's own code. Any of them **wipes the key at once**, before
the call returns, so nothing the notebook does afterwards can sign "clean".

The hook uses only references it captured at start-up (no global or builtin
name lookups), so rebinding names in the notebook or in ``builtins`` cannot
fool it.
"""
from __future__ import annotations

import hmac
import json
import os
import secrets

__all__ = ["ENVIRONMENT_CHANGED", "Probe"]

#: The feedback's words for a test cell whose environment a notebook changed.
ENVIRONMENT_CHANGED = "the grading environment was changed by this notebook"

_EVENT = "unet_course.integrity"

# Runs in the kernel, first. Placeholders: __KEY_PATH__, __ANSWER_PATH__, __ASSIGNMENT__.
_PRELUDE = r'''
def _unet_course_integrity(key_path, answer_path, assignment):
    import sys, builtins, importlib, types, posix, _hashlib
    import numpy, numpy.testing
    import unet_course.grading as grading
    if assignment in grading.MODULES:
        importlib.import_module(grading.MODULES[assignment])
    for name in ("unet_course.grading.common", "unet_course.grading.messages"):
        importlib.import_module(name)
    fd = posix.open(key_path, posix.O_RDONLY)
    state = {"key": posix.read(fd, 64), "pinned": False}
    posix.close(fd)
    posix.unlink(key_path)
    events = []
    FunctionType, CellType, CodeType = types.FunctionType, types.CellType, types.CodeType
    code_of = FunctionType.__code__.__get__
    defaults_of = FunctionType.__defaults__.__get__
    kwdefaults_of = FunctionType.__kwdefaults__.__get__
    closure_of = FunctionType.__closure__.__get__
    contents_of = CellType.cell_contents.__get__
    dict_of_type = type.__dict__["__dict__"].__get__
    dict_get, proxy_get, getattr_, tuple_ = dict.get, types.MappingProxyType.get, getattr, tuple
    watched = []          # (name, fetch, original, compare by value)
    own_code = set()      # ids of the grading package's code objects
    targets = set()       # ids of the watched classes and functions
    package = grading.__file__.rsplit("/", 2)[0] + "/"

    def watch(name, fetch, by_value=False):
        watched.append((name, fetch, fetch(), by_value))

    def watch_function(name, fn, depth=0):
        targets.add(id(fn))
        watch(name + ".__code__", lambda f=fn: code_of(f))
        watch(name + ".__defaults__", lambda f=fn: defaults_of(f))
        watch(name + ".__kwdefaults__", lambda f=fn: kwdefaults_of(f))
        if code_of(fn).co_filename.startswith(package + "grading/"):
            stack = [code_of(fn)]
            while stack:
                code = stack.pop()
                own_code.add(id(code))
                stack += [c for c in code.co_consts if isinstance(c, CodeType)]
        for i, cell in enumerate(closure_of(fn) or ()):
            try:
                value = contents_of(cell)
            except ValueError:
                continue
            watch(f"{name} (closure {i})", lambda c=cell: contents_of(c))
            if type(value) is FunctionType and depth < 2:
                watch_function(f"{name}<{i}>", value, depth + 1)

    def watch_class(name, cls):
        targets.add(id(cls))
        for key, value in list(dict_of_type(cls).items()):
            if callable(value) or isinstance(value, (staticmethod, classmethod, property)):
                watch(f"{name}.{key}", lambda c=cls, k=key: proxy_get(dict_of_type(c), k))
                if type(value) is FunctionType:
                    watch_function(f"{name}.{key}", value)

    modules = sys.modules
    names = sorted(n for n in modules if n.split(".")[0] == "unet_course")
    names += ["builtins", "numpy", "numpy.testing", "math", "operator", "functools",
              "keras", "keras.ops", "IPython.core.interactiveshell", "ipykernel.iostream"]
    for modname in names:
        module = dict_get(modules, modname)
        if module is None:
            continue
        watch(f"sys.modules[{modname!r}]", lambda n=modname: dict_get(modules, n))
        space = vars(module)
        keys = set(space) | set(dir(module) if modname.startswith("unet_course") else ())
        for key in sorted(keys):
            value = space.get(key)
            if value is not None and not (callable(value) or type(value) is types.ModuleType):
                continue
            if modname == "builtins" and key in ("input", "raw_input"):
                continue  # ipykernel puts its own in place for every request
            watch(f"{modname}.{key}", lambda s=space, k=key: dict_get(s, k))
            home = getattr(value, "__module__", "") or ""
            if type(value) is FunctionType and home.startswith("unet_course"):
                watch_function(f"{modname}.{key}", value)
            elif isinstance(value, type) and home.startswith("unet_course"):
                watch_class(f"{modname}.{key}", value)
    sys_space = vars(sys)
    for key in ("modules", "excepthook", "displayhook", "breakpointhook", "stdout", "stderr",
                "audit", "meta_path", "path_hooks", "settrace", "setprofile"):
        watch(f"sys.{key}", lambda k=key: dict_get(sys_space, k), True)

    shell = get_ipython()  # noqa: F821 (the kernel's)
    kernel = getattr(shell, "kernel", None)
    machinery = [("shell", shell), ("kernel", kernel), ("session", getattr(kernel, "session", None)),
                 ("stdout", sys.stdout), ("stderr", sys.stderr),
                 ("displayhook", shell.displayhook), ("display_pub", shell.display_pub),
                 ("compile", shell.compile)]
    for label, obj in machinery:
        if obj is None:
            continue
        for cls in type(obj).__mro__[:-1]:
            watch_class(f"{label}:{cls.__name__}", cls)
        methods = frozenset(k for cls in type(obj).__mro__ for k, v in vars(cls).items() if callable(v))
        space = obj.__dict__
        watch(f"{label} (methods set on the instance)", lambda s=space, m=methods: frozenset(s) & m, True)
    for key in ("CustomTB", "custom_exceptions", "ast_transformers", "input_transformers_post",
                "input_transformers_cleanup", "showtraceback", "run_cell", "run_ast_nodes", "run_code"):
        watch(f"shell.{key}", lambda k=key: getattr_(shell, k, None), key in ("showtraceback", "run_cell",
                                                                           "run_ast_nodes", "run_code"))
        value = getattr(shell, key, None)
        if type(value) is list:
            watch(f"shell.{key} (contents)", lambda v=value: tuple_(v), True)
    manager = getattr(shell, "input_transformer_manager", None)
    for key in ("cleanup_transforms", "line_transforms", "token_transformers"):
        if type(getattr(manager, key, None)) is list:
            watch(f"input_transformer_manager.{key}", lambda v=getattr(manager, key): tuple_(v), True)

    sensitive = frozenset({"sys.settrace", "sys.setprofile", "gc.get_objects", "gc.get_referrers",
                           "gc.get_referents", "sys._current_frames", "ctypes.cdata",
                           "ctypes.string_at", "ctypes.wstring_at", "ctypes.cdata/buffer",
                           "ctypes.addressof"})
    setters = frozenset({"object.__setattr__", "object.__delattr__"})
    getframe, id_, join, encode, append = sys._getframe, id, "\n".join, str.encode, list.append
    digest, pos_open, pos_write, pos_close = _hashlib.hmac_digest, posix.open, posix.write, posix.close
    flags, hexof, error = posix.O_WRONLY | posix.O_CREAT | posix.O_TRUNC, bytes.hex, BaseException
    probe_event, pin_event, main = "unet_course.integrity", "unet_course.integrity.pin", vars(sys.modules["__main__"])
    pinned = []

    def report(challenge):
        changed = tuple_(events)
        for name, fetch, original, by_value in watched + pinned:
            try:
                now = fetch()
                if (now != original) if by_value else (now is not original):
                    changed += (name,)
            except error:
                changed += (name,)
        text = join(changed)
        secret = state["key"]
        mac = "" if secret is None else hexof(digest(secret, encode(challenge + "\n" + text), "sha256"))
        fd = pos_open(answer_path, flags, 0o600)
        pos_write(fd, encode(mac + "\n" + text))
        pos_close(fd)

    def hook(event, args):
        if event in sensitive:
            state["key"] = None
            append(events, event)
        elif event in setters:
            if id_(args[0]) in targets and id_(getframe(1).f_code) not in own_code:
                state["key"] = None
                append(events, f"{event} on a grading object ({args[1]})")
        elif event == probe_event:
            report(args[0])
        elif event == pin_event and not state["pinned"]:
            state["pinned"] = True   # once: after the locked setup cell, before any student cell
            for key, value in list(main.items()):
                if not key.startswith("_") and (callable(value) or type(value) is types.ModuleType):
                    append(pinned, (f"the notebook's {key}", lambda k=key: dict_get(main, k), value, False))

    sys.addaudithook(hook)


_unet_course_integrity(__KEY_PATH__, __ANSWER_PATH__, __ASSIGNMENT__)
del _unet_course_integrity
'''


class Probe:
    """The grader's side: the key, the prelude the kernel runs first, and the checks.

    Parameters
    ----------
    folder : pathlib.Path
        A folder the kernel can write (the socket folder): the key is handed
        over and the answers come back through files there.
    assignment : str
        The nbgrader assignment (its check module is loaded before any student cell).
    """

    def __init__(self, folder, assignment):
        self.key = secrets.token_bytes(32)
        self.key_path = folder / "integrity.key"
        self.answer_path = folder / "integrity.answer"
        self.assignment = assignment

    def prelude(self):
        """Source of the first cell the kernel runs: writes the key file, returns the code."""
        fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, self.key)
        os.close(fd)
        return (_PRELUDE.replace("__KEY_PATH__", json.dumps(str(self.key_path)))
                .replace("__ANSWER_PATH__", json.dumps(str(self.answer_path)))
                .replace("__ASSIGNMENT__", json.dumps(self.assignment)))

    def challenge(self):
        """A fresh challenge and the source of the probe cell that sends it."""
        try:
            os.unlink(self.answer_path)
        except FileNotFoundError:
            pass
        challenge = secrets.token_hex(16)
        return challenge, f"__import__('sys').audit({_EVENT!r}, {challenge!r})"

    @staticmethod
    def pin():
        """Source of the cell that pins the notebook's names (``grading``, ``np`` ...), once.

        The grader sends it right after the locked setup cell, before any
        student cell; later calls (a replay from the notebook) do nothing.
        """
        return f"__import__('sys').audit({_EVENT + '.pin'!r})"

    def verdict(self, challenge):
        """``None`` when the kernel's signed answer says nothing changed; else what changed.

        Returns
        -------
        str or None
            A short description for the feedback and the instructor.
        """
        from unet_course.grading.remote import read_capped
        data = read_capped(self.answer_path, 1 << 20)
        if data is None:
            return "the grader's integrity check got no answer (sys.audit or its hook was replaced)"
        text = data.decode("utf-8", "replace")
        mac, _, report = text.partition("\n")
        expected = hmac.new(self.key, (challenge + "\n" + report).encode(), "sha256").hexdigest()
        changed = [line for line in report.splitlines() if line]
        if not hmac.compare_digest(mac, expected):
            why = ", ".join(changed[:3]) or "its answer was not signed by the grader's hook"
            return f"the grader's integrity check was interfered with ({why})"
        if changed:
            more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
            return "changed: " + ", ".join(changed[:3]) + more
        return None
