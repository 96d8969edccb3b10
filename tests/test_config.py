from pathlib import Path

import pytest

from bridge.config import DEFAULT_WORKFLOW_URL, ConfigError, Settings, redacted_url
from bridge.gate import RateLimit

BASE = {
    "WP_URL": "http://wp.example/",
    "WP_USER": "bridge",
    "WP_APP_PASSWORD": "app-password-value",
}


def test_defaults_use_the_local_provider_without_a_key(secret: str) -> None:
    settings = Settings.from_env({**BASE, "BRIDGE_WEBHOOK_SECRET": secret})
    assert settings.provider == "local"
    assert settings.wp_url == "http://wp.example"
    assert settings.segmind_workflow_url == DEFAULT_WORKFLOW_URL
    assert settings.poll_interval == 7.0


def test_a_segmind_key_selects_segmind(secret: str) -> None:
    settings = Settings.from_env(
        {**BASE, "BRIDGE_WEBHOOK_SECRET": secret, "SEGMIND_API_KEY": "sg_key"}
    )
    assert settings.provider == "segmind"


def test_every_problem_is_reported_at_once_without_secret_values() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {
                "BRIDGE_WEBHOOK_SECRET": "whsec_not-base64-secret-value!",
                "WP_URL": "wp.example",
                "WP_APP_PASSWORD": "super-secret-password",
                "SEGMIND_POLL_INTERVAL": "often",
                "BRIDGE_PROVIDER": "segmind",
            }
        )
    text = str(caught.value)
    for name in (
        "BRIDGE_WEBHOOK_SECRET",
        "WP_URL",
        "WP_USER",
        "SEGMIND_POLL_INTERVAL",
        "SEGMIND_API_KEY",
    ):
        assert name in text
    assert "super-secret-password" not in text
    assert "not-base64-secret-value" not in text


def test_out_of_range_numbers_are_refused(secret: str) -> None:
    with pytest.raises(ConfigError, match="BRIDGE_PORT must be between"):
        Settings.from_env({**BASE, "BRIDGE_WEBHOOK_SECRET": secret, "BRIDGE_PORT": "70000"})


def test_config_file_fills_in_and_environment_wins(tmp_path: Path, secret: str) -> None:
    file = tmp_path / "bridge.toml"
    file.write_text(
        f'BRIDGE_WEBHOOK_SECRET = "{secret}"\nWP_URL = "http://from-file"\n'
        'WP_USER = "file-user"\nWP_APP_PASSWORD = "x"\nSEGMIND_POLL_INTERVAL = 2.5\n'
    )
    settings = Settings.from_env({"BRIDGE_CONFIG_FILE": str(file), "WP_USER": "env-user"})
    assert settings.wp_url == "http://from-file"
    assert settings.wp_user == "env-user"
    assert settings.poll_interval == 2.5


def test_unreadable_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        Settings.from_env({"BRIDGE_CONFIG_FILE": str(tmp_path / "missing.toml")})


def test_wordpress_transport_defaults_to_rest_with_xmlrpc_beside_the_site(secret: str) -> None:
    settings = Settings.from_env({**BASE, "BRIDGE_WEBHOOK_SECRET": secret})
    assert settings.wp_transport == "rest"
    assert settings.wp_xmlrpc_url == "http://wp.example/xmlrpc.php"


def test_xmlrpc_transport_and_its_url_can_be_chosen(secret: str) -> None:
    settings = Settings.from_env(
        {
            **BASE,
            "BRIDGE_WEBHOOK_SECRET": secret,
            "WP_TRANSPORT": "XMLRPC",
            "WP_XMLRPC_URL": "https://rpc.wp.example/blog/xmlrpc.php",
        }
    )
    assert settings.wp_transport == "xmlrpc"
    assert settings.wp_xmlrpc_url == "https://rpc.wp.example/blog/xmlrpc.php"


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("WP_TRANSPORT", "soap", "WP_TRANSPORT must be one of rest, xmlrpc"),
        ("WP_XMLRPC_URL", "wp.example/xmlrpc.php", "WP_XMLRPC_URL must be an http(s) URL"),
    ],
)
def test_bad_transport_settings_are_named(secret: str, name: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, "BRIDGE_WEBHOOK_SECRET": secret, name: value})
    assert caught.value.problems == [f"{problem}, got {value!r}"]


def test_the_backfill_window_defaults_to_the_worker_threads(secret: str) -> None:
    env = {**BASE, "BRIDGE_WEBHOOK_SECRET": secret, "BRIDGE_WORKERS": "6"}
    assert Settings.from_env(env).backfill_window == 6
    assert Settings.from_env({**env, "BRIDGE_BACKFILL_WINDOW": "2"}).backfill_window == 2


@pytest.mark.parametrize("value", ["0", "many", "1000"])
def test_a_bad_backfill_window_is_named(secret: str, value: str) -> None:
    with pytest.raises(ConfigError, match="BRIDGE_BACKFILL_WINDOW must be"):
        Settings.from_env(
            {**BASE, "BRIDGE_WEBHOOK_SECRET": secret, "BRIDGE_BACKFILL_WINDOW": value}
        )


def test_download_settings_have_safe_defaults(secret: str) -> None:
    settings = Settings.from_env({**BASE, "BRIDGE_WEBHOOK_SECRET": secret})
    assert settings.download_allow == ()
    assert settings.download_max_bytes == 25 * 1024 * 1024
    assert settings.download_timeout == 60.0


