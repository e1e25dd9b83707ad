"""The sign-in throttle's decision, pure: hard on the address and the pair, soft on the account, device apart."""

from __future__ import annotations

import pytest

from backend.auth.throttle import Budgets, Tally, decide

BUDGETS = Budgets(window_seconds=900, per_pair=5, per_address=20, per_account=50, max_delay=3.0)


@pytest.mark.parametrize(("tally", "refused"), [
    (Tally(address=20), "address"),
    (Tally(address=19, pair=5, account=5), "pair"),
    (Tally(address=1, pair=1, account=50), "account"),
])
def test_what_an_attacker_controls_is_refused(tally: Tally, refused: str) -> None:
    assert decide(tally, False, BUDGETS).refused == refused


def test_the_account_alone_is_only_slowed_down_growing_and_bounded() -> None:
    delays = [decide(Tally(account=n), False, BUDGETS) for n in range(4, 50)]
    assert all(v.refused is None for v in delays)
    assert [v.delay for v in delays[:6]] == [0.0, 0.25, 0.5, 1.0, 2.0, 3.0]
    assert max(v.delay for v in delays) == 3.0


def test_a_registered_device_ignores_everyone_elses_failures() -> None:
    flooded = Tally(address=500, pair=500, account=5000, device=4)
    verdict = decide(flooded, True, BUDGETS)
    assert verdict.refused is None
    assert verdict.delay == 0.0
    assert decide(Tally(device=5), True, BUDGETS).refused == "device"
