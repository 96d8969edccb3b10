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
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bridge import recorders
from bridge.filenames import image_filename
from bridge.gate import Admission, Gate, Hold, Limits, Ticket
from bridge.images import ImageFile, InvalidImage, identify
from bridge.imaging import ImageOptions, render
from bridge.jobs import ACTIVE_STATES, Job, JobCheckpoint, JobState
from bridge.options import GenerationOptions, PostContext
from bridge.prompt import build_prompt, fill_template, template_values
from bridge.providers.base import ErrorKind, PollLater, Prompt, Provider, ProviderError
from bridge.providers.local import LocalProvider
from bridge.storage import JobRecords
from bridge.wordpress import PostState, WordPressError, WordPressSite

log = logging.getLogger(__name__)
MAX_RETRY_DELAY = 900.0
RECHECK_AFTER = 60.0
"""Seconds: a job held at the gate for a slot or a token checks its post while it waits if
it should go within this time, and again before submitting only if that check is older."""
FALLBACK_KINDS = frozenset(
    {ErrorKind.FAILED, ErrorKind.TIMEOUT, ErrorKind.BAD_OUTPUT, ErrorKind.EXPIRED}
)
"""Failures after which the title card may stand in (setting ``fallback_title_card``).

The provider accepted the key and the request, but this run gave no usable image: it failed,
ran past its deadline, its image was unusable, or the request or its image URL expired. A key,
account or workflow problem (401, 403, 404, 406) never falls back: a title card on every post
would hide what the admin must fix.
"""


class RetryLater(Exception):
    """The job hit a temporary problem; run it again after ``delay`` seconds."""

    def __init__(self, delay: float, reason: str) -> None:
        super().__init__(reason)
        self.delay = delay


