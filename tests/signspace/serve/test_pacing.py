"""How often pages may send, on this server's clock (signspace/serve/pacing.py)."""

import pytest

from signspace.serve.browser import (
    LandmarkMessageError,
)
from signspace.serve.pacing import FrameRate, Pacer


def test_a_page_sending_too_many_frames_a_second_is_refused_and_a_normal_one_is_not():
    wall = [0.0]
    rate = FrameRate(limit=30, clock=lambda: wall[0])
    for second in range(3):  # 12.5 frames a second, in messages of 4: always fine
        for start in range(0, 12, 4):
            wall[0] = second + (start + 3) * 0.08
            rate.admit([second + (start + i) * 0.08 for i in range(4)])
    flood = FrameRate(limit=30, clock=lambda: 0.0)
    flood.admit([i / 100 for i in range(16)])
    with pytest.raises(LandmarkMessageError, match="32 frames within a second; the page may send at most 30"):
        flood.admit([0.16 + i / 100 for i in range(16)])


def test_the_rate_holds_by_the_servers_clock_whatever_times_the_page_claims():
    """One page stamping 16-frame messages 1/30 s apart and sending them back to back was acked 49 messages (785
    frames) a wall second: its own clock said 30 frames a second."""
    wall = [0.0]
    rate = FrameRate(limit=40, clock=lambda: wall[0])
    claimed, acked = 0.0, 0
    for _ in range(49):  # all within the same wall instant
        try:
            rate.admit([claimed + i / 30 for i in range(16)])
            acked += 1
        except LandmarkMessageError as exc:
            assert "faster than 40 a second by this server's clock" in str(exc)
        claimed += 16 / 30
    assert acked == 2  # a second's worth (40 frames) at most: two messages of 16
    wall[0] = 0.4  # 16 frames' worth of time later, one more message fits
    rate.admit([claimed + i / 30 for i in range(16)])
    with pytest.raises(LandmarkMessageError, match="by this server's clock"):
        rate.admit([claimed + 1 + i / 30 for i in range(16)])


def test_a_refused_message_spends_nothing_of_the_servers_rate():
    rate = FrameRate(limit=40, clock=lambda: 0.0)
    rate.admit([i / 30 for i in range(16)])
    with pytest.raises(LandmarkMessageError, match="within a second"):
        rate.admit([0.6 + i / 100 for i in range(30)])  # refused by the page's clock: nothing taken
    rate.admit([2.0 + i / 30 for i in range(16)])  # 32 of 40 by the server's clock: still fits


class Clocks:
    """Wall and CPU seconds the test moves by hand."""

    def __init__(self):
        self.wall = self.used = 0.0

    def run(self, seconds: float, cores: float) -> None:
        self.wall += seconds
        self.used += seconds * cores


def test_pages_send_less_often_in_proportion_while_the_app_is_busy_and_at_full_pace_again_after():
    clocks = Clocks()
    pacer = Pacer(busy_cores=0.75, window=2.0, cpu=lambda: clocks.used, clock=lambda: clocks.wall)
    assert pacer.current() == 1.0
    clocks.run(1.0, cores=1.5)
    assert pacer.current() == 1.0  # within the window: not measured yet
    clocks.run(1.0, cores=1.5)
    assert pacer.current() == pytest.approx(2.0)  # twice the busy load: half as often
    clocks.run(2.0, cores=0.75)  # at half the messages the load is on target: the slowdown holds, no swing
    assert pacer.current() == pytest.approx(2.0)
    clocks.run(2.0, cores=1.9)
    assert pacer.current() == 4.0  # never past 16 frames a message
    clocks.run(2.0, cores=0.05)  # the crowd left
    assert pacer.current() == 1.0
