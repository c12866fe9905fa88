"""Choosing the fastest correct way to train on this machine: precision and XLA (lesson 7).

The seed trained in float32 without XLA, as Keras does by default on a CPU.
``benchmarks/bench_training.py`` measures the choices side by side; the rule
below is what it justified on the machines we measured (docs/performance.md
gives the figures):

- **GPU** (compute capability 7.0 or newer): ``mixed_float16`` (tensor cores)
  and XLA; older GPUs: XLA only.
- **CPU with native bfloat16** (``avx512_bf16`` or ``amx_bf16``): for tiles of
  128 px or more, ``mixed_bfloat16``: oneDNN runs the convolutions in
  bfloat16, weights and the last layer stay float32. Smaller tiles (the
  smoke profile) stay float32: their steps are too short for it to matter.
- **Other CPUs**: float32.
- **XLA on a CPU**: off. TensorFlow's CPU convolutions go through oneDNN;
  XLA compiles its own and, on the CPUs we measured, trained slower after a
  compile of tens of seconds.

Either choice can be forced: ``precision`` / ``xla`` arguments, the command
line's ``--precision`` / ``--xla``, or the environment variables
``UNET_COURSE_PRECISION`` (``float32``, ``mixed_bfloat16``,
``mixed_float16``) and ``UNET_COURSE_XLA`` (``on``, ``off``). ``run.json``
records what was chosen and why.

Examples
--------
>>> choose_settings(gpus=0, capability=None, cpu_flags={"avx512_bf16"}, image_size=128)["policy"]
'mixed_bfloat16'
>>> choose_settings(gpus=0, capability=None, cpu_flags=set(), image_size=128)["policy"]
'float32'
"""
from __future__ import annotations

import os
import weakref
from pathlib import Path

__all__ = ["PRECISIONS", "cpu_flags", "choose_settings", "configure_accelerator", "inference_policy",
           "inference_model", "forward_flops", "matmul_rate"]

PRECISION_ENV = "UNET_COURSE_PRECISION"
XLA_ENV = "UNET_COURSE_XLA"
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
NATIVE_BF16 = {"avx512_bf16", "amx_bf16"}
#: Smallest tile side at which bfloat16 is chosen on a CPU.
BF16_MIN_SIZE = 128
#: The key of the measured choice that holds the chosen way's traced model (None when nothing was
#: measured now); :func:`unet_course.train.compiled_unet` takes it, ``run.json`` leaves it out.
TRACED = "traced_model"


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU's feature flags (Linux ``/proc/cpuinfo``); an empty set elsewhere."""
    try:
        for line in Path(cpuinfo).read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _forced(value, env, allowed):
    """The user's choice (argument, then environment variable), or None for automatic."""
    value = value if value not in (None, "auto") else os.environ.get(env, "auto")
    if value == "auto":
        return None
    if value not in allowed:
        raise ValueError(f"{env} / argument value {value!r} is not one of {('auto',) + tuple(allowed)}")
    return value


def choose_settings(gpus, capability, cpu_flags, image_size, precision=None, xla=None):
    """The precision policy and XLA for a run, with the reason (a pure function of the machine).

    Parameters
    ----------
    gpus : int
        Visible GPUs.
    capability : tuple of int or None
        The first GPU's compute capability.
    cpu_flags : set of str
        From :func:`cpu_flags`.
    image_size : int
        The run's tile side in pixels.
    precision, xla : str, optional
        ``"auto"`` (default, also when None), a policy of :data:`PRECISIONS`,
        or ``"on"`` / ``"off"``; None and ``"auto"`` read the environment.

    Returns
    -------
    dict
        ``policy``, ``mixed_precision``, ``jit_compile`` and ``reason``.
    """
    forced_policy = _forced(precision, PRECISION_ENV, PRECISIONS)
    forced_xla = _forced(xla, XLA_ENV, ("on", "off"))
    if gpus:
        policy = "mixed_float16" if tuple(capability or (0, 0)) >= (7, 0) else "float32"
        jit, reason = True, "GPU: XLA, and float16 on tensor cores from compute capability 7.0"
    elif NATIVE_BF16 & set(cpu_flags) and image_size >= BF16_MIN_SIZE:
        policy, jit = "mixed_bfloat16", False
        reason = f"CPU with native bfloat16 ({', '.join(sorted(NATIVE_BF16 & set(cpu_flags)))}), tiles >= {BF16_MIN_SIZE} px"
    else:
        policy, jit, reason = "float32", False, "CPU: float32 through oneDNN, as Keras does by default"
    if forced_policy or forced_xla:
        policy = forced_policy or policy
        jit = {"on": True, "off": False}.get(forced_xla, jit)
        reason = "forced by the user: " + ", ".join(
            f"{name}={value}" for name, value in (("precision", forced_policy), ("xla", forced_xla)) if value)
    return {"policy": policy, "mixed_precision": policy != "float32", "jit_compile": jit, "reason": reason}


