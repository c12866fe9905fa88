"""Pieces of ``unet-course autograde`` that need no kernel: the probe's verdicts, restoring cells, limits."""
from __future__ import annotations

import hmac
import json

import nbformat
import pytest

from unet_course.grading.autograde.integrity import Probe
from unet_course.grading.autograde.limits import Limits, limit_line, prlimit_argv
from unet_course.grading.autograde.worker import read_notebook, restore


def _answer(probe, challenge, report, key=None):
    mac = hmac.new(key or probe.key, (challenge + "\n" + report).encode(), "sha256").hexdigest()
    probe.answer_path.write_text(mac + "\n" + report)


def test_probe_accepts_only_a_signed_empty_report(tmp_path):
    probe = Probe(tmp_path, "a1_data_imbalance")
    challenge, source = probe.challenge()
    assert challenge in source and "sys" in source
    assert "no answer" in probe.verdict(challenge)
    _answer(probe, challenge, "")
    assert probe.verdict(challenge) is None
    _answer(probe, challenge, "builtins.print\nnumpy.array_equal")
    assert probe.verdict(challenge) == "changed: builtins.print, numpy.array_equal"
    _answer(probe, challenge, "", key=b"x" * 32)                  # not the hook's key
    assert "interfered" in probe.verdict(challenge)
    fresh, _ = probe.challenge()
    _answer(probe, challenge, "")                                  # an old answer, replayed
    assert "interfered" in probe.verdict(fresh)


def test_prelude_hands_over_the_key_by_a_file(tmp_path):
    probe = Probe(tmp_path, "a1_data_imbalance")
    source = probe.prelude()
    assert probe.key_path.read_bytes() == probe.key
    assert probe.key.hex() not in source and str(probe.key_path) in source
    compile(source, "<prelude>", "exec")


def _meta(grade_id, grade=False, locked=False, solution=False, points=0):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "solution": solution,
            "task": False, "schema_version": 3}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


MASTER = [
    {"name": "setup", "cell_type": "code", "locked": True, "source": "import numpy as np",
     "checksum": "a", "grade": False, "points": 0.0, "solution": False, "task": False},
    {"name": "f", "cell_type": "code", "locked": False, "source": "def f():\n    raise NotImplementedError()",
     "checksum": "b", "grade": False, "points": 0.0, "solution": True, "task": False},
    {"name": "test_f", "cell_type": "code", "locked": True,
     "source": "assert f() == 1\n### BEGIN HIDDEN TESTS\nassert f() + 1 == 2\n### END HIDDEN TESTS",
     "checksum": "c", "grade": True, "points": 2.0, "solution": False, "task": False},
]


def _submission(test_source="assert f() == 1", test_type="code", drop_test=False):
    cells = [nbformat.v4.new_code_cell("import numpy as np", metadata=_meta("setup", locked=True)),
             nbformat.v4.new_code_cell("def f():\n    return 1", metadata=_meta("f", solution=True))]
    if not drop_test:
        maker = nbformat.v4.new_code_cell if test_type == "code" else nbformat.v4.new_markdown_cell
        cells.append(maker(test_source, metadata=_meta("test_f", grade=True, locked=True, points=99)))
    return nbformat.v4.new_notebook(cells=cells)


def test_restore_runs_the_gradebooks_test_code():
    nb = _submission()
    assert restore(nb, MASTER) == []                         # as released: nothing to say
    assert nb.cells[2].source == MASTER[2]["source"]          # hidden tests back in
    assert nb.cells[2].metadata["nbgrader"]["points"] == 2.0  # points from the gradebook
    assert nb.cells[1].source == "def f():\n    return 1"     # the student's answer stays


@pytest.mark.parametrize("kwargs, words", [
    ({"test_source": "pass"}, "had been edited"),
    ({"test_type": "markdown"}, "changed back"),
    ({"drop_test": True}, "was missing"),
])
def test_restore_undoes_each_change(kwargs, words):
    nb = _submission(**kwargs)
    notes = restore(nb, MASTER)
    assert len(notes) == 1 and words in notes[0]
    cell = nb.cells[2]
    assert cell.cell_type == "code" and cell.source == MASTER[2]["source"]
    assert cell.metadata["nbgrader"]["grade"] is True


def test_unknown_grade_ids_lose_their_metadata():
    nb = _submission()
    nb.cells.append(nbformat.v4.new_code_cell("pass", metadata=_meta("free_points", grade=True, points=50)))
    restore(nb, MASTER)
    assert "nbgrader" not in nb.cells[-1].metadata


def test_a_copied_test_cell_is_graded_once():
    """A test cell pasted above its answer: the last copy is graded, the other runs as ordinary code."""
    nb = _submission()
    nb.cells.insert(1, nbformat.from_dict(nb.cells[2]))
    notes = restore(nb, MASTER)
    graded = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded == [3] and len(notes) == 1 and "appeared 2 times: the last copy was graded" in notes[0]


