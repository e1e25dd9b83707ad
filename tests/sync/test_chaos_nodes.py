"""Two nodes, one system (issue 11): two server processes on one PostgreSQL behind a balancer, one SIGKILLed and
restarted at a time, and the chaos run's usual checks: nothing lost, nothing twice, every phone equal to the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sync.chaos.run import ChaosOptions, run_chaos
from tests.sync.test_chaos import chaos_seed


async def test_two_nodes_on_one_database_behave_as_one(db: Any, database_url: str, tmp_path: Path) -> None:
    seed = chaos_seed()
    opts = ChaosOptions(phones=6, mutations=30, seed=seed, work_dir=tmp_path, nodes=2, p_drop_reply=0.2)
    result = await run_chaos(opts, database_url)
    report = f"chaos seed {seed} (replay: FIELDLOG_CHAOS_SEED={seed} pytest tests/sync/test_chaos_nodes.py)\n" + result.render()
    print(report)
    assert result.ok, report
    assert result.mutations == 6 * 30, report
    # Each node was killed once while the other served, and the phones really were spread over both.
    assert (result.stats["node0_restarts"], result.stats["node1_restarts"]) == (1, 1), report
    assert result.stats["requests_node0"] > 0, report
    assert result.stats["requests_node1"] > 0, report
    assert result.stats["phones_on_several_nodes"] == 6, report
    assert result.outcomes["applied"] > 0, report
