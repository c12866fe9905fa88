"""The ways a check calls a student's code: named procedures, run where the student's code is.

A check never calls a student's function directly: it names one of these
procedures and gives it plain inputs (:mod:`unet_course.grading.codec`).
In self-check mode (Validate, a student's own JupyterLab, plain nbgrader)
the procedure runs right there; while ``unet-course autograde`` grades, it
runs in the student's sandboxed kernel (:mod:`unet_course.grading.harness`)
and only its result, converted to plain data, comes back to the grader,
which compares and decides. Each procedure does only what must happen next
to the student's code (a ``tf.function``, ``keras.Input`` tensors, a
``tf.data`` map, a training run) and returns what it saw: values, never a verdict.

The **stand-ins** (another graded function the checked one may call, such
as ``encoder_block`` inside ``build_unet``) come as data too: a table of
the answers for exactly the inputs the grader sends (:func:`table_function`,
:func:`table_loss`, with the gradient), or a Keras block as layer configs
whose arguments are placeholders (:func:`block_function`). No reference
implementation is needed where the student's code runs.
"""
from __future__ import annotations

import numpy as np

from unet_course.grading.codec import Function, Geometry, Handle, ModelData, TensorData

__all__ = ["PROCEDURES", "prepare", "keep", "make_stand_in"]

_KEPT = {}


def keep(obj):
    """Keep ``obj`` here (a trained model, a metric); return the :class:`Handle` that names it.

    The last few only: a check uses a handle right after it got it.
    """
    handle = Handle(max(_KEPT, default=0) + 1)
    _KEPT[handle.number] = obj
    for number in sorted(_KEPT)[:-8]:
        del _KEPT[number]
    return handle


def prepare(value):
    """Inputs as the student's code gets them: tensors, package functions, kept objects."""
    kind = type(value)
    if kind is list:
        return [prepare(v) for v in value]
    if kind is tuple:
        return tuple(prepare(v) for v in value)
    if kind is dict:
        return {k: prepare(v) for k, v in value.items()}
    if kind is TensorData:
        from unet_course.backend import keras
        return keras.ops.convert_to_tensor(value.array)
    if kind is Function:
        import importlib
        module, _, name = value.path.rpartition(".")
        return getattr(importlib.import_module(module), name)
    if kind is Handle:
        return _KEPT[value.number]
    if kind is Geometry:
        import shapely
        return shapely.from_wkb(value.wkb)
    return value


# ---------------------------------------------------------------- procedures