@pytest.mark.parametrize("meta, noted", [({"grade": True, "points": 50}, True),
                                         ({"grade": True, "grade_id": 7, "points": 5}, True),
                                         ({"grade": True, "grade_id": "test_x", "points": 5}, True),
                                         ("yes", False), ({}, False), ({"solution": True}, False)])
def test_malformed_nbgrader_metadata_makes_an_ordinary_cell(meta, noted):
    nb = _submission()
    nb.cells.insert(2, nbformat.v4.new_code_cell("pass", metadata={"nbgrader": meta}))
    notes = restore(nb, MASTER)
    assert "nbgrader" not in nb.cells[2].metadata
    what = "had a grade_id not in the gradebook" if noted and isinstance(meta.get("grade_id"), str) \
        else "had no grade_id"
    assert notes == ([f"Cell 3 as submitted was marked as graded but {what}: it ran as an ordinary cell and "
                      f"earns nothing."] if noted else [])


def test_many_cells_marked_graded_make_one_line():
    nb = _submission()
    for _ in range(8):
        nb.cells.append(nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {"grade": True, "points": 9}}))
    notes = restore(nb, MASTER)
    assert notes == ["Cells 4, 5, 6, 7, 8 and 3 more as submitted were marked as graded but had no grade_id: "
                     "they ran as ordinary cells and earn nothing."]


def test_a_test_cell_moved_above_its_answer_is_moved_back():
    nb = _submission()
    nb.cells.insert(1, nb.cells.pop(2))
    notes = restore(nb, MASTER)
    assert [c.metadata["nbgrader"]["grade_id"] for c in nb.cells] == ["setup", "f", "test_f"]
    assert notes == ["The test cell test_f had been moved before f, which comes first in the assignment; "
                     "it was moved back after it."]


def test_cell_ids_missing_duplicated_or_invalid_are_repaired():
    raw = json.loads(nbformat.writes(_submission()))
    raw["cells"][0].pop("id")
    raw["cells"][1]["id"] = "not valid!"
    raw["cells"].append({"cell_type": "markdown", "id": raw["cells"][2]["id"], "metadata": {}, "source": "x"})
    nb, note = read_notebook(json.dumps(raw).encode(), "a1.ipynb")
    assert nb is not None and note == "3 cell ids were missing, duplicated or invalid; new ones were given."
    assert len({c.id for c in nb.cells}) == 4
    assert read_notebook(nbformat.writes(_submission()).encode(), "a1.ipynb")[1] is None


@pytest.mark.parametrize("data, words", [(b"\x89PNG\x00", "not text"), (b"{\"cells\": [", "not valid notebook JSON"),
                                         (b"[1, 2]", "not valid notebook JSON")])
def test_files_that_are_not_notebooks(data, words):
    nb, why = read_notebook(data, "a1.ipynb")
    assert nb is None and why.startswith("a1.ipynb is not a notebook") and words in why


def test_limits():
    limits = Limits(cell_timeout=5, memory_mb=100)
    argv = prlimit_argv(limits)
    assert argv[0].endswith("prlimit") and argv[1] == f"--as={100 << 20}"
    assert limit_line("cell", limits, 3) == ("Cell 3 was interrupted at the cell time limit (5 s); "
                                             "grading went on with the next cell.")
    assert limit_line("memory", limits, [4, 9]).startswith("Cells 4 and 9 ran out of memory (the limit is 100 MB)")
    assert limit_line("output", limits, range(1, 9)).startswith("Cells 1, 2, 3, 4, 5 and 3 more printed more")
    with pytest.raises(ValueError, match="--cell-timeout must be a whole number"):
        Limits(cell_timeout=0)


