"""How many epochs a laptop run needs to reach its result, epoch by epoch (issue 16, lesson 7).

Trains the demo's run (a profile's synthetic tiles, the seed's recipe) for
``--epochs`` epochs with early stopping switched off, and after every epoch
scores the model on the run's **test** tiles (the demo's figure: Dice summed
over the test set, threshold 0.5) and records the validation scores and the
wall-clock time. It prints one JSON object: the per-epoch rows, the first
epoch whose test Dice reaches ``--target`` (the demo's 0.75), and the epoch at
which each stopping rule (the seed's patience 3 on the validation loss, and a
stop once the validation Dice has gained less than ``min_delta`` for
``patience`` epochs) would have ended the run, with the test Dice the
restored best weights would then have::

    python benchmarks/bench_epochs_to_result.py                    # the laptop demo
    python benchmarks/bench_epochs_to_result.py --tiles 300 --epochs 10
    python benchmarks/bench_epochs_to_result.py --data tiles:../shared/real_tiles --target 0.5

The test tiles are only scored, never used to choose anything inside the run.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace

import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="laptop")
    parser.add_argument("--data", default=None, help="a load_data source (default: the profile's)")
    parser.add_argument("--tiles", type=int, default=None, help="synthetic tiles (default: the profile's)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--target", type=float, default=0.75, help="test Dice to reach (default 0.75)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--schedule", choices=("seed", "constant", "short"), default="seed",
                        help="the seed's ExponentialDecay, a constant rate, or 'short': the seed's decay "
                             "sped up to end at a fifth of its start, as the seed's 50 epochs did")
    parser.add_argument("--learning-rate", type=float, default=None, help="starting rate (default 1e-3)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the profile's (8)")
    parser.add_argument("--numpy", action="store_true",
                        help="feed float32 numpy arrays, the seed's way (default: make_dataset)")
    return parser.parse_args(argv)


def stop_epoch(values, patience, lower_is_better, min_delta=0.0):
    """The epoch (1-based) after which Keras' ``EarlyStopping`` would stop, and its best epoch."""
    best, best_epoch, wait = None, 0, 0
    for epoch, value in enumerate(values, start=1):
        better = best is None or ((best - value) if lower_is_better else (value - best)) > min_delta
        if better:
            best, best_epoch, wait = value, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, best_epoch
    return len(values), best_epoch


def main(argv=None):
    args = parse_args(argv)
    import unet_course
    from unet_course.backend import keras
    from unet_course.data import load_data, make_dataset
    from unet_course.evaluate import predict_probabilities, score_predictions
    from unet_course.train import compiled_unet

    prof = unet_course.profile(args.profile)
    prof = replace(prof, **{k: v for k, v in (("n_tiles", args.tiles), ("seed", args.seed),
                                                ("batch_size", args.batch_size)) if v})
    splits = load_data(args.data or prof.data, prof)
    model = compiled_unet(prof, learning_rate=args.learning_rate)
    if args.schedule != "seed":
        import math

        from unet_course.losses import get_loss
        from unet_course.metrics import dataset_metrics
        from unet_course.train import learning_rate_schedule
        rate = args.learning_rate or 1e-3
        if args.schedule == "short":
            steps = -(-len(splits.train) // prof.batch_size) * args.epochs
            rate = learning_rate_schedule(rate, max(1, round(steps * math.log(0.9) / math.log(0.2))))
        model.compile(optimizer=keras.optimizers.Adam(rate), loss=get_loss("bce_dice"),
                      metrics=dataset_metrics())
    if args.numpy:
        def arrays(tiles):
            return tiles.images.astype(np.float32) / np.float32(255.0), tiles.masks[..., None].astype(np.float32)
        fit_data = dict(zip(("x", "y"), arrays(splits.train)), batch_size=prof.batch_size, shuffle=True)
        val_ds = arrays(splits.validation)
    else:
        fit_data = {"x": make_dataset(splits.train, prof.batch_size, shuffle=True, seed=prof.seed)}
        val_ds = make_dataset(splits.validation, prof.batch_size, shuffle=False)
    rows, start = [], time.perf_counter()

    class Score(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            probs = predict_probabilities(self.model, splits.test, prof.batch_size)
            test = score_predictions(splits.test.masks, probs)
            rows.append({"epoch": epoch + 1, "seconds": round(time.perf_counter() - start, 1),
                         "val_loss": round(float(logs["val_loss"]), 4),
                         "val_dice": round(float(logs["val_dice"]), 4),
                         "test_dice": round(float(test["dice"]), 4)})
            print(json.dumps(rows[-1]), flush=True)

    model.fit(**fit_data, validation_data=val_ds, epochs=args.epochs, verbose=0, callbacks=[Score()])
    test = [row["test_dice"] for row in rows]
    reached = next((row["epoch"] for row in rows if row["test_dice"] >= args.target), None)
    rules = {}
    for name, key, patience, lower, delta in (
            ("seed: val_loss, patience 3", "val_loss", 3, True, 0.0),
            ("val_loss, patience 2", "val_loss", 2, True, 0.0),
            ("val_dice gains < 0.01 for 2 epochs", "val_dice", 2, False, 0.01),
            ("val_dice gains < 0.005 for 2 epochs", "val_dice", 2, False, 0.005)):
        stopped, best = stop_epoch([row[key] for row in rows], patience, lower, delta)
        rules[name] = {"stops_after_epoch": stopped, "best_epoch": best,
                       "test_dice_of_best": test[best - 1], "seconds": rows[stopped - 1]["seconds"]}
    result = {
        "benchmark": "epochs to the result", "profile": prof.name, "data": args.data or prof.data,
        "tiles": {"train": len(splits.train), "validation": len(splits.validation), "test": len(splits.test)},
        "schedule": args.schedule, "learning_rate": args.learning_rate or 1e-3,
        "batch_size": prof.batch_size, "inputs": "numpy" if args.numpy else "tf.data",
        "policy": model.layers[1].dtype_policy.name, "seed": prof.seed, "target_test_dice": args.target,
        "first_epoch_reaching_target": reached, "rows": rows, "stopping_rules": rules,
        "machine": f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the end",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
