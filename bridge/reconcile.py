"""Reconciliation: published posts that still lack a featured image and never had a job get
one, whatever happened to their webhook (plugin off, a delivery given up, a lost database).

Runs in the worker every ``BRIDGE_RECONCILE_INTERVAL`` seconds (0, the default, turns it off).
Several workers may run it at once: the job record refuses a second job for the same post.
"""

from __future__ import annotations

import logging

from bridge.jobs import JobStore, NewJob
from bridge.tasks import JobQueue
from bridge.wordpress import PostSummary, WordPressClient

log = logging.getLogger(__name__)
PAGE_SIZE = 100


def needs_image(post: PostSummary) -> bool:
    """No featured image, not opted out (``_fib_skip``), never given a generated image."""
    if post.featured_media:
        return False
    return not post.meta.get("_fib_skip") and not post.meta.get("_fib_attachment_id")


class Reconciler:
    """Lists the site's published posts and creates jobs for those that need one."""

    def __init__(
        self,
        store: JobStore,
        queue: JobQueue,
        wordpress: WordPressClient,
        site_url: str,
        post_types: tuple[str, ...] = ("post",),
    ) -> None:
        self.store = store
        self.queue = queue
        self.wordpress = wordpress
        self.site_url = site_url
        self.post_types = post_types

    def reconcile(self) -> list[str]:
        """One pass over every page; returns the ids of the jobs it created."""
        created: list[str] = []
        for post_type in self.post_types:
            page = 1
            while True:
                posts = self.wordpress.published_posts(post_type, page, PAGE_SIZE)
                for post in posts:
                    job_id = self._job_for(post_type, post)
                    if job_id:
                        created.append(job_id)
                if len(posts) < PAGE_SIZE:
                    break
                page += 1
        if created:
            log.info("reconciliation queued %d posts that had no featured image", len(created))
        return created

    def _job_for(self, post_type: str, post: PostSummary) -> str | None:
        if not needs_image(post) or self.store.has_job(self.site_url, post.post_id):
            return None
        job, new = self.store.create(
            NewJob(
                webhook_id=f"reconcile:{post_type}:{post.post_id}",
                site_url=self.site_url,
                post_id=post.post_id,
                post_type=post_type,
                title=post.title,
                excerpt=post.excerpt,
                slug=post.slug,
            )
        )
        if not new:
            return None
        self.queue.enqueue(job.id)
        log.info("job %s queued by reconciliation for post %s", job.id, post.post_id)
        return job.id
