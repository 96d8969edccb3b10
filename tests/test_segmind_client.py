"""SegmindClient and SegmindProvider against the local fake Segmind (a real HTTP server)."""

from __future__ import annotations

import io
import ipaddress
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from PIL import Image

import bridge
from bridge.config import Settings
from bridge.download import ImageDownloader
from bridge.imaging import check_image
from bridge.providers import create_provider
from bridge.providers.base import ErrorKind, Prompt, ProviderError
from bridge.providers.segmind import (
    PollResult,
    SegmindClient,
    SegmindProvider,
    describe_failure,
    find_image_url,
    parse_retry_after,
)
from devenv.segmind_fake import FakeSegmind, JobScript
from tests.providers import MemoryCheckpoint, finish

KEY = "sk-test-0123456789abcdef"
PROMPT = Prompt(
    title="Ten tips for spring gardening",
    excerpt="How to get your beds ready.",
    text="Ten tips for spring gardening. How to get your beds ready.",
)
FAST = JobScript(queued_s=0.02, processing_s=0.05)
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


def loopback_downloader(**options: int) -> ImageDownloader:
    """The fake serves its images on 127.0.0.1, which only an allow-list opens."""
    return ImageDownloader(allow=LOOPBACK, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeSegmind]:
    with FakeSegmind(api_keys=(KEY, "other-key"), default_job=FAST) as server:
        yield server


@pytest.fixture
def fake(fake_server: FakeSegmind) -> FakeSegmind:
    fake_server.reset()
    return fake_server


@pytest.fixture
def client(fake: FakeSegmind) -> Iterator[SegmindClient]:
    with SegmindClient(
        KEY, fake.workflow_url, timeout=5.0, downloader=loopback_downloader()
    ) as segmind:
        yield segmind


def make_provider(client: SegmindClient, **kwargs: float) -> SegmindProvider:
    options: dict[str, float] = {"poll_interval": 0.02, "deadline": 5.0}
    options.update(kwargs)
    return SegmindProvider(client, **options)  # type: ignore[arg-type]


def assert_clean(message: str) -> None:
    """Editor-facing messages: no key, no HTML."""
    assert KEY not in message
    assert "<" not in message and "html" not in message.lower()
    assert message.strip() == message and "\n" not in message


# --------------------------------------------------------------------------- success


@pytest.mark.parametrize("shape", ["list", "object"])
@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP"])
def test_generate_returns_decodable_image(
    fake: FakeSegmind, client: SegmindClient, shape: str, image_format: str
) -> None:
    fake.queue_jobs(
        JobScript(
            queued_s=0.02,
            processing_s=0.05,
            output_shape=shape,  # type: ignore[arg-type]
            image_format=image_format,  # type: ignore[arg-type]
        )
    )
    checkpoint = MemoryCheckpoint()
    data = finish(make_provider(client), PROMPT, checkpoint)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == image_format
        assert image.size == (1024, 576)
    assert len(fake.submissions) == 1
    assert fake.downloads == 1
    assert checkpoint.saves == [fake.poll_url(fake.submissions[0]["request_id"])]


def test_request_carries_both_auth_headers_user_agent_and_text(
    fake: FakeSegmind, client: SegmindClient
) -> None:
    submission = client.submit(PROMPT.text)
    (received,) = fake.submissions
    assert received["request_id"] == submission.request_id
    assert received["payload"] == {"Blog_title_and_description": PROMPT.text}
    assert sorted(received["auth"]) == ["bearer", "x-api-key"]
    headers = {name.lower(): value for name, value in received["headers"].items()}
    assert headers["user-agent"] == f"featured-image-bridge/{bridge.__version__}"
    assert "x-api-key" not in headers and "authorization" not in headers
    assert submission.poll_url == fake.poll_url(submission.request_id)


def test_headers_on_the_wire() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"poll_url": "https://api.example/r/1", "request_id": "1", "status": "QUEUED"}
        )

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        segmind = SegmindClient(KEY, "https://api.example/workflows/x", http=http)
        segmind.submit("hello")
    (request,) = seen
    assert request.headers["x-api-key"] == KEY
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content) == {"Blog_title_and_description": "hello"}


