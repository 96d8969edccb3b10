"""Fetches a provider's output image from a URL the bridge did not choose, without letting that
URL reach inside the bridge's network (SSRF).

For every hop (the first request and each redirect, at most ``MAX_REDIRECTS``):

- only ``http``/``https``;
- the host is resolved here and *every* address it resolves to must be public (not loopback,
  private, shared, link-local, multicast, reserved or unspecified; IPv4-mapped, 6to4 and
  NAT64 IPv6 addresses are judged by the IPv4 address inside) unless an explicit allow-list
  names it;
- the connection goes to the checked address itself: the URL's host is replaced by the
  address, while the ``Host`` header and TLS (SNI and the certificate check) keep the name.
  A DNS answer that changes between the check and the connection (rebinding) is therefore
  never used, and no proxy from the environment is consulted.

The body is streamed into one buffer with a byte cap (a larger ``Content-Length`` is refused
before reading) and the whole download, redirects included, has a time cap. Only
``identity`` encoding is accepted, so the cap counts the bytes as they will be decoded.
"""

from __future__ import annotations

import io
import ipaddress
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType

import httpx

from bridge import __version__
from bridge.config import IPNetwork
from bridge.providers.base import ErrorKind, ProviderError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
"""Turns a host name and port into IP address strings (``socket.getaddrinfo`` by default)."""

MAX_REDIRECTS = 3
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_TIMEOUT = 60.0
USER_AGENT = f"featured-image-bridge/{__version__}"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the system's order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def is_allowed(address: IPAddress, allow: Iterable[IPNetwork]) -> bool:
    """Public, or inside one of the explicitly allowed networks."""
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    for network in allow:
        if any(candidate in network for candidate in candidates):
            return True
    return is_public(address)


