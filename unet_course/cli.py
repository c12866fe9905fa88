"""The ``unet-course`` command: ``demo``, ``train`` and ``evaluate`` (lessons 7 and 8).

::

    unet-course demo [--out DIR] [--profile smoke|laptop|full]
    unet-course train --data synthetic|tiles:PATH|massachusetts:PATH --profile P --out DIR [--resume]
    unet-course evaluate --data ... --profile P --out DIR
    unet-course download [--dest DIR] [--manifest FILE] [--base-url URL]
    unet-course predict IMAGE.tif [IMAGE2.tif ...] --weights RUN/best.keras --out DIR [--overwrite]
    unet-course evaluate-footprints PRED TRUTH [--out DIR]
    unet-course autograde ASSIGNMENT [--course-dir DIR] [--workers N | --scheduler ADDRESS] ...
    unet-course info [--profile P] [--retune]
    unet-course similarity ASSIGNMENT [--course-dir DIR] [--out DIR] [--threshold T]
    unet-course export --format canvas|moodle|blackboard | extend ASSIGNMENT STUDENT | report

``demo`` trains on synthetic tiles and evaluates on their test split, writing
``DIR/metrics.json``, ``DIR/curves.png``, ``DIR/error_maps.png`` and
``DIR/probability_maps.png`` next to the run's ``best.keras``,
``history.csv`` and ``run.json``; run again, it resumes or reuses that run.
``train`` never overwrites a run: ``--resume`` continues one that was
interrupted. ``evaluate`` scores ``DIR/best.keras`` on the test split.
``download`` fetches the official Massachusetts Buildings files (resuming,
checking sizes and checksums) into the layout ``massachusetts:DIR`` reads.
``predict`` and ``evaluate-footprints`` (lesson 10) live in
:mod:`unet_course.footprints.commands`.
``info`` prints the way this machine trains and predicts a profile's run,
and the measured figures behind it (``--retune`` measures again).
``autograde`` grades a class with nbgrader, sandboxed and in parallel
(``unet_course.grading.autograde.command``, registered as an entry point);
``similarity`` reports how alike the class's graded functions are
(``unet_course.grading.similarity_report``, another entry point).
``export``, ``extend`` and ``report`` follow it (``unet_course.grading.commands``).

Wrong arguments print the usage and exit with status 2; bad data, a missing
model or an existing run print one line ``error: ...`` and exit with status 1.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from unet_course.accelerator import PRECISIONS
from unet_course.footprints.commands import add_footprint_commands
from unet_course.profiles import PROFILES
from unet_course.recipes import RECIPES
from unet_course.validate import whole_number

SOURCES = ("synthetic", "tiles:PATH", "massachusetts:PATH")


class CommandError(Exception):
    """A problem the user can fix, reported as one line ``error: ...`` (exit status 1)."""


def data_source(text):
    """Check a ``--data`` value: ``synthetic``, ``tiles:PATH`` or ``massachusetts:PATH``."""
    kind, _, path = text.partition(":")
    if text == "synthetic" or (kind in ("tiles", "massachusetts") and path):
        return text
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(SOURCES)}, got {text!r}")


def positive_int(text):
    """Check an integer argument that must be 1 or more (the message is argparse's usage line)."""
    try:
        return whole_number(int(text), "the value")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}") from None


