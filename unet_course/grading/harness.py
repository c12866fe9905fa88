"""The kernel's side of grading: call the student's function as asked, write back plain data.

While ``unet-course autograde`` grades, the grader sends each request by
running one line in the student's kernel::

    __import__("unet_course.grading.harness", fromlist=["serve"]).serve(REQUEST, ANSWER)

:func:`serve` reads the request (:mod:`unet_course.grading.codec`: the
procedure's name, the notebook's name of the student's function, plain
inputs, stand-ins as data), runs the procedure (:mod:`.procedures`) on the
function the notebook defines under that name, converts the result to
plain data *inside* the call and writes it to ``ANSWER`` (a file name with
the request's fresh nonce). What it writes is evidence for the grader,
never a verdict: the grader decodes it strictly, compares it with the
package's references (which are not in this sandbox) and decides. A
notebook that changes this module, the procedures or the codec changes only
what its own kernel answers.
"""
from __future__ import annotations

import os
import sys
import traceback

from unet_course.grading import codec
from unet_course.grading.procedures import PROCEDURES, make_stand_in, prepare

__all__ = ["Unavailable", "serve", "describe"]


class Unavailable(BaseException):
    """Raised by a package reference while grading: it is not there to be called.

    A ``BaseException``, so that a student's ``except Exception`` does not hide it.
    """

    def __init__(self, path):
        super().__init__(f"{path} is not available while grading: write it yourself")
        self.path = path


def unavailable(path):
    """Raise :class:`Unavailable` for ``path`` (what the sanitized package's stubs call)."""
    raise Unavailable(path)


def _namespace():
    from IPython import get_ipython
    shell = get_ipython()
    return shell.user_ns if shell is not None else vars(sys.modules["__main__"])


def describe(name):
    """What the notebook holds under ``name``: missing, a function, a class, or something else."""
    space = _namespace()
    if name not in space:
        return {"defined": False}
    value = space[name]
    reference = getattr(value, "__unet_course_unavailable__", None)
    return {"defined": True, "callable": callable(value), "type": type(value).__name__,
            "reference": reference if isinstance(reference, str) else None}


def _student_frames(error):
    frames = []
    for frame in traceback.extract_tb(error.__traceback__):
        name = frame.filename
        if (name.startswith("<") and not name.startswith("<frozen")) or "ipykernel_" in name:
            frames.append(("your cell", frame.lineno or 0, frame.name, (frame.line or "").strip()[:200]))
    return tuple(frames[-3:])


def _raised(error):
    """An exception as :class:`~unet_course.grading.codec.Raised`."""
    bases = tuple(c.__name__ for c in type(error).__mro__ if c.__module__ == "builtins")
    reference = getattr(error, "path", None) if isinstance(error, Unavailable) else None
    try:
        message = str(error)[:20000]
    except Exception:  # noqa: BLE001 (a student's __str__ that raises)
        message = "(its message could not be read)"
    return codec.Raised(type(error).__name__[:200], bases, message, _student_frames(error), reference)


def _with_stand_ins(fn, stand_ins):
    """Put the stand-ins in the student's function's globals; return the undo list."""
    space = getattr(fn, "__globals__", None)
    undo = []
    if space is None:
        return undo
    for name, spec in stand_ins.items():
        undo.append((space, name, space.get(name, _ABSENT)))
        space[name] = make_stand_in(name, spec)
    return undo


_ABSENT = object()


def _restore(undo):
    for space, name, value in reversed(undo):
        if value is _ABSENT:
            space.pop(name, None)
        else:
            space[name] = value


def answer(request):
    """The plain-data answer to one decoded request."""
    name, procedure = request["name"], request["procedure"]
    if procedure == "describe":
        return describe(name)
    fn = _namespace().get(name)
    undo = []
    try:
        undo = _with_stand_ins(fn, request.get("stand_ins") or {})
        args, kwargs = prepare(request["args"]), prepare(request["kwargs"])
        result = PROCEDURES[procedure](fn, *args, **kwargs)
        return codec.to_data(result, weights=procedure == "train")
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 (whatever the student's code raised is reported)
        return _raised(error)
    finally:
        _restore(undo)


def serve(request_path, answer_path):
    """Answer the request in ``request_path``; write the answer to ``answer_path``."""
    with open(request_path, "rb") as file:
        request = codec.loads(file.read())
    data = codec.dumps({"nonce": request["nonce"], "answer": answer(request)})
    partial = answer_path + ".partial"
    with open(partial, "wb") as file:
        file.write(data)
    os.replace(partial, answer_path)