def test_remaining_credits_are_read(fake: FakeSegmind, client: SegmindClient) -> None:
    assert client.remaining_credits is None
    client.submit("one")
    assert client.remaining_credits == 999
    client.submit("two")
    assert client.remaining_credits == 998


def test_insufficient_credits_from_the_fake_itself() -> None:
    with FakeSegmind(api_keys=(KEY,), credits=1, default_job=FAST) as server:
        with SegmindClient(KEY, server.workflow_url) as segmind:
            segmind.submit("paid")
            assert segmind.remaining_credits == 0
            with pytest.raises(ProviderError) as caught:
                segmind.submit("unpaid")
    assert caught.value.kind is ErrorKind.CREDITS
    assert "top up your Segmind account" in caught.value.message
    assert not caught.value.retryable


# --------------------------------------------------------------------------- polling


def test_unknown_statuses_are_treated_as_running(fake: FakeSegmind, client: SegmindClient) -> None:
    fake.queue_jobs(JobScript(queued_s=0.0, processing_s=0.15, processing_status="STARTING"))
    submission = client.submit(PROMPT.text)
    first = client.poll(submission.poll_url)
    assert first == PollResult(status="STARTING")
    assert not first.done and not first.failed
    data = finish(make_provider(client), PROMPT, MemoryCheckpoint(submission.poll_url))
    assert data[:3] == b"\xff\xd8\xff"
    assert len(fake.submissions) == 1


def test_poll_reports_queued_then_completed(fake: FakeSegmind, client: SegmindClient) -> None:
    fake.queue_jobs(JobScript(queued_s=0.1, processing_s=0.1))
    submission = client.submit(PROMPT.text)
    assert client.poll(submission.poll_url).status == "QUEUED"
    time.sleep(0.25)
    result = client.poll(submission.poll_url)
    assert result.done
    assert result.image_url is not None and result.image_url.endswith(".jpg")


def test_deadline_gives_timeout(fake: FakeSegmind, client: SegmindClient) -> None:
    fake.queue_jobs(JobScript(queued_s=0.05, processing_s=30.0))
    checkpoint = MemoryCheckpoint()
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        finish(make_provider(client, deadline=0.25), PROMPT, checkpoint)
    assert time.monotonic() - started < 2.0
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert "no result after 0.25 s" in caught.value.message
    assert "PROCESSING" in caught.value.message
    assert not caught.value.retryable
    assert checkpoint.reference is not None