class ImageDownloader:
    """Downloads untrusted image URLs; every failure is a ProviderError with a clear reason.

    ``allow`` lists networks that may be reached although they are not public (tests, private
    deployments). ``resolver`` and ``transport`` exist so tests can name hosts and serve
    answers without a real DNS or network; the connection still goes to the checked address.
    """

    def __init__(
        self,
        *,
        allow: Sequence[IPNetwork] = (),
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
        resolver: Resolver = system_resolver,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allow = tuple(allow)
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._resolve = resolver
        self._clock = clock
        self._http = httpx.Client(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ImageDownloader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def fetch(self, url: str) -> bytes:
        """The body of ``url`` after at most ``MAX_REDIRECTS`` checked redirects.

        Raises ProviderError: BAD_OUTPUT for a refused address, scheme, size or encoding,
        EXPIRED for an expired URL, NETWORK/SERVER/RATE_LIMITED/TIMEOUT for what a retry
        may fix.
        """
        deadline = self._clock() + self.timeout
        current = _parse(url.strip())
        for _ in range(MAX_REDIRECTS + 1):
            location = self._hop(current, deadline)
            if isinstance(location, bytes):
                return location
            current = location
        raise ProviderError(
            ErrorKind.BAD_OUTPUT,
            f"The image address redirected more than {MAX_REDIRECTS} times; it was not downloaded.",
        )

    # -- one request

    def _hop(self, url: httpx.URL, deadline: float) -> bytes | httpx.URL:
        """The body, or the next URL when the answer is a redirect."""
        addresses = self._checked_addresses(url)
        last_error: httpx.HTTPError | None = None
        for address in addresses:
            try:
                return self._request(url, address, deadline)
            except httpx.ConnectError as exc:
                last_error = exc  # try the host's next address
            except httpx.TimeoutException:
                raise _timed_out(self.timeout) from None
            except httpx.HTTPError as exc:
                raise _network_error(exc) from None
        assert last_error is not None  # _checked_addresses never returns an empty list
        raise _network_error(last_error) from None

    def _request(self, url: httpx.URL, address: str, deadline: float) -> bytes | httpx.URL:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise _timed_out(self.timeout)
        extensions: dict[str, object] = {
            "timeout": httpx.Timeout(min(remaining, 30.0), connect=min(remaining, 10.0)).as_dict()
        }
        if not _is_ip_literal(url.host):
            extensions["sni_hostname"] = url.host
        request = self._http.build_request(
            "GET",
            url.copy_with(host=address),
            headers={"Host": _host_header(url)},
            extensions=extensions,
        )
        response = self._http.send(request, stream=True)
        try:
            if response.status_code in _REDIRECTS:
                return _redirect_target(url, response)
            if response.status_code != 200:
                raise _status_error(response)
            return self._read_body(response, deadline)
        finally:
            response.close()

    def _read_body(self, response: httpx.Response, deadline: float) -> bytes:
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise ProviderError(
                ErrorKind.BAD_OUTPUT,
                f"The image was sent compressed ({encoding[:20]}), which the bridge does not "
                "accept; it was not downloaded.",
            )
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_big()
        # One growing buffer; getvalue() hands it over without another copy.
        buffer = io.BytesIO()
        for chunk in response.iter_bytes():
            if buffer.tell() + len(chunk) > self.max_bytes:
                raise self._too_big()
            buffer.write(chunk)
            if self._clock() > deadline:
                raise _timed_out(self.timeout)
        if buffer.tell() == 0:
            raise ProviderError(ErrorKind.BAD_OUTPUT, "The generated image was an empty file.")
        return buffer.getvalue()

    def _checked_addresses(self, url: httpx.URL) -> list[str]:
        if url.scheme not in ("http", "https") or not url.host:
            raise ProviderError(
                ErrorKind.BAD_OUTPUT,
                "The image address is not an http(s) URL; it was not downloaded.",
            )
        port = url.port or (443 if url.scheme == "https" else 80)
        if _is_ip_literal(url.host):
            found = [url.host]
        else:
            try:
                found = self._resolve(url.host, port)
            except (OSError, UnicodeError):
                found = []
            if not found:
                raise ProviderError(
                    ErrorKind.NETWORK,
                    "The image address's host name could not be resolved; it will be retried.",
                )
        for raw in found:
            address = ipaddress.ip_address(raw.split("%", 1)[0])
            if not is_allowed(address, self.allow):
                raise ProviderError(
                    ErrorKind.BAD_OUTPUT,
                    "The image address points into a private, local or reserved network "
                    f"({address}); it was not downloaded. Set BRIDGE_DOWNLOAD_ALLOW to permit it.",
                )
        return found

    def _too_big(self) -> ProviderError:
        mib = self.max_bytes / (1024 * 1024)
        return ProviderError(
            ErrorKind.BAD_OUTPUT,
            f"The generated image is larger than the {mib:g} MiB limit; it was not downloaded.",
        )


def _parse(url: str) -> httpx.URL:
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ProviderError(
            ErrorKind.BAD_OUTPUT, "The image address is not a valid URL; it was not downloaded."
        ) from None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _host_header(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host
    return host if url.port is None else f"{host}:{url.port}"


def _redirect_target(url: httpx.URL, response: httpx.Response) -> httpx.URL:
    location = response.headers.get("location", "").strip()
    if not location:
        raise ProviderError(
            ErrorKind.BAD_OUTPUT,
            f"The image address answered with a redirect (HTTP {response.status_code}) that "
            "names no target.",
        )
    try:
        return url.join(location)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ProviderError(
            ErrorKind.BAD_OUTPUT, "The image address redirected to an invalid URL."
        ) from None


def _status_error(response: httpx.Response) -> ProviderError:
    code = response.status_code
    if code in (404, 410):
        return ProviderError(
            ErrorKind.EXPIRED,
            f"The generated image could not be downloaded: the image URL has expired or does "
            f"not exist (HTTP {code}). Generate a new image.",
        )
    if code == 429:
        wait = response.headers.get("retry-after", "").strip()
        return ProviderError(
            ErrorKind.RATE_LIMITED,
            "Downloading the generated image was rate limited (HTTP 429).",
            retry_after=float(wait) if wait.isdigit() else None,
        )
    if code >= 500:
        return ProviderError(
            ErrorKind.SERVER,
            f"The image storage had a server error (HTTP {code}); it will be retried.",
        )
    if code == 403:
        return ProviderError(
            ErrorKind.FORBIDDEN,
            "The image storage refused the download (HTTP 403); the image may have expired.",
        )
    return ProviderError(
        ErrorKind.BAD_OUTPUT, f"Downloading the generated image failed (HTTP {code})."
    )


def _timed_out(limit: float) -> ProviderError:
    return ProviderError(
        ErrorKind.NETWORK,
        f"Downloading the generated image took longer than {limit:g} s; it will be retried.",
    )


def _network_error(exc: httpx.HTTPError) -> ProviderError:
    if isinstance(exc, httpx.ConnectError):
        what = "could not connect"
    else:
        what = f"the connection failed ({type(exc).__name__})"
    return ProviderError(
        ErrorKind.NETWORK, f"Network problem while downloading the generated image: {what}."
    )
