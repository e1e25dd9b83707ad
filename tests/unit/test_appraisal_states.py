"""The appraisal's periods and its three signatures, without a database."""

from __future__ import annotations

from datetime import date

import pytest

from backend.appraisal.states import (
    AppraisalAction,
    AppraisalState,
    Period,
    check_open,
    check_rating,
    find_period,
    next_state,
    periods,
)
from backend.errors import Conflict, InvalidInput, Locked


def test_a_short_stay_has_one_period_opening_thirty_days_before_its_end() -> None:
    assert periods(date(2026, 1, 15), date(2026, 7, 14), ended=False) == [
        Period(start=date(2026, 1, 15), end=date(2026, 7, 14), opens_on=date(2026, 6, 14), final=True)]


def test_a_stay_that_ended_early_opens_at_once() -> None:
    [p] = periods(date(2026, 1, 15), date(2026, 2, 20), ended=True)
    assert (p.opens_on, p.final) == (date(2026, 1, 21), True)
    [p] = periods(date(2026, 1, 15), date(2026, 1, 20), ended=True)
    assert p.opens_on == date(2026, 1, 15)  # never before the period starts


def test_a_long_stay_is_appraised_each_year_and_at_its_end() -> None:
    got = periods(date(2024, 3, 1), date(2026, 8, 31), ended=True)
    assert [(p.start, p.end, p.final) for p in got] == [
        (date(2024, 3, 1), date(2025, 2, 28), False),
        (date(2025, 3, 1), date(2026, 2, 28), False),
        (date(2026, 3, 1), date(2026, 8, 31), True),
    ]
    assert got[0].opens_on == date(2025, 1, 29)
    with pytest.raises(ValueError, match="before it starts"):
        periods(date(2026, 3, 1), date(2026, 2, 1), ended=False)


def test_a_period_not_open_yet_is_refused_with_its_opening_day() -> None:
    [p] = periods(date(2026, 1, 15), date(2026, 7, 14), ended=False)
    check_open(p, date(2026, 6, 14))
    with pytest.raises(InvalidInput) as exc:
        check_open(p, date(2026, 6, 13))
    assert exc.value.extra == {"reason": "not_open_yet", "opens_on": "2026-06-14"}
    with pytest.raises(InvalidInput) as exc:
        find_period([p], date(2026, 1, 16))
    assert [(e.field, e.code) for e in exc.value.errors] == [("period_start", "no_such_period")]


def test_three_signatures_in_order() -> None:
    s = next_state(None, AppraisalAction.self_assess)
    assert s is AppraisalState.self_assessed
    s = next_state(s, AppraisalAction.rate)
    assert s is AppraisalState.rated
    assert next_state(s, AppraisalAction.countersign) is AppraisalState.countersigned


@pytest.mark.parametrize(("state", "action", "error"), [
    (None, AppraisalAction.rate, Conflict),  # nothing written yet
    (None, AppraisalAction.countersign, Conflict),
    (AppraisalState.self_assessed, AppraisalAction.self_assess, Locked),  # signed: no rewrite
    (AppraisalState.self_assessed, AppraisalAction.countersign, Conflict),  # not rated yet
    (AppraisalState.rated, AppraisalAction.rate, Locked),
    (AppraisalState.rated, AppraisalAction.self_assess, Locked),
    (AppraisalState.countersigned, AppraisalAction.countersign, Locked),
    (AppraisalState.countersigned, AppraisalAction.rate, Locked),
    (AppraisalState.countersigned, AppraisalAction.self_assess, Locked),
])
def test_every_other_step_is_refused(state: AppraisalState | None, action: AppraisalAction,
                                     error: type[Exception]) -> None:
    with pytest.raises(error):
        next_state(state, action)


def test_ratings_are_the_three_of_the_plans() -> None:
    assert [check_rating(r) for r in ("excellent", "qualified", "unqualified")] == [
        "excellent", "qualified", "unqualified"]
    with pytest.raises(InvalidInput) as exc:
        check_rating("good")
    assert exc.value.errors[0].field == "rating"


def test_reports_never_import_the_appraisal_which_builds_on_them() -> None:
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "backend" / "reports"
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("backend.appraisal")]
    assert offenders == []
