"""Reconciliation: published posts that still lack a featured image and never had a job get
one, whatever happened to their webhook (plugin off, a delivery given up, a lost database).

Runs in the worker every ``BRIDGE_RECONCILE_INTERVAL`` seconds (0, the default, turns it off).
Several workers may run it at once: the job record refuses a second job for the same post.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bridge.jobs import NewJob
from bridge.options import GenerationOptions
from bridge.storage import JobRecords
from bridge.tasks import JobQueue
from bridge.wordpress import MissingPost, WordPressSite

log = logging.getLogger(__name__)


class Reconciler:
    """Lists the site's published posts that need an image and creates jobs for them.

    ``WordPressSite.list_missing`` leaves out posts with a featured image, opted-out posts
    (``_fib_skip``) and posts that had a generated image an editor removed.
    """

    def __init__(
        self,
        store: JobRecords,
        queue: JobQueue,
        wordpress: WordPressSite,
        site_url: str,
        post_types: Sequence[str] = ("post",),
        options: GenerationOptions | None = None,
    ) -> None:
        self.store = store
        self.queue = queue
        self.wordpress = wordpress
        self.site_url = site_url
        self.post_types = tuple(post_types)
        self.options = options
        """The jobs' options (the site's prompt defaults and cap); None: the defaults."""

    def reconcile(self) -> list[str]:
        """One pass over the site; returns the ids of the jobs it created."""
        created = [
            job_id
            for post in self.wordpress.list_missing(self.post_types, None)
            if (job_id := self._job_for(post))
        ]
        if created:
            log.info("reconciliation queued %d posts that had no featured image", len(created))
        return created

    def _job_for(self, post: MissingPost) -> str | None:
        if self.store.has_job(self.site_url, post.post_id):
            return None
        job, new = self.store.create(
            NewJob(
                webhook_id=f"reconcile:{post.post_type}:{post.post_id}",
                site_url=self.site_url,
                post_id=post.post_id,
                post_type=post.post_type,
                title=post.title,
                excerpt=post.excerpt,
                slug=post.slug,
                options=self.options.to_json() if self.options else "{}",
            )
        )
        if not new:
            return None
        self.queue.enqueue(job.id)
        log.info("job %s queued by reconciliation for post %s", job.id, post.post_id)
        return job.id


def reconcile_each(reconcilers: Sequence[Reconciler]) -> None:
    """One pass over every site; a site that fails (its WordPress down) does not stop the
    others, and is tried again on the next pass."""
    for reconciler in reconcilers:
        try:
            reconciler.reconcile()
        except Exception:
            log.exception("reconciliation of %s failed; next pass tries again", reconciler.site_url)
