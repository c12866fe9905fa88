"""Assignment 3's stand-ins as data: the package's blocks as layer configs with placeholders.

When ``build_unet`` is graded, the package's ``encoder_block``,
``bottleneck`` and ``decoder_block`` take the place of the student's, so a
wrong block costs only its own points. While ``unet-course autograde``
grades, the package's code is not in the student's sandbox, so the blocks
go there as **data**: the grader builds each reference block once, in its
own process, with marker values for its arguments (``filters=11``,
``dropout_rate=0.0123``, ``kernel_initializer="orthogonal"``), and records
every layer's Keras config with those values replaced by placeholders,
plus which tensors feed it. In the kernel,
:func:`unet_course.grading.procedures.block_function` rebuilds the block
from that record on the tensors the student's ``build_unet`` passes, with
the arguments it passes: the same layers as the package's block.
"""
from __future__ import annotations

import functools

__all__ = ["block_templates", "block_template", "MARKERS"]

#: The marker value of each argument, and the config key where it appears.
MARKERS = {"filters": ("filters", 11), "dropout_rate": ("rate", 0.0123),
           "kernel_initializer": ("kernel_initializer", "orthogonal")}

_BLOCKS = {
    "encoder_block": (["filters", "inputs", "dropout_rate", "kernel_initializer"], ["inputs"], [(8, 8, 3)]),
    "bottleneck": (["filters", "inputs", "dropout_rate", "kernel_initializer"], ["inputs"], [(8, 8, 3)]),
    "decoder_block": (["filters", "connections", "inputs", "dropout_rate", "kernel_initializer"],
                      ["connections", "inputs"], [(8, 8, 5), (4, 4, 7)]),
}
_DEFAULTS = {"dropout_rate": 0.1, "kernel_initializer": "lecun_normal"}


def _placeholders(config):
    """A layer config with the markers' values replaced by ``{"$argument": name}``."""
    out = dict(config)
    out.pop("name", None)
    for argument, (key, marker) in MARKERS.items():
        value = out.get(key)
        if argument == "kernel_initializer":
            if isinstance(value, dict) and value.get("class_name") == "Orthogonal":
                out[key] = {"$argument": argument}
        elif value == marker:
            out[key] = {"$argument": argument}
    return out


def block_template(name):
    """The record of the package's block ``name`` (see the module's docstring)."""
    from unet_course.backend import keras

    import unet_course.model as model
    signature, tensors, shapes = _BLOCKS[name]
    inputs = [keras.Input(shape) for shape in shapes]
    markers = {argument: marker for argument, (_, marker) in MARKERS.items()}
    outputs = getattr(model, name)(markers["filters"], *inputs, markers["dropout_rate"],
                                   markers["kernel_initializer"])
    outputs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
    graph = keras.Model(inputs, outputs)
    where = {id(t._keras_history.operation): ("input", i) for i, t in enumerate(graph.inputs)}
    layers = []
    for layer in graph.layers:
        if id(layer) in where:
            continue
        node = layer._inbound_nodes[0]
        first = node.arguments.args[0]
        record = keras.layers.serialize(layer)
        record.pop("build_config", None)
        record["config"] = _placeholders(record["config"])
        layers.append({"config": record,
                       "inputs": [list(where[id(t._keras_history.operation)]) for t in node.input_tensors],
                       "many": isinstance(first, (list, tuple))})
        where[id(layer)] = ("layer", len(layers) - 1)
    return {"signature": signature, "defaults": dict(_DEFAULTS), "tensors": tensors, "layers": layers,
            "outputs": [list(where[id(t._keras_history.operation)]) for t in graph.outputs]}


@functools.lru_cache(maxsize=1)
def _all():
    return {name: {"kind": "block", "template": block_template(name)} for name in _BLOCKS}


def block_templates():
    """``{stand-in name: spec}`` for ``build_unet``'s check (built once per process)."""
    return _all()
