"""SignSpace webcam demo: live sign recognition in Gradio, read top to bottom as the page is: the layout and what
each event calls. The settings are ``app_config.py``, the handlers ``handlers.py``, the Teach tab ``teach_tab.py``;
the models and their live sessions are ``signspace.inference`` and ``signspace.live``.

    python space/app.py [--model REPO_ID_OR_DIR] [--revision REV] [--host 127.0.0.1] [--port 7860] [--help]
"""

from __future__ import annotations

import logging
import sys
from functools import partial

import browser_feed
import gradio as gr
import personal
import teach_tab
from app_config import (
    STARTER_DIR,
    STARTER_NAME,
    AppConfig,
    hand_model_option,
    is_starter,
    launch_kwargs,
    model_label,
    parse_args,
    stream_every,
    teach_ttl,
)
from handlers import (
    LivePage,
    PhotoInput,
    classify_clip,
    classify_file,
    edit_text,
    live_step,
    model_info,
    pick_model,
    snapshot_step,
)

from signspace.core.errors import SignSpaceError, run_cli
from signspace.core.hub import HubError
from signspace.serve.inference import Predictor
from signspace.serve.limits import parse_size
from signspace.serve.live import LiveRoster
from signspace.teach.session import SharedModel
from signspace.teach.visitors import Visitors

HOW_TO = """**How to use.** Allow the webcam (where your browser tracks your hands, as with a motion model, it starts
by itself; otherwise press *Record*). The top guesses update several times a second, smoothed over the last frames.
**Handshape models** (letters, photos): hold a sign steady for about a second and it is typed; to type the same
letter twice, drop your hand or change sign in between. **Motion models** (landmark sequences, such as the ones the
Teach tab trains): sign once; the word is typed when your hands stop or leave the frame. The *Upload / snapshot*
tab classifies a single photo, *Upload a clip* a short video of one sign. Models trained on hand crops see only the
square around your hands (shown beside the webcam, with the tracked landmarks); with no hand in view they say so."""


