"""The Teach tab's recorder: a countdown, then about two seconds of frames on this server's clock, bounded in count
and memory whatever the page sends."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from signspace.core.errors import TeachError


class Phase(enum.StrEnum):
    """Where a recording is."""

    IDLE = "idle"
    COUNTDOWN = "countdown"
    RECORDING = "recording"
    DONE = "done"

    @property
    def capturing(self) -> bool:
        """Frames are being taken (the countdown shows them; the recording keeps them)."""
        return self in (Phase.COUNTDOWN, Phase.RECORDING)


@dataclass
class Recorder:
    """Collects streamed webcam frames for one clip: a countdown, then ``seconds`` of frames with their times."""

    countdown: float = 3.0
    seconds: float = 2.0
    max_frames: int = 120  # 60 frames a second: a client streaming faster cannot fill the server's memory
    sign: str | None = None
    starts_at: float | None = None
    frames: list = field(default_factory=list)
    times: list = field(default_factory=list)

    def arm(self, sign: str, now: float) -> None:
        if self.phase(now)[0].capturing:
            raise TeachError("a recording is running already: wait for it to finish, then record the next clip")
        self.sign, self.starts_at, self.frames, self.times = sign, now + self.countdown, [], []

    def phase(self, now: float) -> tuple[Phase, float]:
        """The phase, and the seconds left in it."""
        if self.starts_at is None:
            return Phase.IDLE, 0.0
        if now < self.starts_at:
            return Phase.COUNTDOWN, self.starts_at - now
        if now < self.starts_at + self.seconds:
            return Phase.RECORDING, self.starts_at + self.seconds - now
        return Phase.DONE, 0.0

    def feed(self, frame, now: float) -> str:
        """Keep ``frame`` if ``now`` falls in the recording: this server's clock at the moment the frame was taken, as
        well as the server can place it. The times kept are this clock's, never a page's claims, so a clip lasts
        ``seconds`` whatever a page sends; they always increase (a frame placed before the last kept one goes just
        after it)."""
        phase, _ = self.phase(now)
        if phase is Phase.RECORDING and frame is not None and len(self.frames) < self.max_frames:
            self.frames.append(frame)
            self.times.append(max(now, self.times[-1] + 1e-3) if self.times else now)
        return phase

    def take(self) -> tuple[str | None, list, list]:
        taken = (self.sign, self.frames, self.times)
        self.sign, self.starts_at, self.frames, self.times = None, None, [], []
        return taken
