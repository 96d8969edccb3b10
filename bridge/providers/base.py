"""What every image provider offers the worker, and how it reports failure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True)
class Prompt:
    """What to draw: the post's cleaned title and excerpt, and the provider's input text."""

    title: str
    excerpt: str
    text: str


class ErrorKind(StrEnum):
    """Classes of provider failure; each decides whether a retry can help."""

    BAD_REQUEST = "bad_request"
    AUTH = "auth"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    """The workflow does not exist (a set-up problem, unlike EXPIRED)."""
    EXPIRED = "expired"
    """What the provider made is gone: its request or its image URL expired."""
    CREDITS = "credits"
    RATE_LIMITED = "rate_limited"
    SERVER = "server"
    NETWORK = "network"
    FAILED = "failed"
    TIMEOUT = "timeout"
    BAD_OUTPUT = "bad_output"


RETRYABLE_KINDS = frozenset({ErrorKind.RATE_LIMITED, ErrorKind.SERVER, ErrorKind.NETWORK})


class ProviderError(Exception):
    """A provider could not produce an image.

    ``message`` is written for the editor who sees it next to the post: it says what
    happened and, where someone can act, what to fix. It never contains a secret.
    ``retry_after`` is the delay in seconds the provider asked for, when it said.
    """

    def __init__(self, kind: ErrorKind, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS


class PollLater(Exception):
    """The provider's request is still running: ask again in ``delay`` seconds.

    The worker ends the task here, so a job waiting on the provider holds no thread, and
    runs the job again when the delay is over; the job's checkpoint says where it stands.
    """

    def __init__(self, delay: float) -> None:
        super().__init__(f"still running; next check in {delay:.2f} s")
        self.delay = max(delay, 0.0)


class Checkpoint(Protocol):
    """Where a provider keeps the reference of a request it already paid for, and its own
    notes on how that request is going (``progress``, opaque text).

    The worker backs this with the job record, so a job run again polls the request it
    submitted before instead of submitting (and paying for) a new one, and a job resumed by
    another worker process carries on the same schedule and deadline.
    """

    def load(self) -> str | None: ...

    def save(self, reference: str) -> None: ...

    def load_progress(self) -> str | None: ...

    def save_progress(self, progress: str) -> None: ...

    def finished(self) -> None:
        """The provider is done running the request (it succeeded or failed); what is left
        is fetching its result. Its concurrency slot can go to another job now."""
        ...


class Provider(Protocol):
    """Turns a prompt into image bytes (any format Pillow can read), one step at a time."""

    name: str

    def generate(self, prompt: Prompt, checkpoint: Checkpoint) -> bytes:
        """Advances the generation by one step and returns the image once there is one.

        A one-shot provider returns the image at once. An asynchronous one submits (when the
        checkpoint holds no request) or checks its request once, and raises
        :class:`PollLater` while the request runs. Raises :class:`ProviderError` when no
        image can come.
        """
        ...
