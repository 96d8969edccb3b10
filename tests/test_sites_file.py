"""The sites file (``BRIDGE_SITES_FILE``): what it accepts, and every problem it reports at once
naming the site and the key, without ever printing a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import ConfigError, Settings
from bridge.gate import RateLimit, key_id
from bridge.logs import secrets_of
from bridge.options import DEFAULT_PROMPT_TEMPLATE, GenerationOptions
from bridge.sites import SiteRegistry
from tests.signing import new_secret

SECRET_A = new_secret()
SECRET_B = new_secret()
OLD_SECRET_B = new_secret()


def load(tmp_path: Path, text: str, **env: str) -> Settings:
    path = tmp_path / "sites.toml"
    path.write_text(text)
    return Settings.from_env(
        {"BRIDGE_SITES_FILE": str(path), "BRIDGE_DATA_DIR": str(tmp_path), **env}
    )


def problems(tmp_path: Path, text: str, **env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text, **env)
    return str(caught.value)


TWO_SITES = f"""
[[site]]
url = "https://a.example/"
webhook_secret_env = "SITE_A_SECRET"
wp_user = "bridge"
wp_app_password_env = "SITE_A_PASSWORD"
segmind_api_key_env = "SEGMIND_KEY"
max_concurrency = 3
rate_limit = "6/1s"
daily_cap = 50
style = "watercolour"

[[site]]
url = "https://B.example/blog"
webhook_secret = ["{SECRET_B}", "{OLD_SECRET_B}"]
wp_user = "robot"
wp_app_password = "bbbb bbbb bbbb bbbb"
wp_transport = "xmlrpc"
provider = "local"
prompt_template = "A photo about {{title}}"
prompt_override = true
"""


def test_two_sites_are_read_with_their_own_settings(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        TWO_SITES,
        SITE_A_SECRET=SECRET_A,
        SITE_A_PASSWORD="aaaa aaaa aaaa aaaa",
        SEGMIND_KEY="sg-key-a",
    )
    a, b = SiteRegistry.from_settings(settings)
    assert a.url == "https://a.example" and b.url == "https://B.example/blog"
    assert a.webhook_secrets == (SECRET_A,) and b.webhook_secrets == (SECRET_B, OLD_SECRET_B)
    assert (a.wp_transport, a.wp_app_password) == ("rest", "aaaa aaaa aaaa aaaa")
    assert (b.wp_transport, b.wp_xmlrpc_url) == ("xmlrpc", "https://B.example/blog/xmlrpc.php")
    assert (a.provider, a.segmind_api_key, a.key_id) == (
        "segmind",
        "sg-key-a",
        key_id("segmind", "sg-key-a"),
    )
    assert (b.provider, b.key_id) == ("local", "local")
    assert (a.max_concurrency, a.rate_limit, a.daily_cap) == (3, RateLimit(6, 1.0), 50)
    # The single-site fields stay empty: nothing can serve "the" site by mistake.
    assert settings.wp_url == "" and settings.webhook_secret == ""


def test_the_registry_finds_a_site_however_its_url_is_spelled(tmp_path: Path) -> None:
    settings = load(
        tmp_path, TWO_SITES, SITE_A_SECRET=SECRET_A, SITE_A_PASSWORD="p", SEGMIND_KEY="k"
    )
    registry = SiteRegistry.from_settings(settings)
    assert registry.find("HTTPS://b.EXAMPLE/blog/") is not None
    assert registry.find("https://b.example/Blog") is None  # the path is case-sensitive
    assert registry.find("https://c.example") is None
    assert registry.only() is None


def test_the_environment_alone_is_a_registry_of_one_site(settings: Settings, secret: str) -> None:
    registry = SiteRegistry.from_settings(settings)
    only = registry.only()
    assert only is not None and len(registry) == 1
    assert (only.url, only.webhook_secrets, only.wp_user) == (settings.wp_url, (secret,), "bridge")
    assert only.settings(settings) == settings


def test_operator_prompt_defaults_and_caps_combine_with_the_plugin_options(
    tmp_path: Path,
) -> None:
    settings = load(
        tmp_path, TWO_SITES, SITE_A_SECRET=SECRET_A, SITE_A_PASSWORD="p", SEGMIND_KEY="k"
    )
    a, b = SiteRegistry.from_settings(settings)
    # Site A: its style fills an empty style; a style the site's admin chose wins.
    assert a.job_options(GenerationOptions()).style == "watercolour"
    assert a.job_options(GenerationOptions(style="ink")).style == "ink"
    assert a.job_options(GenerationOptions()).prompt_template == DEFAULT_PROMPT_TEMPLATE
    # The smaller of the two daily caps; 0 means none.
    assert a.job_options(GenerationOptions()).daily_cap == 50
    assert a.job_options(GenerationOptions(daily_cap=10)).daily_cap == 10
    assert a.job_options(GenerationOptions(daily_cap=80)).daily_cap == 50
    # Site B overrides the template whatever the request says.
    custom = GenerationOptions(prompt_template="Mine: {title}")
    assert b.job_options(custom).prompt_template == "A photo about {title}"
    assert b.job_options(GenerationOptions(daily_cap=7)).daily_cap == 7


def test_every_problem_names_its_site_and_key_and_no_secret(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
[[site]]
url = "ftp://a.example"
webhook_secret = "whsec_short"
wp_app_password = "the-password-itself"
wp_transport = "soap"
max_concurrency = -1
rate_limit = "fast"
colour = "blue"

[[site]]
url = "https://b.example"
webhook_secret_env = "UNSET_SECRET"
wp_user = "robot"
wp_app_password = "p"
wp_app_password_env = "ALSO_P"
provider = "segmind"
daily_cap = "many"
""",
    )
    site_a = "site 1 (ftp://a.example)"
    site_b = "site 2 (https://b.example)"
    for expected in (
        f"{site_a}: url must be an http(s) URL",
        f"{site_a}: webhook_secret must be the secret shown",
        f"{site_a}: wp_user is required",
        f"{site_a}: wp_transport must be one of rest, xmlrpc",
        f"{site_a}: max_concurrency must be between",
        f"{site_a}: rate_limit: expected COUNT/WINDOW",
        f"{site_a}: unknown key 'colour'",
        f"{site_b}: webhook_secret_env names UNSET_SECRET, which is not set",
        f"{site_b}: give wp_app_password or wp_app_password_env, not both",
        f"{site_b}: provider is 'segmind' but segmind_api_key",
        f"{site_b}: daily_cap must be a whole number",
    ):
        assert expected in text
    assert "whsec_short" not in text and "the-password-itself" not in text


