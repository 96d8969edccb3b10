"""Runs the bridge as an operator would: ``bridge web`` and ``bridge worker`` processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BridgeProcesses:
    """The bridge's web and worker processes, started with ``env`` on a free port."""

    def __init__(self, env: dict[str, str], data_dir: Path, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            **env,
            "BRIDGE_DATA_DIR": str(data_dir),
            "BRIDGE_HOST": "127.0.0.1",
            "BRIDGE_PORT": str(self.port),
        }
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, timeout: float = 30.0, roles: tuple[str, ...] = ("web", "worker")) -> None:
        """Starts ``roles`` (web and worker); returns when ``/healthz`` answers."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for role in roles:
            self.start_role(role)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the bridge did not become healthy; see {self.data_dir}/*.log")

    def start_role(self, role: str) -> None:
        log = open(self.data_dir / f"{role}.log", "ab")  # noqa: SIM115 - owned by the process
        args = [sys.executable, "-m", "bridge.cli", role]
        if role == "web":
            args += ["--processes", "1"]
        self._procs[role] = subprocess.Popen(
            args, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def pid(self, role: str) -> int:
        """The process id of a running role (for measuring it)."""
        return self._procs[role].pid

    def kill(self, role: str, sig: int = signal.SIGKILL) -> None:
        """Stops one process (and its children) at once, as a crash would."""
        proc = self._procs.pop(role, None)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=10)

    def _check_alive(self) -> None:
        for role, proc in self._procs.items():
            if proc.poll() is not None:
                log = (self.data_dir / f"{role}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"bridge {role} exited with {proc.returncode}:\n{log}")

    def stop(self) -> None:
        for role in list(self._procs):
            proc = self._procs[role]
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
            del self._procs[role]

    def __enter__(self) -> BridgeProcesses:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
