"""The check machinery: messages, calls, the reference shortcut, stand-ins, the registry."""
from __future__ import annotations

import functools

import numpy as np
import pytest

import unet_course.losses as losses
from unet_course import grading
from unet_course.grading import common
from unet_course.grading.common import Item, ReferenceUsed, is_reference
from unet_course.grading.messages import as_float, close, expect_array, fail, show
from _grading_notebooks import define

DICE = Item("dice_loss", ("unet_course.losses.dice_loss", "unet_course.losses.dice_loss_np"),
            "lesson 3")
SUM = Item("bce_dice_loss", ("unet_course.losses.bce_dice_loss",), "lesson 3",
           stand_ins={"dice_loss": "unet_course.losses.dice_loss"})
Y = np.array([[1.0, 0.0], [1.0, 1.0]], np.float32)
P = np.array([[0.9, 0.2], [0.6, 0.3]], np.float32)


def shortcut_message(item, fn):
    with pytest.raises(AssertionError) as error:
        item.start(fn)
        item.call(fn, Y, P, shown=f"{item.name}(y, p)")
    return str(error.value)


# --- messages -------------------------------------------------------------------


def test_fail_lays_out_call_expected_got_and_hint():
    with pytest.raises(AssertionError) as error:
        fail("f(x) on an empty mask", 1.0, 0.5, hint="look at the empty case")
    assert str(error.value).splitlines() == [
        "f(x) on an empty mask", "  expected: 1", "  got:      0.5", "Hint: look at the empty case"]


def test_show_is_short_for_big_arrays_and_exact_for_small_ones():
    assert show(np.zeros((100, 100))) == "array of shape (100, 100), dtype float64"
    assert show(np.array([1, 0], np.uint8)) == "[1, 0] (uint8)"
    assert show(0.123456789) == "0.123457"
    assert len(show("x" * 500)) == 200


def test_as_float_accepts_numbers_and_scalar_tensors_and_rejects_arrays():
    import keras
    assert as_float(np.float32(2.5), "f") == 2.5
    assert as_float(keras.ops.convert_to_tensor(1.5), "f") == 1.5
    with pytest.raises(AssertionError, match="should return one number"):
        as_float(np.ones(3), "f(x)")
    with pytest.raises(AssertionError, match="should return one number"):
        as_float(None, "f(x)")


def test_expect_array_checks_type_shape_dtype_and_values():
    good = np.array([1, 0], np.uint8)
    expect_array("f(x)", good.copy(), good, "h", dtype=np.uint8)
    for got, message in [([1, 0], "should return a numpy array"),
                         (np.array([1, 0, 0], np.uint8), "returned the wrong shape"),
                         (np.array([1, 0]), "returned the wrong dtype"),
                         (np.array([0, 0], np.uint8), "1 of 2 values differ")]:
        with pytest.raises(AssertionError, match=message):
            expect_array("f(x)", got, good, "h", dtype=np.uint8)


def test_close_is_absolute_below_one_and_relative_above():
    assert close(0.5 + 1e-7, 0.5, 1e-6)
    assert not close(0.5 + 1e-5, 0.5, 1e-6)
    assert close(50.0 + 4e-5, 50.0, 1e-6)
    assert not close(float("nan"), 0.0, 1.0)
    assert close(float("inf"), float("inf"), 1e-6)


# --- calling student code -------------------------------------------------------


def test_call_reports_not_written_yet_for_the_stub():
    ns = define("def dice_loss(y, p, smooth=1.0):\n    raise NotImplementedError()")
    with pytest.raises(AssertionError, match="dice_loss raised NotImplementedError: it is not written yet") as error:
        DICE.call(ns["dice_loss"], Y, P, shown="dice_loss(y, p)")
    assert error.value.__cause__ is None


def test_call_reports_a_students_error_with_the_call_and_keeps_the_traceback():
    ns = define("def dice_loss(y, p, smooth=1.0):\n    return y.shape[7]")
    with pytest.raises(AssertionError, match=r"dice_loss\(y, p\) raised IndexError") as error:
        DICE.call(ns["dice_loss"], Y, P, shown="dice_loss(y, p)")
    assert isinstance(error.value.__cause__, IndexError)


def test_raises_accepts_the_expected_error_only():
    ns = define("def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x")
    item = Item("f", (), "lesson 0")
    item.raises(ns["f"], -1, error=ValueError, shown="f(-1)", hint="h")
    with pytest.raises(AssertionError, match=r"f\(1\) should raise ValueError") as error:
        item.raises(ns["f"], 1, error=ValueError, shown="f(1)", hint="h")
    assert "no error (returned 1)" in str(error.value)


def test_start_rejects_a_non_function():
    with pytest.raises(AssertionError, match="needs the function dice_loss"):
        DICE.start(None)


# --- the reference shortcut -----------------------------------------------------


def test_the_reference_itself_is_a_shortcut():
    assert "earns nothing for this item" in shortcut_message(DICE, losses.dice_loss)


def test_an_imported_reference_is_a_shortcut():
    ns = define("from unet_course.losses import dice_loss")
    assert "earns nothing" in shortcut_message(DICE, ns["dice_loss"])