def call(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``: arrays, numbers, tensors in; whatever it returns out."""
    return fn(*args, **kwargs)


def method(fn, obj, name, *args, **kwargs):
    """``obj.name(*args)`` on a kept object (``fn`` is its class, as the notebook defines it)."""
    return getattr(obj, name)(*args, **kwargs)


def training_step(fn, y, p, gradient):
    """``fn(y_true, y_pred)`` inside ``tf.function`` as ``model.fit`` runs it; the value and d/d y_pred."""
    from unet_course.backend import keras, tf

    @tf.function
    def step(y_true, y_pred):
        with tf.GradientTape() as tape:
            tape.watch(y_pred)
            value = fn(y_true, y_pred)
        grad = tape.gradient(value, y_pred) if gradient else None
        return value, grad

    value, grad = step(keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(p))
    return {"value": value, "gradient": None if grad is None else np.asarray(grad.numpy())}


def dataset_map(fn, image, mask, seed):
    """``fn`` inside ``tf.data.Dataset.map`` (a graph), as the data pipeline runs it."""
    from unet_course.backend import tf
    ds = tf.data.Dataset.from_tensors((image, mask, np.asarray(seed, np.int64)))
    return [tuple(np.asarray(t) for t in pair) for pair in ds.map(fn)]


def block(fn, filters, shapes, args, kwargs, n_outputs):
    """``fn(filters, *keras.Input(shape)..., *args)``; the model from those inputs to its outputs.

    Returns ``{"model": ...}``, or ``{"got": ...}`` when it did not return
    ``n_outputs`` Keras tensors, or ``{"disconnected": message}``.
    """
    from unet_course.backend import keras
    inputs = [keras.Input(tuple(shape)) for shape in shapes]
    result = fn(filters, *inputs, *args, **kwargs)
    values = list(result) if n_outputs > 1 and isinstance(result, (tuple, list)) else [result]
    if len(values) != n_outputs or not all(isinstance(v, keras.KerasTensor) for v in values):
        return {"got": result}
    try:
        return {"model": keras.Model(inputs, values)}
    except Exception as error:  # noqa: BLE001 (Keras says "Graph disconnected" and similar)
        return {"disconnected": str(error)[:500]}


def new_metric(fn, *args, **kwargs):
    """``fn(*args)`` (a ``keras.metrics.Metric`` class): whether it is one, its name, a handle."""
    from unet_course.backend import keras
    metric = fn(*args, **kwargs)
    if not isinstance(metric, keras.metrics.Metric):
        return {"metric": False, "got": metric}
    return {"metric": True, "name": str(metric.name), "handle": keep(metric)}


def metric_in_evaluate(fn, threshold, y, p):
    """A fresh ``fn(threshold)`` inside ``model.evaluate`` on an identity model, in batches of 2."""
    from unet_course.backend import keras
    metric = fn(threshold)
    model = keras.Sequential([keras.Input(y.shape[1:]), keras.layers.Identity()])
    model.compile(loss="mse", metrics=[metric])
    result = model.evaluate(p, y, batch_size=2, verbose=0, return_dict=True)
    return {"name": str(metric.name), "result": result}


def _model(spec):
    """A model from ``{"model": ModelData, "optimizer": config, "loss": name}``, or a kept one."""
    if type(spec) is not dict:   # a kept model (``prepare`` resolved its handle)
        return spec
    from unet_course.backend import keras
    from unet_course.grading.codec import model_from_data
    if "seed" in spec:   # as compiled_unet seeds it: the same weights, then the same training draws
        keras.utils.set_random_seed(spec["seed"])
    model = model_from_data(spec["model"])
    if "optimizer" in spec:
        from unet_course.losses import get_loss
        from unet_course.metrics import dataset_metrics
        model.compile(optimizer=keras.optimizers.deserialize(spec["optimizer"]), loss=get_loss(spec["loss"]),
                      metrics=dataset_metrics(), jit_compile="auto")
    return model


def compile_model(fn, spec, args, kwargs, x, y):
    """``fn(model, *args)`` on a model from ``spec``; what it compiled, and its loss and metrics on (x, y)."""
    from unet_course.backend import keras
    model = _model(spec)
    got = fn(model, *args, **kwargs)
    optimizer = getattr(model, "optimizer", None)
    out = {"returned_model": got is model, "got": None if got is model else got,
           "optimizer": None if optimizer is None else keras.optimizers.serialize(optimizer)}
    try:
        p = model(x, training=False)
        out["loss"] = model.compute_loss(x=x, y=y, y_pred=p)
        out["metrics"] = dict(model.compute_metrics(x, y, p))
    except Exception as error:  # noqa: BLE001 (not compiled, or compiled with something broken)
        out["broken"] = f"{type(error).__name__}: {str(error)[:300]}"
    return out


def train(fn, spec, args, kwargs):
    """``fn(model, train, validation, *args)`` on the smoke profile's synthetic tiles.

    Returns the history, the optimizer steps it took, the trained weights and
    a handle on the model (the hidden check trains it once more).
    """
    import unet_course
    from unet_course.data import load_data
    model = _model(spec)
    data = load_data("synthetic", unet_course.profile("smoke"))
    start = int(model.optimizer.iterations.numpy())
    history = fn(model, data.train, data.validation, *args, **kwargs)
    return {"history": history, "steps": int(model.optimizer.iterations.numpy()) - start,
            "weights": [np.array(w) for w in model.get_weights()], "handle": keep(model)}


PROCEDURES = {f.__name__: f for f in (call, method, training_step, dataset_map, block, new_metric,
                                      metric_in_evaluate, compile_model, train)}


# ---------------------------------------------------------------- stand-ins from data

def _key(arrays, dtype=np.float64):
    parts = []
    for a in arrays:
        a = np.asarray(a.numpy() if hasattr(a, "numpy") else a, dtype=dtype)
        parts.append((a.shape, a.tobytes()))
    return tuple(parts)


def _missing(name):
    return LookupError(f"{name}, standing in for yours while this item is checked, only knows the "
                       f"inputs the grader sent; pass them on unchanged")


def table_function(name, entries):
    """A function that answers ``entries`` (``[(args, value), ...]``) by looking its arguments up."""
    table = {_key(args): value for args, value in entries}

    def stand_in(*args):
        try:
            return table[_key(args)]
        except KeyError:
            raise _missing(name) from None

    stand_in.__name__ = name
    return stand_in


def table_loss(name, entries):
    """A Keras loss answering ``entries`` (``[(y, p, value, d value / d p), ...]``), with its gradient.

    It runs eagerly and inside ``tf.function`` (the value and the gradient
    are looked up with ``tf.numpy_function``), so a loss that adds it to
    another has the gradient it would have with the real one.
    """
    from unet_course.backend import tf
    table = {_key((y, p), np.float32): (np.float32(value), np.asarray(grad, np.float32))
             for y, p, value, grad in entries}

    def find(y, p):
        try:
            return table[_key((y, p), np.float32)]
        except KeyError:
            raise _missing(name) from None

    @tf.custom_gradient
    def loss(y_true, y_pred):
        value = tf.numpy_function(lambda y, p: find(y, p)[0], [y_true, y_pred], tf.float32)
        value.set_shape(())

        def gradient(upstream):
            grad = tf.numpy_function(lambda y, p: find(y, p)[1], [y_true, y_pred], tf.float32)
            grad.set_shape(y_pred.shape)
            return tf.zeros_like(y_true), upstream * grad

        return value, gradient

    def stand_in(y_true, y_pred):
        return loss(tf.convert_to_tensor(y_true, tf.float32), tf.convert_to_tensor(y_pred, tf.float32))

    stand_in.__name__ = name
    return stand_in


def _substitute(node, bound):
    if isinstance(node, dict):
        if set(node) == {"$argument"}:
            return bound[node["$argument"]]
        return {k: _substitute(v, bound) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, bound) for v in node]
    return node


def block_function(name, template):
    """A Keras block rebuilt from ``template`` on the tensors it is given.

    ``template``: ``signature`` (argument names), ``defaults``, ``tensors``
    (which arguments are input tensors), ``layers`` (each a layer config whose
    argument-dependent values are ``{"$argument": name}``, and its inputs as
    ``["input", i]`` or ``["layer", j]``) and ``outputs``.
    """
    from unet_course.backend import keras
    signature, defaults = template["signature"], template["defaults"]

    def stand_in(*args, **kwargs):
        bound = dict(defaults)
        bound.update(zip(signature, args))
        bound.update(kwargs)
        inputs = [bound[n] for n in template["tensors"]]
        values = []
        for layer in template["layers"]:
            made = keras.layers.deserialize(_substitute(layer["config"], bound))
            given = [inputs[i] if kind == "input" else values[i] for kind, i in layer["inputs"]]
            values.append(made(given if layer["many"] else given[0]))
        out = [inputs[i] if kind == "input" else values[i] for kind, i in template["outputs"]]
        return tuple(out) if len(out) > 1 else out[0]

    stand_in.__name__ = name
    return stand_in


def make_stand_in(name, spec):
    """The stand-in function that ``spec`` (plain data from the grader) describes."""
    kind = spec["kind"]
    if kind == "table":
        return table_function(name, spec["entries"])
    if kind == "loss_table":
        return table_loss(name, spec["entries"])
    if kind == "block":
        return block_function(name, spec["template"])
    raise ValueError(f"unknown stand-in kind {kind!r}")


def model_spec(model, compiled=False, loss="bce_dice", seed=None):
    """A model as plain data for a procedure: config and weights (and, ``compiled``, its optimizer).

    ``seed``: the global seed set before the model is rebuilt (what
    :func:`unet_course.train.compiled_unet` does), so that a training run
    draws the same dropout masks and shuffles where the student's code runs.
    """
    from unet_course.backend import keras
    from unet_course.grading.codec import model_json
    spec = {"model": ModelData(model_json(model), tuple(np.array(w) for w in model.get_weights()))}
    if compiled:
        spec.update(optimizer=keras.optimizers.serialize(model.optimizer), loss=loss)
    if seed is not None:
        spec["seed"] = int(seed)
    return spec
