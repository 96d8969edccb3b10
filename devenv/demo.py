"""The whole loop on this machine: a local WordPress with the plugin, the bridge's web and worker
processes, and a sample post that gets its featured image.

Uses the local title-card provider unless SEGMIND_API_KEY is set, or the local Segmind fake with
``--fake-segmind``. Stays up (so you can log in)
until Ctrl-C, or exits at once with ``--exit``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.segmind_fake import FakeSegmind
from devenv.wordpress import LocalWordPress

REPO = Path(__file__).resolve().parent.parent
SAMPLE_TITLE = "Why slow mornings make better developers"
SAMPLE_CONTENT = (
    "<!-- wp:paragraph --><p>We tried waking up later, reading before coding and walking to "
    "work. Here is what changed in our focus, our bugs and our mood across twelve months."
    "</p><!-- /wp:paragraph -->"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=REPO / "var" / "demo")
    parser.add_argument("--port", type=int, default=None, help="WordPress port (default: free)")
    parser.add_argument("--exit", action="store_true", help="stop everything once the image is set")
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument(
        "--fake-segmind", action="store_true", help="generate with the local Segmind fake"
    )
    args = parser.parse_args(argv)

    site = LocalWordPress(args.root / "wordpress", plugin_dir=REPO / "wp-plugin", port=args.port)
    print("Starting WordPress (MariaDB + php -S) …", flush=True)
    site.start()
    bridge: BridgeProcesses | None = None
    fake: FakeSegmind | None = None
    try:
        env = {
            "WP_URL": site.url,
            "WP_USER": site.bridge.login,
            "WP_APP_PASSWORD": site.bridge.app_password,
            "BRIDGE_WEBHOOK_SECRET": "",
        }
        if args.fake_segmind:
            fake = FakeSegmind()
            fake.start()
            env.update(
                SEGMIND_API_KEY=fake.api_key,
                SEGMIND_WORKFLOW_URL=fake.workflow_url,
                SEGMIND_POLL_SCHEDULE="fixed",  # the fake's runs take a second, not 35 s
                SEGMIND_POLL_INTERVAL="0.5",
                BRIDGE_DOWNLOAD_ALLOW="127.0.0.1/32",  # the fake serves its images on loopback
            )
        bridge = BridgeProcesses(env, args.root / "bridge")
        settings = site.update_plugin_settings(bridge_url=bridge.url, enabled=True)
        bridge.env["BRIDGE_WEBHOOK_SECRET"] = str(settings["secret"])
        provider = "segmind" if bridge.env.get("SEGMIND_API_KEY") else "local title card"
        if fake is not None:
            provider += " fake"
        print(f"Starting the bridge on {bridge.url} (provider: {provider}) …", flush=True)
        bridge.start()

        editor = EditorSession(site)
        post_id = editor.create_post(SAMPLE_TITLE, SAMPLE_CONTENT)
        print(f"Published post {post_id}; waiting for its featured image …", flush=True)
        started = time.monotonic()
        view = editor.wait_for(post_id, timeout=args.timeout)
        if view.generation != "done" or not view.featured_media:
            print(f"Generation failed: {view.message}", file=sys.stderr)
            return 1
        image = editor.media(view.featured_media)
        editor.close()
        print(
            f"\nDone in {time.monotonic() - started:.1f} s.\n"
            f"  Post:   {view.link}\n"
            f"  Image:  {image['source_url']}\n"
            f"  Alt:    {image.get('alt_text', '')}\n"
            f"  Log in: {site.url}/wp-admin/  as {site.admin.login} / {site.admin.password}\n"
            f"  Bridge: {bridge.url}  (logs in {bridge.data_dir})",
            flush=True,
        )
        if args.exit:
            return 0
        print("\nEverything keeps running; press Ctrl-C to stop.", flush=True)
        while True:
            time.sleep(3600)
    finally:
        if bridge is not None:
            bridge.stop()
        if fake is not None:
            fake.stop()
        site.stop()


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    # Ctrl-C and SIGTERM both stop the demo cleanly, even when a shell started it with SIGINT
    # ignored (as it does for background jobs).
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
