"""The worker runs each job with its own site's pipeline: that site's WordPress client,
provider key and limits. A site's pipeline is made when its first job runs, then reused."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bridge.jobs import ACTIVE_STATES, JobState
from bridge.pipeline import Pipeline
from bridge.sites import Site, SiteRegistry, site_key
from bridge.storage import JobRecords

log = logging.getLogger(__name__)


class SitePipelines:
    """Runs a job with the pipeline of the job's site (``factory`` makes one per site)."""

    def __init__(
        self, registry: SiteRegistry, store: JobRecords, factory: Callable[[Site], Pipeline]
    ) -> None:
        self.registry = registry
        self.store = store
        self._factory = factory
        self._lock = threading.Lock()
        self._pipelines: dict[str, Pipeline] = {}

    def run(self, job_id: str, *, poll: bool = False) -> None:
        """``Pipeline.run`` on the job's site. A job of a site this bridge no longer serves
        (taken out of the sites file) fails: it has no WordPress to go to.

        Raises what ``Pipeline.run`` raises (PollLater, RetryLater).
        """
        job = self.store.get(job_id)
        if job is None or job.state not in ACTIVE_STATES:
            return
        site = self.registry.find(job.site_url)
        if site is None:
            log.error("job %s: this bridge no longer serves the site %s", job.id, job.site_url)
            self.store.update(
                job.id,
                state=JobState.FAILED,
                error=f"This bridge no longer serves the site {job.site_url}.",
            )
            return
        self.pipeline(site).run(job_id, poll=poll)

    def pipeline(self, site: Site) -> Pipeline:
        key = site_key(site.url)
        with self._lock:
            pipeline = self._pipelines.get(key)
            if pipeline is None:
                pipeline = self._factory(site)
                self._pipelines[key] = pipeline
            return pipeline
