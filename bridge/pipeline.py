"""One job from start to end: prompt → provider → image → WordPress → status.

Each step records its result in the job before the next starts, so a job that is run again
(a retry, or a worker restarted mid-job) continues where it stopped: a paid provider request
is polled, not resubmitted; a downloaded image is uploaded, not generated again; an uploaded
attachment is set, not uploaded again.
"""

from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass
from pathlib import Path

from bridge.filenames import image_filename
from bridge.images import ImageFile, InvalidImage, identify
from bridge.imaging import ImageOptions, render
from bridge.jobs import ACTIVE_STATES, Job, JobCheckpoint, JobState, JobStore
from bridge.options import GenerationOptions, PostContext
from bridge.prompt import build_prompt, fill_template, template_values
from bridge.providers.base import PollLater, Provider, ProviderError
from bridge.wordpress import PostState, WordPressError, WordPressSite

log = logging.getLogger(__name__)
MAX_RETRY_DELAY = 900.0


class RetryLater(Exception):
    """The job hit a temporary problem; run it again after ``delay`` seconds."""

    def __init__(self, delay: float, reason: str) -> None:
        super().__init__(reason)
        self.delay = delay


class _Stop(Exception):
    """The job ends here with the given state and message for the editor."""

    def __init__(self, state: JobState, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.message = message


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait when a provider or WordPress has a passing fault."""

    attempts: int = 6
    base_delay: float = 10.0

    def delay(self, attempt: int, asked: float | None) -> float:
        backoff = min(self.base_delay * 2.0 ** max(attempt - 1, 0), MAX_RETRY_DELAY)
        backoff *= random.uniform(0.8, 1.2)
        return max(backoff, asked or 0.0)


class Pipeline:
    """Runs jobs; shared by all worker threads of a process."""

    def __init__(
        self,
        store: JobStore,
        provider: Provider,
        wordpress: WordPressSite,
        images_dir: Path,
        retry: RetryPolicy,
    ) -> None:
        self.store = store
        self.provider = provider
        self.wordpress = wordpress
        self.images_dir = images_dir
        self.retry = retry
        images_dir.mkdir(parents=True, exist_ok=True)

    def run(self, job_id: str, *, poll: bool = False) -> None:
        """Advances the job as far as it can go.

        ``poll``: the job waits on its provider request and this run checks on it; it counts
        no attempt and asks nothing of WordPress until the image is there.

        Raises PollLater while the provider's request runs, RetryLater when a temporary fault
        should be retried after a delay.
        """
        job = self.store.get(job_id)
        if job is None or job.state not in ACTIVE_STATES:
            return  # ended, cancelled, or still waiting for its backfill run
        checking = poll and _waiting_on_provider(job)
        if not checking:
            job = self.store.update(job.id, attempts=job.attempts + 1)
        try:
            self._advance(job, checking=checking)
        except PollLater:
            raise
        except _Stop as stop:
            self._finish(job, stop.state, stop.message)
        except (ProviderError, WordPressError) as exc:
            self._temporary_or_final(job, exc)
        except InvalidImage as exc:
            self._discard_image(job)
            self._finish(job, JobState.FAILED, f"The provider's image was unusable: {exc}")
        except Exception:
            log.exception("job %s: unexpected error", job.id)
            self._finish(job, JobState.FAILED, "Internal error in the bridge (see its log).")

    def _advance(self, job: Job, *, checking: bool) -> None:
        if not checking:
            job = self._check_post(job)
        options = GenerationOptions.from_json(job.options)
        context = PostContext.from_json(job.context)
        attachment_id = job.attachment_id
        if attachment_id is None:
            image = self._image(job, options, context)
            self._check_post(job)  # generating takes a while: look again before uploading
            job = self.store.update(job.id, state=JobState.UPLOADING)
            values = template_values(job.title, job.excerpt, context)
            attachment_id = self._upload_once(job, image, values, options)
            job = self.store.update(job.id, attachment_id=attachment_id)
            self._discard_image(job)
        if options.replaced_image == "delete" and _replaces_generated(job, attachment_id):
            # The new image first, so the post is never without one; "done" once the old is gone.
            self.wordpress.update_post(
                job.post_type,
                job.post_id,
                status="uploading",
                job_id=job.id,
                featured_media=attachment_id,
            )
            self._delete_replaced(job)
        self.wordpress.update_post(
            job.post_type, job.post_id, status="done", job_id=job.id, featured_media=attachment_id
        )
        self.store.update(job.id, state=JobState.DONE, error=None)
        log.info("job %s: post %s has featured image %s", job.id, job.post_id, attachment_id)

    def _check_post(self, job: Job) -> Job:
        """Ends the job if the post is gone or has an image to keep.

        A replacing job notes, the first time, which image it replaces.
        """
        post = self.wordpress.get_post(job.post_type, job.post_id)
        if post is None or post.status == "trash":
            self._discard_image(job)
            raise _Stop(JobState.FAILED, "The post was deleted before its image was ready.")
        if job.replace_image and job.start_media is None:
            job = self.store.update(
                job.id,
                start_media=post.featured_media,
                start_media_generated=bool(post.featured_media)
                and post.featured_media == post.generated_media,
            )
        if _chosen_meanwhile(job, post):
            self._discard_image(job)
            raise _Stop(JobState.DONE, "Kept the featured image that was set meanwhile.")
        return job

    def _upload_once(
        self, job: Job, image: ImageFile, values: dict[str, str], options: GenerationOptions
    ) -> int:
        """Uploads the job's image unless WordPress already has it; returns the attachment.

        A worker killed after WordPress created the attachment but before the job recorded
        its id would upload it again when resumed. So each upload carries the job's marker in
        its description: the attachment is looked up by it first, and if two uploads raced
        (a resumed job while the first request was still running), the extra is deleted.
        """
        marker = f"fibjob{job.id}"
        found = self.wordpress.find_media(job.post_id, marker)
        if not found:
            uploaded = self.wordpress.upload_media(
                image.data,
                filename=image_filename(job.slug, values["title"], job.post_id, image.extension),
                mime_type=image.mime_type,
                alt_text=fill_template(options.alt_template, values),
                title=fill_template(options.title_template, values) or values["title"],
                caption=fill_template(options.caption_template, values),
                post_id=job.post_id,
                description=f"Generated by Featured Image Bridge ({marker}).",
            )
            found = self.wordpress.find_media(job.post_id, marker) or [uploaded]
        keep, *extra = found
        for media_id in extra:
            log.warning("job %s: deleting duplicate attachment %s", job.id, media_id)
            self.wordpress.delete_media(media_id)
        return keep

    def _image(self, job: Job, options: GenerationOptions, context: PostContext) -> ImageFile:
        """The job's image: the one downloaded before, or one from the provider.

        Raises PollLater while the provider's request runs (the job is run again then).
        """
        if job.image_path and os.path.exists(job.image_path):
            return identify(Path(job.image_path).read_bytes())
        if job.state == JobState.QUEUED:
            self.store.update(job.id, state=JobState.GENERATING, provider=self.provider.name)
            self.wordpress.update_post(
                job.post_type, job.post_id, status="generating", job_id=job.id
            )
        prompt = build_prompt(
            job.title,
            job.excerpt,
            context=context,
            template=options.prompt_template,
            style=options.style,
        )
        generated = self.provider.generate(prompt, JobCheckpoint(self.store, job.id))
        image = render(
            generated,
            ImageOptions(options.width, options.height, options.format, options.quality),
        )
        path = self.images_dir / f"{job.id}.{image.extension}"
        partial = path.with_suffix(".part")
        partial.write_bytes(image.data)
        partial.replace(path)
        self.store.update(job.id, image_path=str(path))
        return image

    def _delete_replaced(self, job: Job) -> None:
        """After a regenerate: the generated image it replaced goes, as the settings ask."""
        old = job.start_media
        try:
            self.wordpress.delete_media(int(old or 0))
            log.info("job %s: deleted the replaced generated image %s", job.id, old)
        except WordPressError as exc:
            log.warning("job %s: could not delete the replaced image %s: %s", job.id, old, exc)

    def _temporary_or_final(self, job: Job, exc: ProviderError | WordPressError) -> None:
        source = "Image provider" if isinstance(exc, ProviderError) else "WordPress"
        if exc.retryable and job.attempts < self.retry.attempts:
            asked = exc.retry_after if isinstance(exc, ProviderError) else None
            delay = self.retry.delay(job.attempts, asked)
            self.store.update(job.id, error=f"{source}: {exc.message} (retrying)")
            log.warning("job %s: %s; retry in %.0f s", job.id, exc.message, delay)
            raise RetryLater(delay, exc.message)
        if exc.retryable:
            message = f"{source}: {exc.message} (gave up after {job.attempts} attempts)"
        else:
            message = f"{source}: {exc.message}"
        kind = exc.kind.value if isinstance(exc, ProviderError) else "wordpress"
        self._finish(job, JobState.FAILED, message, kind)

    def _finish(self, job: Job, state: JobState, message: str, kind: str | None = None) -> None:
        failed = state == JobState.FAILED
        self.store.update(job.id, state=state, error=message if failed else None, error_kind=kind)
        log.info("job %s: %s: %s", job.id, state.value, message)
        try:
            self.wordpress.update_post(
                job.post_type, job.post_id, status=state.value, message=message, job_id=job.id
            )
        except WordPressError as exc:
            log.warning("job %s: could not report %s to WordPress: %s", job.id, state, exc)

    def _discard_image(self, job: Job) -> None:
        if job.image_path:
            Path(job.image_path).unlink(missing_ok=True)


def _waiting_on_provider(job: Job) -> bool:
    """Whether the job has a provider request under way and nothing after it yet."""
    return (
        job.state == JobState.GENERATING
        and bool(job.provider_ref)
        and not job.image_path
        and job.attachment_id is None
    )


def _chosen_meanwhile(job: Job, post: PostState) -> bool:
    """Whether the post has a featured image this job must not replace.

    Any existing image stops an automatic job; a regenerate replaces the image the post had
    when it started, but not one a person set while it ran.
    """
    featured = post.featured_media
    if not featured or featured == job.attachment_id:
        return False
    return not job.replace_image or featured != job.start_media


def _replaces_generated(job: Job, attachment_id: int) -> bool:
    """Whether this job replaces an image that the bridge generated (a candidate to delete)."""
    old = job.start_media
    return job.replace_image and job.start_media_generated and bool(old) and old != attachment_id