def test_deadline_uses_injected_clock_and_sleep(client: SegmindClient, fake: FakeSegmind) -> None:
    fake.queue_jobs(JobScript(queued_s=60.0, processing_s=0.0))
    now = [1000.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    provider = SegmindProvider(client, poll_interval=7.0, deadline=20.0, clock=lambda: now[0])
    with pytest.raises(ProviderError) as caught:
        finish(provider, PROMPT, MemoryCheckpoint(), sleep=sleep)
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert "no result after 20 s" in caught.value.message
    assert sleeps == [7.0, 7.0, 6.0]
    assert fake.polls == 3


def test_retry_after_timeout_resumes_the_same_request(
    fake: FakeSegmind, client: SegmindClient
) -> None:
    fake.queue_jobs(JobScript(queued_s=0.0, processing_s=0.4))
    checkpoint = MemoryCheckpoint()
    with pytest.raises(ProviderError) as caught:
        finish(make_provider(client, deadline=0.1), PROMPT, checkpoint)
    assert caught.value.kind is ErrorKind.TIMEOUT
    data = finish(make_provider(client), PROMPT, checkpoint)
    assert data[:3] == b"\xff\xd8\xff"
    assert len(fake.submissions) == 1
    assert len(checkpoint.saves) == 1


def test_saved_reference_is_polled_never_resubmitted(
    fake: FakeSegmind, client: SegmindClient
) -> None:
    submission = client.submit(PROMPT.text)
    checkpoint = MemoryCheckpoint(submission.poll_url)
    data = finish(make_provider(client), PROMPT, checkpoint)
    assert data[:3] == b"\xff\xd8\xff"
    assert len(fake.submissions) == 1
    assert checkpoint.saves == []


def test_reference_is_saved_before_the_first_poll(fake: FakeSegmind, client: SegmindClient) -> None:
    polls_at_save: list[int] = []

    class Recording(MemoryCheckpoint):
        def save(self, reference: str) -> None:
            polls_at_save.append(fake.polls)
            super().save(reference)

    finish(make_provider(client), PROMPT, Recording())
    assert polls_at_save == [0]


def test_saved_reference_gone_has_expired(fake: FakeSegmind, client: SegmindClient) -> None:
    submission = client.submit(PROMPT.text)
    fake.reset()  # the fake forgets the request, like Segmind after expiry
    with pytest.raises(ProviderError) as caught:
        finish(make_provider(client), PROMPT, MemoryCheckpoint(submission.poll_url))
    assert caught.value.kind is ErrorKind.EXPIRED
    assert "no longer knows" in caught.value.message
    assert "SEGMIND_WORKFLOW_URL" not in caught.value.message
    assert len(fake.submissions) == 0


def test_transient_poll_errors_are_tolerated(fake: FakeSegmind, client: SegmindClient) -> None:
    fake.fail_next_poll(502, times=2)
    data = finish(make_provider(client), PROMPT, MemoryCheckpoint())
    assert data[:3] == b"\xff\xd8\xff"


def test_persistent_poll_errors_surface(fake: FakeSegmind, client: SegmindClient) -> None:
    fake.fail_next_poll(503, times=10)
    with pytest.raises(ProviderError) as caught:
        finish(make_provider(client), PROMPT, MemoryCheckpoint())
    assert caught.value.kind is ErrorKind.SERVER
    assert caught.value.retryable
    assert fake.polls == 4  # first try + max_poll_errors (3) retries


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("failure", "field", "expected"),
    [
        ("Flux model crashed", "error", "Flux model crashed"),
        ("  GPU out of\n memory ", "error_message", "GPU out of memory"),
        ({"message": "NSFW content detected"}, "error", "NSFW content detected"),
        ({"detail": {"error": "bad seed"}}, "error_message", "bad seed"),
        ({"code": 17}, "error", '{"code":17}'),
        (
            [{"model": "flux-dev", "error": "OOM"}, {"model": "upscaler", "error": "timeout"}],
            "error",
            "flux-dev: OOM; upscaler: timeout",
        ),
        (
            [{"model": "flux-dev", "error": "OOM"}],
            "error_message",
            "flux-dev: OOM",
        ),
    ],
)
def test_failed_reason_is_one_readable_line(
    fake: FakeSegmind, client: SegmindClient, failure: object, field: str, expected: str
) -> None:
    fake.queue_jobs(
        JobScript(
            queued_s=0.0,
            processing_s=0.02,
            outcome="failed",
            failure=failure,
            failure_field=field,  # type: ignore[arg-type]
        )
    )
    with pytest.raises(ProviderError) as caught:
        finish(make_provider(client), PROMPT, MemoryCheckpoint())
    assert caught.value.kind is ErrorKind.FAILED
    assert not caught.value.retryable
    assert caught.value.message == f"Segmind could not generate the image: {expected}"
    assert fake.downloads == 0


def test_expired_image_is_a_clear_error(fake: FakeSegmind, client: SegmindClient) -> None:
    fake.queue_jobs(JobScript(queued_s=0.0, processing_s=0.02, image_expired=True))
    with pytest.raises(ProviderError) as caught:
        finish(make_provider(client), PROMPT, MemoryCheckpoint())
    assert caught.value.kind is ErrorKind.EXPIRED
    assert "the image URL has expired or does not exist" in caught.value.message
    assert_clean(caught.value.message)


