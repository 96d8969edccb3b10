"""The sweep: queues again every active job whose worker died or whose queue entry was lost.

huey hands a task to a worker before running it, so a worker killed mid-job loses the task
(at-most-once). The job record keeps the truth: a running job's lease is renewed by its
worker's heartbeat (``bridge.leases``); once it runs out, the job is stalled. The sweep
claims stalled jobs atomically in the job record (SQLite or Redis), so any number of workers
may sweep at once, and
enqueues each one unless huey still holds an entry for it. Every pipeline step is safe to
run again, so a resumed job polls the provider request it paid for, uploads the image it
downloaded, and finds the attachment it already created.
"""

from __future__ import annotations

import logging

from bridge.storage import LeaseStore
from bridge.tasks import JobQueue

log = logging.getLogger(__name__)


class Sweeper:
    """Finds stalled jobs and queues them again; ``grace`` is the lease time in seconds."""

    def __init__(self, leases: LeaseStore, queue: JobQueue, grace: float) -> None:
        self.leases = leases
        self.queue = queue
        self.grace = grace

    def sweep(self) -> list[str]:
        """One pass; returns the ids of the jobs it queued again.

        With SQLite, leases held by a dead process of this host end at once, so a worker
        restarted after a crash resumes its jobs without waiting for the leases to run out.
        With Redis (workers on several machines) a dead worker's leases run out.
        """
        self.leases.end_dead_owners()
        stalled = self.leases.take_stalled(self.grace)
        if not stalled:
            return []
        waiting = self.queue.queued_job_ids()
        requeued = [job_id for job_id in stalled if job_id not in waiting]
        for job_id in requeued:
            self.queue.enqueue(job_id)
            log.warning("job %s stalled (worker gone or queue entry lost); queued again", job_id)
        return requeued
