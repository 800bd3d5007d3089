"""The image half of the builder: one file -> stored rows, or a skip saying why (signspace/data/builder.py). The whole
build, splits and reports are tested through the script in test_build_dataset.py."""

import io

from factories import write_image, write_video
from PIL import Image

from signspace.data.builder import DecodeSettings, decode_item
from signspace.data.scan import Source, WorkItem, file_item


def test_a_photo_becomes_one_shrunk_row_and_the_same_pixels_get_the_same_digest(tmp_path):
    settings = DecodeSettings(image_size=32, frames_per_video=4)
    first = write_image(tmp_path / "a" / "one.png", seed=3, size=(128, 96))
    again = write_image(tmp_path / "a" / "copy.png", seed=3, size=(128, 96))
    [row] = decode_item(file_item("a", first, "a/one.png"), settings).rows
    [twin] = decode_item(file_item("a", again, "a/copy.png"), settings).rows
    stored = Image.open(io.BytesIO(row.image))
    assert min(stored.size) == 32 and row.label == "a" and row.group == "a/one.png"
    assert row.digest == twin.digest and row.hands is None  # no tracking asked: no hands column


def test_a_video_gives_frames_named_by_their_index_and_a_damaged_file_is_a_skip(tmp_path):
    settings = DecodeSettings(image_size=32, frames_per_video=3)
    video = write_video(tmp_path / "b" / "take.mp4", n_frames=9)
    rows = decode_item(file_item("b", video, "b/take.mp4"), settings).rows
    assert len(rows) == 3 and all(r.source.startswith("b/take.mp4#frame=") for r in rows)
    broken = tmp_path / "b" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff" + b"\x00" * 20)  # a JPEG header and nothing else
    result = decode_item(WorkItem("b", broken, "b/broken.jpg", "b/broken.jpg", Source.IMAGE), settings)
    assert not result.rows and result.skip["source"] == "b/broken.jpg" and result.skip["reason"]
