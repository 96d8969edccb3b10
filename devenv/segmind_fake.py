"""A local, faithful HTTP fake of the Segmind workflow API.

It runs a real HTTP server on 127.0.0.1 (Flask app served by werkzeug in a thread)::

    POST /workflows/<workflow id>        queue a run -> {"poll_url", "request_id", "status"}
    GET  /workflows/request/<request id> status: QUEUED -> PROCESSING -> COMPLETED | FAILED
    GET  /files/<request id>.<ext>       the generated image (public, like Segmind storage)

Every API request needs the key (``x-api-key`` or ``Authorization: Bearer``); each
submission costs one credit and answers carry ``x-remaining-credits``. How each job
behaves is scripted with :class:`JobScript`; failures are injected with
``fail_next_submit``/``fail_next_poll``. For a fake running as its own process the same
controls exist over HTTP under ``/_fake/``::

    POST /_fake/jobs   [{"outcome": "failed", ...}, ...]   queue JobScripts
    POST /_fake/fail   {"phase": "submit"|"poll", "status": 429, "times": 1,
                        "body": optional str, "headers": optional object}
                       (status 0: close the connection without answering)
    GET  /_fake/stats  {"submissions", "polls", "downloads", "credits"}
    GET  /_fake/records  one record per job: times, polls (see :meth:`FakeSegmind.records`)
    POST /_fake/reset

For benchmarks, the fake can also behave like a loaded service: ``run_times`` draws each
default job's processing time from a :class:`LognormalRunTimes`, ``concurrency`` runs at
most that many jobs at once (the others stay ``QUEUED``, first come first served) and
``rate_limit`` answers ``429`` to submissions beyond ``(count, window_s)``.

Run it in the foreground with ``python -m devenv.segmind_fake --port 8765``.
"""

from __future__ import annotations

import argparse
import heapq
import io
import json
import math
import random
import signal
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, cast, get_args

from flask import Flask, Response, request
from PIL import Image, ImageDraw
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = [
    "DROP",
    "FakeSegmind",
    "JobRecord",
    "JobScript",
    "LognormalRunTimes",
    "WORKFLOW_ID",
    "image_bytes",
    "main",
]

WORKFLOW_ID = "66b518aa31bd2081a8de2a98-v5"
INPUT_FIELD = "Blog_title_and_description"

Outcome = Literal["completed", "failed"]
OutputShape = Literal["list", "object"]
FailureField = Literal["error", "error_message"]
ImageFormat = Literal["PNG", "JPEG", "WEBP"]

DROP = 0
"""An injected ``status`` that closes the connection instead of answering."""

_EXTENSIONS: dict[str, str] = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
_CONTENT_TYPES: dict[str, str] = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}

_DEFAULT_ERRORS: dict[int, str] = {
    400: "Invalid request: Blog_title_and_description is required",
    401: "Invalid API key",
    403: "Access to this workflow is forbidden",
    404: "Workflow not found",
    406: "Insufficient credits",
    429: "Rate limit exceeded",
}

_HTML_PAGE = """<!DOCTYPE html>
<html><head><title>{code} {reason}</title></head>
<body><center><h1>{code} {reason}</h1></center><hr><center>nginx</center></body></html>
"""

_HTML_REASONS: dict[int, str] = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


