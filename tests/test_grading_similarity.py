"""The similarity report: normalisation, winnowing, reading broken notebooks, and a class of 26.

No kernel runs: the report only reads notebooks. The class is built by
``tests/_similarity_class.py`` from the release and solution notebooks of
assignment 1.
"""
from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from _similarity_class import (APPROACHES, ASSIGNMENT, BODIES, FUNCTIONS, approach, make_class,
                               make_course, pasted_reference, solution_sources, submit)
from unet_course import cli
from unet_course.grading.similarity import (K, WINDOW, containment, definitions, fingerprints,
                                            jaccard, kgram_hashes, reference_source,
                                            source_definition, winnow)
from unet_course.grading.similarity_report import (COLUMNS, MIN_TOKENS, NBGRADER_DEFAULTS, REFERENCE,
                                                   THRESHOLD, course_folders, graded_references,
                                                   submission_cells)

WEIGHT = '''
def positive_class_weight(masks):
    """Background pixels per building pixel."""
    masks = np.asarray(masks)
    buildings = np.count_nonzero(masks)
    if buildings == 0:
        raise ValueError("the masks hold no building pixel")
    return (masks.size - buildings) / buildings
'''

WEIGHT_DISGUISED = '''
def class_weight(m):   # renamed, reformatted, other comments and docstring
    # first the array
    m = np.asarray(
        m
    )
    n_b = np.count_nonzero(m)  # buildings
    if n_b == 0: raise ValueError('nothing to weigh')
    # then the ratio
    return ((m.size - n_b)
            / n_b)
'''


def prints(source):
    return source_definition(source).fingerprints


# -- normalisation ---------------------------------------------------------------------------------

def test_renaming_reformatting_and_comments_leave_the_tokens_unchanged():
    assert normalised_tokens_of(WEIGHT) == normalised_tokens_of(WEIGHT_DISGUISED)
    assert prints(WEIGHT) == prints(WEIGHT_DISGUISED)
    assert jaccard(prints(WEIGHT), prints(WEIGHT_DISGUISED)) == 1.0


def normalised_tokens_of(source):
    return source_definition(source).tokens


def test_moved_comments_and_docstrings_do_not_count():
    moved = WEIGHT.replace('    """Background pixels per building pixel."""\n',
                           "    # the docstring went away, a comment came\n")
    moved = moved.replace("    return", "    # comment before the return\n    return")
    assert normalised_tokens_of(moved) == normalised_tokens_of(WEIGHT)


def test_literals_are_placeholders_and_aliases_are_the_modules_they_name():
    other_literals = WEIGHT.replace("== 0", "== 1").replace('"the masks hold no building pixel"', "'x'")
    assert normalised_tokens_of(other_literals) == normalised_tokens_of(WEIGHT)
    other_alias = "import numpy as xp\n" + WEIGHT.replace("np.", "xp.")
    assert normalised_tokens_of("import numpy as np\n" + WEIGHT) == normalised_tokens_of(other_alias)
    assert "numpy" in normalised_tokens_of(other_alias)


def test_names_from_outside_and_operators_still_count():
    """Only the names a function binds become V: other calls, attributes and operators differ."""
    assert normalised_tokens_of(WEIGHT.replace("count_nonzero", "sum")) != normalised_tokens_of(WEIGHT)
    assert normalised_tokens_of(WEIGHT.replace("/ buildings", "* buildings")) != \
        normalised_tokens_of(WEIGHT)
    tokens = normalised_tokens_of(WEIGHT)
    assert ".count_nonzero" in tokens and "masks" not in tokens and "buildings" not in tokens


def test_unrelated_code_scores_low():
    split = solution_sources()["spatial_block_split"]
    assert jaccard(prints(WEIGHT), prints(split)) < 0.1
    for number in range(1, len(BODIES["positive_class_weight"]) + 1):
        other = prints(approach("positive_class_weight", number))
        assert jaccard(prints(WEIGHT), other) < 0.4, number


def test_an_edited_copy_stays_above_the_threshold_and_a_padded_one_is_contained():
    split = solution_sources()["spatial_block_split"]
    edited = split.replace("dealt, current = 0, 0", "dealt = 0\n    current = 0")
    assert edited != split
    assert THRESHOLD < jaccard(prints(split), prints(edited)) < 1.0
    padded = WEIGHT + "    extra = np.zeros(3)\n    print(extra.sum(), masks.shape)\n    return extra\n"
    assert containment(prints(WEIGHT), prints(padded)) == 1.0 > jaccard(prints(WEIGHT), prints(padded))


