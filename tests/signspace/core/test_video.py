import numpy as np
import pytest
from factories import blank_video, pattern_image

from signspace.core.video import MAX_SIDE, VideoTooLarge, VideoTooLong, encode_clip, read_frames, video_seconds


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


def test_large_frames_come_back_small_and_oversized_videos_are_refused(tmp_path):
    bomb = blank_video(tmp_path / "bomb.mp4", 6, 2560, 2048)
    assert bomb.stat().st_size < 20_000
    frames = read_frames(bomb, 64, "bomb.mp4")
    assert len(frames) == 6 and all(image.size == (MAX_SIDE, 1024) for _, image, _ in frames)
    assert read_frames(bomb, 2, "bomb.mp4", shorter_side=256)[0][1].size == (320, 256)
    huge = blank_video(tmp_path / "huge.mp4", 1, 8192, 5120)
    with pytest.raises(VideoTooLarge, match=r"huge.mp4: its frames are 8192x5120 pixels, over 40 megapixels"):
        read_frames(huge, 64, "huge.mp4")
    with pytest.raises(VideoTooLarge):
        video_seconds(huge)


def test_videos_longer_than_allowed_stop_decoding_with_a_clear_error(tmp_path):
    long = blank_video(tmp_path / "long.mp4", 150, 32, 32, rate=2)  # 75 s
    with pytest.raises(VideoTooLong, match=r"long.mp4: the video is longer than 60 s; one sign needs a few seconds"):
        read_frames(long, 64, "long.mp4", max_seconds=60)
    assert len(read_frames(long, 8, "long.mp4")) == 8  # the builder's limit is longer
    with pytest.raises(VideoTooLong):
        video_seconds(long, max_seconds=10)
