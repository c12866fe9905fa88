"""Measuring which way trains fastest on this machine, and remembering it (lesson 7).

A *way* is a precision policy, XLA on or off, and how the tiles reach
``model.fit`` (:data:`WAYS`). The seed's own way, float32 numpy arrays into
``fit``, is always one of them, so the choice is never slower than the seed
by more than the noise of the measurement. On first use for a run size on a
machine, :func:`measure_ways` builds one model per way at the run's size,
runs one untimed step of it (the trace), then times ``steps`` training steps
of every way, ``rounds`` times, interleaved; :func:`select_way` keeps the way
that would finish the whole run soonest (its fastest step times the run's
steps, plus XLA's compile), the seed's way unless another is faster by more
than :data:`MARGIN`. The choice and its figures go
into ``accelerator.json`` in the user's cache folder (``$XDG_CACHE_HOME`` or
``~/.cache``, under ``unet-course/``; ``UNET_COURSE_CACHE_DIR`` replaces the
folder), keyed by :func:`machine_key`: CPU model and flags, cores, GPUs,
TensorFlow version and the run's size. ``--retune`` measures again.

What each way costs to find out: building its model, a trace of the training
step (one untimed step) and ``rounds * steps`` timed steps on noise tiles. The
run then trains the chosen way's model (:func:`unet_course.train.compiled_unet`
gives it the run's own starting weights and a fresh optimizer), so the chosen
way's build and trace are not spent twice; what the measurement adds is the
other ways' builds and traces and the timed steps. On a CPU without native
bfloat16 only the seed's way is timed (float32 through tf.data is the same
arithmetic, and was never faster): its 6 timed steps are the whole cost.

The cost, measured side by side (``python benchmarks/bench_training.py
--first-use 5``: 5 pairs of whole 1-epoch laptop runs, interleaved, one from an
empty cache, one reading the cache) on a 2-core AMD EPYC with native bfloat16
(seed and bfloat16 measured), shared with other work: at load average
2.7-3.8 (``--first-use 3``), **net extra 10.6 s median (7.9-10.8 s)**, the
measurement itself 12.8-13.5 s; at load 7.5-8, net extra 27.5 s median
(11.4-52.8 s), the measurement 35-47 s. The traces are most of it (3.6-4.7 s
each when the machine is quiet, several times that under load); a step is
0.1-0.3 s. On a CPU without native bfloat16 only the seed's way is timed:
6.4 s in all at load 3 (``bench_training.py --no-bf16``), of which the run
keeps the build and the trace. Before the run trained the traced
model and the trace step was cut to one, it took 39-46 s at load 8-12, all of
it extra. XLA compiles for about 30 s, so it is measured only for runs long
enough to pay that back (:data:`XLA_MIN_RUN_SECONDS`). Thread-pool sizes are not
among the ways: they are fixed once TensorFlow has started, so a run cannot try
them on itself.
"""
from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Way", "WAYS", "SEED_WAY", "candidate_ways", "measure_ways", "select_way",
           "carry_over", "machine_key", "cache_path", "read_cache", "write_cache", "cached_measurement", "remember"]

CACHE_ENV = "UNET_COURSE_CACHE_DIR"
CACHE_FILE = "accelerator.json"
#: Another way must beat the seed's projected run time by this fraction to be chosen.
MARGIN = 0.03
#: XLA is measured only when the run, at the best other way's speed, would take this long.
XLA_MIN_RUN_SECONDS = 600.0


@dataclass(frozen=True)
class Way:
    """One way to train: ``policy`` (Keras dtype policy), ``jit`` (XLA), ``inputs``
    (``"numpy"``: float32 arrays into ``fit``, the seed's; ``"tf.data"``: ``make_dataset``)."""

    policy: str
    jit: bool
    inputs: str
    description: str


