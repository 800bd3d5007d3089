"""Tracked hands drawn over a frame, for the page's previews."""

from __future__ import annotations

from PIL import Image

from signspace.core.hands import CROP_MARGIN, Hand, crop_box

# MediaPipe's 21-landmark hand topology (wrist 0; thumb 1-4; index 5-8; middle 9-12; ring 13-16; pinky 17-20).
HAND_CONNECTIONS = (
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 4),
    (0, 5),
    (5, 6),
    (6, 7),
    (7, 8),
    (5, 9),
    (9, 10),
    (10, 11),
    (11, 12),
    (9, 13),
    (13, 14),
    (14, 15),
    (15, 16),
    (13, 17),
    (0, 17),
    (17, 18),
    (18, 19),
    (19, 20),
)


def draw_hands(
    image: Image.Image, hands: list[Hand] | None, max_side: int = 320, mirror: bool = False, margin: float = CROP_MARGIN
) -> Image.Image:
    """A small preview: the tracked landmarks and the crop box drawn on the frame (mirrored to match a
    mirrored webcam preview if asked), or a 'no hand' banner."""
    from PIL import ImageDraw, ImageOps

    preview = image.copy()
    preview.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    scale_x, scale_y = preview.width / image.width, preview.height / image.height
    draw = ImageDraw.Draw(preview)
    if hands:
        box = crop_box(hands, image.width, image.height, margin)
        draw.rectangle(
            [box[0] * scale_x, box[1] * scale_y, box[2] * scale_x - 1, box[3] * scale_y - 1],
            outline=(255, 200, 0),
            width=2,
        )
        for hand in hands:
            points = [(x * preview.width, y * preview.height) for x, y in hand.landmarks[:, :2]]
            for a, b in HAND_CONNECTIONS:
                draw.line([points[a], points[b]], fill=(0, 220, 120), width=2)
            for x, y in points:
                draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=(255, 60, 60))
    if mirror:
        preview = ImageOps.mirror(preview)
    if not hands:
        ImageDraw.Draw(preview).rectangle([0, 0, preview.width, 18], fill=(180, 30, 30))
        ImageDraw.Draw(preview).text((6, 3), "no hand found", fill=(255, 255, 255))
    return preview
