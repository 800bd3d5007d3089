"""How often pages may send, whatever they claim: the rate a stream is held to on this server's clock
(``FrameRate``), and how much less often pages are asked to send while the app is busy (``Pacer``)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from signspace.serve.browser import LandmarkMessageError

MAX_FRAMES_PER_SECOND = 40  # a camera at 30 fps and some jitter; more is a client flooding the server

# Every visitor's request goes through Python under one GIL, so the app cannot give them much more than one core (it
# saturated at 1.13 cores of 2, docs/benchmarks.md): past this much CPU, pages are asked to send less often.
BUSY_CORES = 0.75


MAX_SLOWDOWN = 4.0  # a landmark message then holds 16 frames (MAX_FRAMES_PER_MESSAGE) at 12.5 frames/s


@dataclass
class Pacer:
    """How many times less often pages should send, from how busy this process is: past ``busy_cores`` of CPU
    (BUSY_CORES) in proportion, up to MAX_SLOWDOWN. A landmark message then carries more frames (none is lost),
    fewer messages queue, and the running guess updates less often. Measured over ``window`` seconds at a time.

    The load seen is the load at the slowdown in force, so the full-pace load is about that times the slowdown:
    the slowdown settles where the load is ``busy_cores`` rather than swinging between full pace and slow."""

    busy_cores: float = BUSY_CORES
    window: float = 2.0
    cpu: Callable[[], float] = time.process_time  # this process's CPU seconds, all threads
    clock: Callable[[], float] = time.monotonic
    slowdown: float = 1.0
    _since: tuple[float, float] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def current(self) -> float:
        with self._lock:  # every visitor's request asks
            now, used = self.clock(), self.cpu()
            if self._since is None:
                self._since = (now, used)
            elif now - self._since[0] >= self.window:
                load = (used - self._since[1]) / (now - self._since[0])
                self.slowdown = min(MAX_SLOWDOWN, max(1.0, load * self.slowdown / self.busy_cores))
                self._since = (now, used)
            return self.slowdown


@dataclass
class FrameRate:
    """How many frames one visitor may send: at most ``limit`` a second by the page's own clock, and by this
    server's clock too, since a page's times are claims: one stamping its frames 1/30 s apart and sending them back
    to back was served 785 frames a wall second. The server's count is a token bucket (a second's worth at most), so
    a page that catches up after a stall is not refused. A refused message spends nothing."""

    limit: int = MAX_FRAMES_PER_SECOND
    clock: Callable[[], float] = time.monotonic
    times: deque = field(default_factory=deque)
    tokens: float | None = None  # frames the server's clock allows now (full at first)
    _filled_at: float | None = None

    def __post_init__(self):
        self.tokens = float(self.limit) if self.tokens is None else self.tokens

    def admit(self, times: list[float]) -> None:
        if not times:
            return
        newest = times[-1]
        while self.times and self.times[0] <= newest - 1.0:
            self.times.popleft()
        if len(self.times) + len(times) > self.limit:
            raise LandmarkMessageError(
                f"{len(self.times) + len(times)} frames within a second; the page may send at most {self.limit}"
            )
        now = self.clock()
        elapsed = 0.0 if self._filled_at is None else max(0.0, now - self._filled_at)
        self._filled_at = now
        self.tokens = min(float(self.limit), self.tokens + elapsed * self.limit)
        if len(times) > self.tokens:
            raise LandmarkMessageError(
                f"frames arrive faster than {self.limit} a second by this server's clock; send them as the camera "
                "takes them"
            )
        self.tokens -= len(times)
        self.times.extend(times)
