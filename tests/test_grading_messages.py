"""What a student sees of a failed check: the message, and their own failing lines (issue 11, item 4).

IPython renders an exception through its ``_render_traceback_`` when it has
one, so these tests call it directly; tests/test_nbgrader_e2e.py checks the
same in real nbgrader Validate output and feedback pages.
"""
import linecache
import re

import pytest
from _grading_notebooks import define, solution_namespace

from unet_course import grading
from unet_course.grading.messages import CheckFailed, error_text, fail

PLAIN = re.compile(r"\x1b\[[0-9;]*m")


def rendered(error):
    return PLAIN.sub("", "\n".join(error._render_traceback_()))


def test_a_failed_check_renders_as_its_message_alone():
    with pytest.raises(CheckFailed) as caught:
        fail("f(x) on a case", expected=1.0, got=2.0, hint="look at the idea")
    assert isinstance(caught.value, AssertionError)
    assert rendered(caught.value).splitlines() == [
        "Check failed: f(x) on a case", "  expected: 1", "  got:      2", "Hint: look at the idea"]


def test_the_students_own_line_is_shown_and_no_grading_frame():
    source = "def building_fraction(masks):\n    return masks.no_such_attribute\n"
    linecache.cache["<student cell>"] = (len(source), None, source.splitlines(True), "<student cell>")
    namespace = define(source)
    with pytest.raises(CheckFailed) as caught:
        grading.check_building_fraction(namespace["building_fraction"])
    text = rendered(caught.value)
    assert "return masks.no_such_attribute" in text and "in building_fraction" in text
    assert "AttributeError" in text and "Check failed: building_fraction(masks)" in text
    assert "unet_course" not in text and "Traceback" not in text


def test_tensorflow_graph_errors_lose_the_grading_frames():
    first = '    actual = ops.cast(y_true, "float32") > 0.5'
    namespace = solution_namespace("a2_losses_metrics", replace=(
        "dice_metric", first, "    y_true = np.asarray(y_true)\n" + first))     # right eagerly only
    with pytest.raises(CheckFailed) as caught:
        grading.check_dice_metric(namespace["dice_metric"])
    text = rendered(caught.value)
    assert "inside a compiled training step" in text and "in dice_metric" in text
    assert "unet_course/grading" not in text


def test_error_text_drops_package_frames_only():
    import unet_course
    package = unet_course.__file__.rsplit("/", 1)[0]
    error = ValueError(f'in user code:\n\n    File "{package}/grading/x.py", line 3, in step  *\n'
                       '        value = fn(y)\n    File "/tmp/ipykernel_1/2.py", line 4, in mine  *\n'
                       '        y = np.asarray(y)\n\n    TypeError: no')
    text = error_text(error)
    assert text.startswith("ValueError: in user code:")
    assert "grading/x.py" not in text and "value = fn(y)" not in text
    assert '/tmp/ipykernel_1/2.py", line 4, in mine' in text and "y = np.asarray(y)" in text
