"""A real WordPress (Debian's packages) with the plugin, the bridge's real processes, and the
Segmind fake: started once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.segmind_fake import FakeSegmind
from devenv.wordpress import LocalWordPress, Subsite, WordPressUser
from tests.integration.wp_users import rest_blocked_editor
from tests.sites import running_network, running_site


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWordPress]:
    yield from running_site(tmp_path_factory, "wp")


@pytest.fixture(scope="session")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWordPress]:
    """A multisite network (tests/sites.py SUBSITES); ``bridge_env(network.subsite(name))``
    is the environment of a bridge serving one subsite."""
    yield from running_network(tmp_path_factory, "wp-network")


@pytest.fixture(scope="session")
def segmind() -> Iterator[FakeSegmind]:
    with FakeSegmind() as fake:
        yield fake


def bridge_env(site: LocalWordPress | Subsite, **extra: str) -> dict[str, str]:
    """The environment of a bridge serving ``site``, or one subsite of a network (``extra``
    wins)."""
    return {
        "WP_URL": site.url,
        "WP_USER": site.bridge.login,
        "WP_APP_PASSWORD": site.bridge.app_password,
        "BRIDGE_WEBHOOK_SECRET": str(site.plugin_settings()["secret"]),
        "BRIDGE_WORKERS": "4",
        "BRIDGE_RETRY_DELAY": "0.2",
        "BRIDGE_JOB_RETRIES": "2",
        **extra,
    }


@pytest.fixture(scope="session")
def local_bridge(
    site: LocalWordPress, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BridgeProcesses]:
    with BridgeProcesses(
        bridge_env(site, BRIDGE_PROVIDER="local"), tmp_path_factory.mktemp("local-bridge")
    ) as bridge:
        yield bridge


@pytest.fixture(scope="session")
def xmlrpc_only_user(site: LocalWordPress) -> WordPressUser:
    """An editor whom the REST API refuses, as on a host that blocks it."""
    return rest_blocked_editor(site)


@pytest.fixture(scope="session")
def xmlrpc_bridge(
    site: LocalWordPress,
    xmlrpc_only_user: WordPressUser,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BridgeProcesses]:
    """A bridge with WP_TRANSPORT=xmlrpc whose WordPress user the REST API refuses."""
    user = xmlrpc_only_user
    env = bridge_env(
        site,
        BRIDGE_PROVIDER="local",
        WP_TRANSPORT="xmlrpc",
        WP_USER=user.login,
        WP_APP_PASSWORD=user.app_password,
    )
    with BridgeProcesses(env, tmp_path_factory.mktemp("xmlrpc-bridge")) as bridge:
        yield bridge


@pytest.fixture(scope="session")
def segmind_bridge(
    site: LocalWordPress, segmind: FakeSegmind, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BridgeProcesses]:
    env = bridge_env(
        site,
        SEGMIND_API_KEY=segmind.api_key,
        SEGMIND_WORKFLOW_URL=segmind.workflow_url,
        SEGMIND_POLL_SCHEDULE="fixed",  # the fake's runs take a second, not Segmind's 35 s
        SEGMIND_POLL_INTERVAL="0.1",
        SEGMIND_DEADLINE="30",
        SEGMIND_CREDITS_RECHECK="1",  # a 406 pauses the key: for 1 s, not the tests after it
        BRIDGE_DOWNLOAD_ALLOW="127.0.0.1/32",  # the fake serves its images on loopback
    )
    with BridgeProcesses(env, tmp_path_factory.mktemp("segmind-bridge")) as bridge:
        yield bridge


@pytest.fixture
def editor(site: LocalWordPress) -> Iterator[EditorSession]:
    session = EditorSession(site)
    yield session
    session.close()


@pytest.fixture
def use_local(site: LocalWordPress, local_bridge: BridgeProcesses) -> BridgeProcesses:
    """Points the plugin at the bridge that draws title cards."""
    site.update_plugin_settings(bridge_url=local_bridge.url, enabled=True)
    return local_bridge


@pytest.fixture
def use_xmlrpc(site: LocalWordPress, xmlrpc_bridge: BridgeProcesses) -> BridgeProcesses:
    """Points the plugin at a bridge that draws title cards and writes to WordPress over
    XML-RPC only."""
    site.update_plugin_settings(bridge_url=xmlrpc_bridge.url, enabled=True)
    return xmlrpc_bridge


@pytest.fixture
def use_segmind(
    site: LocalWordPress, segmind: FakeSegmind, segmind_bridge: BridgeProcesses
) -> Iterator[FakeSegmind]:
    """Points the plugin at the bridge that calls the Segmind fake."""
    site.update_plugin_settings(bridge_url=segmind_bridge.url, enabled=True)
    segmind.reset()
    yield segmind
    segmind.reset()
