"""The test Redis server (devenv/redis_server.py) starts, keeps data across a crash, stops."""

from __future__ import annotations

from pathlib import Path

import redis

from devenv.redis_server import LocalRedis


def test_redis_keeps_data_across_a_crash(tmp_path: Path) -> None:
    server = LocalRedis(tmp_path / "redis")
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        client.set("post:42", "queued")
        client.close()
        server.kill()
        server.start()
        client = redis.Redis.from_url(server.url)
        assert client.get("post:42") == b"queued"
        client.close()
    finally:
        server.stop()