def build_demo(
    predictor: Predictor,
    config: AppConfig,
    snapshot_predictor: Predictor | None = None,
    gpu=lambda fn: fn,
    visitors: Visitors | None = None,
    live=live_step,
) -> gr.Blocks:
    """``predictor`` serves the live stream (CPU); ``snapshot_predictor`` and ``gpu`` let the one-off
    endpoint borrow a ZeroGPU device (``spaces.GPU``) without every frame queuing for it. ``visitors``: the Teach
    tab's shared state (made here unless given). ``live``: the server-tracked live step (``live_step``)."""
    snapshot_predictor = snapshot_predictor or predictor
    base_name = model_label(config)
    if config.teach:
        visitors = visitors or Visitors(config, predictor, base_name, shared=shared_models(config))
    classify = gpu(lambda path: classify_file(snapshot_predictor, path))
    roster = LiveRoster(config.max_live)  # every visitor's live session: what they hold is bounded
    with gr.Blocks(title="SignSpace — live sign recognition", delete_cache=config.delete_cache) as demo:
        gr.Markdown("# SignSpace — live sign recognition")
        info = gr.Markdown(model_info(predictor))
        # One per visitor; its hand tracker is closed when the visitor leaves (tab closed or idle for an hour).
        session = gr.State(None, time_to_live=3600, delete_callback=lambda state: state and state.close())
        # The visitor's Teach-tab session (folder, models, training job); made on page load, closed on unload (and
        # on a shared Space at the latest after some hours, should the browser never say it left).
        teach = gr.State(
            None,
            time_to_live=teach_ttl(config),
            delete_callback=lambda session: session and visitors.close(session),
        )
        with gr.Tab("Live webcam", id="live"):
            model_picker = gr.Dropdown(
                label="Model", choices=[base_name], value=base_name, visible=config.teach, elem_id="live-model"
            )
            in_browser = browser_feed.uses_browser(config.tracking, predictor)
            tracking_note = gr.Markdown(elem_id="signspace-tracking-note")
            with gr.Row():
                if in_browser:  # only hand landmarks (and an image model's hand crop) leave the visitor's device
                    feed, feed_options = browser_feed.live_feed(config, predictor, roster)  # may read signs too
                with gr.Row(visible=not in_browser) as server_camera:  # the server tracks the streamed frames
                    camera = browser_feed.server_webcam("Webcam")
                    with gr.Column(visible=config.teach or predictor.tracks_hands, scale=0, min_width=180):
                        overlay = gr.Image(
                            label="Tracked hands", interactive=False, height=160, elem_id="signspace-overlay"
                        )
                        crop_view = gr.Image(
                            label="What the model sees",
                            interactive=False,
                            height=120,
                            elem_id="signspace-crop",
                            visible=predictor.shows_crop,
                        )
                with gr.Column():
                    live_label = gr.Label(num_top_classes=3, label="Now")
                    threshold = gr.Slider(
                        0.0, 1.0, value=config.threshold, step=0.05, label="Confidence needed to type"
                    )
                    text = gr.Textbox(label="Text", interactive=False, elem_id="signspace-text")
                    with gr.Row():
                        space_btn = gr.Button("Space")
                        back_btn = gr.Button("Backspace")
                        clear_btn = gr.Button("Clear")
            # "That was ...": the visitor's own copy of a motion model learns their form (kept on their Teach shelf)
            personal_row, that_was = personal.build_row(
                predictor, teach, session, info, config.teach, model_info, config.adaptation
            )
            page = LivePage(
                session,
                info,
                live_label,
                text,
                overlay,
                crop_view,
                personal_row,
                that_was,
                feed if in_browser else None,
            )  # every Live handler answers {page.component: value}
            camera.stream(
                lambda frame, state, t, visitor: live(page, predictor, frame, state, t, visitor, roster=roster),
                inputs=[camera, session, threshold, teach],
                outputs=[live_label, text, session, overlay, crop_view],
                stream_every=stream_every(predictor, config),
                time_limit=config.time_limit,
                concurrency_limit=config.concurrency,
                show_progress="hidden",
                api_visibility="private",
            )
            if in_browser:
                feed.submit(
                    partial(browser_feed.browser_step, page, predictor, **feed_options),
                    inputs=[feed, session, threshold, teach],
                    outputs=[live_label, text, session, feed],
                    # a few ms a message: Gradio's queue (its own round trips and event stream per call) cost more than
                    # the work and turned a crowd over --queue_size away (docs/benchmarks.md); slots bound it instead
                    queue=False,
                    show_progress="hidden",
                    api_visibility="private",
                )
                feed.stop(
                    browser_feed.browser_unavailable,
                    inputs=[feed],
                    outputs=[server_camera, tracking_note],
                    api_visibility="private",
                )
            model_picker.change(
                partial(pick_model, page),
                inputs=[teach, model_picker, session],
                outputs=[info, crop_view, session, personal_row, that_was],
                api_visibility="private",
            )
            for button, action in ((space_btn, "space"), (back_btn, "backspace"), (clear_btn, "clear")):
                button.click(
                    lambda state, a=action: edit_text(page, state, a),
                    inputs=[session],
                    outputs=[text, session],
                    api_visibility="private",
                )
        with gr.Tab("Upload / snapshot"):
            with gr.Row():
                # image_mode=None: the file goes to our shared decode untouched (EXIF, CMYK, 16-bit…).
                still = PhotoInput(
                    sources=["upload", "webcam", "clipboard"],
                    type="filepath",
                    image_mode=None,
                    label="Photo",
                    webcam_options=gr.WebcamOptions(mirror=False),
                )
                still.max_bytes = parse_size(config.max_file_size)
                still_label = gr.Label(num_top_classes=5, label="Prediction")
            gr.Button("Recognise", variant="primary").click(
                lambda path, visitor: snapshot_step(classify, path, visitor, config),
                inputs=[still, teach],
                outputs=[still_label],
                api_name="predict",
                concurrency_limit=config.concurrency,
            )
        if predictor.takes_clips or config.teach:
            with gr.Tab("Upload a clip"):
                with gr.Row():
                    clip = gr.Video(sources=["upload", "webcam"], label="A short video of one sign")
                    clip_label = gr.Label(num_top_classes=5, label="Prediction")
                gr.Button("Recognise clip", variant="primary").click(
                    lambda path, visitor: classify_clip(visitor.shelf.predictor if visitor else predictor, path),
                    inputs=[clip, teach],
                    outputs=[clip_label],
                    api_name="predict_clip",
                    concurrency_limit=config.concurrency,
                )
                if config.teach:  # the visitor's own copy of the model lives on their Teach shelf
                    with gr.Row():
                        clip_sign = gr.Textbox(label="That clip is the sign …", elem_id="clip-that-was")
                        learn_clip = gr.Button("Learn my form from this clip")
                    clip_note = gr.Markdown()
                    learn_clip.click(
                        lambda visitor, path, sign: personal.adapt_clip(visitor, path, sign, config.adaptation),
                        inputs=[teach, clip, clip_sign],
                        outputs=[clip_note],
                        api_name="adapt_clip",
                        concurrency_limit=config.concurrency,
                    )
        if config.teach:
            teach_tab.build_teach_tab(demo, config, teach, model_picker, visitors)
        gr.Markdown(HOW_TO)
    demo.queue(max_size=config.queue_size, default_concurrency_limit=config.concurrency)
    return demo


