"""Segmind's "Blog Image Generator" workflow (GPT-4 writes the prompt, Flux draws it).

The workflow API is asynchronous. A ``POST`` to the workflow URL queues a run and answers with
a ``poll_url``; ``GET poll_url`` reports ``QUEUED``/``PROCESSING`` and finally ``COMPLETED``
(with ``output``, a JSON *string* naming the image URL) or ``FAILED``. The image lives on
public storage for a few days.
"""

from bridge.providers.segmind.client import INPUT_FIELD, SegmindClient
from bridge.providers.segmind.headers import parse_retry_after
from bridge.providers.segmind.provider import SegmindProvider
from bridge.providers.segmind.responses import (
    PollResult,
    Submission,
    describe_failure,
    find_image_url,
)
from bridge.providers.segmind.schedule import (
    FixedSchedule,
    LearnedSchedule,
    PollBudget,
    PollSchedule,
    RunTimeModel,
)

__all__ = [
    "INPUT_FIELD",
    "FixedSchedule",
    "LearnedSchedule",
    "PollBudget",
    "PollSchedule",
    "RunTimeModel",
    "PollResult",
    "SegmindClient",
    "SegmindProvider",
    "Submission",
    "describe_failure",
    "find_image_url",
    "parse_retry_after",
]