@pytest.mark.parametrize(
    ("raw_output", "what"),
    [
        ("this is not json", "could not be read"),
        ('{"text_output": "no image here"}', "named no image URL"),
        ("[]", "named no image URL"),
        ("", "could not be read"),
    ],
)
def test_completed_without_url_is_bad_output(
    fake: FakeSegmind, client: SegmindClient, raw_output: str, what: str
) -> None:
    fake.queue_jobs(JobScript(queued_s=0.0, processing_s=0.0, raw_output=raw_output))
    with pytest.raises(ProviderError) as caught:
        finish(make_provider(client), PROMPT, MemoryCheckpoint())
    assert caught.value.kind is ErrorKind.BAD_OUTPUT
    assert what in caught.value.message


ERROR_TABLE = [
    (400, ErrorKind.BAD_REQUEST, False, "HTTP 400"),
    (401, ErrorKind.AUTH, False, "Segmind rejected the API key: check SEGMIND_API_KEY"),
    (403, ErrorKind.FORBIDDEN, False, "HTTP 403"),
    (404, ErrorKind.NOT_FOUND, False, "HTTP 404"),
    (406, ErrorKind.CREDITS, False, "insufficient credits: top up your Segmind account"),
    (429, ErrorKind.RATE_LIMITED, True, "rate limit"),
    (500, ErrorKind.SERVER, True, "HTTP 500"),
    (502, ErrorKind.SERVER, True, "HTTP 502"),
    (504, ErrorKind.SERVER, True, "HTTP 504"),
]


@pytest.mark.parametrize("phase", ["submit", "poll"])
@pytest.mark.parametrize(("status", "kind", "retryable", "fragment"), ERROR_TABLE)
def test_error_statuses_map_to_kinds(
    fake: FakeSegmind,
    client: SegmindClient,
    phase: str,
    status: int,
    kind: ErrorKind,
    retryable: bool,
    fragment: str,
) -> None:
    if phase == "submit":
        fake.fail_next_submit(status)
        with pytest.raises(ProviderError) as caught:
            client.submit(PROMPT.text)
    else:
        poll_url = client.submit(PROMPT.text).poll_url
        fake.fail_next_poll(status)
        with pytest.raises(ProviderError) as caught:
            client.poll(poll_url)
    error = caught.value
    if (status, phase) == (404, "poll"):
        kind = ErrorKind.EXPIRED  # the request is gone, the workflow may well exist
    assert error.kind is kind
    assert error.retryable is retryable
    assert fragment.lower() in error.message.lower()
    assert_clean(error.message)
    if status == 404:
        hint = "SEGMIND_WORKFLOW_URL" if phase == "submit" else "no longer knows"
        assert hint in error.message
    if status == 429:
        assert error.retry_after is not None and 50 <= error.retry_after <= 60


@pytest.mark.parametrize("status", [500, 502, 504])
def test_html_body_never_reaches_the_message(
    fake: FakeSegmind, client: SegmindClient, status: int
) -> None:
    fake.fail_next_submit(
        status,
        body="<html><body><h1>Oops</h1><pre>Traceback: secret internals</pre></body></html>",
    )
    with pytest.raises(ProviderError) as caught:
        client.submit(PROMPT.text)
    assert caught.value.kind is ErrorKind.SERVER
    assert "Traceback" not in caught.value.message and "Oops" not in caught.value.message
    assert_clean(caught.value.message)


def test_json_error_text_is_quoted_trimmed(fake: FakeSegmind, client: SegmindClient) -> None:
    fake.fail_next_submit(400, body=json.dumps({"error": "Prompt too long. " * 50}))
    with pytest.raises(ProviderError) as caught:
        client.submit(PROMPT.text)
    assert 'Segmind said: "Prompt too long.' in caught.value.message
    assert len(caught.value.message) < 400


def test_key_echoed_by_the_server_is_redacted(fake: FakeSegmind, client: SegmindClient) -> None:
    fake.fail_next_submit(401, body=json.dumps({"error": f"Unknown key {KEY}"}))
    with pytest.raises(ProviderError) as caught:
        client.submit(PROMPT.text)
    assert KEY not in caught.value.message
    assert "[redacted]" in caught.value.message
    assert KEY not in str(caught.value) and KEY not in repr(client)


