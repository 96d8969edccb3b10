"""Time the WordPress transports (REST and XML-RPC) on a throwaway local WordPress.

    .venv/bin/python -m bench.wordpress_transports [--posts 300] [--repeat 30]

Prints the median and 90th percentile of each operation the bridge makes, per transport, and
how long listing the posts without a featured image takes.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from bridge.wordpress import WordPressClient, WordPressSite, XmlRpcSite
from devenv.wordpress import LocalWordPress


def _timed(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((1200, 630), 64).convert("RGB").save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _make_posts(site: LocalWordPress, count: int) -> list[int]:
    out = site.php(
        "$ids = array();\n"
        f"for ( $i = 0; $i < {count}; $i++ ) {{\n"
        "\t$ids[] = wp_insert_post( array( 'post_title' => \"Bench post $i\","
        " 'post_content' => 'Some words to excerpt.', 'post_status' => 'publish' ) );\n"
        "}\n"
        "echo wp_json_encode( $ids );\n"
    )
    return [int(i) for i in out.strip().splitlines()[-1].strip("[]").split(",")]


def _measure(name: str, client: WordPressSite, post_ids: list[int], repeat: int) -> None:
    image = _jpeg()
    post = post_ids[0]
    rows = {
        "get_post": _timed(lambda: client.get_post("post", post), repeat),
        "update_post (status)": _timed(
            lambda: client.update_post("post", post, status="generating", job_id="bench"), repeat
        ),
    }
    uploaded: list[int] = []
    rows[f"upload_media ({len(image) // 1024} kB JPEG)"] = _timed(
        lambda: uploaded.append(
            client.upload_media(
                image,
                filename="bench.jpg",
                mime_type="image/jpeg",
                alt_text="Bench",
                title="Bench",
                caption="Bench",
                post_id=post,
            )
        ),
        max(repeat // 3, 3),
    )
    media = iter(uploaded)
    rows["update_post (featured image)"] = _timed(
        lambda: client.update_post("post", post, status="done", featured_media=next(media)),
        len(uploaded),
    )
    media = iter(uploaded)
    rows["delete_media"] = _timed(lambda: client.delete_media(next(media)), len(uploaded))
    rows[f"list_missing ({len(post_ids)} posts)"] = _timed(
        lambda: sum(1 for _ in client.list_missing(["post"], None)), 3
    )
    for operation, (median, p90) in rows.items():
        print(f"{name:7} {operation:32} median {median:8.1f} ms   p90 {p90:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fib-bench-") as root:
        plugin = Path(__file__).resolve().parents[1] / "wp-plugin"
        with LocalWordPress(Path(root), plugin_dir=plugin) as site:
            site.update_plugin_settings(enabled=False)
            post_ids = _make_posts(site, args.posts)
            user = site.bridge
            clients: dict[str, WordPressSite] = {
                "rest": WordPressClient(site.url, user.login, user.app_password),
                "xmlrpc": XmlRpcSite(f"{site.url}/xmlrpc.php", user.login, user.app_password),
            }
            for name, client in clients.items():
                client.get_post("post", post_ids[0])  # warm up connections and caches
                _measure(name, client, post_ids, args.repeat)
                client.close()


if __name__ == "__main__":
    main()
