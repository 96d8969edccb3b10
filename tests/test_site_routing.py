"""One bridge, two sites: each signed request is routed by ``X-FIB-Site`` and verified with its
own site's secret (real signatures, real SQLite job store and queue)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bridge import logcontext
from bridge.app import create_app
from bridge.config import Settings
from bridge.connection_test import run_checks
from bridge.jobs import JobState, JobStore, NewJob
from bridge.pipeline import Pipeline
from bridge.reconcile import Reconciler, reconcile_each
from bridge.services import Services
from bridge.site_clients import SiteClients
from bridge.site_pipelines import SitePipelines
from bridge.sites import Site, SiteRegistry
from bridge.wordpress import MissingPost, WordPressError
from tests.missing_posts import missing_post
from tests.signing import event, new_secret, signed, signed_get

SITE_A = "http://a.example"
SITE_B = "http://b.example/blog"
SECRET_A = new_secret()
SECRET_B = new_secret()
OLD_SECRET_B = new_secret()


class Listing:
    """Every site has posts 1 and 2 without a featured image."""

    def list_missing(self, post_types: Sequence[str], limit: int | None) -> Iterator[MissingPost]:
        return iter([missing_post(1), missing_post(2)][:limit])


@pytest.fixture(autouse=True)
def _no_ids_left_bound() -> Iterator[None]:
    """The web side binds a request's ids in the thread until its next request; the test
    client runs requests in the test's thread, so they are cleared for the tests after."""
    yield
    logcontext.clear()


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    sites = tmp_path / "sites.toml"
    sites.write_text(
        f"""
[[site]]
url = "{SITE_A}"
webhook_secret = "{SECRET_A}"
wp_user = "a"
wp_app_password = "aaaa"

[[site]]
url = "{SITE_B}"
webhook_secret = ["{SECRET_B}", "{OLD_SECRET_B}"]
wp_user = "b"
wp_app_password = "bbbb"
wp_transport = "xmlrpc"
style = "ink drawing"
"""
    )
    settings = Settings.from_env(
        {"BRIDGE_SITES_FILE": str(sites), "BRIDGE_DATA_DIR": str(tmp_path / "data")}
    )
    return create_app(settings, missing_posts=Listing())


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def services(app: Flask) -> Services:
    services: Services = app.extensions["bridge"]
    return services


def queued(app: Flask) -> int:
    assert services(app).enqueuer.flush(timeout=30)
    return int(services(app).queue.huey.pending_count())


def send(
    client: FlaskClient,
    secret: str,
    payload: Any,
    site: str | None,
    path: str = "/webhook",
) -> TestResponse:
    body, headers = signed(secret, payload)
    if site is not None:
        headers["X-FIB-Site"] = site
    return client.post(path, data=body, headers=headers)


def test_each_site_is_verified_with_its_own_secret(app: Flask, client: FlaskClient) -> None:
    a = send(client, SECRET_A, event(post_id=5, site_url=SITE_A), SITE_A)
    b = send(client, SECRET_B, event(post_id=5, site_url=SITE_B + "/"), SITE_B + "/")
    assert (a.status_code, b.status_code) == (202, 202)
    job_a = services(app).store.get(a.get_json()["job_id"])
    job_b = services(app).store.get(b.get_json()["job_id"])
    assert job_a is not None and job_b is not None
    assert (job_a.site_url, job_b.site_url) == (SITE_A, SITE_B)  # same post id, two jobs
    assert '"style": "ink drawing"' in job_b.options and '"style": ""' in job_a.options
    assert queued(app) == 2


def test_a_rotated_secret_still_verifies(client: FlaskClient) -> None:
    answer = send(client, OLD_SECRET_B, event(site_url=SITE_B), SITE_B)
    assert answer.status_code == 202


def test_another_sites_secret_is_refused(app: Flask, client: FlaskClient) -> None:
    answer = send(client, SECRET_B, event(site_url=SITE_A), SITE_A)
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "invalid_signature"
    assert queued(app) == 0


def test_an_unknown_site_is_refused_before_its_signature_is_checked(
    app: Flask, client: FlaskClient
) -> None:
    signed_right = send(client, SECRET_A, event(site_url="http://c.example"), "http://c.example")
    unsigned = client.post(
        "/webhook",
        json=event(site_url="http://c.example"),
        headers={"X-FIB-Site": "http://c.example"},
    )
    for answer in (signed_right, unsigned):
        assert answer.status_code == 403
        assert answer.get_json()["error"] == "unknown_site"
    assert queued(app) == 0


def test_a_body_naming_another_site_than_the_header_is_refused(
    app: Flask, client: FlaskClient
) -> None:
    answer = send(client, SECRET_A, event(site_url=SITE_B), SITE_A)
    assert answer.status_code == 403
    assert answer.get_json()["error"] == "site_mismatch"
    assert queued(app) == 0


def test_without_the_header_a_bridge_of_several_sites_asks_for_it(
    app: Flask, client: FlaskClient
) -> None:
    answer = send(client, SECRET_A, event(site_url=SITE_A), None)
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "missing_site"
    assert "X-FIB-Site" in answer.get_json()["message"]
    assert queued(app) == 0


def test_without_the_header_a_bridge_of_one_site_serves_it(settings: Settings, secret: str) -> None:
    client = create_app(settings).test_client()
    ok = send(client, secret, event(site_url=settings.wp_url), None)
    other = send(client, secret, event(site_url="http://elsewhere.example"), None)
    named = send(client, secret, event(site_url=settings.wp_url), settings.wp_url)
    assert (ok.status_code, named.status_code) == (202, 200)  # the same post: one job
    assert (other.status_code, other.get_json()["error"]) == (403, "unknown_site")


