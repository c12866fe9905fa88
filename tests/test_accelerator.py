"""Choosing the way to train by measuring it: selection, cache, retune, inference (issue 16)."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import unet_course
from unet_course import accelerator, tuning

ALL = {"avx512_bf16", "avx2"}


def figures(**median_steps):
    """Figures as :func:`tuning.measure_ways` returns them: three steps around each median."""
    return {name: {"step_seconds": [s * 1.1, s, s * 0.9], "trace_seconds": 5.0 + (30 if name == "xla" else 0)}
            for name, s in median_steps.items()}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder, and a fake measurement that counts its calls and returns set figures."""
    monkeypatch.setenv(tuning.CACHE_ENV, str(tmp_path))
    for name in (accelerator.PRECISION_ENV, accelerator.XLA_ENV):
        monkeypatch.delenv(name, raising=False)
    calls = []

    def measure(names, build, image_size, batch_size, **_):
        calls.append(list(names))
        table = {"seed": 1.0, "float32": 0.98, "bfloat16": 0.5, "xla": 0.4}
        return figures(**{name: table[name] for name in names})

    monkeypatch.setattr(tuning, "measure_ways", measure)
    return tmp_path / tuning.CACHE_FILE, calls


def choose(size=64, **options):
    options.setdefault("flags", ALL)
    options.setdefault("run_steps", 100)
    return accelerator.configure_accelerator(size, filters=4, batch_size=8, say=lambda _: None, **options)


# --- selection, a pure function -------------------------------------------------------


def test_the_fastest_way_over_the_run_wins():
    way, projected, reason = tuning.select_way(figures(seed=1.0, float32=0.9, bfloat16=0.5), 100)
    assert way == "bfloat16" and projected == {"seed": 100.0, "float32": 90.0, "bfloat16": 50.0}
    assert "2.00x the seed way over this run's 100 steps" in reason


def test_ways_are_compared_by_their_fastest_step():
    noisy = {"seed": {"step_seconds": [1.0, 1.0, 1.0], "trace_seconds": 5.0},
             "bfloat16": {"step_seconds": [0.6, 3.0, 2.5], "trace_seconds": 5.0}}   # slowed by other work
    way, projected, _ = tuning.select_way(noisy, 100)
    assert way == "bfloat16" and projected == {"seed": 100.0, "bfloat16": 250.0}


def test_the_seed_way_stays_unless_another_is_clearly_faster():
    assert tuning.select_way(figures(seed=1.0, float32=0.98), 100)[0] == "seed"        # 2 %: noise
    assert tuning.select_way(figures(seed=1.0, float32=0.96), 100)[0] == "float32"     # 4 %
    assert "no other way was more than 3% faster" in tuning.select_way(figures(seed=1.0, float32=0.99), 10)[2]


def test_xla_pays_for_its_compile_only_in_a_long_run():
    table = figures(seed=1.0, xla=0.8)                        # 30 s more to compile, 20 % faster
    assert tuning.select_way(table, 100)[0] == "seed"         # 100 s against 80 + 30 s
    assert tuning.select_way(table, 1000)[0] == "xla"         # 1000 s against 800 + 30 s


def test_augmenting_runs_cannot_take_arrays():
    assert tuning.select_way(figures(seed=0.5, float32=1.0), 10, numpy_inputs=False)[0] == "float32"
    only_seed = tuning.select_way(figures(seed=0.5), 10, numpy_inputs=False)   # tf.data with the seed's figures
    assert only_seed[:2] == ("float32", {"float32": 5.0})
    with pytest.raises(ValueError, match="at least one way"):
        tuning.select_way({}, 10)


def test_candidates_follow_the_cpu_and_the_run_length():
    names, left_out = tuning.candidate_ways({"avx2", "fma"})
    assert names == ["seed"] and "no native bfloat16" in left_out["bfloat16"]    # only the seed's steps
    assert "would not pay for itself" in left_out["xla"] and "same convolutions" in left_out["float32"]
    names, left_out = tuning.candidate_ways({"amx_bf16"}, long_run=True)
    assert names == ["seed", "bfloat16", "xla"] and list(left_out) == ["float32"]


def test_the_key_changes_with_the_machine_and_the_run_size():
    args = dict(cpu="AMD EPYC", flags={"avx2", "fma"}, cores=2, gpus=[], tensorflow="2.21.0",
                image_size=128, filters=16, batch_size=8)
    key, described = tuning.machine_key(**args)
    assert described["flags"] == ["avx2", "fma"] and len(key) == 16
    assert tuning.machine_key(**{**args, "flags": ["fma", "avx2"]})[0] == key           # order does not matter
    for change in ({"cpu": "Intel"}, {"flags": {"avx2"}}, {"cores": 8}, {"tensorflow": "2.22.0"},
                   {"image_size": 256}, {"filters": 32}, {"batch_size": 4}, {"gpus": ["H100"]}):
        assert tuning.machine_key(**{**args, **change})[0] != key, change


# --- measured once, then cached ---------------------------------------------------------


