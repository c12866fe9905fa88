"""Real multi-epoch fits: the seed's numpy arrays against float32 through tf.data, interleaved.

At the laptop size (352 tiles, 44 steps an epoch), each way trains ``--epochs`` epochs in one call of
``fit``, as a run does, ``--repeats`` times, the ways in turn. So the numpy path's set-up at each call
of ``fit`` is paid once per call, not once per 8 steps as in ``bench_training.py``. This is the
figure behind leaving float32 through tf.data out of :func:`unet_course.tuning.candidate_ways`.
It prints one JSON object: each way's epoch times, their median and fastest, the ratio of each pair of epochs,
the device and the load average.

::

    python benchmarks/bench_input_paths.py
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

from unet_course.accelerator import _default_build, configure_accelerator
from unet_course.backend import keras
from unet_course.data import make_dataset, synthetic_tiles

BATCH = 8


class EpochTimer(keras.callbacks.Callback):
    """Appends each epoch's duration to ``.seconds``."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=352, help="training tiles (default 352: the laptop run's)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per call of fit (default 3)")
    parser.add_argument("--repeats", type=int, default=2, help="calls of fit per way (default 2)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    tiles = synthetic_tiles(args.tiles, size=128, seed=42)
    x = tiles.images.astype(np.float32) / np.float32(255.0)
    y = tiles.masks[..., None].astype(np.float32)
    dataset = make_dataset(tiles, batch_size=BATCH, shuffle=True, seed=42)
    fits = {"seed": lambda m, n, cb: m.fit(x, y, batch_size=BATCH, epochs=n, shuffle=True, verbose=0, callbacks=cb),
            "float32": lambda m, n, cb: m.fit(dataset, epochs=n, verbose=0, callbacks=cb)}
    build = _default_build(128, 16)
    models = {name: build("float32", False) for name in fits}
    for name, fit in fits.items():
        fit(models[name], 1, [])                    # traces the step
    epochs = {name: [] for name in fits}
    for _ in range(args.repeats):
        for name, fit in fits.items():
            timer = EpochTimer()
            fit(models[name], args.epochs, [timer])
            epochs[name] += timer.seconds
    result = {name: {"epoch_seconds": [round(s, 2) for s in e], "median": round(statistics.median(e), 2),
                     "fastest": round(min(e), 2)}      # other work only adds time: the way's own speed
              for name, e in epochs.items()}
    result["seed_over_float32_epoch_seconds"] = [round(a / b, 3) for a, b in zip(epochs["seed"], epochs["float32"])]
    result.update(device=configure_accelerator(128)["device"],
                  load_average={"before": [round(v, 1) for v in load_before],
                                "after": [round(v, 1) for v in os.getloadavg()]})
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