def test_a_class_keeps_its_method_names():
    metric = '''
class DatasetDice(keras.metrics.Metric):
    def update_state(self, y_true, y_pred, sample_weight=None):
        total = ops.sum(y_true * y_pred)
        self.tp.assign_add(total)
'''
    tokens = normalised_tokens_of(metric)
    assert tokens.count("V") >= 6 and ".assign_add" in tokens
    renamed = metric.replace("total", "t").replace("self", "me")
    assert normalised_tokens_of(renamed) == tokens


def test_deep_nesting_does_not_exhaust_the_recursion_limit():
    """2500 nested additions parse, and are walked without recursion (the limit is 1000 frames)."""
    deep = "def f(x):\n    return " + " + ".join(["x"] * 2500) + "\n"
    assert len(normalised_tokens_of(deep)) > 5000


@pytest.mark.parametrize("path", ["unet_course.data.tiles.binarize_label",
                                  "unet_course.data.tiles.TileSet.building_fraction",
                                  "unet_course.data.splits.spatial_block_split",
                                  "unet_course.grading.similarity.dataclass"])  # imported: the fallback
def test_reference_source_is_what_inspect_reads(path):
    import inspect
    import pkgutil
    import textwrap

    assert reference_source(path)[0] == textwrap.dedent(inspect.getsource(pkgutil.resolve_name(path)))


# -- hashing and winnowing -------------------------------------------------------------------------

def brute_force_winnow(hashes, window):
    """The definition: in every window, the minimum hash at its rightmost position."""
    window = min(window, len(hashes))
    chosen = set()
    for start in range(len(hashes) - window + 1):
        part = hashes[start:start + window]
        low = min(part)
        position = start + max(i for i, value in enumerate(part) if value == low)
        chosen.add((position, low))
    return chosen


def test_winnowing_matches_the_brute_force_definition():
    rng = random.Random(0)
    for trial in range(300):
        hashes = [rng.randrange(8 if trial % 2 else 1 << 30) for _ in range(rng.randrange(1, 60))]
        window = rng.randrange(1, 9)
        assert winnow(hashes, window) == brute_force_winnow(hashes, window), (hashes, window)
    assert winnow([], 4) == set()


def test_a_common_run_of_window_plus_k_minus_one_tokens_shares_a_fingerprint():
    rng = random.Random(1)
    words = [f"t{i}" for i in range(40)]
    for _ in range(100):
        common = [rng.choice(words) for _ in range(WINDOW + K - 1)]
        a = [rng.choice(words) for _ in range(rng.randrange(30))] + common
        b = common + [rng.choice(words) for _ in range(rng.randrange(30))]
        assert fingerprints(a) & fingerprints(b)


def test_kgram_hashes_are_stable_and_per_kgram():
    tokens = ["Assign", "V", "Call", "numpy", ".asarray", "V", "Return"]
    hashes = kgram_hashes(tokens, k=3)
    assert len(hashes) == len(tokens) - 2
    assert hashes[1] != hashes[2] and kgram_hashes(tokens[1:4], k=3) == [hashes[1]]
    # BLAKE2b, not Python's salted hash(): the same in every process and on every machine.
    assert kgram_hashes(["a", "b"], k=2) == [int.from_bytes(
        __import__("hashlib").blake2b(b"a\x1fb", digest_size=8).digest(), "big")]


def test_scores_of_empty_and_disjoint_sets():
    assert containment(frozenset(), frozenset({1})) == 0.0 == jaccard(frozenset(), frozenset())
    assert containment(frozenset({1, 2}), frozenset({1, 2, 3, 4})) == 1.0
    assert jaccard(frozenset({1, 2}), frozenset({1, 2, 3, 4})) == 0.5


# -- reading definitions from cells ----------------------------------------------------------------

def cells(*sources, grade_ids=None):
    return [(f"cell {i}", source, (grade_ids or {}).get(i)) for i, source in enumerate(sources)]


def test_a_syntax_error_elsewhere_in_the_cell_does_not_hide_a_function():
    broken = "%matplotlib inline\n" + WEIGHT + "\ndef other(:\n    pass\n\nx = 1\n"
    found = definitions(cells(broken), ["positive_class_weight", "other"])
    definition, note = found["positive_class_weight"]
    assert definition.tokens == normalised_tokens_of(WEIGHT) and note == ""
    assert found["other"][0] is None
    assert found["other"][1] == "other does not parse (cell 0, line 11: invalid syntax)"