def test_wrong_key_and_wrong_workflow_from_the_fake(fake: FakeSegmind) -> None:
    with SegmindClient("wrong-key", fake.workflow_url) as segmind:
        with pytest.raises(ProviderError) as caught:
            segmind.submit("x")
    assert caught.value.kind is ErrorKind.AUTH
    assert "wrong-key" not in caught.value.message
    wrong = fake.workflow_url.replace("66b518aa", "00000000")
    with SegmindClient(KEY, wrong) as segmind:
        with pytest.raises(ProviderError) as caught:
            segmind.submit("x")
    assert caught.value.kind is ErrorKind.NOT_FOUND
    assert "check SEGMIND_WORKFLOW_URL" in caught.value.message


def test_missing_key_is_auth_without_a_request(fake: FakeSegmind) -> None:
    with SegmindClient("  ", fake.workflow_url) as segmind:
        with pytest.raises(ProviderError) as caught:
            segmind.submit("x")
    assert caught.value.kind is ErrorKind.AUTH
    assert "SEGMIND_API_KEY" in caught.value.message
    assert fake.stats()["submissions"] == 0


@pytest.mark.parametrize(
    ("headers", "low", "high"),
    [
        ({"Retry-After": "12"}, 12.0, 12.0),
        ({"Retry-After": "12", "x-rate-limit-reset-at-utc": "garbage"}, 12.0, 12.0),
        ({"x-rate-limit-reset-at-utc": "+30"}, 30.0, 30.0),
        ("iso", 25.0, 30.0),
        ("http-date", 25.0, 30.0),
        ("epoch", 25.0, 30.0),
        ({"x-rate-limit-reset-at-utc": "2001-01-01T00:00:00Z"}, 0.0, 0.0),
    ],
)
def test_429_retry_after_from_headers(
    fake: FakeSegmind,
    client: SegmindClient,
    headers: dict[str, str] | str,
    low: float,
    high: float,
) -> None:
    reset = datetime.now(UTC) + timedelta(seconds=30)
    if headers == "iso":
        headers = {"x-rate-limit-reset-at-utc": reset.isoformat().replace("+00:00", "Z")}
    elif headers == "http-date":
        headers = {"x-rate-limit-reset-at-utc": format_datetime(reset, usegmt=True)}
    elif headers == "epoch":
        headers = {"x-rate-limit-reset-at-utc": str(int(reset.timestamp()))}
    assert isinstance(headers, dict)
    fake.fail_next_submit(429, headers=headers)
    with pytest.raises(ProviderError) as caught:
        client.submit(PROMPT.text)
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.retry_after is not None
    assert low <= caught.value.retry_after <= high


def test_429_without_usable_headers_has_no_retry_after(
    fake: FakeSegmind, client: SegmindClient
) -> None:
    fake.fail_next_submit(429, headers={"x-other": "1"})
    with pytest.raises(ProviderError) as caught:
        client.submit(PROMPT.text)
    assert caught.value.retry_after is None
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("<html><body>Welcome to nginx</body></html>", "not a JSON object"),
        ('{"status": "QUEUED", "request_id": "abc"}', "no poll URL"),
        ('{"poll_url": "ftp://example/x", "status": "QUEUED"}', "not an http(s) address"),
        ('["not", "an", "object"]', "not a JSON object"),
    ],
)
def test_malformed_submit_answers_are_bad_output(
    fake: FakeSegmind, client: SegmindClient, body: str, fragment: str
) -> None:
    fake.fail_next_submit(200, body=body)
    with pytest.raises(ProviderError) as caught:
        client.submit(PROMPT.text)
    assert caught.value.kind is ErrorKind.BAD_OUTPUT
    assert fragment in caught.value.message
    assert_clean(caught.value.message)


