"""Losses against their numpy twins and against formulas written out here (unet_course.losses)."""
import numpy as np
import pytest
import tensorflow as tf

from unet_course.losses import (
    EPSILON,
    LOSSES,
    bce_dice_loss,
    bce_dice_np,
    bce_loss,
    bce_np,
    dice_loss,
    dice_loss_np,
    get_loss,
    positive_class_weight,
    weighted_bce_loss,
    weighted_bce_np,
)

SHAPE = (2, 8, 8, 1)


def direct_bce(y, p, w=1.0):
    """-(w y log p + (1 - y) log(1 - p)) with p clipped to [eps, 1 - eps], averaged."""
    y, p = np.asarray(y, np.float64), np.clip(np.asarray(p, np.float64), EPSILON, 1 - EPSILON)
    return -np.mean(w * y * np.log(p) + (1 - y) * np.log(1 - p))


def direct_dice_loss(y, p, smooth=1.0):
    """1 - (2 sum(y p) + s) / (sum(y) + sum(p) + s) over the whole batch."""
    y, p = np.asarray(y, np.float64).ravel(), np.asarray(p, np.float64).ravel()
    return 1 - (2 * np.dot(y, p) + smooth) / (y.sum() + p.sum() + smooth)


def keras_value(loss, y, p):
    return float(loss(tf.constant(y, tf.float32), tf.constant(p, tf.float32)))


def random_pair(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(SHAPE) < 0.15).astype(np.float32)
    p = rng.random(SHAPE).astype(np.float32)
    return y, p


PAIRS = [  # (keras loss, numpy twin, independent formula)
    (bce_loss, bce_np, direct_bce),
    (dice_loss, dice_loss_np, direct_dice_loss),
    (bce_dice_loss, bce_dice_np, lambda y, p: direct_bce(y, p) + direct_dice_loss(y, p)),
    (weighted_bce_loss(4.0), lambda y, p: weighted_bce_np(y, p, 4.0),
     lambda y, p: direct_bce(y, p, 4.0)),
]
IDS = ["bce", "dice", "bce_dice", "weighted_bce"]


@pytest.mark.parametrize("loss, twin, direct", PAIRS, ids=IDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_keras_loss_matches_twin_and_formula_on_random_inputs(loss, twin, direct, seed):
    y, p = random_pair(seed)
    assert twin(y, p) == pytest.approx(direct(y, p), rel=1e-9)
    assert keras_value(loss, y, p) == pytest.approx(direct(y, p), rel=1e-5)


def edge_cases():
    y = np.zeros(SHAPE, np.float32)
    y[0, 2:5, 2:6] = 1.0
    return {
        "both empty": (np.zeros(SHAPE), np.zeros(SHAPE)),
        "all building, perfect": (np.ones(SHAPE), np.ones(SHAPE)),
        "perfect": (y, y),
        "inverted": (y, 1 - y),
        "empty truth, all predicted": (np.zeros(SHAPE), np.ones(SHAPE)),
        "all building, none predicted": (np.ones(SHAPE), np.zeros(SHAPE)),
        "half everywhere": (y, np.full(SHAPE, 0.5)),
    }


@pytest.mark.parametrize("loss, twin, direct", PAIRS, ids=IDS)
@pytest.mark.parametrize("case", list(edge_cases()))
def test_edge_cases_against_the_formula(loss, twin, direct, case):
    y, p = edge_cases()[case]
    expected = direct(y, p)
    assert np.isfinite(expected)
    # abs: the package floors 1 - p at eps where this formula clips p at 1 - eps;
    # the two differ by about eps (1e-7) at p = 0 or 1, and nowhere else.
    assert twin(y, p) == pytest.approx(expected, rel=1e-6, abs=1e-6)
    assert keras_value(loss, y, p) == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_edge_case_values_by_hand():
    n = np.prod(SHAPE)
    cases = edge_cases()
    log_eps = -np.log(EPSILON)                          # 16.118...: a confident mistake
    assert bce_np(*cases["both empty"]) == 0.0
    assert dice_loss_np(*cases["both empty"]) == 0.0     # smooth / smooth
    assert bce_np(*cases["all building, perfect"]) == 0.0
    assert dice_loss_np(*cases["all building, perfect"]) == 0.0
    assert bce_np(*cases["perfect"]) == 0.0
    assert dice_loss_np(*cases["perfect"]) == 0.0
    assert bce_np(*cases["inverted"]) == pytest.approx(log_eps)
    assert dice_loss_np(*cases["inverted"]) == pytest.approx(1 - 1 / (n + 1))
    assert dice_loss_np(*cases["empty truth, all predicted"]) == pytest.approx(n / (n + 1))
    assert bce_np(*cases["half everywhere"]) == pytest.approx(np.log(2))
    assert keras_value(bce_loss, *cases["inverted"]) == pytest.approx(log_eps, rel=1e-5)


def test_weighted_bce_weighs_only_the_building_term():
    y = np.array([1.0, 0.0])
    p = np.array([0.25, 0.25])
    expected = -(3.0 * np.log(0.25) + np.log(0.75)) / 2
    assert weighted_bce_np(y, p, 3.0) == pytest.approx(expected)
    assert keras_value(weighted_bce_loss(3.0), y, p) == pytest.approx(expected, rel=1e-6)
    y, p = random_pair(5)
    assert weighted_bce_np(y, p, 1.0) == pytest.approx(bce_np(y, p))


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "heavy", None])
def test_weighted_bce_rejects_bad_weight(bad):
    with pytest.raises(ValueError, match="pos_weight"):
        weighted_bce_loss(bad)
    with pytest.raises(ValueError, match="pos_weight"):
        weighted_bce_np([1.0], [0.5], bad)