def _common(parser, out_required=True, data_default=None):
    parser.add_argument("--data", type=data_source, default=data_default, metavar="SOURCE",
                        help=f"{', '.join(SOURCES)} (default: the profile's, synthetic)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default=None,
                        help="sizes and epochs (default: $UNET_COURSE_PROFILE or laptop)")
    parser.add_argument("--out", type=Path, required=out_required, default=None if out_required
                        else Path("runs/demo"), metavar="DIR", help="the run folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _training_options(parser):
    parser.add_argument("--epochs", type=positive_int, help="most epochs (default: the profile's)")
    parser.add_argument("--patience", type=positive_int,
                        help="early-stopping patience (default: the profile's, 3)")
    parser.add_argument("--precision", choices=("auto", *PRECISIONS), default="auto",
                        help="dtype policy (default auto: the machine's fastest, see docs/performance.md)")
    parser.add_argument("--xla", choices=("auto", "on", "off"), default="auto",
                        help="compile the training step with XLA (default auto: measured on a CPU, on a GPU)")
    parser.add_argument("--retune", action="store_true",
                        help="measure again which way trains fastest here (default: the cached choice)")
    _recipe_option(parser)


def _recipe_option(parser):
    parser.add_argument("--recipe", choices=list(RECIPES), default="seed",
                        help="seed (default: the seed's recipe) or best-laptop (see docs/real-data.md)")


def build_parser():
    """The argument parser of ``unet-course`` (lesson 7 shows its ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="unet-course", description="Building footprints from aerial tiles with a U-Net.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser("demo", help="train and evaluate on synthetic tiles")
    _common(demo, out_required=False, data_default="synthetic")
    _training_options(demo)
    train = commands.add_parser("train", help="train a U-Net (never overwrites a run)")
    _common(train)
    _training_options(train)
    train.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    evaluate = commands.add_parser("evaluate", help="score DIR/best.keras on the test tiles")
    _common(evaluate)
    evaluate.add_argument("--threshold", type=float, default=0.5,
                          help="probability above which a pixel is building (default 0.5)")
    _recipe_option(evaluate)
    download = commands.add_parser(
        "download", help="fetch the official Massachusetts Buildings data set (about 1.5 GB)")
    download.add_argument("--dest", type=Path, default=Path("data/cache/massachusetts"),
                          metavar="DIR", help="where to put it (default: data/cache/massachusetts)")
    download.add_argument("--manifest", type=Path, default=None, metavar="FILE",
                          help="the file list (default: data/massachusetts_manifest.json)")
    download.add_argument("--base-url", default=None, metavar="URL",
                          help="a mirror instead of the manifest's official address")
    info = commands.add_parser("info", help="what this machine trains and predicts with, and why")
    info.add_argument("--profile", choices=sorted(PROFILES), default=None,
                      help="the run size to report (default: $UNET_COURSE_PROFILE or laptop)")
    info.add_argument("--retune", action="store_true", help="measure the ways to train again now")
    COMMANDS.update(add_footprint_commands(commands))
    for name, module in plugin_commands().items():
        module.add_parser(commands)
    return parser


def plugin_commands():
    """Commands that other layers of the package register, by name: ``{name: module}``.

    The core never imports grading/: ``unet-course autograde`` is declared in
    ``pyproject.toml`` as an entry point of the group ``unet_course.commands``,
    and each such module has ``add_parser(subparsers)`` and ``run(args)``.
    """
    from importlib.metadata import entry_points

    return {entry.name: entry.load() for entry in entry_points(group="unet_course.commands")}


def _profile(args):
    """The chosen profile, with --epochs and --patience applied."""
    from dataclasses import replace

    from unet_course.profiles import profile

    prof = profile(getattr(args, "profile", None))
    changes = {key: getattr(args, key, None) for key in ("epochs", "patience")}
    return replace(prof, **{key: value for key, value in changes.items() if value})


def _train(args, prof, splits, source, resume):
    from unet_course.train import train_unet

    # Progress bars on a terminal; one line per epoch into a log file or a pipe.
    verbose = 0 if args.quiet else ("auto" if sys.stdout.isatty() else 2)
    return train_unet(prof, args.out, data=splits, resume=resume, source=source, verbose=verbose,
                      precision=args.precision, xla=args.xla, retune=args.retune, recipe=args.recipe,
                      epochs=getattr(args, "epochs", None))  # --epochs wins over the recipe's


def _save_figures(out, test, probs, worst):
    """curves.png (when there is a history), error_maps.png, probability_maps.png."""
    from unet_course import viz

    figures = {
        "error_maps.png": viz.plot_error_maps(test, probs, indices=worst),
        "probability_maps.png": viz.plot_probability_maps(test, probs, n=4),
    }
    if (out / "history.csv").is_file():
        figures["curves.png"] = viz.plot_training_curves(out / "history.csv")
    for name, fig in figures.items():
        fig.savefig(out / name, dpi=100)
    return sorted(figures)


def _report(args, prof, source, model, test, start, threshold=0.5):
    """Evaluate on the test tiles, write metrics.json and the figures, print the table."""
    from unet_course import evaluate
    from unet_course.recipes import predict_with_recipe

    probs = predict_with_recipe(args.recipe, model, test, batch_size=prof.batch_size)
    metrics = evaluate.score_predictions(test.masks, probs, threshold)
    # The worst tiles that have buildings; tiles without any score Dice 0 for one false pixel.
    worst = evaluate.worst_tiles(test.masks, probs, k=4, threshold=threshold, with_buildings=True)
    if not len(worst):
        worst = evaluate.worst_tiles(test.masks, probs, k=4, threshold=threshold)
    dice = evaluate.tile_dice(test.masks, probs, threshold)
    figures = _save_figures(args.out, test, probs, worst)
    metrics.update(
        seconds=round(time.perf_counter() - start, 2), profile=prof.name, data=source,
        threshold=threshold, test_tiles=len(test), seed_results=evaluate.SEED_RESULTS,
        worst_tiles=[{"name": test.names[i], "dice": float(dice[i])} for i in worst],
    )
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"\nTest tiles: {len(test)} ({source}, profile {prof.name})")
    print(evaluate.metrics_table(metrics))
    print(f"\nWrote {args.out / 'metrics.json'} and {', '.join(figures)} in {args.out}")
    return metrics


def run_demo(args):
    """``unet-course demo``: train (or resume) and evaluate in one go."""
    from unet_course.data import load_data
    from unet_course.recipes import data_profile, recipe_splits

    start, prof = time.perf_counter(), args.prof
    print(f"unet-course demo: profile {prof.name} ({prof.image_size} px, base {prof.base_filters} "
          f"filters, up to {prof.epochs} epochs), data {args.data}, output {args.out}")
    splits = load_data(args.data, data_profile(args.recipe, prof))
    result = _train(args, prof, splits, args.data, resume=True)
    splits = recipe_splits(args.recipe, splits, prof)
    _report(args, prof, args.data, result.model, splits.test, start)
    return 0


def run_train(args):
    """``unet-course train``: one training run into ``--out``."""
    from unet_course.data import load_data
    from unet_course.recipes import data_profile
    from unet_course.rundir import check_run_dir

    prof = args.prof
    check_run_dir(args.out, prof, args.resume)
    source = args.data or prof.data
    result = _train(args, prof, load_data(source, data_profile(args.recipe, prof)), source,
                    resume=args.resume)
    info = result.metadata
    print(f"Trained {info['epochs_run']} epochs in {info.get('seconds', 0):.0f} s; best epoch "
          f"{info.get('best_epoch')}; model in {args.out / 'best.keras'}")
    return 0


def run_evaluate(args):
    """``unet-course evaluate``: score ``--out/best.keras`` on the test split."""
    from unet_course.data import load_data
    from unet_course.recipes import data_profile, recipe_splits
    from unet_course.evaluate import load_trained_model

    start, prof = time.perf_counter(), args.prof
    model = load_trained_model(args.out)
    size = model.input_shape[1]
    if size != prof.image_size:
        raise CommandError(
            f"the model in {args.out} takes {size}x{size} tiles but profile {prof.name!r} makes "
            f"{prof.image_size}x{prof.image_size} ones; pass the --profile it was trained with")
    source = args.data or prof.data
    splits = recipe_splits(args.recipe, load_data(source, data_profile(args.recipe, prof)), prof)
    _report(args, prof, source + (f" -- {splits.note}" if splits.note else ""), model, splits.test,
            start, args.threshold)
    return 0


def run_download(args):
    """``unet-course download``: the official files, then the command that trains on them."""
    from unet_course.data import download_massachusetts

    dest = download_massachusetts(args.dest, manifest=args.manifest, base_url=args.base_url)
    print(f"Downloaded into {dest}; train on it with:\n"
          f"  unet-course train --data massachusetts:{dest} --profile full --out runs/massachusetts")
    return 0


def run_info(args):
    """``unet-course info``: the machine, the way it trains the profile's run and why, the cache."""
    from unet_course.accelerator import cpu_flags, inference_policy
    from unet_course.backend import tf
    from unet_course.train import run_accelerator
    from unet_course.tuning import WAYS

    prof = args.prof
    accel = run_accelerator(prof, retune=args.retune)
    flags = sorted(cpu_flags() & {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "fma"})

    print(f"machine: {accel['device']}; flags that matter: {', '.join(flags) or 'none'}; "
          f"TensorFlow {tf.__version__}")
    print(f"profile {prof.name}: {prof.image_size} px, base {prof.base_filters} filters, batch {prof.batch_size}")
    way = WAYS[accel["way"]].description if accel["way"] else f"{accel['policy']}, XLA {'on' if accel['jit_compile'] else 'off'}"
    print(f"trains with: {way}")
    print(f"  why: {accel['reason']}")
    measured = accel["measurement"]
    if measured:
        print(f"  measured {measured['measured_at']} in {measured['cost_seconds']} s; cache {measured['cache']}")
        for name, figures in measured["figures"].items():
            steps = sorted(figures["step_seconds"])
            print(f"  {name:<9} {steps[len(steps) // 2]:.3f} s per step of {prof.batch_size} "
                  f"(min {steps[0]:.3f}, max {steps[-1]:.3f}); trace {figures['trace_seconds']:.1f} s; "
                  f"this run's {measured['run_steps']} steps: about "
                  f"{measured['projected_run_seconds'][name] / 60:.1f} min")
        for name, why in measured["left_out"].items():
            print(f"  {name:<9} not measured: {why}")
    elif not prof.measure_speed:
        print(f"  not measured: the {prof.name} profile's steps are too short to be worth it")
    print(f"predicts with: {inference_policy(prof.image_size, prof.base_filters, prof.batch_size)} "
          "(the training choice's precision, without XLA; $UNET_COURSE_PRECISION forces it)")
    return 0


COMMANDS = {"demo": run_demo, "train": run_train, "evaluate": run_evaluate,
            "download": run_download, "info": run_info}


def main(argv=None):
    """Run ``unet-course`` with ``argv`` (default: the command line); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    plugins = plugin_commands()
    if args.command in plugins:
        return plugins[args.command].run(args)
    try:
        args.prof = _profile(args)
    except ValueError as error:  # a bad $UNET_COURSE_PROFILE
        parser.error(str(error))
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")
    from unet_course.data import DatasetError
    from unet_course.footprints import FootprintError
    from unet_course.train import TrainingDiverged

    try:
        return COMMANDS[args.command](args)
    except (CommandError, DatasetError, FootprintError, TrainingDiverged, FileExistsError,
            FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.command in ("predict", "evaluate-footprints"):
            again = "--resume" if args.command == "predict" else "--overwrite"
            print("\ninterrupted; finished files are complete, none is half-written: run it "
                  f"again with {again}", file=sys.stderr)
            return 130
        again = {"demo": f"demo --out {getattr(args, 'out', '')}",
                 "download": f"download --dest {getattr(args, 'dest', '')}"}.get(
            args.command, f"{args.command} --resume --out {getattr(args, 'out', '')}")
        print(f"\ninterrupted; run `unet-course {again}` to continue", file=sys.stderr)
        return 130
