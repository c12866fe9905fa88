"""Plain data between a student's kernel and the grader: what may cross, and how.

While ``unet-course autograde`` grades, a student's function runs in its
sandboxed kernel and only **data** comes back (:mod:`unet_course.grading.harness`
sends it, :mod:`unet_course.grading.remote` reads it). This module is the one
owner of that format, used the same way in self-check mode so a check sees
the same values in both:

- :func:`to_data` turns what a student's function returned into plain values,
  right where it returned (inside the guarded call): ``None``, ``bool``,
  ``int``, ``float``, ``str``; lists, tuples and dicts of them; an exact
  ``numpy.ndarray`` (a copy; numpy scalars and TensorFlow tensors become one);
  a Keras model as its JSON config (and weights when asked); a shapely
  geometry as WKB. Anything else becomes :class:`Unsupported`, naming its type.
- :func:`dumps` writes plain values as JSON, arrays as dtype + shape + base64
  bytes; :func:`loads` reads them back **strictly**: a size cap, known tags
  only, a dtype allow-list, shapes that match their bytes. Never pickle.
- :func:`from_data` rebuilds what the checks compare: a Keras model from its
  config (``safe_mode``, Keras' own classes only), a shapely geometry.

Examples
--------
>>> import numpy as np
>>> loads(dumps({"tp": np.eye(2, dtype=bool), "f1": 0.5}))["f1"]
0.5
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Unsupported", "ModelData", "Geometry", "TensorData", "Function", "Handle", "Raised",
           "MalformedData", "to_data", "from_data", "dumps", "loads", "MAX_BYTES"]

#: The most bytes one answer may hold (a small U-Net's weights fit many times over).
MAX_BYTES = 64 << 20
MAX_DEPTH = 32
DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                    "float16", "float32", "float64"})
_SCALARS = frozenset(np.dtype(name).type for name in DTYPES)


class MalformedData(ValueError):
    """An answer that is not plain data as :func:`dumps` writes it (it earns nothing)."""


@dataclass(frozen=True)
class Unsupported:
    """Stands for a value that is not plain data: only its type's name crosses."""

    type_name: str

    def __repr__(self):
        return f"<a {self.type_name} object>"


@dataclass(frozen=True)
class ModelData:
    """A Keras model as data: its ``to_json()`` config and, when asked, its weights."""

    config: str
    weights: tuple | None = None


@dataclass(frozen=True)
class Geometry:
    """A shapely geometry as its WKB bytes."""

    wkb: bytes


@dataclass(frozen=True)
class TensorData:
    """An array the other side turns into a TensorFlow tensor (the grader's inputs to Keras code)."""

    array: np.ndarray = field(compare=False)


@dataclass(frozen=True)
class Function:
    """A function of the ``unet_course`` package, by its dotted path (an argument, e.g. a loss)."""

    path: str


@dataclass(frozen=True)
class Handle:
    """An object kept where a procedure ran (a trained model, a metric), by number."""

    number: int


@dataclass(frozen=True)
class Raised:
    """What a student's function raised: the exception's class, its builtin bases and message."""

    type_name: str
    bases: tuple
    message: str
    frames: tuple = ()   # (file name, line number, function, source line) of the student's code
    reference: str | None = None   # the package reference it called, when that is what it raised


# ---------------------------------------------------------------- the student's side: to plain values

def to_data(value, weights=False, _depth=0):
    """``value`` as plain data (see the module's docstring); ``weights``: keep Keras models' weights."""
    if _depth > MAX_DEPTH:
        return Unsupported("too deeply nested value")
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if kind is np.ndarray:
        return value.copy() if value.dtype.name in DTYPES else Unsupported(f"{value.dtype} array")
    if kind in _SCALARS:
        return np.array(value)
    if kind in (list, tuple):
        items = [to_data(v, weights, _depth + 1) for v in list.__iter__(value)] if kind is list else \
            [to_data(v, weights, _depth + 1) for v in tuple.__iter__(value)]
        return items if kind is list else tuple(items)
    if kind is dict:
        return {key: to_data(v, weights, _depth + 1) for key, v in dict.items(value)
                if type(key) in (str, int, bool)}
    if isinstance(value, (Handle, Raised, ModelData, Geometry, Unsupported, TensorData, Function)):
        return value
    module = kind.__module__ or ""
    if module.startswith("tensorflow") and kind.__name__ == "EagerTensor":
        return to_data(np.asarray(value.numpy()), weights, _depth + 1)
    if module.startswith(("keras", "tensorflow")) and _is_keras_model(value):
        return ModelData(model_json(value), tuple(np.array(w) for w in value.get_weights()) if weights else None)
    if module.startswith("shapely.geometry"):
        return Geometry(bytes(value.wkb))
    return Unsupported(kind.__name__)


