"""What every check shares: calling student code, the reference shortcut, stand-ins.

A check calls a student's function through :meth:`Item.call`, the way a test
cell would, compares the result with the package's reference, and fails with
a message from :mod:`unet_course.grading.messages`. A student's own error
becomes such a message too, naming the call; ``NotImplementedError()`` from
an unwritten stub says the function is not written yet.

**The reference shortcut.** A function that only returns or calls the
package's reference (``from unet_course.losses import dice_loss``, or
``def dice_loss(y, p): return unet_course.losses.dice_loss(y, p)``) earns
nothing for that item. :class:`Item` finds it two ways: the function *is* the
reference (same object, same code, a ``functools.partial`` of it), or, while
the student's function runs, the reference objects are replaced by ones that
raise (in every ``unet_course`` module, in the function's globals, closure and
defaults) and one of them was called.

**Isolation.** An item may name *stand-ins*: other graded functions the
student's function may call (``encoder_block`` inside ``build_unet``). While
it is checked, the references take their place in the notebook's globals, so
a wrong block costs only its own points. Everything is restored afterwards.

**Two transports, one check.** ``fn`` is the student's function itself
(self-check mode: Validate, a student's JupyterLab, plain nbgrader) or a
:class:`~unet_course.grading.remote.Remote` naming it in the student's
kernel (``unet-course autograde``). Either way :meth:`Item.call` runs one of
:mod:`unet_course.grading.procedures` on it and hands the check plain data
(:mod:`unet_course.grading.codec`); in grading mode the procedure runs in
the kernel, the comparison and the verdict here, and the kernel's package
has no references to call (a call of one fails the item with one line).

A failing check raises :class:`~unet_course.grading.messages.CheckFailed`,
which IPython (and hence nbgrader's Validate and feedback) shows as the
message alone, after the student's own failing lines when their code raised.
Frames of this package also carry ``__tracebackhide__`` for debuggers.
"""
from __future__ import annotations

import functools
import importlib
import logging
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

from unet_course.grading.codec import Raised, from_data, to_data
from unet_course.grading.messages import error_text, fail, show
from unet_course.grading.procedures import PROCEDURES, prepare
from unet_course.grading.remote import NoAnswer, Remote

__all__ = ["ReferenceUsed", "Item", "quiet", "is_reference", "remote_error"]


class ReferenceUsed(BaseException):
    """Raised by a stand-in for a package reference that a student's function called.

    A ``BaseException``, so a student's ``except Exception`` does not hide it.
    """


_REMOTE_TYPES = {}


def remote_error(raised):
    """An exception standing for what the student's code raised in its kernel.

    Its class has the student's exception's name and derives from the
    builtin exception it derived from (``ValueError``, ``NotImplementedError``),
    so a check's ``isinstance`` works as with a local exception.
    """
    import builtins
    base = next((getattr(builtins, name) for name in raised.bases
                 if isinstance(getattr(builtins, name, None), type)
                 and issubclass(getattr(builtins, name), Exception)), Exception)
    cls = _REMOTE_TYPES.setdefault((raised.type_name, base), type(raised.type_name, (base,), {}))
    error = cls(raised.message) if raised.message else cls()
    error.remote_frames = raised.frames
    return error


def quiet(check):
    """Decorate a check: no Python warnings and no TensorFlow notices while it runs.

    Keras prints retracing notices when a check builds and fits several small
    models; they would land in the student's feedback.
    """
    @functools.wraps(check)
    def wrapper(*args, **kwargs):
        __tracebackhide__ = True
        logger = logging.getLogger("tensorflow")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return check(*args, **kwargs)
        finally:
            logger.setLevel(level)

    return wrapper


def _resolve(path):
    """The object at a dotted path such as ``"unet_course.data.TileSet.building_fraction"``."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name and (name + ".").startswith(error.name + "."):  # an attribute
                continue
            raise
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(f"cannot import {path}")


def _owner_and_name(path):
    """``(owner object, attribute name)`` of a dotted path."""
    head, _, name = path.rpartition(".")
    return _resolve(head), name


def is_reference(fn, reference):
    """``True`` when ``fn`` is ``reference`` itself, its code, a partial or a wrapper of it."""
    seen = 0
    while fn is not None and seen < 10:
        if fn is reference:
            return True
        code = getattr(fn, "__code__", None)
        if code is not None and code is getattr(reference, "__code__", object()):
            return True
        fn = (fn.func if isinstance(fn, functools.partial)
              else getattr(fn, "__wrapped__", None) or getattr(fn, "__func__", None))
        seen += 1
    return False


class _Poison:
    """Takes the place of a reference while a student's function runs; calling it raises."""

    def __init__(self, path, used):
        self.path, self.used = path, used

    def __call__(self, *args, **kwargs):
        self.used.append(self.path)
        raise ReferenceUsed(self.path)


