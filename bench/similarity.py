"""Code similarity (grader/similarity.py): the time to compare a class of w2-rmb-lenet
submissions pair by pair, and the ranking on the planted corpus (tests/core/similarity_corpus).

    .venv/bin/python bench/similarity.py --submissions 300

Prints, for the class: the time to read and fingerprint every submission (the course's scripts
and the starter subtracted), to compare every pair, and to find the matched regions of the 50
pairs a report shows; and the same normalisation done by copydetect's own Pygments path, for
comparison.  For the planted corpus: the lowest planted pair against the highest independent
one, with and without the course's code as a base.  With ``--alternatives``, the same corpus
ranked by pycode_similar (if installed: ``pip install pycode_similar``), with its time.  With
``--service``, the whole report as the API makes it (``api/services/similarity.py`` on a fresh
SQLite database holding the class: the rows read, the bases gathered, the JSON shaped).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from copydetect.utils import filter_code  # noqa: E402

from grader import similarity  # noqa: E402
from tests.core.similarity_corpus import bases, big_class, corpus  # noqa: E402

ENTRY = "submission.py"
SHOWN = 50


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def class_figures(size: int) -> dict:
    sources = big_class(size)
    (docs, _skipped), read_s = timed(similarity.documents, sources, bases(), ENTRY)
    report, total_s = timed(similarity.compare, sources, bases(), ENTRY)
    _, regions_s = timed(report.add_regions, report.pairs[:SHOWN])
    texts = [doc.text for doc in docs]
    _, pygments_s = timed(lambda: [filter_code(text, "x.py") for text in texts])
    _, ours_s = timed(lambda: [similarity.normalise(text) for text in texts])
    return {"submissions": len(sources), "pairs": len(report.pairs), "lines": sum(t.count("\n") for t in texts),
            "read_s": read_s, "pairs_s": total_s - read_s, "regions_s": regions_s, "total_s": total_s + regions_s,
            "normalise_pygments_s": pygments_s, "normalise_tokenize_s": ours_s,
            "clusters": len(report.clusters)}


def service_figures(size: int) -> dict:
    """The report of a class stored in a fresh SQLite database, as the API computes it."""
    import tempfile

    from api.services import accounts
    from api.services import similarity as service
    from core.catalog import ManifestCatalog
    from core.db import session_factory
    from core.migrate import upgrade
    from core.models import Membership, Role, Submission, User
    from core.settings import Settings

    sources = big_class(size)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        upgrade(url)
        catalog = ManifestCatalog(REPOSITORY / "reference")
        with session_factory(url)() as session:
            course = accounts.create_course(session, catalog, "bench", assignment_ids=["w2-rmb-lenet"])
            offered = course.assignments[0]
            ids = []
            for index, source in enumerate(sources):
                user = User(name=f"s{index:03d}")
                session.add(user)
                session.flush()
                session.add(Membership(course_id=course.id, user_id=user.id, role=Role.student))
                row = Submission(course_assignment_id=offered.id, user_id=user.id, filename=source.filename,
                                 content=source.content, sha256="-", size=len(source.content), queue="gpu")
                session.add(row)
                session.flush()
                ids.append(row.id)
            session.commit()
        with session_factory(url)() as session:
            offered = session.merge(offered)
            settings = Settings(database_url=url, data_dir=Path(folder))
            report, seconds = timed(service.report, session, settings, catalog, offered, ids=ids, limit=SHOWN)
    return {"seconds": seconds, "pairs": report["pairs_compared"], "clusters": len(report["clusters"])}


def ranking(report, students) -> tuple[float, float, int, int]:
    planted = [p.score for p in report.pairs if students[p.a].family == students[p.b].family]
    independent = [p.score for p in report.pairs if students[p.a].family != students[p.b].family]
    return min(planted), max(independent), len(planted), len(independent)


def corpus_figures() -> dict:
    students = {s.source.key: s for s in corpus()}
    sources = [s.source for s in students.values()]
    with_bases = similarity.compare(sources, bases(), ENTRY)
    without = similarity.compare(sources, [], ENTRY)
    course = [p.score for p in with_bases.pairs if p.a.startswith("course-") and p.b.startswith("course-")]
    course_without = [p.score for p in without.pairs if p.a.startswith("course-") and p.b.startswith("course-")]
    return {"with_bases": ranking(with_bases, students), "without_bases": ranking(without, students),
            "course_pairs": (max(course), statistics.mean(course)),
            "course_pairs_without_bases": (min(course_without), statistics.mean(course_without)),
            "clusters": with_bases.clusters}


def pycode_similar_figures() -> dict | None:
    try:
        import pycode_similar
    except ImportError:
        return None
    students = {s.source.key: s for s in corpus() if s.source.filename.endswith(".py")}
    code = {key: s.source.content.decode() for key, s in students.items()}
    scores, start = {}, time.perf_counter()
    for a, b in itertools.combinations(sorted(code), 2):
        try:
            found = pycode_similar.detect([code[a], code[b]], diff_method=pycode_similar.UnifiedDiff,
                                          module_level=True)
            scores[(a, b)] = pycode_similar.summarize(found[0][1])[0]
        except Exception:   # e.g. NoFuncException: a script without functions
            scores[(a, b)] = 0.0
    elapsed = time.perf_counter() - start
    planted = [s for (a, b), s in scores.items() if students[a].family == students[b].family]
    independent = [s for (a, b), s in scores.items() if students[a].family != students[b].family]
    solutions = [s for (a, b), s in scores.items() if students[a].family != students[b].family
                 and not (a.startswith("course-") and b.startswith("course-"))]
    return {"pairs": len(scores), "seconds": elapsed, "per_pair_ms": 1000 * elapsed / len(scores),
            "min_planted": min(planted), "max_independent": max(independent), "max_solutions": max(solutions)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--alternatives", action="store_true", help="also rank the corpus with pycode_similar")
    parser.add_argument("--service", action="store_true", help="also time the whole report from a database")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    figures = class_figures(args.submissions)
    print(f"class: {figures['submissions']} submissions ({figures['lines']} lines), {figures['pairs']} pairs")
    print(f"  read + normalise + fingerprint: {figures['read_s']:.2f} s")
    print(f"  compare every pair:             {figures['pairs_s']:.2f} s")
    print(f"  regions of the {SHOWN} shown pairs:   {figures['regions_s']:.2f} s")
    print(f"  total:                          {figures['total_s']:.2f} s")
    print(f"  normalising alone: Python's tokenize {figures['normalise_tokenize_s']:.2f} s, "
          f"copydetect's Pygments path {figures['normalise_pygments_s']:.2f} s")
    if args.service:
        served = service_figures(args.submissions)
        print(f"  the whole report from SQLite (api/services/similarity.py): {served['seconds']:.2f} s, "
              f"{served['pairs']} pairs, {served['clusters']} clusters")
    found = corpus_figures()
    low, high, planted, independent = found["with_bases"]
    print(f"planted corpus: {planted} planted pairs, {independent} independent pairs")
    print(f"  with the course's code subtracted: lowest planted {low:.3f}, highest independent {high:.3f} "
          f"({'every planted pair first' if low > high else 'NOT SEPARATED'})")
    low, high, _, _ = found["without_bases"]
    print(f"  without it:                        lowest planted {low:.3f}, highest independent {high:.3f}")
    print(f"  pairs of students who copied only the course's scripts: max {found['course_pairs'][0]:.3f} "
          f"(mean {found['course_pairs'][1]:.3f}); without the bases min {found['course_pairs_without_bases'][0]:.3f}")
    print(f"  clusters: {found['clusters']}")
    if args.alternatives:
        other = pycode_similar_figures()
        if other is None:
            print("pycode_similar: not installed")
        else:
            print(f"pycode_similar (the .py files of the corpus, {other['pairs']} pairs): {other['seconds']:.2f} s "
                  f"({other['per_pair_ms']:.1f} ms a pair); lowest planted {other['min_planted']:.3f}, "
                  f"highest independent {other['max_independent']:.3f} (course copiers aside "
                  f"{other['max_solutions']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
