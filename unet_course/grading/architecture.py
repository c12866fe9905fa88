"""Comparing two Keras architectures layer by layer, with an aligned table.

Assignment 3 grades the U-Net's blocks by building a small model around the
student's block and around the reference block, then comparing what Keras 3
reports about each layer: its class, its settings from ``get_config()``
(filters, kernel size, strides, padding, activation, initializer class,
dropout rate, pool size), its output shape, its parameter count, and which
layers feed it. The two layer lists are aligned by class (``difflib``), so a
missing or extra layer shows as one row, not as a shift of every row after it::

    encoder_block(16, inputs of 32x32x3): the layers differ
         #  status    layer             settings                         output    params
         1            InputLayer                                         32x32x3        0
         2            Conv2D            16, 3x3, s1, same, relu, Lecun.. 32x32x16     448
         3  missing   SpatialDropout2D  rate 0.1                         32x32x16       0
    ...
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

__all__ = ["LayerRow", "layer_rows", "output_rows", "align", "format_table", "compare_models"]


@dataclass(frozen=True)
class LayerRow:
    """What the comparison knows about one layer.

    Attributes
    ----------
    kind : str
        The layer's class name, e.g. ``"Conv2D"``.
    settings : tuple of (str, str)
        ``(name, value)`` pairs from the layer's config that matter for its class.
    output : str
        Output shape without the batch axis, e.g. ``"32x32x16"``.
    params : int
        Parameter count.
    inputs : tuple of int
        Row numbers (1-based) of the layers that feed it.
    """

    kind: str
    settings: tuple
    output: str
    params: int
    inputs: tuple

    def describe(self):
        """The settings as one short string: ``16, 3x3, s1, same, relu, LecunNormal``."""
        return ", ".join(value for _, value in self.settings)


def _pair(value):
    """``(3, 3)`` -> ``"3x3"``; ``3`` -> ``"3"``."""
    if isinstance(value, (tuple, list)):
        return "x".join(str(v) for v in value)
    return str(value)


def _activation(config):
    value = config.get("activation")
    if isinstance(value, dict):  # a serialized activation object
        value = value.get("config", {}).get("name") or value.get("class_name")
    return str(value)


def _initializer(layer):
    initializer = getattr(layer, "kernel_initializer", None)
    return type(initializer).__name__ if initializer is not None else "none"


def _settings(layer):
    """The ``(name, value)`` pairs compared for this layer's class."""
    config = layer.get_config()
    kind = type(layer).__name__
    if kind in ("Conv2D", "Conv2DTranspose", "Conv1D", "Conv3D", "SeparableConv2D"):
        return (
            ("filters", str(config.get("filters"))),
            ("kernel size", _pair(config.get("kernel_size"))),
            ("strides", "s" + _pair(config.get("strides"))),
            ("padding", str(config.get("padding"))),
            ("activation", _activation(config)),
            ("initializer", _initializer(layer)),
        )
    if "rate" in config:
        return (("dropout rate", f"rate {float(config['rate']):g}"),)
    if "pool_size" in config:
        return (
            ("pool size", _pair(config.get("pool_size"))),
            ("strides", "s" + _pair(config.get("strides"))),
            ("padding", str(config.get("padding"))),
        )
    if kind == "Concatenate":
        return (("axis", f"axis {config.get('axis')}"),)
    if kind == "Activation":
        return (("activation", _activation(config)),)
    if kind == "Dense":
        return (("units", str(config.get("units"))), ("activation", _activation(config)))
    return ()


def _shape(layer):
    shape = getattr(layer.output, "shape", None)
    if shape is None:
        return "?"
    return "x".join("?" if n is None else str(n) for n in tuple(shape)[1:])


def layer_rows(model):
    """Describe every layer of a functional ``model``, in Keras' order.

    Parameters
    ----------
    model : keras.Model
        A functional model (``keras.Model(inputs, outputs)``).

    Returns
    -------
    list of LayerRow
        One row per layer, the ``InputLayer`` s first (in ``model.inputs`` order).
    """
    layers = _ordered(model)
    number = {id(layer): n + 1 for n, layer in enumerate(layers)}
    rows = []
    for layer in layers:
        inputs = ()
        nodes = getattr(layer, "_inbound_nodes", [])
        if nodes:
            inputs = tuple(number.get(id(t._keras_history.operation), 0)
                           for t in nodes[0].input_tensors)
        rows.append(LayerRow(type(layer).__name__, _settings(layer), _shape(layer),
                             int(layer.count_params()), inputs))
    return rows


def _ordered(model):
    """The model's layers: its input layers in the order of ``model.inputs``, then the rest.

    Keras orders layers by their depth in the graph, so two models that
    differ only in the order of a ``Concatenate``'s inputs can list their
    ``InputLayer``s differently; fixing the inputs first keeps rows aligned.
    """
    first = [t._keras_history.operation for t in model.inputs]
    ids = {id(layer) for layer in first}
    return first + [layer for layer in model.layers if id(layer) not in ids]