@pytest.mark.sandbox
def test_a_read_only_folder_under_tmp_stays_visible_in_the_sandbox(tmp_path, monkeypatch):
    """A checkout or an environment under /tmp (a CI clone) must not vanish under the private /tmp."""
    import subprocess

    from unet_course.grading.autograde import sandbox

    package = tmp_path / "checkout"
    package.mkdir()
    (package / "marker.txt").write_text("visible")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    paths = sandbox.read_only_paths()
    monkeypatch.setattr(sandbox, "read_only_paths", lambda: [*paths, str(package)])
    argv = sandbox.sandbox_argv([scratch], scratch, {"PATH": "/usr/bin:/bin"})
    done = subprocess.run([*argv, "cat", str(package / "marker.txt")], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0 and done.stdout == "visible", done.stderr
    assert argv.index("--tmpfs") < argv.index("--ro-bind")


def _fake_dev(folder, names):
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    return str(folder)


def test_one_gpu_is_handed_to_the_sandbox(tmp_path):
    """An index binds that GPU and the driver's control devices, never another GPU."""
    from unet_course.grading.autograde.sandbox import _gpu_devices

    dev = _fake_dev(tmp_path, ["nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-caps/x"])
    assert _gpu_devices("1", dev) == [f"{dev}/nvidia1", f"{dev}/nvidiactl", f"{dev}/nvidia-uvm"]
    assert _gpu_devices("7", dev) == [f"{dev}/nvidiactl", f"{dev}/nvidia-uvm"]
    assert _gpu_devices("all", dev) == [f"{dev}/nvidia0", f"{dev}/nvidia1", f"{dev}/nvidiactl",
                                        f"{dev}/nvidia-uvm"]


def test_the_kernel_sees_only_its_gpu(tmp_path):
    """CUDA_VISIBLE_DEVICES: empty without a GPU, the index with one, left alone for "all"."""
    from unet_course.grading.autograde.sandbox import kernel_env

    assert kernel_env(tmp_path)["CUDA_VISIBLE_DEVICES"] == ""
    assert kernel_env(tmp_path, "1")["CUDA_VISIBLE_DEVICES"] == "1"
    assert "CUDA_VISIBLE_DEVICES" not in kernel_env(tmp_path, "all")


@pytest.mark.parametrize("env, gpus, expected", [
    ({}, ["0", "1"], "0"),                                  # --gpus, outside a Dask worker: the first
    ({"CUDA_VISIBLE_DEVICES": "2"}, None, "2"),              # Slurm's --gres=gpu:1
    ({"CUDA_VISIBLE_DEVICES": "0,1"}, None, None),           # several: not one per worker, so none
    ({"CUDA_VISIBLE_DEVICES": ""}, None, None),
    ({"NVIDIA_VISIBLE_DEVICES": "GPU-4f1c"}, None, "all"),   # a pod given its GPU by the NVIDIA runtime
    ({"NVIDIA_VISIBLE_DEVICES": "void"}, None, None),
    ({}, None, None),
])
def test_which_gpu_a_worker_hands_on(monkeypatch, env, gpus, expected):
    from unet_course.grading.autograde.worker import _gpu

    for name in ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _gpu({"gpus": gpus}) == expected


def _message(kind, display_id=None, **content):
    if display_id:
        content["transient"] = {"display_id": display_id}
    return {"msg_type": kind, "header": {"msg_type": kind}, "parent_header": {"msg_id": "m"},
            "metadata": {}, "content": content}


def _capped_client(cells, limit=10_000):
    from unet_course.grading.autograde.execute import _Client

    client = _Client(nbformat.v4.new_notebook(cells=cells))
    client.output_limit = limit
    client.start_notebook()
    client.reset(5)
    client.clear_before_next_output = False   # as nbclient sets it before each cell
    client.floods = []
    client.on_flood = lambda: client.floods.append(True)   # the kernel would be interrupted
    return client


def test_every_kind_of_output_counts_towards_the_cap():
    """JSON bundles, results, display updates (once per output rewritten) and errors all count."""
    cell = nbformat.v4.new_code_cell("x")
    client = _capped_client([cell])
    bundle = {"application/json": {"k": ["v" * 100] * 20}}                     # about 2 KB as JSON
    for kind in ("display_data", "execute_result"):
        client.process_message(_message(kind, data=bundle, metadata={}, execution_count=1), cell, 0)
    client.process_message(_message("display_data", "d", data={"text/plain": "a"}, metadata={}), cell, 0)
    client.process_message(_message("display_data", "d", data={"text/plain": "a"}, metadata={}), cell, 0)
    assert client.cut is None and 4000 < client.kept < 5000
    update = _message("update_display_data", "d", data={"text/plain": "u" * 1500}, metadata={})
    client.process_message(update, cell, 0)                                    # two outputs rewritten
    assert client.cut is None and client.kept > 7000
    client.process_message(update, cell, 0)                                    # 3 KB more: over 10 KB
    assert client.cut == "output" and cell.outputs[-1].text.endswith("[output cut here: more than 9 KB in one cell]\n")
    kept = len(cell.outputs)
    client.process_message(_message("stream", name="stdout", text="more"), cell, 0)
    assert client.floods == []
    client.process_message(_message("error", ename="ValueError", evalue="v" * 10**6, traceback=["t"] * 100),
                           cell, 0)
    assert len(cell.outputs) == kept + 1 and cell.outputs[-1].output_type == "error"   # one error, shortened
    assert len(cell.outputs[-1].evalue) == 2000 and len(cell.outputs[-1].traceback) == 5
    assert client.floods == [True]            # a megabyte past a 10 KB cap: the cell is stopped, once
    client.process_message(_message("stream", name="stdout", text="z" * 10**5), cell, 0)
    assert client.floods == [True]


def test_past_the_notebooks_cap_only_test_cells_keep_an_error():
    from nbgrader import utils

    cells = [nbformat.v4.new_code_cell("print()") for _ in range(9)] + _submission().cells[2:]
    client = _capped_client(cells)
    for index in range(9):
        client.reset(5)
        client.process_message(_message("stream", name="stdout", text="z" * 9_000), cells[index], index)
    assert client.cut == "notebook-output" and "reached 78 KB" in cells[8].outputs[-1].text
    for index in (0, 9):   # an ordinary cell and the test cell
        client.reset(5)
        client.process_message(_message("error", ename="AssertionError", evalue="no", traceback=[]),
                               cells[index], index)
    assert cells[0].outputs[-1].output_type == "stream"
    assert cells[9].outputs[-1].output_type == "error" and utils.determine_grade(cells[9])[0] == 0
