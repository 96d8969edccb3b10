"""The saturation load test, short: 10 s of signed webhooks at saturation against the real
``bridge web``. The figures are printed; only what must hold is checked (every accepted
webhook has its job on disk and in the worker's queue). The 60 s run:
``python -m bench.load --seconds 60``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.load import run_load

SECONDS = 10


@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (Debian package wrk)")
def test_no_accepted_webhook_is_lost_at_saturation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = run_load(SECONDS, workdir=tmp_path)
    with capsys.disabled():
        print(f"\nSaturation load test, {SECONDS} s:")
        print("\n".join(report.lines()))
    assert report.accepted > 0
    assert report.recorded == report.accepted
    assert report.queued == report.accepted
    assert report.lost == 0


@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (Debian package wrk)")
def test_killing_every_web_process_mid_load_loses_no_accepted_webhook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 202 is answered only once the job is on disk: after a SIGKILL of the whole server,
    each accepted job is recorded, and either queued or left for the worker's sweep."""
    report = run_load(6, workdir=tmp_path, kill_at=3)
    with capsys.disabled():
        print("\nSaturation load test, bridge web killed 3 s into 6 s:")
        print("\n".join(report.lines()))
    assert report.accepted > 0
    assert report.recorded == report.accepted
    assert report.lost == 0
