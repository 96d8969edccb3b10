"""Each class of provider fault: passing ones are retried and paid once, final ones are
reported to the editor; no post is left without a final status. (406, no credits, pauses the
key instead: tests/reliability/test_provider_gate.py.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from devenv.chaos import Tally, count, settle
from devenv.posts import EditorSession
from devenv.segmind_fake import DROP, FakeSegmind, JobScript
from tests.reliability.conftest import BridgeFactory

pytestmark = pytest.mark.wordpress

POSTS = 3


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[FakeSegmind], None]
    final: bool  # the job fails (and says why) instead of being retried
    paid: bool  # the provider accepted (and charged) each post's request
    shown: str = ""  # in the editor's message when final


FAULTS = [
    Fault(
        "429 with Retry-After",
        lambda fake: fake.fail_next_submit(429, times=POSTS, headers={"Retry-After": "1"}),
        final=False,
        paid=True,
    ),
    Fault(
        "5xx with an HTML body (submit 502, poll 500)",
        lambda fake: (fake.fail_next_submit(502, times=POSTS), fake.fail_next_poll(500, times=2)),
        final=False,
        paid=True,
    ),
    Fault(
        "connection dropped (submit and poll)",
        lambda fake: (fake.fail_next_submit(DROP, times=2), fake.fail_next_poll(DROP, times=2)),
        final=False,
        paid=True,
    ),
    Fault(
        "401 bad key",
        lambda fake: fake.fail_next_submit(401, times=POSTS),
        final=True,
        paid=False,
        shown="key",
    ),
    Fault(
        "FAILED run",
        lambda fake: fake.queue_jobs(*[JobScript(outcome="failed")] * POSTS),
        final=True,
        paid=True,
        shown="Flux model crashed",
    ),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_provider_fault(
    start_bridge: BridgeFactory,
    segmind: FakeSegmind,
    editor: EditorSession,
    report: list[Tally],
    fault: Fault,
) -> None:
    start_bridge()
    fault.inject(segmind)
    posts = [editor.create_post(f"{fault.name}: post {i}") for i in range(POSTS)]
    views = settle(editor, posts, timeout=90, poke=lambda: None)

    tally = Tally(f"provider: {fault.name}")
    count(tally, editor, views, len(segmind.submissions))
    tally.notes = "reported as failed, as expected" if fault.final else "retried"
    report.append(tally)
    assert (tally.lost, tally.duplicates) == (0, 0), tally.row()
    assert tally.submissions == (POSTS if fault.paid else 0)
    if fault.final:
        assert (tally.failed_reported, tally.featured) == (POSTS, 0), tally.row()
        messages = [view.message for view in views.values()]
        assert all(fault.shown.lower() in m.lower() for m in messages), messages
    else:
        assert (tally.failed_reported, tally.featured) == (0, POSTS), tally.row()
