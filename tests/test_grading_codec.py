"""The plain data a student's kernel may send the grader: round trips, and everything else refused."""
from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from unet_course.grading import codec
from unet_course.grading.codec import (Geometry, Handle, MalformedData, ModelData, Raised, TensorData,
                                       Unsupported, dumps, from_data, loads, to_data)


def roundtrip(value):
    return loads(dumps(to_data(value)))


@pytest.mark.parametrize("value", [None, True, 3, -2.5, "dice", [1, [2.0, None]], (1, "a"),
                                   {"tp": 1, 3: "x", False: None}, float("inf"), float("-inf")])
def test_plain_values_come_back_equal(value):
    assert roundtrip(value) == value
    assert type(roundtrip(value)) is type(value)


@pytest.mark.parametrize("dtype", sorted(codec.DTYPES))
def test_arrays_come_back_exact(dtype):
    array = (np.arange(24).reshape(2, 3, 4) % 2).astype(dtype)
    back = roundtrip(array)
    assert type(back) is np.ndarray and back.dtype == array.dtype and back.shape == array.shape
    assert np.array_equal(back, array)


def test_nan_and_empty_and_scalars():
    assert np.isnan(roundtrip(float("nan")))
    assert roundtrip(np.zeros((0, 3), np.float32)).shape == (0, 3)
    back = roundtrip(np.float32(0.25))           # a numpy scalar becomes a 0-d exact array
    assert type(back) is np.ndarray and back.dtype == np.float32 and float(back) == 0.25


def test_only_exact_ndarrays_cross():
    class Sneaky(np.ndarray):
        def __eq__(self, other):
            return True

    assert to_data(np.zeros(3).view(Sneaky)) == Unsupported("Sneaky")
    assert to_data(np.zeros(2, dtype=object)) == Unsupported("object array")
    assert to_data(np.ma.masked_array([1, 2])) == Unsupported("MaskedArray")


def test_lazy_and_foreign_objects_are_unsupported():
    class Late:
        def __float__(self):
            raise AssertionError("never converted")

        def __array__(self, dtype=None, copy=None):
            raise AssertionError("never converted")

    class MyList(list):
        pass

    assert to_data(Late()) == Unsupported("Late")
    assert to_data(MyList([1])) == Unsupported("MyList")
    assert to_data(print) == Unsupported("builtin_function_or_method")
    assert repr(Unsupported("Late")) == "<a Late object>"


def test_tensors_models_and_geometries():
    from shapely.geometry import box

    from unet_course.backend import keras
    assert np.array_equal(roundtrip(keras.ops.convert_to_tensor(np.eye(2, dtype=np.float32))), np.eye(2))
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    data = loads(dumps(to_data(model, weights=True)))
    assert isinstance(data, ModelData) and len(data.weights) == 2
    rebuilt = from_data(data)
    assert isinstance(rebuilt, keras.Model) and np.array_equal(rebuilt.get_weights()[0], model.get_weights()[0])
    polygon = from_data(roundtrip(box(0, 0, 2, 1)))
    assert polygon.area == 2.0
    for marker in (Handle(3), TensorData(np.ones(2)), Raised("ValueError", ("ValueError",), "bad", (), None)):
        assert type(loads(dumps(marker))) is type(marker)


def _model_with(layer):
    return json.dumps({"module": "keras", "class_name": "Sequential", "config": {"layers": [layer]}})


@pytest.mark.parametrize("layer", [
    {"module": "keras.layers", "class_name": "Lambda", "config": {"function": "print"}},
    {"module": "os", "class_name": "system", "config": {}},
    {"module": "keras.layers", "class_name": "Dense", "registered_name": "evil>Dense", "config": {}},
    {"module": "keras.layers", "class_name": "Dense", "config": {"units": 10 ** 9}},   # the grader's memory
])
def test_models_naming_other_code_are_not_rebuilt(layer):
    assert isinstance(from_data(ModelData(_model_with(layer))), Unsupported)


def _array_node(**change):
    node = {"$": "array", "dtype": "float32", "shape": [2],
            "data": base64.b64encode(np.zeros(2, np.float32).tobytes()).decode()}
    node.update(change)
    return json.dumps(node).encode()


@pytest.mark.parametrize("data", [
    b"\x80\x04K\x01.",                                          # a pickle
    b"not json", b'{"$": "pickle", "v": "x"}', b"NaN", b'[Infinity]',
    _array_node(dtype="object"), _array_node(shape=[3]), _array_node(shape=[-2]),
    _array_node(data="!!!"), b'{"$": "dict", "v": [[[1], 2]]}',
    b'{"$": "function", "path": "os.system"}',
    b"[" * 200 + b"]" * 200,
])
def test_malformed_answers_are_refused(data):
    with pytest.raises(MalformedData):
        loads(data)


def test_oversized_answers_are_refused():
    with pytest.raises(MalformedData, match="more than"):
        loads(dumps(np.zeros(1000)), limit=1000)
    with pytest.raises(MalformedData):
        loads("a str, not bytes")



def test_the_channel_takes_only_a_fresh_regular_file_of_plain_data(tmp_path):
    import os
    import re

    from unet_course.grading.remote import Channel, NoAnswer

    def kernel(behaviour):
        def run(source, seconds):
            request, answer = re.findall(r"'([^']+)'", source)[-2:]
            behaviour(request, answer)
        return Channel(tmp_path, run, lambda: 10)

    def nonce(request):
        return loads(open(request, "rb").read())["nonce"]

    good = lambda req, ans: open(ans, "wb").write(dumps({"nonce": nonce(req), "answer": 1}))  # noqa: E731
    assert kernel(good).request({"procedure": "call"}) == 1
    bad = [lambda req, ans: None,                                              # no answer
           lambda req, ans: os.mkfifo(ans),                                    # a pipe: never blocks
           lambda req, ans: os.symlink("/etc/hostname", ans),                  # a link
           lambda req, ans: open(ans, "wb").write(b"\x80\x04K\x01."),          # a pickle
           lambda req, ans: open(ans, "wb").write(dumps({"nonce": "an old one", "answer": 1})),
           lambda req, ans: open(ans, "wb").write(dumps(np.zeros(10 ** 7)))]   # too large
    for behaviour in bad:
        channel = kernel(behaviour)
        channel.limit = 1 << 20
        with pytest.raises(NoAnswer):
            channel.request({"procedure": "call"})
    assert sorted(os.listdir(tmp_path)) == []                                  # nothing left behind