WAYS = {
    "seed": Way("float32", False, "numpy", "the seed's: float32 numpy arrays into fit, float32 through oneDNN"),
    "float32": Way("float32", False, "tf.data", "float32 through oneDNN, tiles from tf.data"),
    "bfloat16": Way("mixed_bfloat16", False, "tf.data", "mixed bfloat16 through oneDNN (native), tf.data"),
    "xla": Way("float32", True, "tf.data", "float32 compiled by XLA, tf.data"),
}
SEED_WAY = "seed"
NATIVE_BF16 = {"avx512_bf16", "amx_bf16"}


def candidate_ways(cpu_flags, long_run=False):
    """The ways worth measuring on this CPU, and why each other one is left out.

    Always the seed's. With native bfloat16, bfloat16 through tf.data. XLA
    only for a long run. Float32 through tf.data never: it is the seed's
    arithmetic, the same convolutions, through another input path, and it was
    no faster than the seed's arrays: the same step times (0.22-0.24 s at the
    laptop size), and in real 3-epoch fits, interleaved, a fastest epoch of
    5.45 and 5.76 s against the seed's 5.33 and 5.63 s in two runs
    (``benchmarks/bench_input_paths.py``; the pairs' ratios, median 1.01 and
    0.97, spread 0.5-1.8 with other work), on the bfloat16 machine with bfloat16 left out
    (``benchmarks/bench_training.py`` shows it faster by the wall clock only
    because it calls ``fit`` once per 8 steps and the seed's arrays pay a
    set-up at each call, which a run pays once); an augmenting run, which
    needs tf.data, takes it with the seed's figures. Each way measured costs one
    trace of the training step, so the list is kept short; on a CPU without
    native bfloat16 only the seed's way is timed, which costs its few steps:
    the run trains the model the measurement traced.

    Returns ``(names, left_out)``: a list of :data:`WAYS` keys, the seed's
    first, and ``{name: reason}``.

    Examples
    --------
    >>> candidate_ways({"avx2"})[0]
    ['seed']
    >>> candidate_ways({"avx512_bf16"}, long_run=True)[0]
    ['seed', 'bfloat16', 'xla']
    """
    names = [SEED_WAY]
    left_out = {"float32": ("the seed's arithmetic through tf.data: the same convolutions, measured no "
                            "faster than the seed's arrays (an augmenting run takes it, with the seed's figures)")}
    if NATIVE_BF16 & set(cpu_flags):
        names.append("bfloat16")
    else:
        left_out["bfloat16"] = "this CPU has no native bfloat16 (avx512_bf16, amx_bf16): emulated, it is slower"
    if long_run:
        names.append("xla")
    else:
        left_out["xla"] = (f"the run is shorter than {XLA_MIN_RUN_SECONDS / 60:.0f} min: XLA's compile "
                           "(about 30 s on a laptop CPU) would not pay for itself")
    return names, left_out


def _noise_tiles(n, size, seed=0):
    """``n`` random tiles of ``size`` px: the content does not change the speed of a step."""
    import numpy as np

    from unet_course.data import TileSet

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    masks = (rng.random((n, size, size)) < 0.15).astype(np.uint8)
    return TileSet(images, masks, [f"noise_{i}" for i in range(n)], np.zeros((n, 2)))


def _fitters(tiles, batch_size, callbacks):
    """``{inputs: fit(model)}``: one epoch over ``tiles`` the numpy way and the tf.data way."""
    import numpy as np

    from unet_course.data import make_dataset

    x = tiles.images.astype(np.float32) / np.float32(255.0)
    y = tiles.masks[..., None].astype(np.float32)
    dataset = make_dataset(tiles, batch_size=batch_size, shuffle=True, seed=0)
    return {
        "numpy": lambda m: m.fit(x, y, batch_size=batch_size, epochs=1, shuffle=True, verbose=0,
                                 callbacks=callbacks),
        "tf.data": lambda m: m.fit(dataset, epochs=1, shuffle=False, verbose=0, callbacks=callbacks),
    }


def _step_timer(clock):
    """A callback that appends the duration of every training step (input included) to ``.times``."""
    from unet_course.backend import keras

    class StepTimer(keras.callbacks.Callback):
        times = []

        def on_train_batch_begin(self, batch, logs=None):
            self.start = clock()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(clock() - self.start)

    return StepTimer()