def test_dice_is_summed_over_the_batch_not_averaged_per_image():
    y = np.zeros((2, 4, 4, 1))
    p = np.zeros((2, 4, 4, 1))
    y[1] = 1.0                          # image 0: nothing, found nothing; image 1: all missed
    batch = 1 - 1 / (16 + 1)
    per_image_mean = (0.0 + batch) / 2
    assert dice_loss_np(y, p) == pytest.approx(batch)
    assert keras_value(dice_loss, y, p) == pytest.approx(batch, rel=1e-6)
    assert dice_loss_np(y, p) != pytest.approx(per_image_mean)


def test_dice_smooth_argument():
    y, p = random_pair(3)
    for smooth in (0.0, 1.0, 10.0):
        expected = direct_dice_loss(y, p, smooth)
        assert dice_loss_np(y, p, smooth) == pytest.approx(expected, rel=1e-9)
        assert float(dice_loss(y, p, smooth=smooth)) == pytest.approx(expected, rel=1e-5)


def test_losses_accept_uint8_masks_and_float16_predictions():
    y, p = random_pair(4)
    value = bce_dice_loss(tf.constant(y, tf.uint8), tf.constant(p, tf.float16))
    assert value.dtype == tf.float32
    assert float(value) == pytest.approx(bce_dice_np(y, p.astype(np.float16)), rel=1e-5)


@pytest.mark.parametrize("loss", [bce_loss, dice_loss, bce_dice_loss, weighted_bce_loss(6.5)])
def test_gradients_are_finite_at_zero_and_one(loss):
    y = tf.constant([[0.0, 1.0, 1.0, 0.0]])
    p = tf.Variable([[0.0, 1.0, 0.0, 0.3]])
    with tf.GradientTape() as tape:
        value = loss(y, p)
    gradient = tape.gradient(value, p).numpy()
    assert np.all(np.isfinite(gradient))
    assert gradient[0, 3] > 0            # a false alarm is pushed down


def test_twins_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        bce_np(np.zeros((2, 4)), np.zeros((2, 5)))
    with pytest.raises(ValueError, match="same shape"):
        dice_loss_np(np.zeros((2, 4)), np.zeros((4, 2)))


def test_get_loss_by_name_and_passthrough():
    assert get_loss("bce") is bce_loss
    assert get_loss("dice") is dice_loss
    assert get_loss("bce_dice") is bce_dice_loss
    assert set(LOSSES) == {"bce", "dice", "bce_dice"}
    custom = weighted_bce_loss(2.0)
    assert get_loss(custom) is custom


@pytest.mark.parametrize("bad", ["dice_bce", "BCE", "", 3, None])
def test_get_loss_unknown_name_lists_the_names(bad):
    with pytest.raises(ValueError) as error:
        get_loss(bad)
    for name in ("'bce'", "'dice'", "'bce_dice'"):
        assert name in str(error.value)


def test_positive_class_weight():
    assert positive_class_weight([[0, 0, 0, 1]]) == 3.0
    assert positive_class_weight(np.ones((2, 3), np.uint8)) == 0.0
    masks = (np.random.default_rng(0).random((5, 16, 16)) < 0.134).astype(np.uint8)
    building = int((masks == 1).sum())
    assert positive_class_weight(masks) == pytest.approx((masks.size - building) / building)
    assert positive_class_weight(masks.astype(bool)) == positive_class_weight(masks)


def test_positive_class_weight_rejects_bad_masks():
    with pytest.raises(ValueError, match="no building"):
        positive_class_weight(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="only 0 and 1"):
        positive_class_weight(np.array([0, 255, 255]))


def test_a_model_compiled_with_weighted_bce_saves_and_loads(tmp_path):
    """The weighted loss is registered: the saved model comes back with its pos_weight."""
    import keras

    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(1, 1, activation="sigmoid")])
    model.compile(optimizer="adam", loss=weighted_bce_loss(3.0))
    y = (np.arange(16).reshape(1, 4, 4, 1) % 3 == 0).astype("float32")
    x = np.linspace(0, 1, 16, dtype="float32").reshape(1, 4, 4, 1)
    before = model.evaluate(x, y, verbose=0)
    model.save(tmp_path / "weighted.keras")
    loaded = keras.models.load_model(tmp_path / "weighted.keras")
    assert loaded.loss.pos_weight == 3.0
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(before, rel=1e-6)
    p = np.asarray(model.predict(x, verbose=0))
    assert before == pytest.approx(weighted_bce_np(y, p, 3.0), rel=1e-5)
