"""Points: one meaning per field; unanswered questions are not pending; penalties per part."""

from __future__ import annotations

from core.points import Points, Written, combine


def test_scored_pending_and_unanswered_questions():
    counted = combine(6, 6, 10, [Written(5, 4.0), Written(3, None)])  # a third question, worth 2, unanswered
    assert counted == Points(auto=6, auto_max=6, written=4, written_max=10, pending_max=3, adjusted=10)
    assert (counted.total, counted.max_total) == (10, 16)


def test_nothing_answered_is_nothing_pending():
    assert combine(2, 6, 5).pending_max == 0


def test_each_part_takes_its_own_late_penalty():
    counted = combine(6, 6, 5, [Written(5, 4.0, penalty=0.5)], auto_penalty=0.1)
    assert (counted.total, counted.adjusted) == (10, 7.4)


def test_the_api_names():
    assert combine(6, 6, 5, [Written(5, None)]).fields() == {
        "score": 6, "max_score": 11, "adjusted_score": 6, "auto_score": 6, "auto_max_score": 6, "written_score": 0,
        "written_max_score": 5, "pending_max_score": 5}