def measure_ways(names, build, image_size, batch_size, steps=3, rounds=2, clock=time.perf_counter,
                 traced=None):
    """Time ``steps`` training steps of each way, ``rounds`` times interleaved (lesson 7).

    Each way first runs one untimed step: it traces the model's training step
    for its inputs (XLA: compiles it). Then ``rounds`` epochs of each way run
    in turn (way 1, way 2, ..., way 1, ...), so a machine that slows down
    slows every way alike; every step is timed from Keras' batch begin to its
    end (the input pipeline included, the set-up of the epoch not: it happens
    once per epoch of a real run).

    Parameters
    ----------
    names : list of str
        Keys of :data:`WAYS` (:func:`candidate_ways`).
    build : callable
        ``build(policy, jit)`` returns a compiled model of the run's size.
    image_size, batch_size : int
        The run's tile side and batch size.
    traced : dict, optional
        Filled with ``{name: model}``: the traced models, so that the run can
        train the chosen one instead of tracing a new one
        (:func:`unet_course.train.compiled_unet` gives it the run's own
        starting weights and a fresh optimizer).

    Returns
    -------
    dict
        ``{name: {"step_seconds": [...], "trace_seconds": s}}``. Each way has
        its own model: one model fed both ways would trace again at every switch.
    """
    timer = _step_timer(clock)
    fit = _fitters(_noise_tiles(steps * batch_size, image_size), batch_size, [timer])
    trace = _fitters(_noise_tiles(batch_size, image_size, seed=1), batch_size, [])   # one step
    models, figures = {}, {}
    for name in names:
        way = WAYS[name]
        start = clock()
        models[name] = build(way.policy, way.jit)
        trace[way.inputs](models[name])
        figures[name] = {"step_seconds": [], "trace_seconds": round(clock() - start, 2)}
    for _ in range(rounds):
        for name in names:
            way = WAYS[name]
            timer.times.clear()
            fit[way.inputs](models[name])
            figures[name]["step_seconds"] += [round(t, 4) for t in timer.times]
    for name, f in figures.items():   # the untimed step was also a step: keep only the trace
        f["trace_seconds"] = round(max(0.0, f["trace_seconds"] - statistics.median(f["step_seconds"])), 2)
    if traced is not None:
        traced.update(models)
    return figures


def select_way(figures, run_steps, margin=MARGIN, numpy_inputs=True):
    """The way that would finish a run of ``run_steps`` steps soonest, and why (a pure function).

    A way is compared by its fastest step: on a shared machine other work only
    ever adds time, so the fastest of several steps is the way's own speed.
    Its run time is that step time times ``run_steps``, plus, for XLA, what it
    spent compiling beyond the cheapest trace. The seed's way is kept unless
    another way's time is lower by more than ``margin`` of the seed's. The
    projection returned, what the run should take, uses the median step. ``numpy_inputs=False`` (a run that augments
    inside tf.data) leaves the numpy ways out: the seed's becomes float32 through
    tf.data, with the seed's figures unless float32 has its own.

    Returns ``(name, projected_seconds, reason)``.

    Examples
    --------
    >>> figures = {"seed": {"step_seconds": [1.0, 1.1, 0.9], "trace_seconds": 5},
    ...            "bfloat16": {"step_seconds": [0.6, 0.7, 0.5], "trace_seconds": 6}}
    >>> select_way(figures, 100)[0]
    'bfloat16'
    """
    if not numpy_inputs:     # the seed's arithmetic through tf.data, with the seed's figures if not its own
        figures = {**({"float32": figures[SEED_WAY]} if SEED_WAY in figures else {}),
                   **{n: f for n, f in figures.items() if WAYS[n].inputs != "numpy"}}
    if not figures:
        raise ValueError("select_way needs the figures of at least one way")
    cheapest_trace = min(f["trace_seconds"] for f in figures.values())

    def run_seconds(name, step):
        extra = figures[name]["trace_seconds"] - cheapest_trace if WAYS[name].jit else 0.0
        return step(figures[name]["step_seconds"]) * run_steps + extra

    fastest = {name: run_seconds(name, min) for name in figures}
    best = min(fastest, key=fastest.get)
    base = SEED_WAY if SEED_WAY in fastest else "float32" if "float32" in fastest else best
    if best != base and fastest[best] > (1 - margin) * fastest[base]:
        best = base
    reason = f"measured fastest: {WAYS[best].description}"
    if best != base:
        reason += f", {fastest[base] / fastest[best]:.2f}x the {base} way over this run's {run_steps} steps"
    elif len(fastest) > 1:
        reason += f" (no other way was more than {margin:.0%} faster over this run's {run_steps} steps)"
    projected = {name: round(run_seconds(name, statistics.median), 1) for name in figures}
    return best, projected, reason


