"""``POST /webhook`` under hostile input, through Flask's test client with a real job store and
queue: whatever arrives, the answer is a 2xx for a valid event or a 4xx with a
machine-readable ``error``, never a 5xx; and nothing secret reaches the log."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from bridge.app import MAX_BODY_BYTES, create_app
from bridge.config import Settings
from tests.fuzzing import fuzz_settings
from tests.signing import event, new_secret, signed, signed_get

pytestmark = pytest.mark.fuzz

SECRET = new_secret()
SITE = "http://127.0.0.1:9"
ERROR_CODE = re.compile(r"[a-z][a-z_]{2,40}")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    settings = Settings.from_env(
        {
            "BRIDGE_WEBHOOK_SECRET": SECRET,
            "WP_URL": SITE,
            "WP_USER": "bridge",
            "WP_APP_PASSWORD": "abcd efgh ijkl mnop qrst uvwx",
            "BRIDGE_DATA_DIR": str(data_dir),
        }
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def client(app: Flask) -> Iterator[FlaskClient]:
    yield app.test_client()


def _assert_answered(response: TestResponse) -> None:
    """A 2xx, or a 4xx whose JSON names a machine-readable error; never a 5xx."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    body = response.get_json(silent=True)
    assert isinstance(body, dict), response.get_data(as_text=True)[:200]
    if response.status_code >= 400:
        assert ERROR_CODE.fullmatch(str(body.get("error"))), body
        assert isinstance(body.get("message"), str)
    else:
        assert response.status_code in (200, 202) and body["job_id"]


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=50)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = ["site_url", "post_id", "post_type", "title", "excerpt", "slug", "options", "replace"]


@st.composite
def near_valid_events(draw: st.DrawFn) -> Any:
    """A genuine event with some fields replaced by arbitrary JSON, or removed."""
    payload = event(post_id=draw(st.integers(1, 50)), site_url=SITE)
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            payload["data"][name] = draw(json_values)
        else:
            payload["data"].pop(name, None)
    if draw(st.integers(0, 9)) == 0:
        payload["type"] = draw(json_values)
    return payload


@fuzz_settings(400)
@given(payload=near_valid_events() | json_values)
def test_any_signed_json_gets_a_2xx_or_a_clear_4xx(client: FlaskClient, payload: Any) -> None:
    body, headers = signed(SECRET, json.dumps(payload).encode())
    _assert_answered(client.post("/webhook", data=body, headers=headers))


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 50_000,
        b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
        b"1" * 5_000,
        json.dumps(event(post_id=10**30, site_url=SITE)).encode(),
        json.dumps(event(post_id=2**63, site_url=SITE)).encode(),
        json.dumps(event(title="\0\ud800" * 100, site_url=SITE)).encode(),
        b"\xef\xbb\xbf{}",
        b'{"type": "post.published", "data": {"post_id": 1e999}}',
    ],
    ids=[
        "deep-list",
        "deep-object",
        "huge-int",
        "post-id-10e30",
        "post-id-2e63",
        "nul-lone-surrogate",
        "utf8-bom",
        "infinity",
    ],
)
def test_hostile_signed_bodies_get_a_4xx(client: FlaskClient, body: bytes) -> None:
    response = client.post("/webhook", data=body, headers=signed(SECRET, body)[1])
    _assert_answered(response)
    assert 400 <= response.status_code < 500
    assert response.get_json()["error"] != "invalid_signature"


header_names = st.sampled_from(
    [
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "content-length",
        "x-a",
    ]
)
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80)


@fuzz_settings(2000)
@given(
    body=st.binary(max_size=2000)
    | st.just(b"")
    | st.builds(lambda p: json.dumps(p).encode(), json_values),
    headers=st.dictionaries(header_names, header_values, max_size=5),
    method_path=st.sampled_from([("POST", "/webhook"), ("GET", "/jobs/x"), ("POST", "/jobs/x")]),
)
def test_random_requests_never_get_a_5xx(
    client: FlaskClient, body: bytes, headers: dict[str, str], method_path: tuple[str, str]
) -> None:
    method, path = method_path
    headers = {k: v for k, v in headers.items() if k != "content-length" or v.isdigit()}
    response = client.open(path, method=method, data=body, headers=headers)
    assert response.status_code < 500
    assert response.status_code >= 400
    body_json = response.get_json(silent=True)
    assert isinstance(body_json, dict) and ERROR_CODE.fullmatch(str(body_json.get("error")))


def test_an_oversized_body_is_413_before_anything_else(client: FlaskClient) -> None:
    response = client.post("/webhook", data=b"x" * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"


def test_an_oversized_chunked_body_is_413(client: FlaskClient) -> None:
    """No Content-Length: the server (gunicorn) marks the stream terminated, and reading stops
    at the limit."""
    stream = io.BytesIO(b"x" * (MAX_BODY_BYTES * 2))
    response = client.post(
        "/webhook",
        input_stream=stream,
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"


def test_no_log_line_holds_the_secret_or_a_signature(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    signatures: list[str] = []

    def send(body: bytes, headers: dict[str, str]) -> None:
        signatures.append(headers["webhook-signature"])
        client.post("/webhook", data=body, headers=headers)

    send(*signed(SECRET, event(post_id=99, site_url=SITE)))  # accepted
    body, headers = signed(SECRET, event(post_id=98, site_url=SITE))
    send(body + b" ", headers)  # invalid signature
    send(*signed(SECRET, event(site_url=SITE), timestamp=1))  # stale
    send(*signed(new_secret(), event(site_url=SITE)))  # another secret
    send(*signed(SECRET, event(site_url="http://elsewhere.example")))  # unknown site
    send(*signed(SECRET, b"{not json"))  # malformed
    get_headers = signed_get(SECRET)
    signatures.append(get_headers["webhook-signature"])
    client.get("/jobs/nope", headers=get_headers)
    assert caplog.records  # the bridge did log these requests
    text = caplog.text
    assert SECRET not in text and SECRET.removeprefix("whsec_") not in text
    for signature in signatures:
        assert signature not in text and signature.removeprefix("v1,") not in text