class HeldAtGate(RetryLater):
    """The provider-key gate holds the job back; it is not a failed attempt."""

    def __init__(self, admission: Admission, key: str) -> None:
        super().__init__(admission.delay, f"held at the gate: {admission.hold}")
        self.hold = admission.hold
        self.key = key


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
        store: JobRecords,
        provider: Provider,
        wordpress: WordPressSite,
        images_dir: Path,
        retry: RetryPolicy,
        gate: Gate | None = None,
        provider_key: str = "",
        limits: Limits | None = None,
    ) -> None:
        self.store = store
        self.provider = provider
        self.wordpress = wordpress
        self.images_dir = images_dir
        self.retry = retry
        self.fallback = LocalProvider()  # the title card, when the site asks for a fallback
        self.gate = gate
        self.provider_key = provider_key or provider.name
        self.limits = limits or Limits()
        self._held_after_check: dict[str, float] = {}
        """Jobs of this process the gate held for a slot or a token, and when their post
        was checked (``time.monotonic()``)."""
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
        except HeldAtGate:
            self.store.update(job.id, attempts=job.attempts - 1, state=JobState.QUEUED)
            raise
        except PollLater:
            raise
        except _Stop as stop:
            self._finish(job, stop.state, stop.message)
        except (ProviderError, WordPressError) as exc:
            self._temporary_or_final(job, exc)
        except InvalidImage as exc:
            self._discard_image(job)
            message = f"The provider's image was unusable: {exc}"
            self._fall_back_or_fail(job, message, ErrorKind.BAD_OUTPUT.value)
        except Exception:
            log.exception("job %s: unexpected error", job.id)
            self._finish(job, JobState.FAILED, "Internal error in the bridge (see its log).")

    def _advance(self, job: Job, *, checking: bool) -> None:
        options = GenerationOptions.from_json(job.options)
        ticket = None
        if _needs_submission(job) and self.gate is not None:
            job, ticket = self._pass_gate(self.gate, job, options)
        elif not checking:
            job = self._check_post(job)
        context = PostContext.from_json(job.context)
        attachment_id = job.attachment_id
        if attachment_id is None:
            image = self._image(job, options, context, ticket)
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
        note = _fallback_note(job)
        self.wordpress.update_post(
            job.post_type,
            job.post_id,
            status="done",
            message=note,
            job_id=job.id,
            featured_media=attachment_id,
        )
        self.store.update(job.id, state=JobState.DONE, error=note or None)
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

    def _image(
        self, job: Job, options: GenerationOptions, context: PostContext, ticket: Ticket | None
    ) -> ImageFile:
        """The job's image: the one downloaded before, or one from the provider (``ticket``:
        the gate let its submission through).

        Raises PollLater while the provider's request runs (the job is run again then).
        """
        if job.image_path and os.path.exists(job.image_path):
            return identify(Path(job.image_path).read_bytes())
        # A job holding a provider slot shows "generating" once the provider accepted it, so
        # that WordPress's answer does not keep the slot idle; and a job that waited for
        # credits probes whether they are back, so a refused probe does not flicker the status.
        late = ticket is not None and (
            job.held == Hold.CREDITS
            or self.limits.max_concurrency > 0
            or self.limits.rate is not None
        )
        if job.state == JobState.QUEUED:
            self.store.update(
                job.id, state=JobState.GENERATING, provider=self.provider.name, held=None
            )
            try:
                if not late:
                    self._show_generating(job)
            except WordPressError:
                self._release(ticket, submitted=False)
                raise
        prompt = build_prompt(
            job.title,
            job.excerpt,
            context=context,
            template=options.prompt_template,
            style=options.style,
        )
        generated = self._generate(job, prompt, ticket, late=late)
        return self._keep_image(job, generated)[1]

    def _pass_gate(self, gate: Gate, job: Job, options: GenerationOptions) -> tuple[Job, Ticket]:
        """Claims the provider-key gate for a new submission and checks the post; raises
        HeldAtGate while the gate holds the job.

        The post is checked (ended if it is gone or has an image to keep) when the job is
        close to submitting: while it waits for a slot or a token that should free within
        RECHECK_AFTER, or, if it was not checked lately, when the gate would admit it (the
        claim is given back meanwhile and taken again after). A job woken for a
        free slot then submits at once instead of leaving the slot idle while WordPress
        answers, and the many jobs held far back in a large backfill do not ask WordPress
        until their turn nears. (The post is checked again before the upload anyway.)

        A job held for credits or the site's daily cap is shown as ``waiting`` with the reason
        and when it goes on; a wait for a free slot or token is seconds, and shows nothing.
        """
        checked_at = self._held_after_check.pop(job.id, None)
        if checked_at is not None and time.monotonic() - checked_at > RECHECK_AFTER:
            checked_at = None
        ticket = Ticket(job.id, self.provider_key, job.site_url, options.daily_cap)
        admission = gate.admit(ticket, self.limits)
        if admission.admitted and checked_at is None:
            # The submission must follow its claim closely (the rate window counts from the
            # claim until the provider answers): give the claim back while WordPress answers.
            gate.released(job.id, submitted=False)
            checked_at = time.monotonic()
            job = self._check_post(job)
            admission = gate.admit(ticket, self.limits)
        if not admission.admitted:
            short = admission.hold in (Hold.CONCURRENCY, Hold.RATE)
            if checked_at is None and (not short or admission.delay <= RECHECK_AFTER):
                checked_at = time.monotonic()
                job = self._check_post(job)
            if short and checked_at is not None:
                self._held_after_check[job.id] = checked_at
            self._hold(job, admission, options)
        return job, ticket

    def _generate(self, job: Job, prompt: Prompt, ticket: Ticket | None, *, late: bool) -> bytes:
        """The provider's image; the gate learns when the provider accepted the submission
        and when it is done with it (or never got it). ``late``: show "generating" then."""
        gated = ticket is not None or bool(job.provider_ref)
        checkpoint = _GatedCheckpoint(
            self.store,
            job.id,
            self.gate if gated else None,
            on_accepted=(lambda: self._show_generating(job, quiet=True)) if late else None,
        )
        try:
            generated = self.provider.generate(prompt, checkpoint)
        except ProviderError as exc:
            if ticket is not None and self.store.get(job.id) is not None:
                submitted = checkpoint.load() is not None
                if exc.kind is ErrorKind.CREDITS and not submitted and self.gate is not None:
                    admission = self.gate.out_of_credits(ticket, self.limits)
                    self._hold(job, admission, GenerationOptions.from_json(job.options))
                if not submitted:
                    self._release(ticket, submitted=False)
            raise
        if gated and not checkpoint.released:  # a provider that never said it was done
            self._release(Ticket(job.id, self.provider_key, job.site_url), submitted=True)
        return generated

    def _show_generating(self, job: Job, *, quiet: bool = False) -> None:
        """Tells the editor the provider is at work; ``quiet``: a failure is only logged."""
        try:
            self.wordpress.update_post(
                job.post_type, job.post_id, status="generating", job_id=job.id
            )
        except WordPressError as exc:
            if not quiet:
                raise
            log.warning("job %s: could not report 'generating' to WordPress: %s", job.id, exc)

    def _release(self, ticket: Ticket | None, *, submitted: bool) -> None:
        if ticket is not None and self.gate is not None:
            self.gate.released(ticket.job_id, submitted=submitted)

    def _hold(self, job: Job, admission: Admission, options: GenerationOptions) -> None:
        """Tells the editor why the job waits (credits, daily cap), then raises HeldAtGate."""
        if admission.hold in (Hold.CREDITS, Hold.DAILY_CAP):
            message = waiting_message(admission, options.daily_cap)
            if job.held != admission.hold or job.error != message:
                # WordPress first: if it cannot be told, the next try tells it.
                self.wordpress.update_post(
                    job.post_type,
                    job.post_id,
                    status="waiting",
                    message=message,
                    job_id=job.id,
                    error_kind=admission.hold.value,
                )
                self.store.update(job.id, held=admission.hold, error=message)
            log.info("job %s: waiting: %s", job.id, message)
        raise HeldAtGate(admission, self.provider_key)

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
            if not _fallback_note(job):  # a fallback's note stays for its "done"
                self.store.update(job.id, error=f"{source}: {exc.message} (retrying)")
            log.warning("job %s: %s; retry in %.0f s", job.id, exc.message, delay)
            recorders.retry(exc.kind.value if isinstance(exc, ProviderError) else "wordpress")
            raise RetryLater(delay, exc.message)
        if exc.retryable:
            message = f"{source}: {exc.message} (gave up after {job.attempts} attempts)"
        else:
            message = f"{source}: {exc.message}"
        if isinstance(exc, ProviderError):
            self._fall_back_or_fail(job, message, exc.kind.value)
        else:
            self._finish(job, JobState.FAILED, message, "wordpress")

    def _fall_back_or_fail(self, job: Job, message: str, kind: str) -> None:
        """Ends a job whose provider gave no image: with the title card, when the site asks
        for it and the failure is one of FALLBACK_KINDS, otherwise as failed.

        The title card is kept as the job's image before anything is uploaded, and the note
        (the provider's reason) is kept in the job, so a worker killed meanwhile resumes the
        upload with the same note. Nothing is submitted to the provider again.
        """
        options = GenerationOptions.from_json(job.options)
        if not options.fallback_title_card or kind not in FALLBACK_KINDS:
            self._finish(job, JobState.FAILED, message, kind)
            return
        note = f"{message.removeprefix('Image provider: ')}; a title card was used instead."
        log.info("job %s: %s", job.id, note)
        job = self.store.update(job.id, error=note, error_kind=kind)
        prompt = build_prompt(job.title, job.excerpt, context=PostContext.from_json(job.context))
        job, _ = self._keep_image(job, self.fallback.generate(prompt, _NoCheckpoint()))
        try:
            self._advance(
                job, checking=False
            )  # uploads the kept title card: the provider is not asked again
        except _Stop as stop:
            self._finish(job, stop.state, stop.message)
        except WordPressError as exc:
            self._temporary_or_final(job, exc)
        except Exception:
            log.exception("job %s: unexpected error while falling back", job.id)
            self._finish(job, JobState.FAILED, "Internal error in the bridge (see its log).")

    def _keep_image(self, job: Job, generated: bytes) -> tuple[Job, ImageFile]:
        """Renders the provider's bytes as the site asks and keeps them as the job's image."""
        options = GenerationOptions.from_json(job.options)
        image = render(
            generated,
            ImageOptions(options.width, options.height, options.format, options.quality),
        )
        path = self.images_dir / f"{job.id}.{image.extension}"
        partial = path.with_suffix(".part")
        partial.write_bytes(image.data)
        partial.replace(path)
        return self.store.update(job.id, image_path=str(path)), image

    def _finish(self, job: Job, state: JobState, message: str, kind: str | None = None) -> None:
        failed = state == JobState.FAILED
        self.store.update(job.id, state=state, error=message if failed else None, error_kind=kind)
        log.info("job %s: %s: %s", job.id, state.value, message)
        try:
            self.wordpress.update_post(
                job.post_type,
                job.post_id,
                status=state.value,
                message=message,
                job_id=job.id,
                error_kind=kind if failed else None,
            )
        except WordPressError as exc:
            log.warning("job %s: could not report %s to WordPress: %s", job.id, state, exc)

    def _discard_image(self, job: Job) -> None:
        if job.image_path:
            Path(job.image_path).unlink(missing_ok=True)


