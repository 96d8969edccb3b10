"""XML-RPC over one shared ``httpx.Client``, with answers parsed by defusedxml.

The standard library's ``xmlrpc.client.Transport`` keeps one connection per transport and is
not safe to share between threads; this one sends every call through an ``httpx.Client``
(a thread-safe connection pool) and keeps no other state. Answers come from the network, so
they are parsed with defusedxml's expat parser, which refuses entity declarations and
external references (no "billion laughs", no reads of local files).
"""

from __future__ import annotations

import xmlrpc.client
from typing import Any
from xml.parsers.expat import ExpatError

import httpx
from defusedxml import DefusedXmlException
from defusedxml.xmlrpc import DefusedExpatParser

from bridge.wordpress.base import WordPressError


class HttpxTransport(xmlrpc.client.Transport):
    """Posts each XML-RPC call to ``url`` with ``http``; raises WordPressError for HTTP faults."""

    def __init__(self, http: httpx.Client, url: str) -> None:
        super().__init__()
        self._http = http
        self._url = url

    def request(
        self,
        host: Any,
        handler: str,
        request_body: Any,
        verbose: bool = False,
    ) -> tuple[Any, ...]:
        try:
            response = self._http.post(
                self._url, content=request_body, headers={"Content-Type": "text/xml"}
            )
        except httpx.TimeoutException:
            raise WordPressError(
                f"WordPress XML-RPC at {self._url} did not answer in time", retryable=True
            ) from None
        except httpx.TransportError as exc:
            raise WordPressError(
                f"cannot reach WordPress XML-RPC at {self._url} ({type(exc).__name__})",
                retryable=True,
            ) from None
        if not response.is_success:
            raise _http_error(self._url, response.status_code)
        parser, unmarshaller = self.getparser()
        try:
            parser.feed(response.content)
            parser.close()
            return tuple(unmarshaller.close())
        except (ExpatError, DefusedXmlException, xmlrpc.client.ResponseError) as exc:
            raise WordPressError(
                f"the answer from {self._url} is not a usable XML-RPC response "
                f"({type(exc).__name__}); check WP_XMLRPC_URL",
                retryable=False,
            ) from None

    def getparser(self) -> tuple[Any, xmlrpc.client.Unmarshaller]:
        unmarshaller = xmlrpc.client.Unmarshaller()
        return DefusedExpatParser(unmarshaller), unmarshaller


def _http_error(url: str, status: int) -> WordPressError:
    if status in (401, 403):
        return WordPressError(
            f"WordPress refused XML-RPC at {url} (HTTP {status}); the host may block "
            "xmlrpc.php, or the credentials are wrong",
            status=status,
            retryable=False,
        )
    if status in (404, 405):
        return WordPressError(
            f"no XML-RPC endpoint at {url} (HTTP {status}); check WP_XMLRPC_URL",
            status=status,
            retryable=False,
        )
    return WordPressError(
        f"WordPress XML-RPC at {url} answered HTTP {status}",
        status=status,
        retryable=status == 429 or status >= 500,
    )
