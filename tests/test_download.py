"""The safe image downloader against a real local HTTP server (and a resolver that names hosts
without DNS): addresses, redirects, size and time caps, encodings, status codes."""

from __future__ import annotations

import gzip
import io
import ipaddress
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image

from bridge.download import MAX_REDIRECTS, ImageDownloader, is_allowed, is_public
from bridge.providers.base import ErrorKind, ProviderError

LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"),)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 16), (10, 20, 30)).save(out, "PNG")
    return out.getvalue()


PNG = _png()


class _Handler(BaseHTTPRequestHandler):
    server: _ImageServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        self.server.seen.append((parts.path, self.headers.get("Host", "")))
        route = parts.path.strip("/").split("/")
        if route[0] == "image.png":
            self._send(200, PNG, {"Content-Type": "image/png"})
        elif route[0] == "hop":  # /hop/<n>: n more redirects before the image
            left = int(route[1])
            target = "/image.png" if left == 0 else f"/hop/{left - 1}"
            self._send(302, b"", {"Location": target})
        elif route[0] == "to":
            self._send(int(query.get("status", "302")), b"", {"Location": query["url"]})
        elif route[0] == "big":
            self.send_response(200)
            if "declared" in query:
                self.send_header("Content-Length", str(10 * 1024 * 1024))
            self.end_headers()
            for _ in range(160):  # up to 10 MiB, 64 KiB at a time
                try:
                    self.wfile.write(b"\0" * 65536)
                except OSError:
                    return
        elif route[0] == "drip":
            self.send_response(200)
            self.end_headers()
            for _ in range(200):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.05)
        elif route[0] == "gzip":
            self._send(200, gzip.compress(PNG), {"Content-Encoding": "gzip"})
        else:
            status = int(route[0]) if route[0].isdigit() else 404
            self._send(status, b"" if status == 200 else b"<Error/>", {})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _ImageServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, str]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def port(self) -> int:
        return int(self.server_address[1])


@pytest.fixture(scope="module")
def server() -> Iterator[_ImageServer]:
    httpd = _ImageServer()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def images(server: _ImageServer) -> _ImageServer:
    server.seen.clear()
    return server


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[_ImageServer, Path]]:
    """An https server whose certificate names ``images.example`` (self-signed, made here)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=images.example", "-addext", "subjectAltName=DNS:images.example"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    httpd = _ImageServer()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, cert
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _fetch(url: str, **options: object) -> bytes:
    with ImageDownloader(**options) as downloader:  # type: ignore[arg-type]
        return downloader.fetch(url)


def _refused(url: str, **options: object) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        _fetch(url, **options)
    return caught.value


# --------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.10",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::1",
        "64:ff9b::a00:1",
        "2001:db8::1",
    ],
)
def test_inner_addresses_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))
    assert not is_allowed(ipaddress.ip_address(address), ())


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_allowed(ipaddress.ip_address(address), ())


def test_the_allow_list_opens_exactly_its_networks() -> None:
    allow = (ipaddress.ip_network("10.0.0.0/8"),)
    assert is_allowed(ipaddress.ip_address("10.9.9.9"), allow)
    assert is_allowed(ipaddress.ip_address("::ffff:10.9.9.9"), allow)
    assert not is_allowed(ipaddress.ip_address("127.0.0.1"), allow)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/image.png",
        "http://localhost:{port}/image.png",
        "http://2130706433:{port}/image.png",
        "http://[::ffff:127.0.0.1]:{port}/image.png",
        "http://[::1]:{port}/image.png",
    ],
)
def test_loopback_is_refused_without_the_allow_list(images: _ImageServer, url: str) -> None:
    error = _refused(url.format(port=images.port))
    assert error.kind is ErrorKind.BAD_OUTPUT
    assert "private, local or reserved network" in error.message
    assert images.seen == []


def test_the_allow_list_lets_the_local_server_through(images: _ImageServer) -> None:
    assert _fetch(f"{images.base}/image.png", allow=LOOPBACK) == PNG


def test_a_name_is_connected_at_the_checked_address_and_keeps_its_host_header(
    images: _ImageServer,
) -> None:
    """``images.example`` has no DNS entry: the download can only succeed by connecting to the
    address the resolver gave and the check passed, never by resolving the name again."""
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    url = f"http://images.example:{images.port}/image.png"
    assert _fetch(url, allow=LOOPBACK, resolver=resolver) == PNG
    assert calls == ["images.example"]
    assert images.seen == [("/image.png", f"images.example:{images.port}")]


def test_https_checks_the_certificate_against_the_name_not_the_address(
    tls_server: tuple[_ImageServer, Path],
) -> None:
    """Connecting to the checked address keeps TLS intact: SNI and the certificate check use
    the URL's host name, so the right name passes and any other name fails."""
    httpd, cert = tls_server
    trusting = ssl.create_default_context(cafile=str(cert))
    options: dict[str, object] = {
        "allow": LOOPBACK,
        "resolver": lambda host, port: ["127.0.0.1"],
        "transport": httpx.HTTPTransport(verify=trusting),
    }
    assert _fetch(f"https://images.example:{httpd.port}/image.png", **options) == PNG
    error = _refused(f"https://other.example:{httpd.port}/image.png", **options)
    assert error.kind is ErrorKind.NETWORK