def _device(tf):
    """``(gpus, capability, description)`` of this machine."""
    from unet_course.tuning import cpu_model

    gpus = tf.config.list_physical_devices("GPU")
    capability, device = None, f"CPU {cpu_model()} ({os.cpu_count()} cores)"
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        capability = tuple(details.get("compute_capability") or (0, 0))
        device = (f"{len(gpus)} x {details.get('device_name', 'GPU')} "
                  f"(compute capability {capability[0]}.{capability[1]})")
    return gpus, capability, device


def configure_accelerator(image_size=256, precision=None, xla=None, *, filters=None, batch_size=8,
                          run_steps=None, numpy_inputs=True, retune=False, flags=None, build=None,
                          say=print):
    """What this machine should train a run of ``image_size`` px tiles with (lesson 7).

    Without ``filters`` (or on a GPU, or when the user forces a setting) this
    is the rule, :func:`choose_settings`. With ``filters`` (the run's size:
    ``image_size``, ``filters``, ``batch_size``) the ways of
    :mod:`unet_course.tuning` are measured on first use, cached, and the
    fastest for a run of ``run_steps`` steps is chosen (``retune=True``
    measures again; ``flags`` replaces this CPU's flags, for benchmarks;
    ``build(policy, jit)`` makes the models to time, default the course's U-Net).

    Returns :func:`choose_settings`'s dict plus ``device``, ``gpus``,
    ``inputs`` (``"tf.data"`` or ``"numpy"``), ``way`` (a key of
    :data:`unet_course.tuning.WAYS`, None for the rule), ``measurement``
    (the figures the choice rests on, None for the rule) and, when the ways
    were measured now, :data:`TRACED`: the chosen way's model, already traced,
    for the run to train (:func:`unet_course.train.compiled_unet`). The Keras policy is
    not changed here: :func:`unet_course.train.compiled_unet` builds the model
    under ``policy`` and restores the global one.
    """
    from unet_course.backend import tf

    gpus, capability, device = _device(tf)
    flags = cpu_flags() if flags is None else set(flags)
    settings = choose_settings(len(gpus), capability, flags, image_size, precision, xla)
    forced = _forced(precision, PRECISION_ENV, PRECISIONS) or _forced(xla, XLA_ENV, ("on", "off"))
    base = {"device": device, "gpus": len(gpus), **settings, "inputs": "tf.data", "way": None,
            "measurement": None}
    if filters is None or gpus or forced:
        return base
    return {**base, **_measured_choice(tf, image_size, filters, batch_size, run_steps or 1000,
                                       numpy_inputs, retune, flags, build, say)}


def _default_build(image_size, filters):
    """``build(policy, jit)``: the course's U-Net of this size, compiled the course's way."""
    def build(policy, jit):
        from unet_course.backend import keras
        from unet_course.model import build_unet
        from unet_course.train import compile_unet

        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(policy)
        try:   # not seeded: a new global seed would make the models built before it trace again
            return compile_unet(build_unet((image_size, image_size, 3), filters=filters), jit_compile=jit)
        finally:
            keras.config.set_dtype_policy(previous)
    return build


