"""Progress for long work on a terminal (imports, the demo, large exports), on stderr.

Silent when stderr is not a terminal, so scripts and logs stay clean and stdout carries
only the command's own output.
"""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    def __init__(self, label: str, total: int, *, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = max(total, 1)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self._shown = -1

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        percent = min(100, done * 100 // self.total)
        if percent != self._shown:
            self._shown = percent
            self.stream.write(f"\r{self.label} {percent:3d}%")
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.update(self.total)
            self.stream.write("\n")
            self.stream.flush()