def test_network_errors_are_retryable(fake: FakeSegmind) -> None:
    with FakeSegmind(api_keys=(KEY,)) as server:
        url = server.workflow_url
    with SegmindClient(KEY, url, timeout=2.0) as segmind:
        with pytest.raises(ProviderError) as caught:
            segmind.submit("x")
    assert caught.value.kind is ErrorKind.NETWORK
    assert caught.value.retryable
    assert "could not connect" in caught.value.message


def test_timeouts_are_network_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        segmind = SegmindClient(KEY, "https://api.example/workflows/x", http=http)
        with pytest.raises(ProviderError) as caught:
            segmind.poll("https://api.example/workflows/request/1")
    assert caught.value.kind is ErrorKind.NETWORK
    assert "timed out" in caught.value.message


def test_poll_url_downgrade_to_http_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:  # pragma: no cover - never called
        raise AssertionError("no request expected")

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        segmind = SegmindClient(KEY, "https://api.example/workflows/x", http=http)
        with pytest.raises(ProviderError) as caught:
            segmind.poll("http://api.example/workflows/request/1")
    assert caught.value.kind is ErrorKind.BAD_OUTPUT


# --------------------------------------------------------------------------- download


def test_download_respects_the_byte_cap(fake: FakeSegmind) -> None:
    fake.queue_jobs(JobScript(queued_s=0.0, processing_s=0.0, image_format="PNG"))
    downloader = loopback_downloader(max_bytes=10_000)
    with SegmindClient(KEY, fake.workflow_url, downloader=downloader) as segmind:
        with pytest.raises(ProviderError) as caught:
            finish(make_provider(segmind), PROMPT, MemoryCheckpoint())
    assert caught.value.kind is ErrorKind.BAD_OUTPUT
    assert "larger than" in caught.value.message


def test_the_fakes_image_address_is_refused_without_the_allow_list(fake: FakeSegmind) -> None:
    fake.queue_jobs(JobScript(queued_s=0.0, processing_s=0.0))
    with SegmindClient(KEY, fake.workflow_url) as segmind:
        with pytest.raises(ProviderError) as caught:
            finish(make_provider(segmind), PROMPT, MemoryCheckpoint())
    assert caught.value.kind is ErrorKind.BAD_OUTPUT
    assert "127.0.0.1" in caught.value.message and "BRIDGE_DOWNLOAD_ALLOW" in caught.value.message
    assert fake.downloads == 0


def test_a_body_that_is_not_an_image_is_bad_output() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>Access denied</html>")

    downloader = ImageDownloader(
        resolver=lambda host, port: ["93.184.216.34"], transport=httpx.MockTransport(handler)
    )
    with SegmindClient(KEY, "https://api.example/w", downloader=downloader) as segmind:
        with pytest.raises(ProviderError) as caught:
            segmind.download("https://cdn.example/image.png")
    assert caught.value.kind is ErrorKind.BAD_OUTPUT
    assert "not a readable image" in caught.value.message
    assert_clean(caught.value.message)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://cdn.example/a.png", "not a url"])
def test_download_only_http(client: SegmindClient, url: str) -> None:
    with pytest.raises(ProviderError) as caught:
        client.download(url)
    assert caught.value.kind is ErrorKind.BAD_OUTPUT