def model_json(model):
    """A Keras model's architecture as JSON, without its compile settings (they may name any code)."""
    config = json.loads(model.to_json())
    config.pop("compile_config", None)
    return json.dumps(config)


def _is_keras_model(value):
    from unet_course.backend import keras
    return isinstance(value, keras.Model)


# ---------------------------------------------------------------- bytes

def _encode(value):
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if np.isfinite(value) else {"$": "float", "v": repr(value)}
    if kind is np.ndarray:
        return {"$": "array", "dtype": value.dtype.name, "shape": list(value.shape),
                "data": base64.b64encode(np.ascontiguousarray(value).tobytes()).decode("ascii")}
    if kind is list:
        return [_encode(v) for v in value]
    if kind is tuple:
        return {"$": "tuple", "v": [_encode(v) for v in value]}
    if kind is dict:
        return {"$": "dict", "v": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if kind is Unsupported:
        return {"$": "unsupported", "type": value.type_name}
    if kind is ModelData:
        return {"$": "model", "config": value.config,
                "weights": None if value.weights is None else [_encode(w) for w in value.weights]}
    if kind is Geometry:
        return {"$": "geometry", "wkb": base64.b64encode(value.wkb).decode("ascii")}
    if kind is TensorData:
        return {"$": "tensor", "v": _encode(np.asarray(value.array))}
    if kind is Function:
        return {"$": "function", "path": value.path}
    if kind is Handle:
        return {"$": "handle", "n": value.number}
    if kind is Raised:
        return {"$": "raised", "type": value.type_name, "bases": list(value.bases), "message": value.message,
                "frames": [list(f) for f in value.frames], "reference": value.reference}
    raise TypeError(f"not plain data: {kind.__name__} (to_data first)")


def dumps(value):
    """Plain ``value`` as UTF-8 JSON bytes."""
    return json.dumps(_encode(value), allow_nan=False, separators=(",", ":")).encode("utf-8")


def _need(condition, what):
    if not condition:
        raise MalformedData(what)


def _text(value, what, limit=1 << 20):
    _need(type(value) is str and len(value) <= limit, f"{what} is not a string")
    return value


def _bytes64(value, what):
    try:
        return base64.b64decode(_text(value, what, MAX_BYTES * 2), validate=True)
    except ValueError:
        raise MalformedData(f"{what} is not base64") from None


def _array(node):
    dtype, shape = node.get("dtype"), node.get("shape")
    _need(dtype in DTYPES, f"dtype {dtype!r} is not allowed")
    _need(type(shape) is list and len(shape) <= 8 and all(type(n) is int and 0 <= n <= MAX_BYTES
                                                          for n in shape), "bad array shape")
    data = _bytes64(node.get("data"), "array data")
    _need(len(data) == int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize,
          "array data does not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def _decode(node, depth=0):
    _need(depth <= MAX_DEPTH, "too deeply nested")
    kind = type(node)
    if node is None or kind in (bool, int, float, str):
        return node
    if kind is list:
        return [_decode(v, depth + 1) for v in node]
    _need(kind is dict, f"unexpected {kind.__name__}")
    tag = node.get("$")
    if tag == "array":
        return _array(node)
    if tag == "float":
        _need(node.get("v") in ("inf", "-inf", "nan"), "bad float")
        return float(node["v"])
    if tag in ("tuple", "dict"):
        items = node.get("v")
        _need(type(items) is list, f"bad {tag}")
        if tag == "tuple":
            return tuple(_decode(v, depth + 1) for v in items)
        _need(all(type(p) is list and len(p) == 2 and type(p[0]) in (str, int, bool) for p in items), "bad dict")
        return {key: _decode(v, depth + 1) for key, v in items}
    if tag == "unsupported":
        return Unsupported(_text(node.get("type"), "type name", 200))
    if tag == "model":
        weights = node.get("weights")
        _need(weights is None or type(weights) is list, "bad weights")
        decoded = None if weights is None else tuple(_decode(w, depth + 1) for w in weights)
        _need(decoded is None or all(type(w) is np.ndarray for w in decoded), "bad weights")
        return ModelData(_text(node.get("config"), "model config", MAX_BYTES), decoded)
    if tag == "geometry":
        return Geometry(_bytes64(node.get("wkb"), "geometry"))
    if tag == "tensor":
        array = _decode(node.get("v"), depth + 1)
        _need(type(array) is np.ndarray, "bad tensor")
        return TensorData(array)
    if tag == "function":
        path = _text(node.get("path"), "function path", 300)
        _need(path.startswith("unet_course.") and all(p.isidentifier() for p in path.split(".")),
              "a function argument must be one of the package's")
        return Function(path)
    if tag == "handle":
        _need(type(node.get("n")) is int, "bad handle")
        return Handle(node["n"])
    if tag == "raised":
        frames = node.get("frames")
        _need(type(frames) is list and len(frames) <= 10, "bad frames")
        frames = tuple(tuple(f) for f in frames if type(f) is list and len(f) == 4
                       and type(f[1]) is int and all(type(x) is str for x in (f[0], f[2], f[3])))
        bases = node.get("bases")
        _need(type(bases) is list and all(type(b) is str for b in bases), "bad bases")
        reference = node.get("reference")
        return Raised(_text(node.get("type"), "type", 200), tuple(bases), _text(node.get("message"), "message", 20000),
                      frames, None if reference is None else _text(reference, "reference", 300))
    raise MalformedData(f"unknown tag {tag!r}")


def loads(data, limit=MAX_BYTES):
    """Plain values from bytes written by :func:`dumps`; :class:`MalformedData` for anything else."""
    _need(type(data) is bytes, "not bytes")
    _need(len(data) <= limit, f"more than {limit} bytes")
    try:
        node = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise MalformedData(f"not JSON ({error})") from None
    try:
        return _decode(node)
    except RecursionError:
        raise MalformedData("too deeply nested") from None


def _no_constant(name):
    raise MalformedData(f"{name} is not allowed")


# ---------------------------------------------------------------- the grader's side: objects to compare

def _keras_only(node):
    """``True`` when every class a Keras config names is one of Keras' own (no Lambda, no custom code)."""
    if isinstance(node, dict):
        module = node.get("module")
        if module is not None and not (module == "keras" or str(module).startswith("keras.")):
            return False
        if node.get("class_name") in ("Lambda", "TFOpLambda") or "registered_name" in node and \
                node["registered_name"] not in (None, node.get("class_name")):
            return False
        return all(_keras_only(v) for v in node.values())
    if isinstance(node, list):
        return all(_keras_only(v) for v in node)
    return True


#: Config keys whose numbers size a model's weights, and the largest value each may have when
#: the grader rebuilds a model a kernel sent (the course's largest U-Net: 512 filters, 256 px).
_SIZES = {"filters": 4096, "units": 4096, "kernel_size": 64, "pool_size": 64, "batch_shape": 4096,
          "shape": 4096}


def _small(node, key=None, count=None):
    """``True`` when no size in a Keras config exceeds :data:`_SIZES`, with at most 2,000 layers."""
    count = count if count is not None else [0]
    if isinstance(node, dict):
        if "class_name" in node:
            count[0] += 1
        return count[0] <= 2000 and all(_small(v, k, count) for k, v in node.items())
    if isinstance(node, list):
        return all(_small(v, key, count) for v in node)
    if key in _SIZES and type(node) is int:
        return node <= _SIZES[key]
    return True


def model_from_data(data):
    """A Keras model rebuilt from :class:`ModelData`; ``None`` when its config is not Keras' own classes
    or would make a model far larger than the course's (the grader's memory is not the kernel's)."""
    from unet_course.backend import keras
    try:
        config = json.loads(data.config)
    except (json.JSONDecodeError, RecursionError):
        return None
    if not (_keras_only(config) and _small(config)):
        return None
    try:
        model = keras.models.model_from_json(data.config)
        if data.weights is not None:
            model.set_weights(list(data.weights))
    except Exception:  # noqa: BLE001 (any config Keras cannot rebuild earns nothing)
        return None
    return model


def from_data(value):
    """Plain values with models and geometries rebuilt (a model that cannot be rebuilt stays data)."""
    kind = type(value)
    if kind is list:
        return [from_data(v) for v in value]
    if kind is tuple:
        return tuple(from_data(v) for v in value)
    if kind is dict:
        return {k: from_data(v) for k, v in value.items()}
    if kind is ModelData:
        model = model_from_data(value)
        return model if model is not None else Unsupported("model whose config Keras cannot rebuild safely")
    if kind is Geometry:
        import shapely
        try:
            return shapely.from_wkb(value.wkb)
        except Exception:  # noqa: BLE001
            return Unsupported("geometry that is not valid WKB")
    return value