@dataclass
class JobScript:
    """How one submitted job behaves."""

    queued_s: float = 0.1
    processing_s: float = 0.3
    outcome: Outcome = "completed"
    output_shape: OutputShape = "list"
    failure: object = "Flux model crashed"  # the FAILED reason payload
    failure_field: FailureField = "error"
    image_format: ImageFormat = "JPEG"
    image_expired: bool = False  # download answers 404
    # Extensions beyond the brief, for testing clients against odd answers:
    processing_status: str = "PROCESSING"  # status shown while running (e.g. "STARTING")
    raw_output: str | None = None  # COMPLETED ``output`` verbatim instead of a shape

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> JobScript:
        """Build from JSON (the control API); unknown fields or bad values raise ValueError."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown JobScript fields: {sorted(unknown)}")
        script = cls(**dict(data))
        script.validate()
        return script

    def to_dict(self) -> dict[str, Any]:
        """The JSON form accepted by ``POST /_fake/jobs``."""
        return asdict(self)

    def validate(self) -> None:
        checks: list[tuple[str, object, tuple[object, ...]]] = [
            ("outcome", self.outcome, get_args(Outcome)),
            ("output_shape", self.output_shape, get_args(OutputShape)),
            ("failure_field", self.failure_field, get_args(FailureField)),
            ("image_format", self.image_format, get_args(ImageFormat)),
        ]
        for name, value, allowed in checks:
            if value not in allowed:
                raise ValueError(f"{name} must be one of {list(allowed)}, not {value!r}")
        for name in ("queued_s", "processing_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number >= 0")
        if not isinstance(self.image_expired, bool):
            raise ValueError("image_expired must be a boolean")
        if not isinstance(self.processing_status, str):
            raise ValueError("processing_status must be a string")
        if self.raw_output is not None and not isinstance(self.raw_output, str):
            raise ValueError("raw_output must be a string or null")


@dataclass(frozen=True)
class LognormalRunTimes:
    """Processing times spread like a lognormal: ``median`` and ``sigma`` in real seconds,
    multiplied by ``scale`` (e.g. 0.05 to run a 35 s job in 1.75 s)."""

    median: float = 35.0
    sigma: float = 0.35
    scale: float = 1.0
    seed: int | None = None

    def sampler(self) -> random.Random:
        return random.Random(self.seed)

    def draw(self, rng: random.Random) -> float:
        return self.scale * self.median * math.exp(rng.gauss(0.0, self.sigma))


@dataclass(frozen=True)
class JobRecord:
    """What happened to one job, on the fake's ``time.monotonic()`` clock.

    ``finished`` is when the job reached COMPLETED/FAILED; ``seen_done`` is when a poll
    first reported it (None if no poll has yet); ``polls`` counts status requests for it.
    """

    request_id: str
    submitted: float
    started: float
    finished: float
    polls: int
    seen_done: float | None

    @property
    def detection_delay(self) -> float | None:
        return None if self.seen_done is None else self.seen_done - self.finished


@dataclass
class _Injection:
    status: int
    times: int
    body: str | None
    headers: dict[str, str]


@dataclass
class _Job:
    request_id: str
    script: JobScript
    created: float
    started: float = -1.0  # when PROCESSING begins; computed at submission
    polls: int = 0
    seen_done: float | None = None
    extension: str = field(init=False)

    def __post_init__(self) -> None:
        self.extension = _EXTENSIONS[self.script.image_format]
        if self.started < 0:
            self.started = self.created + self.script.queued_s

    @property
    def finished(self) -> float:
        return self.started + self.script.processing_s


# --------------------------------------------------------------------------- images

_IMAGE_CACHE: dict[str, bytes] = {}
_IMAGE_LOCK = threading.Lock()


def image_bytes(image_format: str) -> bytes:
    """A 1024x576 gradient with a few shapes, encoded once per format and cached."""
    fmt = image_format.upper()
    if fmt not in _EXTENSIONS:
        raise ValueError(f"unsupported image format {image_format!r}")
    with _IMAGE_LOCK:
        cached = _IMAGE_CACHE.get(fmt)
        if cached is None:
            cached = _render(fmt)
            _IMAGE_CACHE[fmt] = cached
        return cached


def _render(fmt: str) -> bytes:
    width, height = 1024, 576
    horizontal = Image.linear_gradient("L").rotate(90).resize((width, height))
    vertical = Image.linear_gradient("L").resize((width, height))
    flat = Image.new("L", (width, height), 150)
    image = Image.merge("RGB", (horizontal, vertical, flat))
    draw = ImageDraw.Draw(image)
    draw.ellipse((80, 80, 380, 380), fill=(250, 200, 60), outline=(40, 40, 40), width=6)
    draw.rectangle((520, 160, 900, 460), fill=(40, 110, 200), outline=(255, 255, 255), width=6)
    draw.polygon([(420, 520), (560, 300), (700, 520)], fill=(220, 70, 90))
    draw.line((0, height - 30, width, height - 30), fill=(255, 255, 255), width=4)
    # A little grain, so the files weigh roughly what real generated images weigh.
    grain = Image.effect_noise((width, height), 40).convert("RGB")
    image = Image.blend(image, grain, 0.08)
    out = io.BytesIO()
    options: dict[str, Any] = {"quality": 85} if fmt in ("JPEG", "WEBP") else {}
    image.save(out, format=fmt, **options)
    return out.getvalue()


# --------------------------------------------------------------------------- server


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class FakeSegmind:
    """The fake Segmind service. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        *,
        api_keys: Iterable[str] = ("test-key",),
        default_job: JobScript | None = None,
        port: int = 0,
        credits: int = 1000,
        quiet: bool = True,
        run_times: LognormalRunTimes | None = None,
        concurrency: int | None = None,
        rate_limit: tuple[int, float] | None = None,
    ) -> None:
        self._api_keys = tuple(api_keys)
        if not self._api_keys:
            raise ValueError("FakeSegmind needs at least one API key")
        self.api_key = self._api_keys[0]
        self.default_job = default_job or JobScript()
        self.default_job.validate()
        if concurrency is not None and concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if rate_limit is not None and (rate_limit[0] < 1 or rate_limit[1] <= 0):
            raise ValueError("rate_limit must be (count >= 1, window_s > 0)")
        self.run_times = run_times
        self._rng = run_times.sampler() if run_times else random.Random()
        self.concurrency = concurrency
        self.rate_limit = rate_limit
        self._slots: list[float] = []  # finish times of the jobs holding a processing slot
        self._recent: deque[float] = deque()  # accepted submission times, for rate_limit
        self._rate_limited = 0
        self._no_credits = 0
        self._port = port
        self._initial_credits = credits
        self._quiet = quiet
        self._lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._jobs: dict[str, _Job] = {}
        self._scripts: deque[JobScript] = deque()
        self._fail_submit: deque[_Injection] = deque()
        self._fail_poll: deque[_Injection] = deque()
        self._submissions: list[dict[str, Any]] = []
        self._polls = 0
        self._downloads = 0
        self.credits = credits
        self.app = self._build_app()

    # -- lifecycle

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = make_server(
            "127.0.0.1",
            self._port,
            self.app,
            threaded=True,
            request_handler=_QuietHandler if self._quiet else None,
        )
        self._port = self._server.port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"segmind-fake:{self._port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        if thread is not None:
            thread.join(timeout=5)
        server.server_close()

    def __enter__(self) -> FakeSegmind:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("FakeSegmind has no port until start()")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def workflow_url(self) -> str:
        return f"{self.base_url}/workflows/{WORKFLOW_ID}"

    def poll_url(self, request_id: str) -> str:
        return f"{self.base_url}/workflows/request/{request_id}"

    def file_url(self, request_id: str, extension: str) -> str:
        return f"{self.base_url}/files/{request_id}.{extension}"

    # -- scripting

    def queue_jobs(self, *scripts: JobScript) -> None:
        """The next submissions behave like these, in order; then ``default_job``."""
        for script in scripts:
            script.validate()
        with self._lock:
            self._scripts.extend(scripts)

    def fail_next_submit(
        self,
        status: int,
        *,
        times: int = 1,
        body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next ``times`` submissions answer ``status`` (after the key check).

        ``status`` :data:`DROP` (0) closes the connection without an answer, before the
        submission is accepted (so it costs no credit).

        4xx answer ``{"error": ...}``; 5xx an nginx-style HTML page; ``body`` overrides
        (any status, even 200, for malformed-answer tests). 429 carries
        ``x-rate-limit-reset-at-utc`` 60 s ahead unless ``headers`` are given.
        """
        with self._lock:
            self._fail_submit.append(_Injection(status, times, body, dict(headers or {})))

    def fail_next_poll(
        self,
        status: int,
        *,
        times: int = 1,
        body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Like :meth:`fail_next_submit`, for status requests."""
        with self._lock:
            self._fail_poll.append(_Injection(status, times, body, dict(headers or {})))

    def reset(self) -> None:
        """Forget jobs, scripts, injections and counters; restore credits."""
        with self._lock:
            self._jobs.clear()
            self._scripts.clear()
            self._fail_submit.clear()
            self._fail_poll.clear()
            self._submissions.clear()
            self._polls = 0
            self._downloads = 0
            self.credits = self._initial_credits
            self._slots.clear()
            self._recent.clear()
            self._rate_limited = 0
            self._no_credits = 0
            self._rng = self.run_times.sampler() if self.run_times else random.Random()

    # -- observations

    @property
    def submissions(self) -> list[dict[str, Any]]:
        """Received (accepted) submissions: request_id, payload, headers (no key), auth, and
        ``received_at`` (``time.monotonic()`` when the fake accepted it)."""
        with self._lock:
            return [dict(item) for item in self._submissions]

    @property
    def polls(self) -> int:
        with self._lock:
            return self._polls

    @property
    def downloads(self) -> int:
        with self._lock:
            return self._downloads

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "submissions": len(self._submissions),
                "polls": self._polls,
                "downloads": self._downloads,
                "credits": self.credits,
            }

    @property
    def rate_limited(self) -> int:
        """Submissions refused with 429 by ``rate_limit`` (not injected failures)."""
        with self._lock:
            return self._rate_limited

    def records(self) -> list[JobRecord]:
        """One record per submitted job, in submission order."""
        with self._lock:
            return [
                JobRecord(
                    request_id=job.request_id,
                    submitted=job.created,
                    started=job.started,
                    finished=job.finished,
                    polls=job.polls,
                    seen_done=job.seen_done,
                )
                for job in self._jobs.values()
            ]

    def status_of(self, request_id: str) -> str | None:
        with self._lock:
            job = self._jobs.get(request_id)
        return None if job is None else self._status(job, time.monotonic())

    # -- HTTP app

    def _build_app(self) -> Flask:
        app = Flask(f"segmind_fake_{id(self)}")
        app.add_url_rule("/workflows/<workflow_id>", "submit", self._submit_view, methods=["POST"])
        app.add_url_rule(
            "/workflows/request/<request_id>", "poll", self._poll_view, methods=["GET"]
        )
        app.add_url_rule("/files/<name>", "file", self._file_view, methods=["GET"])
        app.add_url_rule("/_fake/jobs", "ctl_jobs", self._ctl_jobs, methods=["POST"])
        app.add_url_rule("/_fake/fail", "ctl_fail", self._ctl_fail, methods=["POST"])
        app.add_url_rule("/_fake/stats", "ctl_stats", self._ctl_stats, methods=["GET"])
        app.add_url_rule("/_fake/records", "ctl_records", self._ctl_records, methods=["GET"])
        app.add_url_rule("/_fake/reset", "ctl_reset", self._ctl_reset, methods=["POST"])
        return app

    def _json(self, payload: object, status: int = 200, *, credits: bool = True) -> Response:
        response = Response(json.dumps(payload), status=status, mimetype="application/json")
        if credits:
            with self._lock:
                response.headers["x-remaining-credits"] = str(self.credits)
        return response

    def _auth(self) -> list[str] | None:
        """Which auth headers carried a valid key; None when none did."""
        valid: list[str] = []
        key = request.headers.get("x-api-key")
        if key is not None and key in self._api_keys:
            valid.append("x-api-key")
        authorization = request.headers.get("Authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip() in self._api_keys:
            valid.append("bearer")
        return valid or None

    @property
    def refused_for_credits(self) -> int:
        """Submissions refused with 406 because ``credits`` ran out (not injected failures)."""
        with self._lock:
            return self._no_credits

    def _take(self, queue: deque[_Injection]) -> _Injection | None:
        with self._lock:
            if not queue:
                return None
            injection = queue[0]
            injection.times -= 1
            if injection.times <= 0:
                queue.popleft()
            return injection

    def _injected(self, injection: _Injection, phase: str) -> Response:
        status = injection.status
        if status == DROP:
            return self._drop()
        headers = dict(injection.headers)
        if status == 429 and not injection.headers:
            reset = datetime.now(UTC) + timedelta(seconds=60)
            headers["x-rate-limit-reset-at-utc"] = reset.isoformat().replace("+00:00", "Z")
        if injection.body is not None:
            body = injection.body
            stripped = body.lstrip()
            if stripped.startswith(("{", "[")):
                mimetype = "application/json"
            elif stripped.startswith("<"):
                mimetype = "text/html"
            else:
                mimetype = "text/plain"
        elif status >= 500:
            reason = _HTML_REASONS.get(status, "Server Error")
            body, mimetype = _HTML_PAGE.format(code=status, reason=reason), "text/html"
        else:
            message = _DEFAULT_ERRORS.get(status, f"HTTP {status}")
            if status == 404 and phase == "poll":
                message = "Request not found"
            body, mimetype = json.dumps({"error": message}), "application/json"
        response = Response(body, status=status, mimetype=mimetype)
        for name, value in headers.items():
            response.headers[name] = value
        with self._lock:
            response.headers.setdefault("x-remaining-credits", str(self.credits))
        return response

    def _drop(self) -> Response:
        """Closes the client's connection with no answer (a proxy or network cutting it)."""
        connection = request.environ.get("werkzeug.socket")
        if isinstance(connection, socket.socket):
            connection.shutdown(socket.SHUT_RDWR)
        return Response("", status=502)  # never reaches the client

    def _submit_view(self, workflow_id: str) -> Response:
        auth = self._auth()
        if auth is None:
            return self._json({"error": "Invalid API key"}, 401, credits=False)
        injection = self._take(self._fail_submit)
        if injection is not None:
            return self._injected(injection, "submit")
        if workflow_id != WORKFLOW_ID:
            return self._json({"error": "Workflow not found"}, 404)
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not isinstance(payload.get(INPUT_FIELD), str):
            return self._json({"error": f"Invalid request: {INPUT_FIELD} is required"}, 400)
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in ("x-api-key", "authorization")
        }
        with self._lock:
            now = time.monotonic()
            reset_in = self._rate_limit_wait(now)
            if reset_in is not None:
                self._rate_limited += 1
            if reset_in is not None or self.credits <= 0:
                insufficient = True
                self._no_credits += reset_in is None
            else:
                insufficient = False
                self.credits -= 1
                request_id = str(uuid.uuid4())
                self._jobs[request_id] = self._new_job(request_id, now)
                self._submissions.append(
                    {
                        "request_id": request_id,
                        "payload": payload,
                        "headers": headers,
                        "auth": auth,
                        "received_at": time.monotonic(),
                    }
                )
        if reset_in is not None:
            reset = datetime.now(UTC) + timedelta(seconds=reset_in)
            response = self._json({"error": _DEFAULT_ERRORS[429]}, 429)
            response.headers["x-rate-limit-reset-at-utc"] = reset.isoformat().replace("+00:00", "Z")
            return response
        if insufficient:
            return self._json({"error": "Insufficient credits"}, 406)
        return self._json(
            {
                "poll_url": self.poll_url(request_id),
                "request_id": request_id,
                "status": "QUEUED",
                "message": "Workflow queued for execution",
            }
        )

    def _rate_limit_wait(self, now: float) -> float | None:
        """Seconds until a submission is allowed again, or None if it is allowed now.
        Records the submission when allowed. Called with the lock held."""
        if self.rate_limit is None:
            return None
        count, window = self.rate_limit
        while self._recent and self._recent[0] <= now - window:
            self._recent.popleft()
        if len(self._recent) >= count:
            return self._recent[0] + window - now
        self._recent.append(now)
        return None

    def _new_job(self, request_id: str, now: float) -> _Job:
        """The next job: its script, run time and slot. Called with the lock held."""
        if self._scripts:
            script = self._scripts.popleft()
        elif self.run_times is not None:
            processing_s = self.run_times.draw(self._rng)
            script = JobScript(**{**asdict(self.default_job), "processing_s": processing_s})
        else:
            script = self.default_job
        ready = now + script.queued_s
        if self.concurrency is None:
            return _Job(request_id, script, now)
        if len(self._slots) < self.concurrency:
            started = ready
        else:
            started = max(ready, heapq.heappop(self._slots))
        heapq.heappush(self._slots, started + script.processing_s)
        return _Job(request_id, script, now, started=started)

    def _status(self, job: _Job, now: float) -> str:
        if now < job.started:
            return "QUEUED"
        if now < job.finished:
            return job.script.processing_status
        return "COMPLETED" if job.script.outcome == "completed" else "FAILED"

    def _poll_view(self, request_id: str) -> Response:
        with self._lock:
            self._polls += 1
        if self._auth() is None:
            return self._json({"error": "Invalid API key"}, 401, credits=False)
        injection = self._take(self._fail_poll)
        if injection is not None:
            return self._injected(injection, "poll")
        now = time.monotonic()
        with self._lock:
            job = self._jobs.get(request_id)
            if job is not None:
                job.polls += 1
                if job.seen_done is None and now >= job.finished:
                    job.seen_done = now
        if job is None:
            return self._json({"error": "Request not found"}, 404)
        status = self._status(job, now)
        body: dict[str, Any] = {"request_id": request_id, "status": status, "output": ""}
        if status == "COMPLETED":
            body["output"] = self._output(job)
        elif status == "FAILED":
            body[job.script.failure_field] = job.script.failure
        return self._json(body)

    def _output(self, job: _Job) -> str:
        if job.script.raw_output is not None:
            return job.script.raw_output
        url = self.file_url(job.request_id, job.extension)
        shape: object
        if job.script.output_shape == "list":
            shape = [{"keyname": "image_output", "value": {"data": url, "type": "image"}}]
        else:
            shape = {"image_output": url}
        return json.dumps(shape)

    def _file_view(self, name: str) -> Response:
        with self._lock:
            self._downloads += 1
            request_id, _, extension = name.rpartition(".")
            job = self._jobs.get(request_id)
        if (
            job is None
            or job.extension != extension
            or job.script.image_expired
            or self._status(job, time.monotonic()) != "COMPLETED"
        ):
            return Response(
                "<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code>"
                "<Message>The specified key does not exist.</Message></Error>",
                status=404,
                mimetype="application/xml",
            )
        return Response(image_bytes(job.script.image_format), mimetype=_CONTENT_TYPES[extension])

    # -- control API

    def _ctl_jobs(self) -> Response:
        data = request.get_json(silent=True)
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            return self._json({"error": "expected a JSON list of JobScript objects"}, 400)
        try:
            scripts = [JobScript.from_mapping(cast(dict[str, Any], item)) for item in data]
        except (TypeError, ValueError) as exc:
            return self._json({"error": str(exc)}, 400, credits=False)
        self.queue_jobs(*scripts)
        return self._json({"queued": len(scripts)}, credits=False)

    def _ctl_fail(self) -> Response:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return self._json({"error": "expected a JSON object"}, 400, credits=False)
        phase, status, times = data.get("phase"), data.get("status"), data.get("times", 1)
        body, headers = data.get("body"), data.get("headers")
        if (
            phase not in ("submit", "poll")
            or not isinstance(status, int)
            or not (100 <= status <= 599 or status == DROP)
            or not isinstance(times, int)
            or times < 1
            or (body is not None and not isinstance(body, str))
            or (headers is not None and not isinstance(headers, dict))
        ):
            return self._json(
                {"error": 'expected {"phase": "submit"|"poll", "status": int, "times": int>=1}'},
                400,
                credits=False,
            )
        hdrs = {str(k): str(v) for k, v in (headers or {}).items()}
        inject = self.fail_next_submit if phase == "submit" else self.fail_next_poll
        inject(status, times=times, body=body, headers=hdrs)
        return self._json({"ok": True}, credits=False)

    def _ctl_stats(self) -> Response:
        return self._json(self.stats(), credits=False)

    def _ctl_records(self) -> Response:
        records = [
            {**asdict(record), "detection_delay": record.detection_delay}
            for record in self.records()
        ]
        return self._json(records, credits=False)

    def _ctl_reset(self) -> Response:
        self.reset()
        return self._json({"ok": True}, credits=False)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devenv.segmind_fake", description="Run the fake Segmind API."
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--queued-s", type=float, default=JobScript.queued_s)
    parser.add_argument("--processing-s", type=float, default=JobScript.processing_s)
    parser.add_argument("--api-key", action="append", dest="api_keys", metavar="KEY")
    parser.add_argument("--credits", type=int, default=1000)
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    fake = FakeSegmind(
        api_keys=args.api_keys or ("test-key",),
        default_job=JobScript(queued_s=args.queued_s, processing_s=args.processing_s),
        port=args.port,
        credits=args.credits,
        quiet=not args.verbose,
    )

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    fake.start()
    print(f"SEGMIND_WORKFLOW_URL={fake.workflow_url}", flush=True)
    print(f"SEGMIND_API_KEY={fake.api_key}", flush=True)
    print(f"control: {fake.base_url}/_fake/stats  (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
