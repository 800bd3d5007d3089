"""Peak memory of reading a 'dimension bomb': a tiny H.264 file of 64 frames at 4096x4096.

    python bench/bench_video_memory.py

Ours: ``signspace.core.video.read_frames`` as the builder and the app call it. Baseline in the same run: the same frames
decoded and kept at full size (what read_frames did before it scaled frames in the converter). Each is measured in
a fresh process (peak resident memory, ``ru_maxrss``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from common import emit, run_main  # noqa: E402

MEASURE = """
import json, resource, sys, time
from pathlib import Path
import numpy as np
started = time.perf_counter()
if sys.argv[2] == "ours":
    from signspace.core.video import read_frames
    frames = [np.asarray(image) for _, image, _ in read_frames(Path(sys.argv[1]), 64, "bomb.mp4")]
else:
    import av
    with av.open(sys.argv[1]) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(container.streams.video[0])]
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": time.perf_counter() - started, "frames": len(frames), "shape": list(frames[0].shape)}))
"""


def measure(path: Path, which: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), which], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    from factories import blank_video

    with tempfile.TemporaryDirectory(prefix="bench-video-") as work:
        bomb = blank_video(Path(work) / "bomb.mp4", 64, 4096, 4096)
        ours, full = measure(bomb, "ours"), measure(bomb, "full")
        emit(
            "video_dimension_bomb_peak_memory",
            ours["peak_mb"],
            f"MB peak resident memory reading a {bomb.stat().st_size // 1000} KB file of 64 frames at 4096x4096",
            full["peak_mb"],
            "the same frames decoded and kept at full size",
            False,
            ours_seconds=round(ours["seconds"], 1),
            baseline_seconds=round(full["seconds"], 1),
            ours_frame_shape=ours["shape"],
        )


if __name__ == "__main__":
    run_main(main)