def test_download_allow_takes_addresses_and_ranges(secret: str) -> None:
    settings = Settings.from_env(
        {
            **BASE,
            "BRIDGE_WEBHOOK_SECRET": secret,
            "BRIDGE_DOWNLOAD_ALLOW": " 127.0.0.1, 10.0.0.0/8 ,fd00::/8",
            "BRIDGE_DOWNLOAD_MAX_MB": "5",
        }
    )
    assert [str(n) for n in settings.download_allow] == ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]
    assert settings.download_max_bytes == 5 * 1024 * 1024


def test_a_bad_download_allow_entry_is_named(secret: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {**BASE, "BRIDGE_WEBHOOK_SECRET": secret, "BRIDGE_DOWNLOAD_ALLOW": "10.0.0.0/8,cdn"}
        )
    assert "BRIDGE_DOWNLOAD_ALLOW" in str(caught.value) and "'cdn'" in str(caught.value)


def test_polling_learns_and_spends_the_fixed_intervals_polls_unless_told_otherwise(
    secret: str,
) -> None:
    from bridge.providers import create_provider
    from bridge.providers.segmind import SegmindProvider
    from bridge.providers.segmind.schedule import FixedSchedule, LearnedSchedule

    env = {**BASE, "BRIDGE_WEBHOOK_SECRET": secret, "SEGMIND_API_KEY": "sk-test"}
    learned = create_provider(Settings.from_env(env))
    assert isinstance(learned, SegmindProvider) and isinstance(learned.schedule, LearnedSchedule)
    assert learned.schedule.match_polls and learned.schedule.sparse_interval == 7.0
    chosen = create_provider(Settings.from_env({**env, "SEGMIND_POLL_DENSE_INTERVAL": "2"}))
    assert isinstance(chosen, SegmindProvider) and isinstance(chosen.schedule, LearnedSchedule)
    assert chosen.schedule.dense_interval == 2.0 and not chosen.schedule.match_polls
    fixed = create_provider(Settings.from_env({**env, "SEGMIND_POLL_SCHEDULE": "fixed"}))
    assert isinstance(fixed, SegmindProvider) and isinstance(fixed.schedule, FixedSchedule)
    with pytest.raises(ConfigError, match="SEGMIND_POLL_SCHEDULE"):
        Settings.from_env({**env, "SEGMIND_POLL_SCHEDULE": "eager"})
    with pytest.raises(ConfigError, match="SEGMIND_POLL_DENSE_INTERVAL"):
        Settings.from_env({**env, "SEGMIND_POLL_DENSE_INTERVAL": "often"})


def test_provider_limits_default_to_four_runs_at_once_and_no_rate_limit(secret: str) -> None:
    env = {**BASE, "BRIDGE_WEBHOOK_SECRET": secret, "BRIDGE_WORKERS": "6"}
    settings = Settings.from_env(env)
    assert (settings.max_concurrency, settings.rate_limit) == (4, None)
    assert settings.credits_recheck == 60.0
    chosen = Settings.from_env(
        {
            **env,
            "SEGMIND_MAX_CONCURRENCY": "0",
            "SEGMIND_RATE_LIMIT": "60/min",
            "SEGMIND_CREDITS_RECHECK": "5",
        }
    )
    assert (chosen.max_concurrency, chosen.rate_limit) == (0, RateLimit(60, 60.0))
    assert chosen.credits_recheck == 5.0
    assert Settings.from_env({**env, "SEGMIND_RATE_LIMIT": "off"}).rate_limit is None


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("SEGMIND_MAX_CONCURRENCY", "-1", "SEGMIND_MAX_CONCURRENCY must be between"),
        ("SEGMIND_MAX_CONCURRENCY", "two", "SEGMIND_MAX_CONCURRENCY must be a whole number"),
        ("SEGMIND_RATE_LIMIT", "6 per second", "SEGMIND_RATE_LIMIT: expected COUNT/WINDOW"),
        ("SEGMIND_CREDITS_RECHECK", "0", "SEGMIND_CREDITS_RECHECK must be between"),
    ],
)
def test_bad_provider_limits_are_named(secret: str, name: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        Settings.from_env({**BASE, "BRIDGE_WEBHOOK_SECRET": secret, name: value})


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://:pa55word@redis.internal:6380/2",
        "rediss://bridge:pa55word@redis.example",
        "unix:///run/redis/redis.sock?db=1",
    ],
)
def test_a_redis_url_selects_redis(secret: str, url: str) -> None:
    settings = Settings.from_env({**BASE, "BRIDGE_WEBHOOK_SECRET": secret, "BRIDGE_REDIS_URL": url})
    assert settings.redis_url == url
    assert Settings.from_env({**BASE, "BRIDGE_WEBHOOK_SECRET": secret}).redis_url is None


@pytest.mark.parametrize(
    "url", ["http://:pa55word@redis.internal", "redis://:pa55word@", "redis://h:0", "localhost"]
)
def test_a_bad_redis_url_is_named_without_its_password(secret: str, url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({**BASE, "BRIDGE_WEBHOOK_SECRET": secret, "BRIDGE_REDIS_URL": url})
    message = str(raised.value)
    assert "BRIDGE_REDIS_URL must be redis://" in message
    assert "pa55word" not in message


def test_a_redis_url_is_logged_without_its_password() -> None:
    assert redacted_url("redis://bridge:pa55word@h:6379/0") == "redis://bridge:***@h:6379/0"
    assert redacted_url("redis://:pa55word@h") == "redis://:***@h"
    assert "pa55word" not in redacted_url("unix:///run/redis.sock?db=1&password=pa55word")
    assert redacted_url("redis://h:6379/0") == "redis://h:6379/0"
