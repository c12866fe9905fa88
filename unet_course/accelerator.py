"""Choosing the fastest correct way to train on this machine: precision and XLA (lesson 7).

The seed trained in float32 without XLA, as Keras does by default on a CPU.
``benchmarks/bench_training.py`` measures the choices side by side; the rule
below is what it justified on the machines we measured (the README's
performance section gives the figures):

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
import platform
from pathlib import Path

__all__ = ["PRECISIONS", "cpu_flags", "choose_settings", "configure_accelerator", "forward_flops",
           "matmul_rate", "estimated_training_seconds"]

PRECISION_ENV = "UNET_COURSE_PRECISION"
XLA_ENV = "UNET_COURSE_XLA"
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
NATIVE_BF16 = {"avx512_bf16", "amx_bf16"}
#: Smallest tile side at which bfloat16 is chosen on a CPU.
BF16_MIN_SIZE = 128


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


def configure_accelerator(image_size=256, precision=None, xla=None):
    """What this machine should train a run of ``image_size`` px tiles with (lesson 7).

    Returns :func:`choose_settings`'s dict plus ``device`` (a description) and
    ``gpus``. The Keras policy is not changed here: :func:`unet_course.train.compiled_unet`
    builds the model under ``policy`` and restores the global one.
    """
    from unet_course.backend import tf

    gpus = tf.config.list_physical_devices("GPU")
    capability, device = None, f"CPU {platform.processor() or platform.machine()} ({os.cpu_count()} cores)"
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        capability = tuple(details.get("compute_capability") or (0, 0))
        device = (f"{len(gpus)} x {details.get('device_name', 'GPU')} "
                  f"(compute capability {capability[0]}.{capability[1]})")
    settings = choose_settings(len(gpus), capability, cpu_flags(), image_size, precision, xla)
    return {"device": device, "gpus": len(gpus), **settings}


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