def _measured_choice(tf, image_size, filters, batch_size, run_steps, numpy_inputs, retune, flags,
                     build, say):
    """The measured way for this run: from the cache, or measured now and cached."""
    import datetime
    import time

    from unet_course import tuning

    key, described = tuning.machine_key(tuning.cpu_model(), flags, os.cpu_count(), [], tf.__version__,
                                        image_size, filters, batch_size)
    entry = None if retune else tuning.cached_measurement(key, say=say)
    build = build or _default_build(image_size, filters)
    changed, traced = entry is None, {}
    if entry is None:
        names, left_out = tuning.candidate_ways(flags)
        say(f"Measuring the fastest way to train {image_size} px tiles, base {filters} filters, on this "
            f"machine ({', '.join(names)}: a trace and 7 steps of each, once, then cached; the run "
            "trains the fastest one's model, already traced)...")
        start = time.perf_counter()
        figures = tuning.measure_ways(names, build, image_size, batch_size, traced=traced)
        entry = {"key": described, "figures": figures, "left_out": left_out, "xla_measured": False,
                 "measured_at": datetime.datetime.now().isoformat(timespec="seconds"),
                 "cost_seconds": round(time.perf_counter() - start, 1)}
    best_steps = min(sorted(f["step_seconds"])[len(f["step_seconds"]) // 2] for f in entry["figures"].values())
    if not entry["xla_measured"] and best_steps * run_steps >= tuning.XLA_MIN_RUN_SECONDS:
        say(f"This run is long (about {best_steps * run_steps / 60:.0f} min): measuring XLA too "
            "(its compile takes tens of seconds)...")
        start = time.perf_counter()
        entry["figures"].update(tuning.measure_ways(["xla"], build, image_size, batch_size, traced=traced))
        entry["left_out"].pop("xla", None)
        entry.update(xla_measured=True, cost_seconds=round(entry["cost_seconds"] + time.perf_counter() - start, 1))
        changed = True
    path = tuning.remember(key, entry) if changed else tuning.cache_path()
    way, projected, reason = tuning.select_way(entry["figures"], run_steps, numpy_inputs=numpy_inputs)
    chosen = tuning.WAYS[way]
    return {"policy": chosen.policy, "mixed_precision": chosen.policy != "float32", "jit_compile": chosen.jit,
            "inputs": chosen.inputs, "way": way, "reason": reason,
            "measurement": {**entry, "run_steps": run_steps, "projected_run_seconds": projected,
                            "cache": str(path)},
            TRACED: traced.get(way)}


def inference_policy(image_size, filters, batch_size=8, precision=None):
    """The dtype policy to predict with: the one measured fastest for training this size (lesson 8).

    From the cached measurement of this machine for this size (XLA left out:
    prediction does not compile); without one, the rule of :func:`choose_settings`.
    ``precision`` or ``UNET_COURSE_PRECISION`` forces it.
    """
    from unet_course import tuning
    from unet_course.backend import tf

    forced = _forced(precision, PRECISION_ENV, PRECISIONS)
    if forced:
        return forced
    gpus, capability, _ = _device(tf)
    flags = cpu_flags()
    if not gpus:
        key, _ = tuning.machine_key(tuning.cpu_model(), flags, os.cpu_count(), [], tf.__version__,
                                    image_size, filters, batch_size)
        entry = tuning.cached_measurement(key, say=lambda _: None)
        if entry:
            figures = {n: f for n, f in entry["figures"].items() if not tuning.WAYS[n].jit}
            return tuning.WAYS[tuning.select_way(figures, 1000)[0]].policy
    return choose_settings(len(gpus), capability, flags, image_size)["policy"]


_TWINS = weakref.WeakKeyDictionary()
_NOT_UNETS = weakref.WeakSet()


def _unet_size(model):
    """``(image_size, filters, policy)`` of a course U-Net, from its input and its first convolution."""
    first = next((layer for layer in model.layers if type(layer).__name__ == "Conv2D"), None)
    shape = tuple(model.input_shape)
    if first is None or len(shape) != 4 or shape[1] is None or shape[1] != shape[2]:
        return None
    return shape[1], first.filters, first.dtype_policy.name


def inference_model(model, precision=None):
    """``model``, or its twin under this machine's measured policy, holding the same weights (lesson 8).

    :func:`unet_course.evaluate.predict_probabilities` and ``unet-course
    predict`` predict with it. The twin is the course's ``build_unet`` of the
    same size rebuilt under :func:`inference_policy`; it is made once per model
    and given the model's current weights at every call. A model that is not
    the course's U-Net (other layers) is returned unchanged.
    """
    from unet_course.backend import keras
    from unet_course.model import build_unet

    size = _unet_size(model)
    if size is None or model in _NOT_UNETS:
        return model
    policy = inference_policy(size[0], size[1], precision=precision)
    if size[2] == policy:
        return model
    twin = _TWINS.get(model)
    if twin is None or _unet_size(twin)[2] != policy:
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(policy)
        try:
            twin = build_unet((size[0], size[0], 3), filters=size[1])
        finally:
            keras.config.set_dtype_policy(previous)
        same = [type(layer).__name__ for layer in twin.layers] == [type(layer).__name__ for layer in model.layers]
        if not same or [w.shape for w in twin.weights] != [w.shape for w in model.weights]:
            _NOT_UNETS.add(model)
            return model
        _TWINS[model] = twin
    twin.set_weights(model.get_weights())
    return twin


# --- how long a run will take -------------------------------------------------------


def forward_flops(model):
    """Floating-point operations of one forward pass of one image (multiply and add count 2).

    Counted layer by layer from the shapes: a k x k convolution producing
    ``H x W x c_out`` from ``c_in`` channels costs ``2 k k c_in c_out H W``; a
    transposed one costs the same per *input* pixel. Pooling, dropout,
    concatenation and activations are left out (they are a fraction of a percent).
    Lesson 7 uses it for the time estimate; the benchmarks for the fraction of
    the machine's peak.
    """
    total = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind not in ("Conv2D", "Conv2DTranspose"):
            continue
        k_h, k_w = layer.kernel_size
        c_in = layer.input.shape[-1]
        c_out = layer.filters
        h, w = (layer.input if kind == "Conv2DTranspose" else layer.output).shape[1:3]
        total += 2 * k_h * k_w * c_in * c_out * h * w
    return int(total)


def matmul_rate(size=2048, repeats=5, dtype="float32"):
    """This machine's measured rate of a ``size`` x ``size`` matrix product, in GFLOP/s (median).

    About a second on a laptop CPU: the yardstick the time estimate and the
    benchmarks divide by.
    """
    import time

    from unet_course.backend import tf

    a = tf.random.stateless_uniform((size, size), seed=(1, 2), dtype=tf.float32)
    a = tf.cast(a, dtype)
    product = tf.function(lambda x: tf.matmul(x, x))
    product(a).numpy()                                          # trace and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        product(a).numpy()
        times.append(time.perf_counter() - start)
    times.sort()
    return 2 * size ** 3 / times[len(times) // 2] / 1e9


#: Fraction of the measured matrix-product rate (in the compute dtype) that a U-Net training
#: step reached on the CPU we measured (``benchmarks/bench_training.py`` and the laptop demo:
#: float32 about 0.9 of the float32 rate, bfloat16 about 0.35 of the bfloat16 rate).
TRAINING_EFFICIENCY = {"float32": 0.9, "bfloat16": 0.35}


def estimated_training_seconds(model, images, rate_gflops, dtype="float32"):
    """Rough seconds to train ``model`` on ``images`` images (all epochs, validation included).

    ``rate_gflops`` is :func:`matmul_rate` in ``dtype``, the dtype the convolutions compute in.

    A training step costs about three forward passes (forward, and the two
    products of the backward pass); validation adds one forward pass per
    validation image, counted here as a quarter of the training images.
    """
    flops = forward_flops(model) * images * (3 + 0.25)
    return flops / (rate_gflops * 1e9 * TRAINING_EFFICIENCY[dtype])
