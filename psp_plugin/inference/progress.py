"""A one-line progress display counting windows, with windows/s and the time left."""
from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ['WindowProgress', 'format_seconds']


def format_seconds(seconds: float) -> str:
    """``3725.2`` -> ``'1:02:05'``; ``65`` -> ``'1:05'``."""
    seconds = int(round(max(seconds, 0.0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f'{hours}:{minutes:02d}:{secs:02d}' if hours else f'{minutes}:{secs:02d}'


class WindowProgress:
    """Print ``label: done/total windows, R windows/s, ETA m:ss`` in place (``unit`` names the items).

    Args:
        total (int): Windows to run.
        label (str): Names the input.
        stream (TextIO, optional): Where to print; defaults to ``sys.stdout``.
        min_interval (float): Seconds between redraws. Defaults to 0.5.
        unit (str): What is counted. Defaults to 'windows'.
    """

    def __init__(self, total: int, label: str, *, stream: TextIO | None = None,
                 min_interval: float = 0.5, unit: str = 'windows') -> None:
        self.total, self.label = max(int(total), 0), label
        self.stream = stream or sys.stdout
        self.min_interval = min_interval
        self.done, self.unit = 0, unit
        self.start = time.perf_counter()
        self._last_draw = -float('inf')

    @property
    def rate(self) -> float:
        """Items per second so far."""
        elapsed = time.perf_counter() - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        """The text drawn now."""
        rate = self.rate
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        return (f'{self.label}: {self.done}/{self.total} {self.unit}, {rate:.1f} {self.unit}/s, '
                f'ETA {format_seconds(eta)}')

    def update(self, windows: int) -> None:
        """Count ``windows`` more finished windows and redraw at most every ``min_interval`` s."""
        self.done += windows
        now = time.perf_counter()
        if now - self._last_draw >= self.min_interval or self.done >= self.total:
            self._last_draw = now
            self.stream.write('\r' + self.line())
            self.stream.flush()

    def close(self) -> None:
        """Draw the final line and end it."""
        self.stream.write('\r' + self.line() + '\n')
        self.stream.flush()
