"""The settings of leases, the sweep and the reconciliation."""

import pytest

from bridge.config import ConfigError, Settings

BASE = {"WP_URL": "http://wp.example/", "WP_USER": "bridge", "WP_APP_PASSWORD": "x"}


def test_defaults_sweep_every_15_s_with_60_s_leases_and_no_reconciliation(secret: str) -> None:
    settings = Settings.from_env({**BASE, "BRIDGE_WEBHOOK_SECRET": secret})
    assert (settings.lease_seconds, settings.sweep_interval) == (60.0, 15.0)
    assert settings.reconcile_interval == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BRIDGE_LEASE_SECONDS", "0"),
        ("BRIDGE_SWEEP_INTERVAL", "soon"),
        ("BRIDGE_RECONCILE_INTERVAL", "-5"),
    ],
)
def test_bad_values_are_refused_by_name(secret: str, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({**BASE, "BRIDGE_WEBHOOK_SECRET": secret, name: value})