def test_duplicate_sites_are_refused(tmp_path: Path) -> None:
    site = f"""
[[site]]
url = "{{url}}"
webhook_secret = "{SECRET_A}"
wp_user = "bridge"
wp_app_password = "p"
"""
    text = problems(
        tmp_path, site.format(url="https://a.example") + site.format(url="HTTPS://A.example/")
    )
    assert "the sites https://a.example and HTTPS://A.example are the same site" in text


def test_sites_sharing_a_key_must_agree_on_its_limits(tmp_path: Path) -> None:
    site = f"""
[[site]]
url = "{{url}}"
webhook_secret = "{SECRET_A}"
wp_user = "bridge"
wp_app_password = "p"
segmind_api_key_env = "SHARED_KEY"
max_concurrency = {{cap}}
"""
    text = problems(
        tmp_path,
        site.format(url="https://a.example", cap=2) + site.format(url="https://b.example", cap=5),
        SHARED_KEY="sg-shared-key",
    )
    assert "https://a.example and https://b.example share a provider key" in text
    assert "sg-shared-key" not in text


def test_sites_sharing_a_key_take_the_environment_limits_by_default(tmp_path: Path) -> None:
    site = f"""
[[site]]
url = "{{url}}"
webhook_secret = "{SECRET_A}"
wp_user = "bridge"
wp_app_password = "p"
segmind_api_key_env = "SHARED_KEY"
"""
    settings = load(
        tmp_path,
        site.format(url="https://a.example") + site.format(url="https://b.example"),
        SHARED_KEY="sg-shared-key",
        SEGMIND_MAX_CONCURRENCY="7",
        SEGMIND_RATE_LIMIT="60/min",
    )
    a, b = SiteRegistry.from_settings(settings)
    assert a.key_id == b.key_id
    assert (a.max_concurrency, a.rate_limit) == (b.max_concurrency, b.rate_limit)
    assert (a.max_concurrency, a.rate_limit) == (7, RateLimit(60, 60.0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "no [[site]] table"),
        ("[site]\nurl = 'x'\n", "site must be [[site]] tables"),
        ("oops = 1\n[[site]]\n", "unknown key 'oops'"),
        ("[[site\n", "is not valid TOML"),
    ],
)
def test_a_malformed_file_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in problems(tmp_path, text)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="BRIDGE_SITES_FILE: cannot read"):
        Settings.from_env({"BRIDGE_SITES_FILE": str(tmp_path / "nope.toml")})


def test_single_site_variables_next_to_a_sites_file_are_refused(tmp_path: Path) -> None:
    text = problems(tmp_path, TWO_SITES, WP_URL="https://a.example", SITE_A_SECRET=SECRET_A)
    assert "WP_URL is set together with BRIDGE_SITES_FILE" in text


def test_the_deploy_example_is_accepted_once_its_variables_are_set(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "deploy" / "sites.example.toml"
    variables = {
        name: SECRET_A if name.endswith("WEBHOOK_SECRET") else f"value-of-{name}"
        for name in ("BLOG_WEBHOOK_SECRET", "BLOG_WP_APP_PASSWORD", "SEGMIND_API_KEY")
        + ("SHOP_WEBHOOK_SECRET", "SHOP_WP_APP_PASSWORD")
    }
    settings = load(tmp_path, example.read_text(), **variables)
    blog, shop = SiteRegistry.from_settings(settings)
    assert blog.key_id == shop.key_id and (shop.wp_transport, shop.provider) == (
        "xmlrpc",
        "segmind",
    )


def test_every_sites_secrets_are_redacted_from_the_logs(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        TWO_SITES,
        SITE_A_SECRET=SECRET_A,
        SITE_A_PASSWORD="pass-of-a",
        SEGMIND_KEY="sg-key-a",
    )
    redacted = set(secrets_of(settings))
    for secret in (
        SECRET_A,
        SECRET_B,
        OLD_SECRET_B,
        "pass-of-a",
        "bbbb bbbb bbbb bbbb",
        "sg-key-a",
    ):
        assert secret in redacted
