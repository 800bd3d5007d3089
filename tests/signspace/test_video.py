import numpy as np
from factories import pattern_image

from signspace.video import encode_clip, read_frames


def frames(n=6, size=(64, 48)):
    return [np.asarray(pattern_image(i, size)) for i in range(n)]


def test_a_two_second_stream_with_jittery_times_keeps_every_frame_and_time(tmp_path):
    # Stream frames arrive every ~80 ms, unevenly, at monotonic-clock times (a regression: H.264 B-frames with a
    # time base the muxer had changed made such clips fail to save).
    rng = np.random.default_rng(0)
    times = list(81234.5 + np.cumsum(rng.uniform(0.06, 0.11, 25)))
    (tmp_path / "c.mp4").write_bytes(encode_clip(frames(25, (320, 240)), times))
    picked = read_frames(tmp_path / "c.mp4", 64, "c")
    assert len(picked) == 25
    np.testing.assert_allclose([t for *_, t in picked], np.array(times) - times[0], atol=0.002)


def test_encode_clip_keeps_frames_in_order_even_with_repeated_times(tmp_path):
    data = encode_clip(frames(4), [1.0, 1.0, 1.0, 1.2])
    (tmp_path / "c.mp4").write_bytes(data)
    picked = read_frames(tmp_path / "c.mp4", 64, "c")
    assert len(picked) == 4 and [round(t, 3) for *_, t in picked] == [0.0, 0.001, 0.002, 0.2]
