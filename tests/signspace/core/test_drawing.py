"""Tracked hands drawn over a frame for the page's previews (signspace/core/drawing.py)."""

import numpy as np
from PIL import Image

from signspace.core.drawing import draw_hands
from signspace.core.hands import Hand


def test_a_hand_is_drawn_with_its_crop_box_and_no_hand_is_a_red_banner():
    frame = Image.new("RGB", (640, 480), (40, 40, 40))
    points = np.array([[0.2 + 0.01 * i, 0.3 + 0.01 * i, 0.0] for i in range(21)], np.float32)
    drawn = np.asarray(draw_hands(frame, [Hand(points, np.zeros((21, 3), np.float32), "Right", 0.9)]))
    assert drawn.shape == (240, 320, 3)  # shrunk to max_side
    assert ((drawn == (255, 200, 0)).all(-1)).any() and ((drawn == (255, 60, 60)).all(-1)).any()  # box, points
    assert not (drawn[:18, :, 0] == 180).all()  # no banner
    empty = np.asarray(draw_hands(frame, [], mirror=True))
    assert (empty[:18, 100:, :] == (180, 30, 30)).all(-1).mean() > 0.5  # the "no hand found" banner
