"""The HTTP client for one Segmind workflow: submit, poll, download.

Every failure becomes a :class:`~bridge.providers.base.ProviderError` whose message an editor
can read; the API key never appears in one.
"""

from __future__ import annotations

import json
import math
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from bridge import __version__
from bridge.config import DEFAULT_WORKFLOW_URL
from bridge.download import ImageDownloader
from bridge.images import InvalidImage
from bridge.imaging import check_image
from bridge.providers.base import ErrorKind, ProviderError
from bridge.providers.segmind.headers import parse_credits, parse_retry_after
from bridge.providers.segmind.responses import (
    COMPLETED,
    FAILED,
    PollResult,
    Submission,
    describe_failure,
    find_image_url,
    is_http_url,
    looks_like_html,
)

INPUT_FIELD = "Blog_title_and_description"
USER_AGENT = f"featured-image-bridge/{__version__}"
_MAX_QUOTE = 200


class SegmindClient:
    """Thin, strict client for one Segmind workflow.

    Pass ``http`` to supply your own :class:`httpx.Client` (tests, transports); it is
    then yours to close. Otherwise the client owns one with an explicit timeout. The image
    itself is fetched by ``downloader`` (default: one that reaches only public addresses),
    which the client closes with itself.
    """

    def __init__(
        self,
        api_key: str,
        workflow_url: str = DEFAULT_WORKFLOW_URL,
        *,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        downloader: ImageDownloader | None = None,
    ) -> None:
        self._api_key = api_key.strip()
        self.workflow_url = workflow_url.strip()
        self._downloader = downloader or ImageDownloader()
        self.remaining_credits: int | None = None
        self._owns_http = http is None
        self._http = http or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )

    # -- lifecycle

    def close(self) -> None:
        if self._owns_http:
            self._http.close()
        self._downloader.close()

    def __enter__(self) -> SegmindClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:  # never show the key
        return f"SegmindClient(workflow_url={self.workflow_url!r})"

    # -- API

    def submit(self, text: str) -> Submission:
        """Queue one run of the workflow. Costs credits on success."""
        if not is_http_url(self.workflow_url):
            raise ProviderError(
                ErrorKind.NOT_FOUND,
                "The Segmind workflow URL is not an http(s) address: check SEGMIND_WORKFLOW_URL.",
            )
        response = self._call("POST", self.workflow_url, phase="submit", json={INPUT_FIELD: text})
        data = self._json_object(response, "the submission")
        poll_url = data.get("poll_url")
        if not isinstance(poll_url, str) or not poll_url.strip():
            raise ProviderError(
                ErrorKind.BAD_OUTPUT,
                "Segmind accepted the request but gave no poll URL to follow it; "
                "check SEGMIND_WORKFLOW_URL points at a workflow.",
            )
        poll_url = poll_url.strip()
        self._check_poll_url(poll_url)
        request_id = data.get("request_id")
        return Submission(
            request_id=request_id if isinstance(request_id, str) else "", poll_url=poll_url
        )

    def poll(self, poll_url: str) -> PollResult:
        """Ask once for the status of a submitted request."""
        poll_url = poll_url.strip()
        self._check_poll_url(poll_url)
        response = self._call("GET", poll_url, phase="poll")
        data = self._json_object(response, "the status request")
        raw_status = data.get("status")
        status = raw_status.strip().upper() if isinstance(raw_status, str) else "UNKNOWN"
        if status == FAILED:
            reason: object = None
            for key in ("error", "error_message", "message"):
                if data.get(key) not in (None, "", [], {}):
                    reason = data[key]
                    break
            return PollResult(status=FAILED, error=self._scrub(describe_failure(reason)))
        if status == COMPLETED:
            output = data.get("output")
            url = find_image_url(output)
            if url is None:
                what = "could not be read" if isinstance(output, str) else "was missing"
                if isinstance(output, str) and output.strip().startswith(("[", "{")):
                    what = "named no image URL"
                raise ProviderError(
                    ErrorKind.BAD_OUTPUT,
                    f"Segmind finished but its output {what}; the workflow may have changed.",
                )
            return PollResult(status=COMPLETED, image_url=url)
        return PollResult(status=status)

    def download(self, url: str) -> bytes:
        """Fetch the generated image (no API key sent) through the safe downloader, and check
        that it decodes as an image."""
        data = self._downloader.fetch(url)
        try:
            check_image(data)
        except InvalidImage as exc:
            raise ProviderError(
                ErrorKind.BAD_OUTPUT, f"Segmind's image cannot be used: {exc}."
            ) from None
        return data

    # -- internals

    def _headers(self) -> dict[str, str]:
        return {
            "x-api-key": self._api_key,
            "Authorization": f"Bearer {self._api_key}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }

    def _check_poll_url(self, poll_url: str) -> None:
        if not is_http_url(poll_url):
            raise ProviderError(
                ErrorKind.BAD_OUTPUT,
                "The saved Segmind poll URL is not an http(s) address; the request cannot "
                "be followed.",
            )
        # Never send the key in clear text when the workflow itself is reached over https.
        if (
            urlsplit(self.workflow_url).scheme.lower() == "https"
            and urlsplit(poll_url).scheme.lower() != "https"
        ):
            raise ProviderError(
                ErrorKind.BAD_OUTPUT,
                "Segmind gave a poll URL that is not https; refusing to send the API key "
                "over an unencrypted connection.",
            )

    def _call(self, method: str, url: str, *, phase: str, json: Any = None) -> httpx.Response:
        if not self._api_key:
            raise ProviderError(
                ErrorKind.AUTH, "No Segmind API key is configured: set SEGMIND_API_KEY."
            )
        try:
            response = self._http.request(method, url, headers=self._headers(), json=json)
        except httpx.HTTPError as exc:
            action = "submitting the request" if phase == "submit" else "checking on the request"
            raise self._network_error(exc, action) from None
        credits = parse_credits(response.headers.get("x-remaining-credits"))
        if credits is not None:
            self.remaining_credits = credits
        if response.status_code != 200:
            raise self._status_error(response, phase)
        return response

    def _json_object(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ProviderError(
                ErrorKind.BAD_OUTPUT,
                f"Segmind answered {what} with something that is not a JSON object; "
                "check SEGMIND_WORKFLOW_URL.",
            )
        return data

    def _quote(self, response: httpx.Response) -> str:
        """The API's ``error`` text as a suffix, only when the body is JSON."""
        try:
            data = json.loads(response.content)
        except ValueError:
            return ""
        if not isinstance(data, dict):
            return ""
        reason = data.get("error") or data.get("message") or data.get("detail")
        if reason in (None, "", [], {}):
            return ""
        text = describe_failure(reason, limit=_MAX_QUOTE)
        if text == "no reason given" or looks_like_html(text):
            return ""
        return f' Segmind said: "{self._scrub(text)}".'

    def _status_error(self, response: httpx.Response, phase: str) -> ProviderError:
        code = response.status_code
        quote = self._quote(response)
        if code == 400:
            return ProviderError(
                ErrorKind.BAD_REQUEST,
                f"Segmind rejected the request as invalid (HTTP 400).{quote} "
                "Check the post's title and excerpt and the workflow's inputs.",
            )
        if code == 401:
            return ProviderError(
                ErrorKind.AUTH,
                f"Segmind rejected the API key: check SEGMIND_API_KEY (HTTP 401).{quote}",
            )
        if code == 403:
            return ProviderError(
                ErrorKind.FORBIDDEN,
                f"Segmind refused access (HTTP 403).{quote} Check that the account behind "
                "SEGMIND_API_KEY may run this workflow.",
            )
        if code == 404:
            if phase == "submit":
                return ProviderError(
                    ErrorKind.NOT_FOUND,
                    f"Segmind does not know this workflow (HTTP 404): "
                    f"check SEGMIND_WORKFLOW_URL.{quote}",
                )
            return ProviderError(
                ErrorKind.EXPIRED,
                f"Segmind no longer knows this generation request (HTTP 404); it may have "
                f"expired.{quote} A new image needs a new request.",
            )
        if code == 406:
            return ProviderError(
                ErrorKind.CREDITS,
                "Segmind reports insufficient credits: top up your Segmind account "
                f"(HTTP 406).{quote}",
            )
        if code == 429:
            wait = parse_retry_after(
                response.headers.get("retry-after"),
                response.headers.get("x-rate-limit-reset-at-utc"),
            )
            when = (
                f"it can be retried in {math.ceil(wait)} s"
                if wait is not None
                else "it will be retried later"
            )
            return ProviderError(
                ErrorKind.RATE_LIMITED,
                f"Segmind's rate limit was reached (HTTP 429); {when}.{quote}",
                retry_after=wait,
            )
        if code >= 500:
            return ProviderError(
                ErrorKind.SERVER,
                f"Segmind had a server error (HTTP {code}); it will be retried.{quote}",
            )
        if 300 <= code < 400:
            return ProviderError(
                ErrorKind.BAD_REQUEST,
                f"Segmind answered with a redirect (HTTP {code}); check SEGMIND_WORKFLOW_URL.",
            )
        return ProviderError(
            ErrorKind.BAD_REQUEST,
            f"Segmind refused the request (HTTP {code}).{quote}",
        )

    def _network_error(self, exc: httpx.HTTPError, action: str) -> ProviderError:
        if isinstance(exc, httpx.TimeoutException):
            what = "the connection timed out"
        elif isinstance(exc, httpx.ConnectError):
            what = "could not connect"
        elif isinstance(exc, httpx.TransportError):
            what = f"the connection failed ({type(exc).__name__})"
        else:
            what = f"the HTTP exchange failed ({type(exc).__name__})"
        return ProviderError(
            ErrorKind.NETWORK, self._scrub(f"Network problem while {action}: {what}.")
        )

    def _scrub(self, text: str) -> str:
        if self._api_key:
            text = text.replace(self._api_key, "[redacted]")
        return text
