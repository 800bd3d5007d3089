"""The Live tab's "That was …": a visitor says which sign they just made, and their own copy of a motion model
learns their form of it in milliseconds (``SequencePredictor.adapt``). Only for them: it lives on their model shelf
(their Teach-tab session) and is gone when the tab closes, unless they keep their clips in the Teach tab, which
can then train a model of their own and publish it. The same from a video through the ``/adapt_clip`` API."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from signspace.core.errors import SignSpaceError
from signspace.core.video import VIDEO_ERRORS
from signspace.serve.adaptation import DEFAULT_METHOD, AdaptationError, Method
from signspace.teach.session import keep_personal_clips

LEARNT = (
    "Learnt: that was **{label}** ({count} of your clips so far). Only for you, in this tab: closing it forgets "
    "them, unless you press *Keep my clips in Teach*."
)


def _adapt(teach, clip, label: str | None, method: Method, state=None) -> str:
    """Teach the visitor's current model ``clip`` ((frames, times)) as ``label`` by ``method`` (the app's
    ``--adaptation``); their live session goes on."""
    predictor = teach.shelf.predictor
    if not label:
        raise gr.Error("Pick which sign it was first.")
    try:
        adapted = predictor.adapt([clip], [label], method)
    except AdaptationError as exc:
        raise gr.Error(str(exc)) from None
    teach.shelf.personalise(adapted)
    if state is not None:
        with state.lock:  # the same session goes on with the adapted model: the typed text stays
            state.predictor, state.last_sign = adapted, None
    return LEARNT.format(label=label, count=len(adapted.personal_clips))


def _motion_model(teach):
    if teach is None:
        raise gr.Error("The page is still loading; try again in a moment.")
    if not getattr(teach.shelf.predictor, "adapts", False):
        raise gr.Error("Only motion models learn your form of a sign: pick one in the Model list.")
    return teach.shelf.predictor


def that_was(teach, state, label: str | None, method: Method = DEFAULT_METHOD):
    """The sign that just ended in the Live tab is ``label``: (the visitor's model now, note)."""
    predictor = _motion_model(teach)
    last = getattr(state, "last_sign", None) if state is not None and state.predictor is predictor else None
    if last is None:
        raise gr.Error("Sign first: when your sign ends, say here which one it was.")
    note = _adapt(teach, last, label, method, state)
    return teach.shelf.predictor, note


def adapt_clip(teach, path: str | None, label: str | None, method: Method = DEFAULT_METHOD) -> str:
    """A video of one sign, labelled by the visitor: the same adaptation through the clip API."""
    predictor = _motion_model(teach)
    if not path:
        raise gr.Error("No clip received: upload a short video of one sign first.")
    try:
        sequence, times = predictor.track_video(Path(path))
    except SignSpaceError as exc:
        raise gr.Error(f"That clip cannot be used: {exc}") from None
    except VIDEO_ERRORS:
        raise gr.Error("That video cannot be decoded (damaged, or a codec FFmpeg does not know).") from None
    return _adapt(teach, (sequence, times), label, method)


def keep_clips(teach) -> str:
    """The visitor's "That was …" clips into their Teach folder, as landmark clips of those signs."""
    predictor = _motion_model(teach)
    if not predictor.personal_clips:
        raise gr.Error("There is nothing to keep yet: sign, then say below which sign it was.")
    try:
        saved = keep_personal_clips(teach.folder, predictor.personal_clips)
    except SignSpaceError as exc:
        raise gr.Error(str(exc)) from None
    signs = sorted({clip.sign for clip in saved})
    return (
        f"Kept {len(saved)} clip(s) in the Teach tab ({', '.join(signs)}): record more there, train a model of "
        "your own and publish it."
    )


def choices_update(predictor) -> tuple[dict, dict]:
    """The row shows for models that adapt, with their signs to pick from."""
    adapts = getattr(predictor, "adapts", False)
    return gr.update(visible=adapts), gr.update(
        choices=list(dict.fromkeys(predictor.labels)) if adapts else [], value=None
    )


def build_row(predictor, teach, session, info, visible: bool, describe, method: Method = DEFAULT_METHOD):
    """The row under the typed text: which sign that was, learn it (by ``method``), keep the clips; ``describe``:
    the page's model line for a predictor. Returns (row, dropdown)."""
    adapts = getattr(predictor, "adapts", False)
    with gr.Row(visible=visible and adapts) as row:
        label = gr.Dropdown(
            choices=list(dict.fromkeys(predictor.labels)) if adapts else [],
            value=None,  # nothing chosen: Learn without a choice says so instead of teaching the first sign
            label="That was …",
            info="Wrong or missed? Say which sign you made: the model learns your form of it, for you only.",
            elem_id="live-that-was",
            scale=2,
        )
        learn = gr.Button("Learn my form of it", elem_id="live-learn")
        keep = gr.Button("Keep my clips in Teach", elem_id="live-keep")
    note = gr.Markdown(elem_id="live-adapt-note")

    def learn_form(visitor, state, sign):
        model, said = that_was(visitor, state, sign, method)
        return describe(model), said

    learn.click(learn_form, [teach, session, label], [info, note], api_visibility="private")
    keep.click(keep_clips, [teach], [note], api_visibility="private")
    return row, label
