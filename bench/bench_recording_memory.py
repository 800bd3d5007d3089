"""Peak memory of a Teach-tab recording whose page claims its two frames are 30,000 s apart (issue: "a two-frame
recording must not cost gigabytes"; the server went from 1.2 to 2.94 GB for it before the fix).

    python bench/bench_recording_memory.py

Each recording runs in a fresh process through the page's own path (``teach_handlers.feed_landmarks`` while the recorder
records, then ``save_pending``), on a shared-Space session that records landmarks. Figure: peak resident memory
(``ru_maxrss``) for the attack; baseline in the same run: an honest 2-second recording (4 frames every 0.32 s).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import emit, run_main  # noqa: E402

MEASURE = """
import json, resource, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import app, teach_handlers
from signspace.core.landmarks import load_npy

from signspace.serve.browser import BrowserInput
from signspace.teach.visitors import Visitors
class Base:
    tracks_hands, shows_crop, takes_clips, live_frame_seconds = True, False, True, 0.08
    browser_input, hand_model, precision = BrowserInput("landmarks"), None, "fp32"
    def close(self): pass

with tempfile.TemporaryDirectory() as root:
    config = app.AppConfig(model="m", per_visitor=True)
    visitors = Visitors(config, Base(), "m", root=Path(root))
    session = visitors.open("bench")
    page = teach_handlers.TeachPage.named()
    teach_handlers.add_sign(page, session, "hello")
    hands = [{"handedness": "Right", "score": 0.9, "points": [0.5, 0.5, 0.0] * 21}]
    session.recorder.countdown, session.recorder.seconds = 0.0, 2.0
    session.recorder.arm("hello", 100.0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    if sys.argv[2] == "attack":
        messages = [([0.0], 100.5), ([30000.0], 101.0)]
    else:  # what the page sends: 4 frames every 0.32 s, 12.5 frames a second
        messages = [([i * 0.32 + k * 0.08 for k in range(4)], 100.0 + (i + 1) * 0.32) for i in range(6)]
    for times, now in messages:
        answer = teach_handlers.feed_landmarks(session, {"frames": [{"t": t, "hands": hands} for t in times]}, now=now)
        assert "ack" in answer, answer
    session.pending = session.recorder.take()
    status = teach_handlers.save_pending(page, session)["status"]
    clips = session.folder.clips("hello")
    frames = len(load_npy(clips[0].path, "c")) if clips else 0
    print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "before_mb": before,
                      "seconds": time.perf_counter() - started, "clip_frames": frames, "status": status[:80]}))
    visitors.close(session)
"""


def measure(which: str) -> dict:
    space = str(HERE.parent / "space")
    result = subprocess.run([sys.executable, "-c", MEASURE, space, which], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    attack, honest = measure("attack"), measure("honest")
    emit(
        "teach_recording_30000s_span_peak_memory",
        attack["peak_mb"],
        "MB peak resident memory of the app process recording two frames stamped t=0 and t=30000",
        honest["peak_mb"],
        "an honest 2 s recording (25 frames) in the same kind of process",
        False,
        attack_growth_mb=round(attack["peak_mb"] - attack["before_mb"], 1),
        honest_growth_mb=round(honest["peak_mb"] - honest["before_mb"], 1),
        attack_seconds=round(attack["seconds"], 3),
        attack_clip_frames=attack["clip_frames"],
        honest_clip_frames=honest["clip_frames"],
        before_fix="1.2 -> 2.94 GB and a 929 MB clip refused only after the memory was spent (the tester's figure)",
    )


if __name__ == "__main__":
    run_main(main)
