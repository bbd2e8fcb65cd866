"""The short soak (10 minutes of session time, about 40 s of wall time): the same checks as
``python -m tests.reliability.soak --hours 2``, which is the long run."""

from __future__ import annotations

import pytest

from tests.reliability.soak import run_soak, verdict

pytestmark = pytest.mark.qt_loop


async def test_short_soak_keeps_memory_tasks_threads_and_files_flat_and_loses_nothing(tmp_path):
    report = await run_soak(10 / 60, renew_every=1.5, drop_every=12, data_root=tmp_path)
    print(report.summary())
    assert report.turns == 60
    assert report.barge_ins >= 5 and report.spoken_turns >= 30 and report.typed_turns >= 8
    assert report.reconnects >= 3  # the server dropped every 12th reply
    assert report.renewals > 0
    assert verdict(report, long_run=False) == []
