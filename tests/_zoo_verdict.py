"""Zoo cases of issue 20's classes 1-5: notebooks that try to reach the verdict from their kernel.

Each is assignment 1's solution (or its blank release) with one hostile
change. The grade is decided in the grader on the data the kernel returns,
and the kernel's package has no reference in it, so each earns exactly what
its functions' answers earn:

1. breaking the kernel's error reporting cannot turn failing checks into passes;
2. patching the grading objects during the checked call changes nothing outside the kernel;
3. a lazy object that would compute the answer late is not data: it earns nothing;
4. an ndarray subclass that compares as it likes is not data either;
5. the reference kept in a list, a class attribute, rebuilt from its code
   object or read from the package's source on disk is a stub that says it
   is not available while grading.
"""
from __future__ import annotations

import nbformat

from _notebook_cells import cell_index as _index, insert_after as _after

UNAVAILABLE = "is not available while grading"
CHANGED = "the grading environment was changed by this notebook"


def _solution_cell(nb, grade_id, source):
    """``nb`` with the solution cell ``grade_id`` replaced by ``source``."""
    out = nbformat.from_dict(nb)
    out.cells[_index(out, grade_id)].source = source
    return out


SILENCE = ("import sys\n"
           "ip = get_ipython()\n"
           "ip.set_custom_exc((BaseException,), lambda *a, **k: None)\n"
           "ip.showtraceback = lambda *a, **k: None\n"
           "sys.excepthook = lambda *a: None")

PATCH_AND_RESTORE = '''import unet_course.grading.messages as _messages
import unet_course.grading.common as _common

def binarize_label(label, rule="threshold"):
    saved = _messages.expect_array, _messages.fail
    _messages.expect_array = _messages.fail = lambda *a, **k: None
    try:
        return np.zeros(np.shape(label), np.uint8)      # wrong: every pixel background
    finally:
        _messages.expect_array, _messages.fail = saved
'''

LAZY = '''class _Late:
    """Computes its value only when the check converts it (after the guard is lifted)."""
    def __init__(self, masks):
        self.masks = masks
    def _value(self):
        from unet_course.losses import positive_class_weight as reference
        return reference(self.masks)
    def __float__(self):
        return float(self._value())
    def __array__(self, dtype=None, copy=None):
        return np.asarray(self._value(), dtype=dtype)
    def numpy(self):
        return np.asarray(self._value())

def positive_class_weight(masks):
    if not np.any(masks):
        raise ValueError("no building")
    return _Late(masks)
'''

SUBCLASS = '''class _AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(self), bool)
    def __ne__(self, other):
        return np.zeros(np.shape(self), bool)
    def __array_function__(self, func, types, args, kwargs):
        return True if func.__name__ == "array_equal" else super().__array_function__(func, types, args, kwargs)

def binarize_label(label, rule="threshold"):
    if rule not in ("threshold", "truncate"):
        raise ValueError(rule)
    return np.zeros(np.shape(label), np.uint8).view(_AlwaysEqual)   # wrong values
'''

IN_A_LIST = '''import unet_course.losses
_kept = [unet_course.losses.positive_class_weight]

def positive_class_weight(masks):
    return _kept[0](masks)
'''

CLASS_ATTRIBUTE = '''import unet_course.evaluate

class _Keep:
    answer = staticmethod(unet_course.evaluate.all_background_accuracy)

def all_background_accuracy(masks):
    return _Keep.answer(masks)
'''

CODE_OBJECT = '''import types
import unet_course.data.tiles as _tiles
binarize_label = types.FunctionType(_tiles.binarize_label.__code__, vars(_tiles), "binarize_label",
                                    _tiles.binarize_label.__defaults__)
'''

SOURCE_ON_DISK = '''import inspect
import unet_course.data.splits as _splits
_namespace = {"__name__": "copied"}
exec(compile(open(inspect.getsourcefile(_splits)).read(), "copied", "exec"), _namespace)
spatial_block_split = _namespace["spatial_block_split"]
'''


def zoo(solution, released, points, total):
    """``{student: (notebook, expected score, words its feedback must show)}`` for classes 1-5."""
    return {
        # 1: the kernel's error reporting broken in a blank notebook: plain nbgrader gives 0, so must we.
        # It changed IPython's machinery, so it is flagged too (its first feedback line says so).
        "blank-silenced-errors": (_after(released, "setup", SILENCE), 0, CHANGED),
        # 2: the grading objects patched during the call, restored before it returns
        "patch-and-restore": (_solution_cell(solution, "binarize_label", PATCH_AND_RESTORE),
                              total - points["binarize_label"], "values differ"),
        # 3: an answer that would be computed when converted, by the reference
        "lazy-answer": (_solution_cell(solution, "positive_class_weight", LAZY),
                        total - points["positive_class_weight"], "should return one number"),
        # 4: an ndarray subclass that says it equals whatever it is compared with
        "always-equal-array": (_solution_cell(solution, "binarize_label", SUBCLASS),
                               total - points["binarize_label"], "should return a numpy array"),
        # 5: the reference reached another way
        "reference-in-a-list": (_solution_cell(solution, "positive_class_weight", IN_A_LIST),
                                total - points["positive_class_weight"], UNAVAILABLE),
        "reference-class-attribute": (_solution_cell(solution, "all_background_accuracy", CLASS_ATTRIBUTE),
                                      total - points["all_background_accuracy"], UNAVAILABLE),
        "reference-code-object": (_solution_cell(solution, "binarize_label", CODE_OBJECT),
                                  total - points["binarize_label"], UNAVAILABLE),
        "reference-source-on-disk": (_solution_cell(solution, "spatial_block_split", SOURCE_ON_DISK),
                                     total - points["spatial_block_split"], UNAVAILABLE),
    }
