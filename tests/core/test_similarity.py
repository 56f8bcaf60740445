"""Code similarity (grader/similarity.py) on the planted corpus of tests/core/similarity_corpus."""

from __future__ import annotations

import difflib
import itertools

import pytest

from grader.similarity import Source, compare, normalise
from tests.core.similarity_corpus import bases, corpus, course_module

ENTRY = "submission.py"


@pytest.fixture(scope="module")
def students():
    return {student.source.key: student for student in corpus()}


@pytest.fixture(scope="module")
def report(students):
    return compare([s.source for s in students.values()], bases(), ENTRY)


def planted(students, pair) -> bool:
    return students[pair.a].family == students[pair.b].family


def test_every_planted_pair_ranks_above_every_independent_pair(students, report):
    copies = [p for p in report.pairs if planted(students, p)]
    independent = [p for p in report.pairs if not planted(students, p)]
    assert len(copies) == 7 and len(copies) + len(independent) == len(students) * (len(students) - 1) // 2
    assert min(p.score for p in copies) > max(p.score for p in independent)
    assert report.pairs[:len(copies)] == sorted(copies, key=lambda p: -p.score)
    assert not report.skipped and not report.empty


def test_students_who_copied_only_the_course_script_are_not_flagged(students):
    """With the course's code as a base they fall to the bottom; without it they would top the list."""
    course = [s.source for key, s in students.items() if key.startswith("course-")]
    with_bases = compare(course, bases(), ENTRY)
    without = compare(course, [], ENTRY)
    assert max(p.score for p in with_bases.pairs) < 0.3 < 0.9 < min(p.score for p in without.pairs)
    assert not with_bases.clusters and len(without.clusters) == 1


def test_a_solution_copied_twice_is_a_cluster_of_three(students, report):
    assert report.clusters == [sorted(k for k, s in students.items() if s.family == "ind_dict_loop")]


def test_regions_name_the_files_and_cells_on_both_sides(students, report):
    by_files = {frozenset((students[p.a].source.filename, students[p.b].source.filename)): p for p in report.pairs}
    notebook = by_files[frozenset(("ind_tensors.py", "copy-notebook.ipynb"))]
    project = by_files[frozenset(("ind_glob.py", "copy-project.zip"))]
    report.add_regions([notebook, project])
    for pair, original, copied in ((notebook, "ind_tensors.py", "cell "), (project, "ind_glob.py", ".py")):
        sides = [(mine, theirs) if students[pair.a].source.filename == original else (theirs, mine)
                 for mine, theirs, _ in pair.regions]
        assert len(sides) >= 3
        assert all(ours.file == original and copied in theirs.file for ours, theirs in sides)
        assert all(1 <= r.start <= r.end for side in sides for r in side)
    assert {theirs.file for _, theirs, _ in project.regions} | {mine.file for mine, _, _ in project.regions} >= \
        {"models.py", "submission.py"}


def test_a_region_holds_the_copied_lines(students, report):
    """The renamed copy keeps the order: its largest region is the same function on both sides."""
    pair = next(p for p in report.pairs if "copy-renamed.py" in (students[p.a].source.filename,
                                                                 students[p.b].source.filename))
    report.add_regions([pair])
    region_a, region_b, matched = pair.regions[0]
    lines = {key: students[key].source.content.decode().splitlines() for key in (pair.a, pair.b)}
    shown_a = "\n".join(lines[pair.a][region_a.start - 1:region_a.end])
    shown_b = "\n".join(lines[pair.b][region_b.start - 1:region_b.end])
    same = difflib.SequenceMatcher(None, normalise(shown_a)[0], normalise(shown_b)[0]).ratio()
    assert matched > 100 and same > 0.95  # ast.unparse wrote 2e-3 as 0.002


@pytest.mark.parametrize("changed", [
    "def area(w, h):\n    # the area\n    return w * h\n",
    "def size(width,height):\n\n    return width*height   # renamed, comment moved\n",
])
def test_names_comments_and_layout_do_not_change_the_normalised_code(changed):
    original = "def area(w, h):\n    return w * h\n"
    assert normalise(changed)[0] == normalise(original)[0] == "defF(V,V):returnV*V"


def test_code_python_cannot_tokenize_is_still_compared():
    broken = course_module() + "\n  def oops(:\n\tprint('x'\n"
    text, origin = normalise(broken)
    assert text and len(origin) == len(text)
    found = compare([Source("a", "a.py", broken.encode()), Source("b", "b.py", broken.encode())], [], ENTRY)
    assert found.pairs[0].score > 0.99


def test_unreadable_uploads_and_pure_base_code_are_reported_apart():
    starter = bases()[-1]
    sources = [Source("zip", "x.zip", b"not a zip"), Source("starter", "s.py", starter.content),
               *(Source(k, "s.py", course_module().encode() + f"\nX{k} = 1\n".encode()) for k in "ab")]
    found = compare(sources, bases(), ENTRY)
    assert set(found.skipped) == {"zip"} and "zip" in str(found.skipped["zip"]).lower()
    assert found.empty == ["starter"]
    assert [(p.a, p.b) for p in found.pairs] == [("a", "b")]


def test_each_pair_once_and_sorted():
    body = "def f(x):\n    total = 0\n    for y in range(x):\n        total += y * {i}\n    return total\n"
    sources = [Source(str(i), "s.py", (body.format(i=i) * (i + 1)).encode()) for i in range(4)]
    found = compare(sources, [], ENTRY)
    assert {(p.a, p.b) for p in found.pairs} == set(itertools.combinations("0123", 2))
    assert [p.score for p in found.pairs] == sorted((p.score for p in found.pairs), reverse=True)
