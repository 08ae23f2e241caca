"""Progress of a sweep: runs done / running / failed.

A tqdm bar on a terminal (off otherwise) and, when enabled, one line per finished run. The
*running* count comes from the events the workers send when a run starts and ends
(:data:`analogtrain.sweep.task.EVENT_TOPIC`), so it is right for a remote cluster too.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from analogtrain.training.progress import progress_bar


class Progress:
    """Runs done / running / failed: a tqdm bar on a terminal and one line per finished run."""

    def __init__(self, total: int, enabled: bool, stream=None) -> None:
        self.enabled = enabled
        self.total = total
        self.done = self.failed = 0
        self.running: set[str] = set()
        self._lock = threading.Lock()
        self.stream = stream or sys.stderr
        self.bar = progress_bar(total, "sweep", enabled=enabled, file=self.stream, unit="run", leave=True)

    def event(self, event: Any) -> None:
        """Handler of the workers' start/end events (``(timestamp, message)`` tuples)."""
        message = event[1] if isinstance(event, tuple) and len(event) == 2 else event
        if not isinstance(message, dict) or "run" not in message:
            return
        with self._lock:
            if message.get("event") == "start":
                self.running.add(message["run"])
            else:
                self.running.discard(message["run"])

    def postfix(self) -> str:
        with self._lock:
            running = len(self.running)
        return f"done={self.done} running={running} failed={self.failed}"

    def refresh(self) -> None:
        self.bar.set_postfix_str(self.postfix(), refresh=True)

    def completed(self, name: str, ok: bool, note: str) -> None:
        with self._lock:
            self.running.discard(name)
        if ok:
            self.done += 1
        else:
            self.failed += 1
        self.bar.update(1)
        self.refresh()
        if self.enabled:
            self.bar.write(f"[{self.done + self.failed}/{self.total}] {name}: {note} ({self.postfix()})",
                           file=self.stream)

    def close(self) -> None:
        self.refresh()
        self.bar.close()
