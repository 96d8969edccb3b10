"""A background thread that calls a function every few seconds until stopped."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """Calls ``action`` now and then every ``interval`` seconds, in a daemon thread.

    An exception in ``action`` is logged and the next call still happens.
    """

    def __init__(self, name: str, interval: float, action: Callable[[], object]) -> None:
        self.name = name
        self.interval = interval
        self.action = action
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _loop(self) -> None:
        while True:
            try:
                self.action()
            except Exception:
                log.exception("%s failed; trying again in %g s", self.name, self.interval)
            if self._stop.wait(self.interval):
                return