def test_a_name_with_one_inner_address_is_refused(images: _ImageServer) -> None:
    error = _refused(
        f"http://cdn.example:{images.port}/image.png",
        allow=LOOPBACK,
        resolver=lambda host, port: ["127.0.0.1", "10.0.0.7"],
    )
    assert "10.0.0.7" in error.message
    assert images.seen == []


def test_an_unresolvable_name_is_a_retryable_network_error() -> None:
    error = _refused("http://no-such-host.invalid/image.png")
    assert error.kind is ErrorKind.NETWORK and error.retryable


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://cdn.example/a.png", "gopher://x/", "not a url", ""]
)
def test_only_http_and_https(url: str) -> None:
    assert _refused(url).kind is ErrorKind.BAD_OUTPUT


# --------------------------------------------------------------------------- redirects


def test_redirects_are_followed_up_to_the_limit(images: _ImageServer) -> None:
    assert _fetch(f"{images.base}/hop/{MAX_REDIRECTS - 1}", allow=LOOPBACK) == PNG
    assert len(images.seen) == MAX_REDIRECTS + 1


def test_one_redirect_too_many_is_refused(images: _ImageServer) -> None:
    error = _refused(f"{images.base}/hop/{MAX_REDIRECTS}", allow=LOOPBACK)
    assert "redirected more than" in error.message
    assert len(images.seen) == MAX_REDIRECTS + 1


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/image.png",
        "http://[::1]/image.png",
        "http://[::ffff:192.168.0.1]/image.png",
        "file:///etc/passwd",
    ],
)
def test_every_redirect_hop_is_checked(images: _ImageServer, target: str) -> None:
    error = _refused(f"{images.base}/to?url={target}", allow=LOOPBACK)
    assert error.kind is ErrorKind.BAD_OUTPUT
    assert [path for path, _ in images.seen] == ["/to"]


def test_a_relative_redirect_is_resolved_against_the_current_address(
    images: _ImageServer,
) -> None:
    assert _fetch(f"{images.base}/to?url=/image.png&status=307", allow=LOOPBACK) == PNG


# --------------------------------------------------------------------------- body


@pytest.mark.parametrize("declared", [True, False])
def test_the_size_cap_stops_the_download(images: _ImageServer, declared: bool) -> None:
    url = f"{images.base}/big" + ("?declared=1" if declared else "")
    error = _refused(url, allow=LOOPBACK, max_bytes=1024 * 1024)
    assert error.kind is ErrorKind.BAD_OUTPUT
    assert "larger than the 1 MiB limit" in error.message


def test_the_time_cap_stops_a_slow_drip(images: _ImageServer) -> None:
    error = _refused(f"{images.base}/drip", allow=LOOPBACK, timeout=0.5)
    assert error.kind is ErrorKind.NETWORK and error.retryable
    assert "took longer than 0.5 s" in error.message


def test_a_compressed_body_is_refused(images: _ImageServer) -> None:
    error = _refused(f"{images.base}/gzip", allow=LOOPBACK)
    assert "compressed (gzip)" in error.message


@pytest.mark.parametrize(
    ("status", "kind", "fragment"),
    [
        (404, ErrorKind.EXPIRED, "the image URL has expired or does not exist"),
        (410, ErrorKind.EXPIRED, "the image URL has expired or does not exist"),
        (403, ErrorKind.FORBIDDEN, "refused the download"),
        (429, ErrorKind.RATE_LIMITED, "rate limited"),
        (503, ErrorKind.SERVER, "server error (HTTP 503)"),
        (418, ErrorKind.BAD_OUTPUT, "failed (HTTP 418)"),
    ],
)
def test_status_codes_become_clear_errors(
    images: _ImageServer, status: int, kind: ErrorKind, fragment: str
) -> None:
    error = _refused(f"{images.base}/{status}", allow=LOOPBACK)
    assert error.kind is kind
    assert fragment in error.message
    assert "<" not in error.message


def test_an_empty_body_is_refused(images: _ImageServer) -> None:
    error = _refused(f"{images.base}/200", allow=LOOPBACK)
    assert error.kind is ErrorKind.BAD_OUTPUT


def test_a_closed_port_is_a_retryable_network_error(images: _ImageServer) -> None:
    probe = _ImageServer()
    port = probe.port
    probe.server_close()
    error = _refused(f"http://127.0.0.1:{port}/image.png", allow=LOOPBACK)
    assert error.kind is ErrorKind.NETWORK and error.retryable