def output_rows(model):
    """Row numbers (1-based) of the layers that produce the model's outputs, in order."""
    number = {id(layer): n + 1 for n, layer in enumerate(_ordered(model))}
    return tuple(number.get(id(t._keras_history.operation), 0) for t in model.outputs)


def _line(status, index, row):
    return (f"{index:>4}  {status:<9} {row.kind:<17} {row.describe():<44} "
            f"{row.output:>13} {row.params:>9,}")


def _header():
    return (f"{'#':>4}  {'status':<9} {'layer':<17} {'settings':<44} "
            f"{'output':>13} {'params':>9}")


def _differences(expected, got):
    """Names of the fields that differ between two rows of the same class."""
    names = []
    for (name, want), (_, have) in zip(expected.settings, got.settings):
        if want != have:
            names.append(f"{name} {want} -> {have}")
    if len(expected.settings) != len(got.settings):
        names.append("settings")
    if expected.output != got.output:
        names.append(f"output {expected.output} -> {got.output}")
    if expected.params != got.params:
        names.append(f"params {expected.params:,} -> {got.params:,}")
    return names


def align(expected, got):
    """Align two row lists by layer class.

    Returns
    -------
    list of (str, LayerRow or None, LayerRow or None)
        ``("ok" | "differs" | "missing" | "extra", expected row, got row)``.
    """
    matcher = difflib.SequenceMatcher(
        None, [r.kind for r in expected], [r.kind for r in got], autojunk=False)
    pairs = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for e, g in zip(expected[i1:i2], got[j1:j2]):
                same = (e.settings, e.output, e.params) == (g.settings, g.output, g.params)
                pairs.append(("ok" if same else "differs", e, g))
            continue
        common = min(i2 - i1, j2 - j1) if op == "replace" else 0
        for k in range(common):
            pairs.append(("differs", expected[i1 + k], got[j1 + k]))
        pairs += [("missing", e, None) for e in expected[i1 + common:i2]]
        pairs += [("extra", None, g) for g in got[j1 + common:j2]]
    return pairs


def format_table(pairs, context=1):
    """The aligned table; runs of matching rows far from a difference collapse to one line."""
    bad = [n for n, (status, _, _) in enumerate(pairs) if status != "ok"]
    near = {n for b in bad for n in range(b - context, b + context + 1)}
    lines, skipped = [_header()], 0
    for n, (status, e, g) in enumerate(pairs):
        if n not in near and status == "ok":
            skipped += 1
            continue
        if skipped:
            lines.append(f"{'':>4}  {'':<9} ... {skipped} matching layer(s)")
            skipped = 0
        if status == "ok":
            lines.append(_line("", n + 1, e))
        elif status == "missing":
            lines.append(_line("missing", n + 1, e))
        elif status == "extra":
            lines.append(_line("extra", n + 1, g))
        else:
            lines.append(_line("expected", n + 1, e))
            lines.append(_line("got", n + 1, g))
            lines.append(f"{'':>4}  {'':<9} differs: {'; '.join(_differences(e, g))}")
    if skipped:
        lines.append(f"{'':>4}  {'':<9} ... {skipped} matching layer(s)")
    return "\n".join(lines)


def compare_models(expected_model, got_model):
    """Compare two functional models layer by layer.

    Returns
    -------
    str or None
        ``None`` when they match (classes, settings, output shapes,
        parameters, wiring and outputs); otherwise a report: a summary line
        and the aligned table or the wiring differences.
    """
    expected, got = layer_rows(expected_model), layer_rows(got_model)
    pairs = align(expected, got)
    counts = {status: sum(1 for s, _, _ in pairs if s == status)
              for status in ("missing", "extra", "differs")}
    if any(counts.values()):
        summary = ", ".join(f"{n} layer(s) {status}" for status, n in counts.items() if n)
        totals = (f"parameters: expected {expected_model.count_params():,}, "
                  f"got {got_model.count_params():,}")
        return f"the layers differ ({summary}; {totals})\n" + format_table(pairs)
    def named(numbers):
        return ", ".join(f"{k} ({expected[k - 1].kind})" if 0 < k <= len(expected) else str(k)
                         for k in numbers)

    wiring = [f"{n:>4}  {e.kind}: expected inputs from layer(s) {named(e.inputs)}, "
              f"got {named(g.inputs)}"
              for n, (e, g) in enumerate(zip(expected, got), start=1) if e.inputs != g.inputs]
    if wiring:
        return ("every layer matches, but they are connected differently (the inputs are "
                "layers 1.., the rest follow in model.layers order):\n" + "\n".join(wiring))
    want, have = output_rows(expected_model), output_rows(got_model)
    if want != have:
        return (f"every layer matches, but the outputs come from layer(s) "
                f"{', '.join(map(str, have))} instead of {', '.join(map(str, want))}")
    return None
