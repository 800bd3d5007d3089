"""What the rest of SignSpace asks of a served model, written down as Protocols: ``ServedModel`` (the app, the
Teach tab, the clip API) and ``HandshapeModel`` / ``MotionModel`` (a live session's per-frame calls). Their data
members are read-only properties, so a plain attribute and a property both keep them.
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

    @property
    def labels(self) -> list[str]: ...

    @property
    def model_id(self) -> str: ...

    @property
    def revision(self) -> str | None: ...

    @property
    def precision(self) -> str: ...

    @property
    def hand_model(self) -> Path | None: ...

    # live frames go through the visitor's own hand tracker
    @property
    def tracks_hands(self) -> bool: ...

    # the model sees a hand crop worth showing
    @property
    def shows_crop(self) -> bool: ...

    # a video of one sign can be classified
    @property
    def takes_clips(self) -> bool: ...

    # learns a visitor's form of a sign from their clips
    @property
    def adapts(self) -> bool: ...

    # what a page that tracks the hands sends (None: whole pictures)
    @property
    def browser_input(self) -> BrowserInput | None: ...

    # the longest gap between live frames the kind works with (None: any)
    @property
    def live_frame_seconds(self) -> float | None: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...

    def new_live_session(self) -> LiveSession: ...

    def predict_upload(self, path: str | os.PathLike) -> Prediction: ...

    def predict_clip(self, path: str | os.PathLike) -> Prediction: ...


@runtime_checkable
class LiveModel(Protocol):
    """A model as every live session calls it, frame by frame."""

    @property
    def labels(self) -> list[str]: ...

    @property
    def unmirror(self) -> bool: ...

    @property
    def crop_margin(self) -> float: ...

    @property
    def tracks_hands(self) -> bool: ...

    @property
    def browser_input(self) -> BrowserInput | None: ...

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

    @property
    def length(self) -> int: ...  # frames per window the model reads

    def page_model(self) -> bytes | None: ...  # the model as ONNX for the visitor's page; None: it stays here

    def page_memory(self) -> dict: ...  # the visitor's clips for the page's memory, and its digest ("" for none)

    def predict_landmarks(
        self, sequence: Any, times: Any, start: float | None = None, end: float | None = None
    ) -> Prediction: ...
