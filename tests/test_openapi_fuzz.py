"""Schemathesis generates requests from docs/openapi.yaml, genuinely signed, and checks every
answer of the app: no server error, a status, content type, headers and body the description
declares, and a 405 with ``Allow`` for a method the description does not list.

Not checked: that every schema-valid request is accepted. The description cannot say all the
app refuses (an unpaired surrogate in a title, ``7.0`` for a post id, a site it does not
serve); those refusals are checked to be declared 4xx answers instead. Examples per
operation: ``BRIDGE_FUZZ_EXAMPLES`` (default 25).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from bridge.app import create_app
from bridge.config import Settings
from tests.fuzzing import fuzz_settings
from tests.signing import signed

SPEC = Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    unsupported_method,
]

schema = schemathesis.openapi.from_path(SPEC)


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.mark.fuzz
@schema.parametrize()
@fuzz_settings(25)
def test_every_answer_matches_the_description(
    case: schemathesis.Case, app: Flask, secret: str
) -> None:
    case.headers = {**(case.headers or {}), **_signature(secret, case.body)}
    case.call_and_validate(app=app, checks=CHECKS)


def _signature(secret: str, body: object) -> dict[str, str]:
    """Headers that sign ``body`` as the test client will send it; none if it cannot be
    signed (bytes that are not UTF-8 text), which the app refuses as unsigned."""
    if body is schemathesis.core.NOT_SET:
        raw = b""
    elif isinstance(body, bytes):
        raw = body
    else:
        raw = json.dumps(body).encode()
    try:
        _, headers = signed(secret, raw)
    except UnicodeDecodeError:
        return {}
    headers.pop("content-type", None)
    return headers
