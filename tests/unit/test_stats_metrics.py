"""What one approved entry adds to the roll-ups, and how summed metrics become figures (docs/statistics.md §2)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from backend.errors import InvalidInput
from backend.stats.expert import month_period
from backend.stats.figures import SurgeryCell, figures_from
from backend.stats.hospital import strictest
from backend.stats.metrics import attendance_status, metrics_of, month_of, trainee_of

D = Decimal


def test_every_entry_counts_once_for_its_type() -> None:
    assert metrics_of("case_discussion", {"diagnosis": "x"}, None) == {"count:case_discussion": D(1)}


def test_clinic_patients_are_first_visits_plus_follow_ups() -> None:
    m = metrics_of("clinic", {"session": "am", "patients_first_visit": 12, "patients_follow_up": 5}, 240)
    assert m == {"count:clinic": D(1), "minutes:clinic": D(240), "patients": D(17)}


def test_clinic_without_patient_numbers_still_counts_toward_patients_with_zero() -> None:
    assert metrics_of("clinic", {"session": "pm"}, None)["patients"] == D(0)


def test_emergency_rescue_is_at_least_one_patient() -> None:
    assert metrics_of("emergency", {"condition": "x"}, None)["patients"] == D(1)
    assert metrics_of("emergency", {"condition": "x", "patients": 3}, None)["patients"] == D(3)


def test_surgery_counts_by_grade_and_role() -> None:
    m = metrics_of("surgery", {"procedure_name": "LC", "grade": "grade_3", "role": "primary"}, 90)
    assert m == {"count:surgery": D(1), "minutes:surgery": D(90), "surgery:grade_3:primary": D(1)}


def test_lecture_adds_hours_and_audience_rounded_to_cents() -> None:
    m = metrics_of("lecture", {"title": "t", "hours": 1.505, "audience_count": 40}, None)
    assert m["teaching_hours"] == D("1.51")
    assert m["attendees"] == D(40)


def test_teaching_round_attendees_and_free_clinic_people() -> None:
    assert metrics_of("teaching_round", {"attendees": 8}, None)["attendees"] == D(8)
    assert metrics_of("free_clinic", {"place": "村", "people_served": 120}, None)["people_served"] == D(120)


def test_a_boolean_or_text_is_not_a_number() -> None:
    assert metrics_of("free_clinic", {"people_served": True}, None)["people_served"] == D(0)
    assert metrics_of("free_clinic", {"people_served": "12"}, None)["people_served"] == D(0)


def test_new_technique_is_one_technique() -> None:
    assert metrics_of("new_technique", {"name": "ERCP"}, None)["new_techniques"] == D(1)


@pytest.mark.parametrize("status", ["present", "travel", "leave", "off"])
def test_attendance_counts_a_day_by_status(status: str) -> None:
    assert metrics_of("attendance", {"status": status}, None) == {"count:attendance": D(1), f"days:{status}": D(1)}


def test_unknown_attendance_status_counts_no_day() -> None:
    assert attendance_status("attendance", {"status": "holiday"}) is None
    assert attendance_status("clinic", {"status": "present"}) is None


def test_trainee_is_read_from_mentoring_entries_only() -> None:
    tid = uuid.uuid4()
    assert trainee_of("mentoring", {"trainee_id": str(tid)}) == tid
    assert trainee_of("mentoring", {"trainee_id": str(tid).upper()}) == tid
    assert trainee_of("mentoring", {"trainee_id": tid.hex}) is None  # only the canonical form, as in SQL
    assert trainee_of("lecture", {"trainee_id": str(tid)}) is None


def test_month_of_a_day_is_its_first() -> None:
    assert month_of(date(2025, 12, 31)) == date(2025, 12, 1)


def test_figures_sum_metrics_and_order_surgery_cells() -> None:
    fig = figures_from([
        ("count:surgery", D(3)), ("surgery:grade_4:primary", D(1)), ("surgery:grade_1:supervising", D(2)),
        ("days:present", D(20)), ("days:travel", D(2)), ("teaching_hours", D("1.25")), ("teaching_hours", D("2")),
        ("patients", D(30)), ("count:clinic", D(2)), ("minutes:surgery", D(300)),
    ], trainees=2)
    assert fig.counts == {"clinic": 2, "surgery": 3}
    assert fig.surgeries == 3
    assert fig.surgeries_by_grade_role == [SurgeryCell(grade="grade_1", role="supervising", count=2),
                                           SurgeryCell(grade="grade_4", role="primary", count=1)]
    assert (fig.on_site_days, fig.travel_days, fig.teaching_hours, fig.patients, fig.trainees) == (20, 2, 3.25, 30, 2)


def test_period_is_whole_months_and_defaults_to_this_year() -> None:
    assert month_period(date(2025, 3, 15), date(2025, 4, 2), date(2025, 6, 1)) == (date(2025, 3, 1), date(2025, 4, 30))
    assert month_period(None, None, date(2024, 2, 10)) == (date(2024, 1, 1), date(2024, 2, 29))
    with pytest.raises(InvalidInput):
        month_period(date(2025, 5, 1), date(2025, 4, 1), date(2025, 6, 1))


def test_several_agreements_with_one_recipient_give_the_strictest_targets() -> None:
    rows = [{"min_staff": 5, "full_year_coverage": False}, {"min_staff": 3, "full_year_coverage": True}]
    assert strictest(rows) == {"min_staff": 5, "full_year_coverage": True}
