"""How each transport turns WordPress's failures into WordPressError: retryable or not, and
never with the password. WordPress is played by an httpx MockTransport given to the client."""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Callable

import httpx
import pytest

from bridge.wordpress import WordPressClient, WordPressError, WordPressSite, XmlRpcSite

PASSWORD = "abcd efgh ijkl mnop qrst uvwx"
SITE = "http://wp.example"
Handler = Callable[[httpx.Request], httpx.Response]

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<methodResponse><params><param><value><string>&lol3;</string></value></param></params>
</methodResponse>"""


def xmlrpc_site(handler: Handler) -> XmlRpcSite:
    """An XML-RPC site whose calls (after the library's method listing) go to ``handler``."""

    def answer(request: httpx.Request) -> httpx.Response:
        _, method = xmlrpc.client.loads(request.content)
        if method == "system.listMethods" or method == "mt.supportedMethods":
            methods = [
                "wp.getPost",
                "wp.getProfile",
                "wp.uploadFile",
                "wp.editPost",
                "wp.deletePost",
            ]
            return httpx.Response(200, content=xmlrpc.client.dumps((methods,), methodresponse=True))
        return handler(request)

    return XmlRpcSite(
        f"{SITE}/xmlrpc.php", "bridge", PASSWORD, transport=httpx.MockTransport(answer)
    )


def rest_site(handler: Handler) -> WordPressClient:
    return WordPressClient(SITE, "bridge", PASSWORD, transport=httpx.MockTransport(handler))


def fault(code: int, text: str) -> Handler:
    body = xmlrpc.client.dumps(xmlrpc.client.Fault(code, text), methodresponse=True)
    return lambda request: httpx.Response(200, content=body)


def status(code: int) -> Handler:
    return lambda request: httpx.Response(code, text="<html>busy</html>")


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def too_slow(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def failure(site: WordPressSite) -> WordPressError:
    with pytest.raises(WordPressError) as caught:
        site.get_post("post", 7)
    site.close()
    assert PASSWORD not in str(caught.value)
    return caught.value


@pytest.mark.parametrize("make", [rest_site, xmlrpc_site], ids=["rest", "xmlrpc"])
@pytest.mark.parametrize(
    ("handler", "retryable"),
    [
        (status(503), True),
        (status(502), True),
        (status(429), True),
        (status(401), False),
        (status(403), False),
        (unreachable, True),
        (too_slow, True),
    ],
    ids=["503", "502", "429", "401", "403", "unreachable", "timeout"],
)
def test_http_failures_are_retryable_only_when_waiting_can_help(
    make: Callable[[Handler], WordPressSite], handler: Handler, retryable: bool
) -> None:
    assert failure(make(handler)).retryable is retryable


@pytest.mark.parametrize(
    ("code", "text", "retryable", "shown"),
    [
        (403, "Incorrect username or password.", False, "WP_APP_PASSWORD"),
        (401, "Sorry, you are not allowed to edit this post.", False, "not allowed"),
        (500, "Sorry, the post could not be updated.", True, "could not be updated"),
        (405, "XML-RPC services are disabled on this site.", False, "turned off"),
    ],
)
def test_xmlrpc_faults_become_clear_errors(
    code: int, text: str, retryable: bool, shown: str
) -> None:
    error = failure(xmlrpc_site(fault(code, text)))
    assert error.retryable is retryable
    assert shown in error.message


def test_a_missing_post_is_none_over_xmlrpc() -> None:
    site = xmlrpc_site(fault(404, "Invalid post ID."))
    assert site.get_post("post", 7) is None


def test_an_xml_bomb_is_refused_not_expanded() -> None:
    error = failure(xmlrpc_site(lambda request: httpx.Response(200, content=BILLION_LAUGHS)))
    assert not error.retryable
    assert "not a usable XML-RPC response" in error.message


def test_an_html_page_instead_of_xmlrpc_names_the_setting() -> None:
    error = failure(xmlrpc_site(lambda request: httpx.Response(200, text="<p>Blocked</p>")))
    assert "WP_XMLRPC_URL" in error.message and not error.retryable


def test_no_xmlrpc_endpoint_names_the_setting() -> None:
    site = XmlRpcSite(
        f"{SITE}/xmlrpc.php", "bridge", PASSWORD, transport=httpx.MockTransport(status(404))
    )
    error = failure(site)
    assert "WP_XMLRPC_URL" in error.message and not error.retryable


def test_the_bridge_header_is_sent_over_xmlrpc() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return fault(404, "Invalid post ID.")(request)

    assert xmlrpc_site(answer).get_post("post", 7) is None
    assert seen and seen[-1].headers["X-Featured-Image-Bridge"]


def test_an_upload_whose_texts_fail_is_removed_again() -> None:
    deleted: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        params, method = xmlrpc.client.loads(request.content)
        if method == "wp.editPost":
            return fault(500, "Sorry, the post could not be updated.")(request)
        if method == "wp.getPost" and deleted:
            return fault(404, "Invalid post ID.")(request)
        results: dict[str, object] = {
            "wp.uploadFile": {"id": "31", "file": "a.png", "url": f"{SITE}/a.png"},
            "wp.getPost": {"post_id": "31", "post_type": "attachment"},
            "wp.deletePost": True,
        }
        if method == "wp.deletePost":
            deleted.append(int(params[3]))
        return httpx.Response(
            200, content=xmlrpc.client.dumps((results[str(method)],), methodresponse=True)
        )

    site = xmlrpc_site(answer)
    with pytest.raises(WordPressError) as caught:
        site.upload_media(
            b"png", filename="a.png", mime_type="image/png", alt_text="a", title="a", post_id=7
        )
    assert caught.value.retryable
    assert deleted == [31]
