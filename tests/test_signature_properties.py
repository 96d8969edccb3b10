"""Property tests of SignatureVerifier: a genuine request always passes; any change to the
body or a signature header is a 401, never an exception of another kind."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bridge.webhooks import SignatureVerifier, WebhookRejected
from tests.fuzzing import fuzz_settings
from tests.signing import new_secret

pytestmark = pytest.mark.fuzz

SECRET = new_secret()
KEY = base64.b64decode(SECRET.removeprefix("whsec_"))
VERIFIER = SignatureVerifier(SECRET)
CODES = {"missing_signature", "invalid_signature", "stale_timestamp"}

bodies = st.text(max_size=2000).map(str.encode)
ids = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=200)


def _sign(msg_id: str, stamp: str, body: bytes) -> str:
    """Standard Webhooks, written out: HMAC-SHA256 of ``id.timestamp.body``."""
    digest = hmac.new(KEY, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


_clock = {"stamp": 0}


def _now() -> str:
    """The current time, kept for a few minutes so a failing example replays identically."""
    if time.time() - _clock["stamp"] > 120:
        _clock["stamp"] = int(time.time())
    return str(_clock["stamp"])


def _headers(msg_id: str, body: bytes, stamp: str | None = None) -> dict[str, str]:
    stamp = stamp or _now()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": _sign(msg_id, stamp, body),
    }


def _refused(body: bytes, headers: dict[str, str]) -> str:
    with pytest.raises(WebhookRejected) as caught:
        VERIFIER.verify(body, headers)
    assert caught.value.status == 401 and caught.value.code in CODES
    return caught.value.code


@fuzz_settings(300)
@given(body=bodies, msg_id=ids)
def test_a_genuine_request_always_passes(body: bytes, msg_id: str) -> None:
    assert VERIFIER.verify(body, _headers(msg_id, body)) == msg_id


@fuzz_settings(300)
@given(body=bodies, other=bodies, msg_id=ids)
def test_any_other_body_is_refused(body: bytes, other: bytes, msg_id: str) -> None:
    assume(other != body)
    assert _refused(other, _headers(msg_id, body)) == "invalid_signature"


@fuzz_settings(300)
@given(body=bodies, msg_id=ids, other_id=ids)
def test_any_other_id_is_refused(body: bytes, msg_id: str, other_id: str) -> None:
    assume(other_id != msg_id)
    headers = {**_headers(msg_id, body), "webhook-id": other_id}
    assert _refused(body, headers) == "invalid_signature"


@fuzz_settings(300)
@given(body=bodies, msg_id=ids, stamp=st.text(max_size=30))
def test_any_other_timestamp_spelling_is_refused(body: bytes, msg_id: str, stamp: str) -> None:
    genuine = _headers(msg_id, body)
    assume(stamp != genuine["webhook-timestamp"])
    _refused(body, {**genuine, "webhook-timestamp": stamp})


@fuzz_settings(300)
@given(body=bodies, msg_id=ids, data=st.data())
def test_any_change_to_the_signature_header_is_refused(
    body: bytes, msg_id: str, data: st.DataObject
) -> None:
    headers = _headers(msg_id, body)
    genuine = headers["webhook-signature"]
    position = data.draw(st.integers(0, len(genuine) - 1), label="position")
    replacement = data.draw(st.text(max_size=3), label="replacement")
    mutated = genuine[:position] + replacement + genuine[position + 1 :]
    assume(mutated != genuine)
    _refused(body, {**headers, "webhook-signature": mutated})


@fuzz_settings(300)
@given(
    body=st.binary(max_size=500),
    headers=st.dictionaries(
        st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature", "x-other"]),
        st.text(max_size=120),
    ),
)
def test_arbitrary_headers_and_bytes_are_a_401(body: bytes, headers: dict[str, str]) -> None:
    _refused(body, headers)


@fuzz_settings(100)
@given(body=bodies, msg_id=ids, skew=st.integers(301, 10**9), sign=st.sampled_from([-1, 1]))
def test_a_timestamp_outside_five_minutes_is_stale(
    body: bytes, msg_id: str, skew: int, sign: int
) -> None:
    stamp = int(time.time()) + sign * skew
    assume(stamp > 0)
    assert _refused(body, _headers(msg_id, body, str(stamp))) == "stale_timestamp"


@fuzz_settings(100)
@given(msg_id=ids)
def test_a_get_is_signed_over_the_empty_body(msg_id: str) -> None:
    assert VERIFIER.verify_get(_headers(msg_id, b"")) == msg_id
    assert _refused(b"", _headers(msg_id, b"{}")) == "invalid_signature"


def _respell_last_char(signature: str) -> str:
    """The same 32 bytes with different unused low bits in the last base64 digit."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(signature[-2])
    return signature[:-2] + alphabet[last ^ 1] + "="


@pytest.mark.parametrize(
    ("header", "respell"),
    [
        ("webhook-timestamp", lambda v: "0" + v),
        ("webhook-timestamp", lambda v: v[:1] + "_" + v[1:]),
        ("webhook-timestamp", lambda v: v + ".0"),
        ("webhook-timestamp", lambda v: " " + v),
        ("webhook-signature", lambda v: v[:10] + "!" + v[10:]),
        ("webhook-signature", lambda v: v[:10] + "\n" + v[10:]),
        ("webhook-signature", _respell_last_char),
        ("webhook-signature", lambda v: v + "=="),
    ],
)
def test_other_spellings_of_a_genuine_header_are_refused(header: str, respell) -> None:  # type: ignore[no-untyped-def]
    """The reference library would accept each of these as the genuine request."""
    body = b'{"type": "post.published"}'
    headers = _headers("msg_1", body)
    assert VERIFIER.verify(body, headers) == "msg_1"
    assert _refused(body, {**headers, header: respell(headers[header])}) == "invalid_signature"