def test_missing_renamed_aliased_and_redefined_functions_get_notes():
    renamed = WEIGHT.replace("def positive_class_weight", "def weight_of_buildings")
    found = definitions(cells("x = 1", renamed, "def helper(m):\n    return m\nbinarize_label = helper",
                              "def building_fraction(m):\n    return 0\n",
                              "def building_fraction(m):\n    return float(np.mean(m))\n",
                              grade_ids={1: "positive_class_weight"}),
                        ["positive_class_weight", "binarize_label", "building_fraction",
                         "spatial_block_split"])
    weight, note = found["positive_class_weight"]
    assert note == "defined as weight_of_buildings instead of positive_class_weight"
    assert weight.tokens == normalised_tokens_of(WEIGHT)
    assert found["binarize_label"][1] == "defined as helper instead of binarize_label"
    assert found["building_fraction"][0].where == "cell 4"  # the last definition, as in a kernel
    assert found["spatial_block_split"] == (None, "no definition of spatial_block_split")


@pytest.mark.parametrize("source", ["def f(x):\n    return x\x00\n", "def f(:\n", "((((" * 100,
                                    "def f(x):\n    return " + "(" * 300 + "x" + ")" * 300,
                                    "def f(x):\n    return " + " + ".join(["x"] * 20000)])
def test_hostile_sources_give_notes_not_exceptions(source):
    assert definitions(cells(source), ["f"])["f"][0] is None


def test_submission_files_that_are_not_notebooks_get_notes(tmp_path):
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    (tmp_path / "list.ipynb").write_text("[1, 2]")
    (tmp_path / "answers.txt").write_text("see notebook")
    (tmp_path / "script.py").write_text(WEIGHT)
    (tmp_path / "link.ipynb").symlink_to("/etc/hostname")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "old.ipynb").write_text("{}")
    (tmp_path / "timestamp.txt").write_text("2026-12-04")
    found, notes = submission_cells(tmp_path)
    assert [label for label, _, _ in found] == ["script.py"]
    assert notes == ["answers.txt is not a notebook: not read",
                     "broken.ipynb is not a readable notebook (Expecting value: line 1 column 12 (char 11))",
                     "link.ipynb is a link or a special file: not read",
                     "list.ipynb has no list of cells: not a notebook of nbformat 4"]
    assert submission_cells(tmp_path / "empty-does-not-exist") == ([], ["no notebook in the submission"])


# -- a class of assignment 1 -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """A course of 26 submissions of assignment 1 and the report ``unet-course similarity`` wrote."""
    course = tmp_path_factory.mktemp("similarity") / "course"
    make_class(course)
    status = cli.main(["similarity", ASSIGNMENT, "--course-dir", str(course), "--quiet"])
    out = course / "reports" / "similarity" / ASSIGNMENT
    with (out / "similarity.csv").open(newline="") as file:
        rows = list(csv.reader(file))
    return {"status": status, "out": out, "header": rows[0], "rows": rows[1:],
            "html": (out / "index.html").read_text()}


def _choice(student, function):
    """The approach a student took to a function (the odd ones took the solution's, if any)."""
    if student == REFERENCE:
        return "R"
    if student.startswith("odd-"):
        return 0
    return APPROACHES[student][FUNCTIONS.index(function)]


def test_the_csv_has_exactly_its_columns_and_every_pair_once(graded_class):
    assert graded_class["status"] == 0
    assert tuple(graded_class["header"]) == COLUMNS == (
        "function", "student_a", "student_b", "score", "flagged")
    rows = graded_class["rows"]
    assert {r[0] for r in rows} == set(FUNCTIONS)
    assert all(0.0 <= float(r[3]) <= 1.0 and r[4] in ("true", "false") for r in rows)
    pairs = [(r[0], *sorted(r[1:3])) for r in rows]
    assert len(pairs) == len(set(pairs))
    compared = {f: {s for r in rows if r[0] == f for s in r[1:3]} - {REFERENCE} for f in FUNCTIONS}
    everyone = set(APPROACHES) | {"odd-syntax", "odd-renamed"}
    assert compared["building_fraction"] == everyone
    assert compared["binarize_label"] == everyone - {"odd-syntax"}
    assert compared["spatial_block_split"] == everyone - {"odd-renamed"}
    for function, students in compared.items():
        assert len([r for r in rows if r[0] == function]) == len(students) * (len(students) + 1) // 2


