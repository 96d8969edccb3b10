"""How the reliability harness tells a kill in the submit window from a real double payment."""

from __future__ import annotations

from typing import Any

from devenv.chaos import paid_twice


def _submission(prompt: str, at: float) -> dict[str, Any]:
    return {"payload": {"Blog_title_and_description": prompt}, "received_at": at}


def test_a_repeat_right_after_a_kill_is_the_submit_window() -> None:
    submissions = [_submission("a", 10.0), _submission("a", 12.0), _submission("b", 10.5)]
    assert paid_twice(submissions, kill_times=[10.01]) == (1, 0)


def test_a_repeat_with_no_kill_near_the_first_request_is_unexplained() -> None:
    submissions = [_submission("a", 10.0), _submission("a", 12.0)]
    assert paid_twice(submissions, kill_times=[11.0]) == (0, 1)