def test_a_site_reads_only_its_own_jobs(client: FlaskClient) -> None:
    job_id = send(client, SECRET_A, event(site_url=SITE_A), SITE_A).get_json()["job_id"]
    mine = client.get(f"/jobs/{job_id}", headers={**signed_get(SECRET_A), "X-FIB-Site": SITE_A})
    theirs = client.get(f"/jobs/{job_id}", headers={**signed_get(SECRET_B), "X-FIB-Site": SITE_B})
    assert mine.status_code == 200 and mine.get_json()["id"] == job_id
    assert theirs.status_code == 404


def test_backfill_runs_belong_to_their_site(client: FlaskClient) -> None:
    start = {"type": "backfill.start", "timestamp": "t", "data": {"site_url": SITE_B}}
    run = send(client, SECRET_B, start, SITE_B, "/backfills")
    assert run.status_code == 201
    run_id = run.get_json()["id"]
    command = {"type": "backfill.pause", "timestamp": "t", "data": {"site_url": SITE_A}}
    foreign = send(client, SECRET_A, command, SITE_A, f"/backfills/{run_id}/pause")
    own = send(
        client,
        SECRET_B,
        {**command, "data": {"site_url": SITE_B}},
        SITE_B,
        f"/backfills/{run_id}/pause",
    )
    assert foreign.status_code == 404
    assert own.status_code == 200 and own.get_json()["state"] == "paused"
    mismatch = send(client, SECRET_A, {**start, "data": {"site_url": SITE_B}}, SITE_A, "/backfills")
    assert (mismatch.status_code, mismatch.get_json()["error"]) == (403, "site_mismatch")


def test_the_connection_test_checks_the_named_site(client: FlaskClient) -> None:
    payload = {"type": "connection.test", "timestamp": "t", "data": {"site_url": SITE_B}}
    report = send(client, SECRET_B, payload, SITE_B, "/connection-test")
    assert report.status_code == 200
    checks = {check["name"]: check for check in report.get_json()["checks"]}
    assert checks["signature"]["ok"] is True
    assert checks["wordpress"]["ok"] is False  # nothing listens at b.example: a clear failure
    wrong = send(client, SECRET_A, payload, SITE_A, "/connection-test")
    assert (wrong.status_code, wrong.get_json()["error"]) == (403, "site_mismatch")


def test_a_job_of_a_site_no_longer_served_fails_without_a_pipeline(
    app: Flask, client: FlaskClient, settings: Settings
) -> None:
    """The sites file lost a site while its job waited: the job fails, nothing is sent to
    the one site left."""
    job_id = send(client, SECRET_A, event(site_url=SITE_A), SITE_A).get_json()["job_id"]
    store = services(app).store
    made: list[str] = []

    def factory(site: Site) -> Pipeline:
        made.append(site.url)
        raise AssertionError("no pipeline for a job of another site")

    SitePipelines(SiteRegistry.from_settings(settings), store, factory).run(job_id)
    job = store.get(job_id)
    assert job is not None and job.state is JobState.FAILED
    assert job.error == f"This bridge no longer serves the site {SITE_A}."
    assert made == []


def test_a_refused_key_fails_only_the_provider_check_of_the_sites_using_it(
    tmp_path: Path,
) -> None:
    sites = tmp_path / "keys.toml"
    table = """
[[site]]
url = "{url}"
webhook_secret = "{secret}"
wp_user = "u"
wp_app_password = "p"
segmind_api_key = "{key}"
"""
    sites.write_text(
        table.format(url=SITE_A, secret=SECRET_A, key="sg-key-one")
        + table.format(url=SITE_B, secret=SECRET_B, key="sg-key-two")
    )
    settings = Settings.from_env(
        {"BRIDGE_SITES_FILE": str(sites), "BRIDGE_DATA_DIR": str(tmp_path)}
    )
    store = JobStore(settings.jobs_db)
    a, b = SiteRegistry.from_settings(settings)
    job, _ = store.create(NewJob("w", a.url, 1, "post", "t", excerpt="", slug="t"))
    store.update(
        job.id,
        provider="segmind",
        provider_key=a.key_id,
        state=JobState.FAILED,
        error_kind="auth",
        error="Image provider: the key was refused",
    )
    clients = SiteClients(settings)

    def provider_check(site: Site) -> bool:
        checks = run_checks(site.settings(settings), store, clients.wordpress(site), site.url)
        return {check.name: check.ok for check in checks}["provider"]

    assert (provider_check(a), provider_check(b)) == (False, True)


class Unreachable:
    """A WordPress that cannot be reached."""

    def list_missing(self, post_types: Sequence[str], limit: int | None) -> Iterator[MissingPost]:
        raise WordPressError("WordPress at http://a.example did not answer", retryable=True)


def test_reconciliation_goes_on_with_the_other_sites_when_one_is_down(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    queue, store = services(app).queue, services(app).store
    down = Reconciler(store, queue, Unreachable(), SITE_A)  # type: ignore[arg-type]
    up = Reconciler(store, queue, Listing(), SITE_B)  # type: ignore[arg-type]
    reconcile_each([down, up])
    assert store.has_job(SITE_B, 1) and store.has_job(SITE_B, 2)
    assert not store.has_job(SITE_A, 1)
    assert f"reconciliation of {SITE_A} failed" in caplog.text
