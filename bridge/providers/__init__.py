"""Image providers: ``segmind`` (the Blog Image Generator workflow) and ``local`` (a title card)."""

from __future__ import annotations

from bridge.config import Settings
from bridge.providers.base import Provider


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
            client, poll_interval=settings.poll_interval, deadline=settings.provider_deadline
        )
    from bridge.providers.local import LocalProvider

    return LocalProvider()