def shared_models(config: AppConfig) -> dict[str, SharedModel]:
    """What every visitor may pick besides the app's own model: the starter shipped with the app."""
    if not STARTER_DIR.is_dir() or is_starter(config.model):
        return {}

    def load() -> Predictor:
        return Predictor.from_pretrained(
            str(STARTER_DIR), unmirror=config.unmirror, hand_model=hand_model_option(config)
        )

    return {STARTER_NAME: SharedModel(load)}


def load_model(config: AppConfig, announce=print, load=None) -> Predictor:
    """The model the app serves. With no --model and no Hub within reach, the starter shipped with the app serves
    instead of the app stopping, and ``announce`` says so in one line; a model the user named fails clearly.
    ``load(model, revision)``: how a model is loaded (``Predictor.from_pretrained`` with the config's options)."""

    def from_pretrained(model: str, revision: str | None) -> Predictor:
        options = dict(precision=config.precision, unmirror=config.unmirror, hand_crop=config.hand_crop)
        device = "cpu" if config.zero_gpu else None
        return Predictor.from_pretrained(model, revision, device=device, hand_model=config.hand_model, **options)

    load = load or from_pretrained
    try:
        return load(config.model, config.revision)
    except HubError as exc:
        if config.chosen or not STARTER_DIR.is_dir():
            raise
        announce(
            f"note: {str(exc).split('. ')[0]}; serving the ASL starter shipped with the app instead ({STARTER_NAME}). "
            "Pass --model for another model."
        )
        config.model, config.revision = str(STARTER_DIR), None
        return load(config.model, None)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = parse_args(argv)
    config.hand_model = hand_model_option(config)
    host, port = config.host, config.port
    predictor = load_model(config)
    snapshot, gpu = (predictor.for_gpu() if config.zero_gpu else None), (lambda fn: fn)
    if snapshot is not None:  # ZeroGPU: GPU time only inside spaces.GPU calls
        import spaces

        gpu = spaces.GPU(duration=20)
    demo = build_demo(predictor, config, snapshot, gpu)
    try:
        demo.launch(
            server_name=host, server_port=port, theme=gr.themes.Soft(), show_error=True, **launch_kwargs(config, demo)
        )
    except OSError as exc:
        if "port" not in str(exc).lower():
            raise
        raise SignSpaceError(
            f"port {port} on {host} is in use (another app, or this one already running); pass "
            "--port with a free port, e.g. --port 7861"
        ) from None
    finally:
        for each in (predictor, snapshot):
            if each is not None:
                each.close()
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