# --- the cache --------------------------------------------------------------------


def cpu_model(cpuinfo="/proc/cpuinfo"):
    """The CPU's model name (Linux), or the platform's description."""
    import platform

    try:
        for line in Path(cpuinfo).read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_key(cpu, flags, cores, gpus, tensorflow, image_size, filters, batch_size):
    """The cache key of a measurement: ``(hex digest, the dict it digests)``; any change measures again."""
    described = {"cpu": cpu, "flags": sorted(flags), "cores": cores, "gpus": list(gpus),
                 "tensorflow": tensorflow, "image_size": image_size, "filters": filters,
                 "batch_size": batch_size}
    digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]
    return digest, described


def cache_path():
    """``accelerator.json`` in the user's cache folder (``$UNET_COURSE_CACHE_DIR``, else XDG's)."""
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "unet-course"
    return Path(folder) / CACHE_FILE


def read_cache(path=None, say=print):
    """The cached choices ``{key: entry}``; an unreadable file is reported in one line and ignored."""
    path = Path(path or cache_path())
    if not path.is_file():
        return {}
    try:
        entries = json.loads(path.read_text())
        if not isinstance(entries, dict) or not all(_valid(e) for e in entries.values()):
            raise ValueError("not a table of measurements")
        return entries
    except (OSError, ValueError) as error:
        say(f"note: the accelerator cache {path} is unreadable ({type(error).__name__}); measuring again")
        return {}


def _valid(entry):
    """An entry holds figures of known ways, each with its step times and trace time."""
    figures = entry.get("figures") if isinstance(entry, dict) else None
    return isinstance(figures, dict) and figures and all(
        name in WAYS and isinstance(f, dict) and f.get("step_seconds")
        and all(isinstance(t, (int, float)) and t > 0 for t in f["step_seconds"])
        and isinstance(f.get("trace_seconds"), (int, float)) for name, f in figures.items())


def write_cache(entries, path=None):
    """Write ``entries`` whole (a temporary file, then renamed: never half-written)."""
    path = Path(path or cache_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")
    partial.replace(path)
    return path


def cached_measurement(key, path=None, say=print):
    """The measurement cached under ``key``, or None."""
    return read_cache(path, say).get(key)


def remember(key, entry, path=None):
    """Add or replace one entry of the cache; the others are kept (an unreadable file is replaced)."""
    entries = read_cache(path, say=lambda _: None)
    entries[key] = entry
    return write_cache(entries, path)


def carry_over(fresh, traced):
    """``traced`` holding ``fresh``'s state: its weights, dropout seeds and a fresh optimizer.

    The first run of a size on a machine trains the model its measurement
    traced (lesson 7), and with this it trains exactly as it would have
    trained ``fresh``. A model of another structure is not touched:
    ``fresh`` is returned.
    """
    def layout(model):
        return (tuple(model.input_shape), [type(layer).__name__ for layer in model.layers],
                [tuple(v.shape) for v in model.variables])

    if layout(fresh) != layout(traced) or fresh.dtype_policy.name != traced.dtype_policy.name:
        return fresh
    fresh.optimizer.build(fresh.trainable_variables)
    for target, value in zip(traced.variables + traced.optimizer.variables,
                             fresh.variables + fresh.optimizer.variables):
        target.assign(value)
    return traced