def test_download_does_not_send_the_key() -> None:
    seen: list[httpx.Request] = []
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=png.getvalue())

    downloader = ImageDownloader(
        resolver=lambda host, port: ["93.184.216.34"], transport=httpx.MockTransport(handler)
    )
    with SegmindClient(KEY, "https://api.example/w", downloader=downloader) as segmind:
        assert segmind.download("https://cdn.example/a.png") == png.getvalue()
    assert "x-api-key" not in seen[0].headers and "authorization" not in seen[0].headers


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            json.dumps(
                [
                    {
                        "keyname": "caption",
                        "value": {"data": "https://t.example/x", "type": "text"},
                    },
                    {
                        "keyname": "out",
                        "value": {"data": "https://i.example/a.jpg", "type": "image"},
                    },
                ]
            ),
            "https://i.example/a.jpg",
        ),
        (json.dumps({"image_output": "https://i.example/b.png"}), "https://i.example/b.png"),
        (json.dumps({"result": {"url": "http://i.example/c"}}), "http://i.example/c"),
        (json.dumps({"x": "ftp://no", "y": ["https://i.example/d"]}), "https://i.example/d"),
        ("https://i.example/bare.webp", "https://i.example/bare.webp"),
        (
            [{"value": {"data": ["https://i.example/e.jpg"], "type": "image"}}],
            "https://i.example/e.jpg",
        ),
        (json.dumps({"image_output": ""}), None),
        ("not json", None),
        (None, None),
    ],
)
def test_find_image_url(output: object, expected: str | None) -> None:
    assert find_image_url(output) == expected


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (None, "no reason given"),
        ("", "no reason given"),
        ('[{"model": "m1", "error": "e1"}]', "m1: e1"),
        ({"error": {"message": "deep"}}, "deep"),
        ("<html><body>502</body></html>", "the error page was not readable (HTML)"),
        ("x" * 1000, "x" * 299 + "…"),
    ],
)
def test_describe_failure(reason: object, expected: str) -> None:
    assert describe_failure(reason) == expected


NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("retry_after", "reset_at", "expected"),
    [
        ("7", None, 7.0),
        ("1.5", "2025-01-01T12:01:00Z", 1.5),
        ("Wed, 01 Jan 2025 12:00:20 GMT", None, 20.0),
        (None, "2025-01-01T12:00:45Z", 45.0),
        (None, "2025-01-01T12:00:45.500+00:00", 45.5),
        (None, "2025-01-01T13:00:10+01:00", 10.0),
        (None, "2025-01-01 12:00:30", 30.0),
        (None, "Wed, 01 Jan 2025 12:00:20 GMT", 20.0),
        (None, str(int(NOW.timestamp()) + 90), 90.0),
        (None, str(int(NOW.timestamp() * 1000) + 5000), 5.0),
        (None, "2024-12-31T00:00:00Z", 0.0),
        ("-5", None, 0.0),
        ("soon", "later", None),
        (None, None, None),
        ("", " ", None),
    ],
)
def test_parse_retry_after(
    retry_after: str | None, reset_at: str | None, expected: float | None
) -> None:
    assert parse_retry_after(retry_after, reset_at, now=NOW) == expected


def test_provider_name_and_client_close_leaves_foreign_http_open() -> None:
    with httpx.Client() as http:
        segmind = SegmindClient(KEY, "https://api.example/w", http=http)
        assert SegmindProvider(segmind).name == "segmind"
        segmind.close()
        assert not http.is_closed


@pytest.mark.parametrize("allow", ["127.0.0.1/32", ""])
def test_the_provider_from_settings_downloads_only_what_the_allow_list_opens(
    fake: FakeSegmind, secret: str, allow: str
) -> None:
    settings = Settings.from_env(
        {
            "BRIDGE_WEBHOOK_SECRET": secret,
            "WP_URL": "http://127.0.0.1:9",
            "WP_USER": "bridge",
            "WP_APP_PASSWORD": "abcd efgh ijkl mnop qrst uvwx",
            "SEGMIND_API_KEY": KEY,
            "SEGMIND_WORKFLOW_URL": fake.workflow_url,
            "SEGMIND_POLL_SCHEDULE": "fixed",
            "SEGMIND_POLL_INTERVAL": "0.02",
            "BRIDGE_DOWNLOAD_ALLOW": allow,
        }
    )
    fake.queue_jobs(JobScript(queued_s=0.0, processing_s=0.0))
    provider = create_provider(settings)
    assert isinstance(provider, SegmindProvider)
    try:
        if allow:
            assert check_image(finish(provider, PROMPT, MemoryCheckpoint())) == (1024, 576)
        else:
            with pytest.raises(ProviderError, match="BRIDGE_DOWNLOAD_ALLOW"):
                finish(provider, PROMPT, MemoryCheckpoint())
    finally:
        provider.client.close()
