"""What the rest of SignSpace asks of a served model, written down as Protocols: ``ServedModel`` (the app, the
Teach tab, the clip API) and ``HandshapeModel`` / ``MotionModel`` (a live session's per-frame calls).
``inference.Predictor`` and its kinds implement them; so does the tests' one shared double,
``tests/factories.FakePredictor``; mypy and ``tests/signspace/serve/test_contracts.py`` check that neither drifts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PIL import Image

    from signspace.core.prediction import Prediction
    from signspace.serve.browser import BrowserInput
    from signspace.serve.live import LiveSession


@runtime_checkable
class ServedModel(Protocol):
    """A model as the page and its handlers use it: what it can do, its signs, and one-off answers."""

    labels: list[str]
    model_id: str
    revision: str | None
    precision: str
    hand_model: Path | None
    tracks_hands: bool  # live frames go through the visitor's own hand tracker
    shows_crop: bool  # the model sees a hand crop worth showing
    takes_clips: bool  # a video of one sign can be classified
    adapts: bool  # learns a visitor's form of a sign from their clips
    browser_input: BrowserInput | None  # what a page that tracks the hands sends (None: whole pictures)
    live_frame_seconds: float | None  # the longest gap between live frames the kind works with (None: any)

    def describe(self) -> str: ...

    def close(self) -> None: ...

    def new_live_session(self) -> LiveSession: ...

    def predict_upload(self, path: str | os.PathLike) -> Prediction: ...

    def predict_clip(self, path: str | os.PathLike) -> Prediction: ...


@runtime_checkable
class LiveModel(Protocol):
    """A model as every live session calls it, frame by frame."""

    labels: list[str]
    unmirror: bool
    crop_margin: float
    tracks_hands: bool
    browser_input: BrowserInput | None

    def decode(self, source: Any, unmirror: bool | None = None) -> Image.Image: ...

    def new_tracker(self) -> Any: ...


@runtime_checkable
class HandshapeModel(LiveModel, Protocol):
    """An image model in a live session (``live.HandshapeSession``)."""

    def predict_image(self, image: Image.Image, hands: Any = None) -> Prediction: ...

    def predict_crop(self, crop: Image.Image | None) -> Prediction: ...


@runtime_checkable
class MotionModel(LiveModel, Protocol):
    """A landmark-sequence model in a live session (``live.SequenceSession``)."""

    def predict_landmarks(
        self, sequence: Any, times: Any, start: float | None = None, end: float | None = None
    ) -> Prediction: ...