@pytest.mark.parametrize("source", [
    # a wrapper through the module attribute
    "import unet_course.losses\ndef dice_loss(y, p, smooth=1.0):\n"
    "    return unet_course.losses.dice_loss(y, p, smooth)",
    # through an alias in the notebook's globals
    "from unet_course.losses import dice_loss as ref\ndef dice_loss(y, p, smooth=1.0):\n"
    "    return ref(y, p, smooth)",
    # through the numpy twin
    "from unet_course import losses as L\ndef dice_loss(y, p, smooth=1.0):\n"
    "    return L.dice_loss_np(y, p, smooth)",
    # through the LOSSES dict
    "from unet_course.losses import LOSSES\ndef dice_loss(y, p, smooth=1.0):\n"
    "    return LOSSES['dice'](y, p)",
    # through get_loss, which returns the reference from LOSSES
    "from unet_course.losses import get_loss\ndef dice_loss(y, p, smooth=1.0):\n"
    "    return get_loss('dice')(y, p)",
    # hidden in a default argument
    "import unet_course.losses\ndef dice_loss(y, p, smooth=1.0, _f=unet_course.losses.dice_loss):\n"
    "    return _f(y, p, smooth)",
    # hidden in a closure
    "def make():\n    from unet_course.losses import dice_loss as f\n"
    "    def dice_loss(y, p, smooth=1.0):\n        return f(y, p, smooth)\n    return dice_loss\n"
    "dice_loss = make()",
    # swallowing the error the stand-in raises
    "import unet_course.losses\ndef dice_loss(y, p, smooth=1.0):\n    try:\n"
    "        return unet_course.losses.dice_loss(y, p, smooth)\n    except BaseException:\n"
    "        return 0.0",
    # a lambda
    "import unet_course.losses as L\ndice_loss = lambda y, p, smooth=1.0: L.dice_loss(y, p, smooth)",
])
def test_a_function_that_calls_the_reference_is_a_shortcut(source):
    message = shortcut_message(DICE, define(source)["dice_loss"])
    assert "the package's own answer: that earns nothing for this item" in message
    assert "unet_course.losses.dice_loss" in message


def test_a_partial_or_wrapper_of_the_reference_is_a_shortcut():
    assert is_reference(functools.partial(losses.dice_loss, smooth=1.0), losses.dice_loss)

    @functools.wraps(losses.dice_loss)
    def wrapper(*args):
        return 0.0

    assert is_reference(wrapper, losses.dice_loss)
    assert not is_reference(lambda y, p: 0.0, losses.dice_loss)


def test_everything_is_restored_after_a_shortcut_check():
    ns = define("import unet_course.losses as L\nfrom unet_course.losses import dice_loss as ref\n"
                "def dice_loss(y, p, smooth=1.0, _f=ref):\n    return L.dice_loss(y, p)")
    before = (losses.dice_loss, losses.LOSSES["dice"], ns["ref"], ns["dice_loss"].__defaults__)
    shortcut_message(DICE, ns["dice_loss"])
    after = (losses.dice_loss, losses.LOSSES["dice"], ns["ref"], ns["dice_loss"].__defaults__)
    assert all(a is b for a, b in zip(before, after))
    assert not any(isinstance(v, common._Poison) for v in vars(losses).values())


def test_a_method_reference_is_poisoned_on_its_class_and_restored():
    from unet_course.data.tiles import TileSet
    item = Item("building_fraction", ("unet_course.data.tiles.TileSet.building_fraction",), "l2")
    original = TileSet.building_fraction
    ns = define("import numpy as np\nfrom unet_course.data import TileSet\n"
                "def building_fraction(masks):\n    t = TileSet.__new__(TileSet)\n"
                "    t.masks = masks\n    return t.building_fraction()")
    with pytest.raises(AssertionError, match="earns nothing"):
        item.call(ns["building_fraction"], np.ones((1, 2, 2)), shown="building_fraction(m)")
    assert TileSet.building_fraction is original


def test_an_own_implementation_is_not_a_shortcut():
    ns = define("import numpy as np\ndef dice_loss(y, p, smooth=1.0):\n"
                "    return 1 - (2 * np.sum(y * p) + smooth) / (np.sum(y) + np.sum(p) + smooth)")
    value = DICE.call(ns["dice_loss"], Y, P, shown="dice_loss(y, p)")
    assert value == pytest.approx(losses.dice_loss_np(Y, P))


def test_reference_used_is_not_an_exception_a_student_catches():
    assert not issubclass(ReferenceUsed, Exception)


# --- stand-ins ------------------------------------------------------------------


def test_stand_ins_replace_the_notebooks_functions_while_checking_and_are_restored():
    ns = define("def dice_loss(y, p, smooth=1.0):\n    return 123.0\n"
                "def bce_dice_loss(y, p):\n    return dice_loss(y, p)")
    value = SUM.call(ns["bce_dice_loss"], Y, P, shown="bce_dice_loss(y, p)")
    assert float(value) == pytest.approx(losses.dice_loss_np(Y, P), abs=1e-6)
    assert ns["dice_loss"](Y, P) == 123.0


def test_a_stand_in_missing_from_the_notebook_is_removed_again():
    ns = define("def bce_dice_loss(y, p):\n    return dice_loss(y, p)")
    SUM.call(ns["bce_dice_loss"], Y, P, shown="bce_dice_loss(y, p)")
    assert "dice_loss" not in ns


# --- the registry ---------------------------------------------------------------


def test_every_item_has_a_check_and_the_points_add_up():
    for assignment, items in grading.ITEMS.items():
        for name in items:
            assert callable(getattr(grading, f"check_{name}"))
    assert {a: grading.total_points(a) for a in grading.ITEMS} == {
        "a1_data_imbalance": 10, "a2_losses_metrics": 20, "a3_unet_blocks": 20,
        "a4_train_evaluate": 20, "a5_footprints": 10}
    with pytest.raises(AttributeError, match="the checks are"):
        grading.check_nothing  # noqa: B018


def test_every_reference_path_resolves():
    from unet_course.grading import data_imbalance, losses_metrics, train_evaluate, unet_blocks
    for module in (data_imbalance, losses_metrics, unet_blocks, train_evaluate):
        for item in vars(module).values():
            if isinstance(item, Item):
                for path in (*item.references, *item.stand_ins.values()):
                    assert callable(common._resolve(path)), path
