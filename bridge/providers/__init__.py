"""Image providers: ``segmind`` (the Blog Image Generator workflow) and ``local`` (a title card)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bridge.config import Settings
from bridge.providers.base import Provider

if TYPE_CHECKING:
    from bridge.providers.segmind.schedule import PollSchedule


AUTO_DENSE_START = 3.0
"""Seconds between dense polls that ``SEGMIND_POLL_DENSE_INTERVAL=auto`` starts from."""


def create_provider(settings: Settings) -> Provider:
    """The provider the settings name: Segmind when a key is set, else the local title card."""
    if settings.provider == "segmind":
        from bridge.download import ImageDownloader
        from bridge.providers.segmind import SegmindClient, SegmindProvider

        assert settings.segmind_api_key is not None  # guaranteed by Settings validation
        downloader = ImageDownloader(
            allow=settings.download_allow,
            max_bytes=settings.download_max_bytes,
            timeout=settings.download_timeout,
        )
        client = SegmindClient(
            settings.segmind_api_key, settings.segmind_workflow_url, downloader=downloader
        )
        return SegmindProvider(
            client,
            poll_interval=settings.poll_interval,
            deadline=settings.provider_deadline,
            schedule=poll_schedule(settings),
        )
    from bridge.providers.local import LocalProvider

    return LocalProvider()


def poll_schedule(settings: Settings, *, clock: Callable[[], float] | None = None) -> PollSchedule:
    """Polling every ``SEGMIND_POLL_INTERVAL``, or densely where runs usually end (learned).

    ``clock`` paces the poll budget (default: ``time.monotonic``).
    """
    from bridge.providers.segmind.schedule import FixedSchedule, LearnedSchedule, PollBudget

    if settings.poll_schedule == "fixed":
        return FixedSchedule(settings.poll_interval)
    return LearnedSchedule(
        dense_interval=settings.poll_dense_interval or AUTO_DENSE_START,
        match_polls=settings.poll_dense_interval is None,
        sparse_interval=settings.poll_interval,
        budget=PollBudget(settings.poll_budget, clock=clock or time.monotonic),
    )