class _NoCheckpoint:
    """The title card fallback has no request to resume; the job's checkpoint is the
    provider's, and stays untouched."""

    def load(self) -> str | None:
        return None

    def save(self, reference: str) -> None:
        """Nothing to keep."""

    def load_progress(self) -> str | None:
        return None

    def save_progress(self, progress: str) -> None:
        """Nothing to keep."""

    def finished(self) -> None:
        """No slot to free."""


def _fallback_note(job: Job) -> str:
    """The note a job that fell back to the title card reports with its image, else ''."""
    return (job.error or "") if job.error_kind in FALLBACK_KINDS else ""


class _GatedCheckpoint(JobCheckpoint):
    """The job's checkpoint that also tells the gate when the provider accepted the job and
    when it is done running it: the slot goes to the next job while this one downloads."""

    def __init__(
        self,
        store: JobRecords,
        job_id: str,
        gate: Gate | None,
        on_accepted: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(store, job_id)
        self.gate = gate
        self.on_accepted = on_accepted
        self.released = False

    def finished(self) -> None:
        if self.gate is not None and not self.released:
            self.gate.released(self.job_id, submitted=True)
            self.released = True

    def save(self, reference: str) -> None:
        super().save(reference)
        if self.gate is not None:
            self.gate.accepted(self.job_id)
        if self.on_accepted is not None:
            self.on_accepted()


def waiting_message(admission: Admission, daily_cap: int) -> str:
    """What the editor reads while the gate holds the job for credits or the daily cap."""
    when = time.strftime("%H:%M UTC", time.gmtime(admission.resume_at))
    if admission.hold is Hold.DAILY_CAP:
        return (
            f"Waiting: the site's daily cap of {daily_cap} images is reached; "
            "continues after 00:00 UTC."
        )
    return (
        "Waiting for Segmind credits: the account has run out. Add credits; the bridge tries "
        f"again at {when} and then carries on with every waiting post."
    )


def _needs_submission(job: Job) -> bool:
    """Whether running the job may submit a new request to the provider."""
    has_image = bool(job.image_path) and os.path.exists(job.image_path or "")
    return job.attachment_id is None and not job.provider_ref and not has_image


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
