"""The parts the benchmarks share: one real WordPress with the plugin, bridges started on it,
posts created in bulk, and signed webhooks sent to a bridge."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.signing import Signer, payload
from devenv.bridge_process import BridgeProcesses
from devenv.wordpress import PLUGIN_FILE, LocalWordPress

REPO = Path(__file__).resolve().parents[1]


class Stack:
    """A WordPress started on first use under ``root`` and stopped by :meth:`close`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._site: LocalWordPress | None = None
        self._bridges = 0

    @property
    def site(self) -> LocalWordPress:
        if self._site is None:
            site = LocalWordPress(self.root / "wordpress", plugin_dir=REPO / "wp-plugin")
            site.start()
            self._site = site
        return self._site

    def close(self) -> None:
        if self._site is not None:
            self._site.stop()
            self._site = None

    @property
    def secret(self) -> str:
        return str(self.site.plugin_settings()["secret"])

    def bridge_env(self, **extra: str) -> dict[str, str]:
        site = self.site
        return {
            "WP_URL": site.url,
            "WP_USER": site.bridge.login,
            "WP_APP_PASSWORD": site.bridge.app_password,
            "BRIDGE_WEBHOOK_SECRET": self.secret,
            "BRIDGE_LOG_LEVEL": "WARNING",
            "BRIDGE_DOWNLOAD_ALLOW": "127.0.0.1/32",  # the Segmind fake serves its images here
            # The benchmarks' fake runs are short or scaled down, not Segmind's 35 s; the
            # learned schedule is measured on its own in bench/detection.py.
            "SEGMIND_POLL_SCHEDULE": "fixed",
            **extra,
        }

    @contextmanager
    def bridge(
        self, env: dict[str, str], roles: tuple[str, ...] = ("web", "worker")
    ) -> Iterator[BridgeProcesses]:
        """A bridge (its real processes) with its own data directory."""
        self._bridges += 1
        processes = BridgeProcesses(env, self.root / f"bridge-{self._bridges}")
        processes.start(roles=roles)
        try:
            yield processes
        finally:
            processes.stop()

    def create_posts(self, count: int, prefix: str) -> list[int]:
        """Publishes ``count`` posts without a featured image, with the plugin's webhook off,
        in one PHP run; returns their ids."""
        settings = self.site.plugin_settings()
        self.site.update_plugin_settings(enabled=False)
        try:
            out = self.site.php(
                "$fib_bench_ids = array();\n"
                f"for ( $i = 1; $i <= {int(count)}; $i++ ) {{\n"
                "\t$fib_bench_ids[] = wp_insert_post( array(\n"
                f"\t\t'post_title' => {json.dumps(prefix)} . ' ' . $i,\n"
                "\t\t'post_excerpt' => 'How a small team keeps its blog illustrated.',\n"
                "\t\t'post_content' => 'Benchmark post.',\n"
                "\t\t'post_status' => 'publish',\n"
                "\t\t'post_author' => 1,\n"
                "\t) );\n"
                "}\n"
                "echo wp_json_encode( $fib_bench_ids );\n",
                timeout=600,
            )
        finally:
            self.site.update_plugin_settings(enabled=settings.get("enabled", True))
        ids = json.loads(out.strip().splitlines()[-1])
        return [int(i) for i in ids]

    def set_plugin_active(self, admin: httpx.Client, active: bool) -> None:
        """Activates or deactivates the plugin through the REST API, as an admin would."""
        plugin = PLUGIN_FILE.removesuffix(".php")
        response = admin.post(
            "",
            params={"rest_route": f"/wp/v2/plugins/{plugin}"},
            json={"status": "active" if active else "inactive"},
        )
        response.raise_for_status()

    def admin_client(self) -> httpx.Client:
        return httpx.Client(base_url=self.site.url + "/", auth=self.site.admin.auth, timeout=60)


def send_webhooks(
    bridge_url: str,
    secret: str,
    site_url: str,
    post_ids: Sequence[int],
    *,
    title: str = "Benchmark post",
    concurrency: int = 8,
) -> list[int]:
    """Sends one signed ``post.published`` webhook per post; returns the HTTP statuses."""
    signer = Signer(secret)
    limits = httpx.Limits(max_connections=concurrency)
    with httpx.Client(base_url=bridge_url, timeout=30, limits=limits) as http:

        def send(post_id: int) -> int:
            body, headers = signer.signed(payload(site_url, post_id, f"{title} {post_id}"))
            return http.post("/webhook", content=body, headers=headers).status_code

        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(send, post_ids))


def job_states(data_dir: Path) -> dict[str, int]:
    """How many of a bridge's jobs are in each state (read from its job database)."""
    path = data_dir / "jobs.sqlite3"
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        rows = db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
    finally:
        db.close()
    return {str(state): int(count) for state, count in rows}


def job_times(data_dir: Path) -> list[tuple[float, float, str]]:
    """(created_at, updated_at, state) of every job, in wall-clock seconds."""
    db = sqlite3.connect(f"file:{data_dir / 'jobs.sqlite3'}?mode=ro", uri=True, timeout=30)
    try:
        rows = db.execute("SELECT created_at, updated_at, state FROM jobs").fetchall()
    finally:
        db.close()
    return [(float(a), float(b), str(s)) for a, b, s in rows]


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Calls ``check()`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return bool(check())


def job_of_post(data_dir: Path, post_id: int) -> tuple[str, float] | None:
    """(state, updated_at) of the newest job for a post, or None."""
    path = data_dir / "jobs.sqlite3"
    if not path.exists():
        return None
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        row = db.execute(
            "SELECT state, updated_at FROM jobs WHERE post_id = ? ORDER BY created_at DESC",
            (post_id,),
        ).fetchone()
    finally:
        db.close()
    return None if row is None else (str(row[0]), float(row[1]))