def _namespaces(fn):
    """Dicts where a reference may hide.

    Every ``unet_course`` module and the dicts it holds (``LOSSES``), and
    the function's globals.
    """
    spaces = [vars(module) for name, module in list(sys.modules.items())
              if name.split(".")[0] == "unet_course" and module is not None]
    spaces += [value for space in list(spaces) for value in list(space.values())
               if type(value) is dict and not any(key.startswith("__") for key in value
                                                  if isinstance(key, str))]
    target = fn.func if isinstance(fn, functools.partial) else fn
    globals_ = getattr(target, "__globals__", None)
    if globals_ is not None:
        spaces.append(globals_)
    return spaces


@dataclass(frozen=True)
class Item:
    """One graded function: its name, the references it must not use, its stand-ins.

    Parameters
    ----------
    name : str
        The graded function's name, as the notebook defines it.
    references : tuple of str
        Dotted paths of the package objects that answer the same question.
    lesson : str
        Where the course explains it, for the shortcut message.
    stand_ins : dict
        ``{global name: dotted path}``: other graded functions that the
        references replace while this item is checked.
    """

    name: str
    references: tuple
    lesson: str
    stand_ins: dict = field(default_factory=dict)

    def start(self, fn):
        """Check that ``fn`` is a function and not the package's reference; return it.

        ``fn`` may be a :class:`~unet_course.grading.remote.Remote` (grading
        mode): what the notebook defines under its name, asked of the kernel.
        """
        __tracebackhide__ = True
        if isinstance(fn, Remote):
            if not fn.info["defined"]:
                raise NameError(f"name {fn.name!r} is not defined")
            if fn.info.get("reference"):
                self._shortcut(fn.info["reference"])
            if not fn.info.get("callable"):
                fail(f"check_{self.name} needs the function {self.name}", "a function",
                     f"a {fn.info.get('type')}", hint=f"run the cell that defines {self.name} first")
            return fn
        if not callable(fn):
            fail(f"check_{self.name} needs the function {self.name}", "a function",
                 fn, hint=f"run the cell that defines {self.name} first, then pass "
                 f"{self.name} itself (no parentheses)")
        for path in self.references:
            if is_reference(fn, _resolve(path)):
                self._shortcut(path)
        return fn

    def _shortcut(self, path):
        __tracebackhide__ = True
        fail(f"{self.name} is or calls {path}, the package's own answer: "
             f"that earns nothing for this item.",
             hint=f"write {self.name} yourself with keras/numpy operations "
             f"({self.lesson} explains it); do not import or call {path}")

    @contextmanager
    def _guard(self, fn, used):
        """Poison the references and put the stand-ins in place; restore both afterwards."""
        undo = []
        originals = [(path, _resolve(path)) for path in self.references]
        try:
            for path, original in originals:
                poison = _Poison(path, used)
                owner, attr = _owner_and_name(path)
                if not isinstance(owner, type(sys)):
                    undo.append(functools.partial(setattr, owner, attr, original))
                    setattr(owner, attr, poison)
                for space in _namespaces(fn):
                    for key, value in list(space.items()):
                        if value is original:
                            undo.append(functools.partial(space.__setitem__, key, value))
                            space[key] = poison
                self._poison_function(fn, original, poison, undo)
            space = getattr(fn, "__globals__", None)
            for key, path in self.stand_ins.items():
                if space is None:
                    break
                if key in space:
                    undo.append(functools.partial(space.__setitem__, key, space[key]))
                else:
                    undo.append(functools.partial(space.pop, key, None))
                space[key] = _resolve(path)
            yield
        finally:
            for step in reversed(undo):
                step()

    @staticmethod
    def _poison_function(fn, original, poison, undo):
        """Replace ``original`` in ``fn``'s closure cells and default arguments."""
        for cell in getattr(fn, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if value is original:
                undo.append(functools.partial(setattr, cell, "cell_contents", value))
                cell.cell_contents = poison
        defaults = getattr(fn, "__defaults__", None)
        if defaults and any(value is original for value in defaults):
            undo.append(functools.partial(setattr, fn, "__defaults__", defaults))
            fn.__defaults__ = tuple(poison if v is original else v for v in defaults)
        kwdefaults = getattr(fn, "__kwdefaults__", None)
        if kwdefaults and any(value is original for value in kwdefaults.values()):
            undo.append(functools.partial(setattr, fn, "__kwdefaults__", dict(kwdefaults)))
            fn.__kwdefaults__ = {k: poison if v is original else v for k, v in kwdefaults.items()}

    def _run(self, fn, args, kwargs, target=None, procedure="call", stand_ins=None):
        """Run ``procedure`` on ``fn`` guarded; return ``(plain result, error)``; fail at once on a shortcut.

        The result is plain data (:func:`~unet_course.grading.codec.to_data`,
        converted inside the guard), in self-check mode as in grading mode.
        ``target`` is the student's function when ``fn`` is a class or wraps
        it: its globals are the ones guarded. ``stand_ins`` (grading mode
        only): a function returning the stand-ins as data.
        """
        __tracebackhide__ = True
        if isinstance(fn, Remote):
            return self._run_remote(fn, args, kwargs, procedure, stand_ins)
        used, result, error = [], None, None
        if target is None and procedure == "method" and isinstance(fn, type):
            target = getattr(fn, args[1], None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with self._guard(target or fn, used):
                try:
                    inputs, named = prepare(to_data(args)), prepare(to_data(kwargs))
                    result = to_data(PROCEDURES[procedure](fn, *inputs, **named), weights=procedure == "train")
                except ReferenceUsed:
                    pass
                except Exception as caught:  # a student's bug: the caller reports it
                    error = caught
        if used:
            self._shortcut(used[0])
        self._not_written(error)
        return from_data(result), error

    def _run_remote(self, fn, args, kwargs, procedure, stand_ins):
        """The same through the kernel: the answer is evidence, decoded strictly."""
        __tracebackhide__ = True
        try:
            answer = fn.ask(procedure, to_data(tuple(args)), to_data(dict(kwargs)),
                            stand_ins() if stand_ins is not None and self.stand_ins else None)
        except NoAnswer as why:
            fail(f"{self.name}: the grader got no answer from the notebook's kernel ({why}); "
                 f"that earns nothing for this item")
        if isinstance(answer, Raised):
            if answer.reference:
                self._unavailable(answer.reference)
            error = remote_error(answer)
            self._not_written(error)
            return None, error
        return from_data(answer), None

    def _unavailable(self, path):
        __tracebackhide__ = True
        fail(f"{self.name} calls {path}, the package's own answer, which is not available while "
             f"grading: that earns nothing for this item.",
             hint=f"write {self.name} yourself with keras/numpy operations ({self.lesson} explains it)")

    def _not_written(self, error):
        __tracebackhide__ = True
        if isinstance(error, NotImplementedError) and not str(error):
            try:
                fail(f"{self.name} raised NotImplementedError: it is not written yet",
                     hint=f"replace `raise NotImplementedError()` in {self.name} with your code")
            except AssertionError as message:
                raise message from None

    def raises(self, fn, *args, error, shown, hint, stand_ins=None, **kwargs):
        """Check that ``fn(*args, **kwargs)`` raises ``error`` (e.g. ``ValueError``)."""
        __tracebackhide__ = True
        result, caught = self._run(fn, args, kwargs, stand_ins=stand_ins)
        if isinstance(caught, error):
            return
        got = error_text(caught) if caught is not None else f"no error (returned {show(result)})"
        fail(f"{shown} should raise {error.__name__}", error.__name__, got, hint=hint)

    def call(self, fn, *args, shown, hint=None, target=None, procedure="call", stand_ins=None, **kwargs):
        """Call the student's ``fn(*args, **kwargs)`` the way the check needs it.

        Parameters
        ----------
        procedure : str
            How: one of :data:`unet_course.grading.procedures.PROCEDURES`
            (``"call"``: ``fn(*args, **kwargs)``; the others get ``fn`` first).
        stand_ins : callable, optional
            Returns this item's stand-ins as data (used in grading mode).
        shown : str
            How the call reads in a message, e.g. ``"dice_loss(y_true, y_pred)"``.
        hint : str, optional
            Added when the call raises.
        target : callable, optional
            The student's function, when ``fn`` wraps it.

        Returns
        -------
        object
            What ``fn`` returned, as plain data (:mod:`unet_course.grading.codec`).

        Raises
        ------
        AssertionError
            When ``fn`` raised (saying what, and that the code is still to be
            written for ``NotImplementedError``) or used a reference.
        """
        __tracebackhide__ = True
        result, error = self._run(fn, args, kwargs, target, procedure, stand_ins)
        if error is not None:
            try:
                fail(f"{shown} raised {error_text(error)}",
                     hint=hint or "the lines above show where your code failed")
            except AssertionError as message:
                raise message from error
        return result