def test_same_code_under_other_names_is_flagged_and_different_approaches_are_not(graded_class):
    tokens = {(f, a): len(source_definition(approach(f, a)).tokens)
              for f in FUNCTIONS for a in range(len(BODIES[f]) + 1)}
    references = graded_references(ASSIGNMENT)
    tokens.update({(f, "R"): len(source_definition(pasted_reference(references[f])).tokens)
                   for f in FUNCTIONS})
    different = []
    for function, a, b, score, flagged in graded_class["rows"]:
        same = _choice(a, function) == _choice(b, function)
        long_enough = tokens[function, _choice(a, function)] >= MIN_TOKENS
        assert (flagged == "true") == (same and long_enough), (function, a, b, score)
        if same:
            assert float(score) == 1.0, (function, a, b)
        else:
            different.append(float(score))
    assert max(different) < THRESHOLD - 0.2


def test_the_copy_pair_and_the_reference_copy_top_the_report(graded_class):
    rows = {(r[0], r[1], r[2]): r for r in graded_class["rows"]}
    for function in ("binarize_label", "positive_class_weight", "spatial_block_split"):
        assert rows[function, "copy-a", "copy-b"][3:] == ["1.000", "true"]
        assert rows[function, "ref-copy", REFERENCE][3:] == ["1.000", "true"]
        assert rows[function, "sol-01", REFERENCE][4] == "false"
    # The solution's building_fraction is shorter than MIN_TOKENS: alike by nature, never flagged.
    assert rows["building_fraction", "sol-01", "sol-02"][3:] == ["1.000", "false"]


def test_the_html_page_highlights_flagged_pairs_and_gives_the_notes(graded_class):
    page, out = graded_class["html"], graded_class["out"]
    assert page.count('<tr class="flagged">') > 0 and "<script>" in page
    assert '<td>copy-a</td><td>copy-b</td><td>1.000</td><td>1.000</td><td>yes</td>' in page
    for function in FUNCTIONS:
        assert f'<h2 id="{function}">' in page and (out / f"{function}.png").stat().st_size > 5000
        assert f'<img src="{function}.png"' in page
    for note in ["binarize_label does not parse (a1_data_imbalance.ipynb cell",
                 "defined as positive_weight instead of positive_class_weight",
                 "no definition of spatial_block_split",
                 "not written: still the release&#x27;s stub",
                 "a1_data_imbalance.ipynb is not a readable notebook",
                 "notes.txt is not a notebook: not read"]:
        assert note in page, note
    assert "other pairs (0 of them flagged) are in similarity.csv" in page  # 276 pairs, 200 shown
    assert "no definition of binarize_label" not in page  # odd-garbage: its file's note alone
    assert not list(out.glob("*.partial"))


def test_the_course_folders_are_where_nbgrader_puts_them(tmp_path):
    from nbgrader.coursedir import CourseDirectory

    traits = CourseDirectory.class_traits()
    assert NBGRADER_DEFAULTS == {key: traits[key].default_value for key in NBGRADER_DEFAULTS}
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")  # nbgrader's defaults
    submit(tmp_path, "ann")
    folders, release = course_folders(tmp_path, ASSIGNMENT)
    dirs = CourseDirectory(root=str(tmp_path))
    assert folders == {"ann": Path(dirs.format_path(dirs.submitted_directory, "ann", ASSIGNMENT))}
    assert release == Path(dirs.format_path(dirs.release_directory, ".", ASSIGNMENT))


def test_the_command_says_what_is_wrong_with_its_arguments(tmp_path, capsys):
    assert cli.main(["similarity", ASSIGNMENT, "--course-dir", str(tmp_path)]) == 1
    assert "nbgrader_config.py does not exist" in capsys.readouterr().err
    make_course(tmp_path)
    assert cli.main(["similarity", ASSIGNMENT, "--course-dir", str(tmp_path)]) == 1
    assert f"no submissions of {ASSIGNMENT}" in capsys.readouterr().err
    submit(tmp_path, REFERENCE)
    assert cli.main(["similarity", ASSIGNMENT, "--course-dir", str(tmp_path)]) == 1
    assert "a student is called 'reference'" in capsys.readouterr().err
    for bad in (["a9_nothing"], [ASSIGNMENT, "--threshold", "1.5"]):
        with pytest.raises(SystemExit) as stop:
            cli.main(["similarity", *bad])
        assert stop.value.code == 2
    assert "expected a number in (0, 1]" in capsys.readouterr().err