def test_measured_on_first_use_then_read_from_the_cache(cache):
    path, calls = cache
    first = choose()
    assert calls == [["seed", "bfloat16"]]
    assert (first["way"], first["policy"], first["inputs"], first["jit_compile"]) == (
        "bfloat16", "mixed_bfloat16", "tf.data", False)
    assert first["measurement"]["cache"] == str(path) and first["measurement"]["figures"]["seed"]
    assert "measured fastest" in first["reason"] and json.loads(path.read_text())
    again = choose()
    assert calls == [["seed", "bfloat16"]] and again["way"] == "bfloat16"
    assert again["measurement"]["figures"] == first["measurement"]["figures"]


def test_retune_and_a_new_run_size_measure_again(cache):
    path, calls = cache
    choose()
    choose(retune=True)
    choose(size=128)
    assert len(calls) == 3 and len(json.loads(path.read_text())) == 2     # one entry per run size
    choose(flags={"avx2"})                                                 # another CPU: no bfloat16
    assert calls[-1] == ["seed"] and choose(flags={"avx2"})["way"] == "seed"


def test_a_corrupted_cache_is_reported_in_one_line_and_measured_again(cache):
    path, calls = cache
    path.write_text("{not json")
    lines = []
    accel = accelerator.configure_accelerator(64, filters=4, flags=ALL, say=lines.append)
    assert len(calls) == 1 and accel["way"] == "bfloat16"
    assert lines[0] == f"note: the accelerator cache {path} is unreadable (JSONDecodeError); measuring again"
    assert json.loads(path.read_text())                                    # replaced by a good one
    path.write_text(json.dumps({"k": {"figures": {"seed": {"step_seconds": [-1], "trace_seconds": 1}}}}))
    choose()
    assert len(calls) == 2


def test_a_long_run_adds_xla_to_the_measurement(cache):
    _, calls = cache
    assert choose(run_steps=100)["way"] == "bfloat16"                      # 50 s: xla not worth measuring
    long_run = choose(run_steps=5000)                                      # 2500 s at bfloat16's speed
    assert calls == [["seed", "bfloat16"], ["xla"]]
    assert long_run["way"] == "xla" and long_run["jit_compile"] is True
    assert long_run["measurement"]["xla_measured"] and "xla" not in long_run["measurement"]["left_out"]


def test_forcing_or_no_run_size_uses_the_rule(cache):
    _, calls = cache
    forced = choose(precision="float32")
    assert forced["reason"].startswith("forced") and forced["measurement"] is None
    assert accelerator.configure_accelerator(128, flags=ALL)["way"] is None
    assert calls == []


def test_the_smoke_profile_never_measures(cache):
    from unet_course.train import run_accelerator
    assert run_accelerator(unet_course.profile("smoke"))["measurement"] is None
    assert cache[1] == []


@pytest.mark.slow
def test_a_real_measurement_of_a_tiny_unet():
    """The real thing, at 16 px and base 2: a way traced, its steps timed, and chosen (one trace, ~5 s)."""
    traced = {}
    got = tuning.measure_ways(["seed"], accelerator._default_build(16, 2), 16, 2, steps=2, rounds=1, traced=traced)
    assert set(got) == set(traced) == {"seed"} and traced["seed"].optimizer.iterations.numpy() == 3
    for f in got.values():
        assert len(f["step_seconds"]) == 2 and all(t > 0 for t in f["step_seconds"]) and f["trace_seconds"] >= 0
    assert tuning.select_way(got, 50)[0] in got


# --- inference uses the same choice ---------------------------------------------------------


def test_inference_runs_in_the_chosen_policy_with_the_same_weights(monkeypatch):
    from unet_course.backend import keras
    from unet_course.model import build_unet

    keras.utils.set_random_seed(1)
    model = build_unet((32, 32, 3), filters=2)
    monkeypatch.setenv(accelerator.PRECISION_ENV, "float32")
    assert accelerator.inference_model(model) is model
    monkeypatch.setenv(accelerator.PRECISION_ENV, "mixed_bfloat16")
    twin = accelerator.inference_model(model)
    assert twin is not model and twin.layers[1].dtype_policy.name == "mixed_bfloat16"
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0), atol=0.03)
    model.layers[1].kernel.assign(model.layers[1].kernel * 0)             # the twin follows the weights
    assert accelerator.inference_model(model) is twin
    np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0), atol=0.03)
    other = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(1, 1)])
    assert accelerator.inference_model(other) is other                    # not the course's U-Net


def test_inference_follows_the_cached_measurement(cache):
    choose(size=64, flags=None)
    entry = next(iter(json.loads(cache[0].read_text()).values()))
    best = tuning.select_way({n: f for n, f in entry["figures"].items() if n != "xla"}, 1000)[0]
    assert accelerator.inference_policy(64, 4) == tuning.WAYS[best].policy


# --- unet-course info ---------------------------------------------------------------------


def test_info_says_what_this_machine_uses_and_why(cache, capsys):
    from unet_course.cli import main

    assert main(["info", "--profile", "smoke"]) == 0
    smoke = capsys.readouterr().out
    assert "profile smoke: 64 px" in smoke and "why: CPU" in smoke and "not measured: the smoke profile" in smoke
    assert main(["info", "--profile", "laptop"]) == 0
    laptop = capsys.readouterr().out
    assert len(cache[1]) == 1 and "trains with:" in laptop and "why: measured fastest" in laptop
    assert "s per step of 8" in laptop and f"cache {cache[0]}" in laptop and "predicts with:" in laptop
    assert main(["info", "--profile", "laptop", "--retune"]) == 0 and len(cache[1]) == 2
