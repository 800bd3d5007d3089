"""web/hand_tracking.mjs re-implements hands.py's geometry (tiles for small hands, the crop square): the page's own
functions, run under Node, against Python's, edges and odd frame sizes included."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from signspace.core.hands import Hand, crop_box, search_settings, tiles

ROOT = Path(__file__).resolve().parents[3]
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")


def run_in_node(script: str, data) -> object:
    module = (ROOT / "space" / "web" / "hand_tracking.mjs").as_uri()
    code = f"import * as tracking from {json.dumps(module)};\nconst data = JSON.parse(process.argv[1]);\n{script}"
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", code, json.dumps(data)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_pages_tiles_and_crop_box_are_the_servers():
    sizes = [(640, 480), (320, 240), (1280, 720), (250, 400)]
    # Hands as the page sends them; coordinates in 1/64ths, exact in float32 and float64 alike.
    spots = [(0.5, 0.5, 0.1), (0.02, 0.97, 0.08), (0.9, 0.1, 0.05), (0.5, 0.5, 0.9), (0.3, 0.6, 0.0)]
    hands = []
    for x, y, spread in spots:
        points = np.array([[x + spread * ((i % 5) - 2) / 4, y + spread * ((i // 5) - 2) / 4, 0.0] for i in range(21)])
        hands.append({"handedness": "Right", "score": 0.9, "points": (np.round(points * 64) / 64).reshape(-1).tolist()})
    page_result = run_in_node(
        "console.log(JSON.stringify(data.sizes.map(([w, h]) => ({tiles: tracking.tiles(w, h, data.search), "
        "boxes: data.hands.map((hand) => tracking.cropBox([hand], w, h, 0.25))}))));",
        {"sizes": sizes, "hands": hands, "search": search_settings()},
    )
    for (width, height), got in zip(sizes, page_result):
        assert [tuple(b) for b in got["tiles"]] == tiles(width, height), (width, height)
        for hand, box in zip(hands, got["boxes"]):
            landmarks = np.asarray(hand["points"], np.float32).reshape(21, 3)
            expected = crop_box([Hand(landmarks, np.zeros((21, 3)), "Right", 0.9)], width, height)
            assert tuple(box) == expected, (width, height, hand["points"][:2])


def test_the_pages_hands_come_back_to_whole_frame_fractions_as_the_servers():
    """A hand found in a tile (IMAGE mode on part of the frame) goes back to fractions of the whole frame."""
    result = {
        "landmarks": [[{"x": 0.5, "y": 0.25, "z": -0.125}] * 21],
        "handedness": [[{"categoryName": "Left", "score": 0.91234}]],
    }
    hands = run_in_node(
        "console.log(JSON.stringify(tracking.handsOf(data.result, [100, 50, 300, 250], 400, 300)));", {"result": result}
    )
    assert hands[0]["handedness"] == "Left" and hands[0]["score"] == 0.912
    assert hands[0]["points"][:3] == [0.5, round((0.25 * 200 + 50) / 300, 4), round(-0.125 * 200 / 400, 4)]
