"""Reading ``GET /metrics`` in tests, as Prometheus would parse it."""

from __future__ import annotations

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

Key = tuple[str, frozenset[tuple[str, str]]]


def samples(client: FlaskClient, **headers: str) -> dict[Key, float]:
    """Every sample of a scrape, keyed by name and labels."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    found: dict[Key, float] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def key(name: str, **labels: str) -> Key:
    return name, frozenset(labels.items())
