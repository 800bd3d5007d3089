"""The Teach tab: add signs, record clips from the webcam, train, pick the new model in Live, publish.

The layout and what each event calls, read top to bottom; the handlers are ``teach_handlers.py``, what the tab says
``teach_text.py``; the folder, recording, training queue and publishing are ``signspace.teach`` and its visitors
``signspace.visitors``.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import gradio as gr
from browser_feed import asset_urls, browser_feed, server_webcam
from teach_handlers import (
    TeachPage,
    add_background_sign,
    add_sign,
    cancel_training,
    choose_storage,
    delete_clip,
    delete_sign,
    feed_frame,
    feed_landmarks,
    landmarks_unavailable,
    publish_clicked,
    record,
    rename_sign,
    retry_save,
    select_clip,
    select_sign,
    train,
    upload_clips,
)
from teach_text import (
    HOW_TO_TEACH,
    PRIVACY_LOCAL,
    PRIVACY_SHARED,
    STORE_CHOICES,
    STORED_LANDMARKS,
    STORED_VIDEOS,
)

from signspace.serve.live import MOTION_FRAME_SECONDS
from signspace.teach.session import (
    on_hf_space,
)
from signspace.teach.visitors import SHARED_SESSION_HOURS, Visitors, teach_hand_model

logger = logging.getLogger("app")


def build_teach_tab(demo: gr.Blocks, config, session_state, model_picker, visitors: Visitors) -> None:
    """The tab's components and events; ``session_state`` holds the visitor's TeachSession (made on page load)."""
    if config.per_visitor:  # served in place: no copy in Gradio's cache outlives a visitor's folder
        gr.set_static_paths([str(visitors.root)])
    with gr.Tab("Teach", id="teach"):
        intro = gr.Markdown(elem_id="teach-intro")
        with gr.Row():
            with gr.Column(scale=1, min_width=240):
                new_name = gr.Textbox(label="New sign", placeholder="e.g. hello", elem_id="teach-new-sign")
                add_btn = gr.Button("Add sign", elem_id="teach-add-sign")
                add_background_btn = gr.Button(
                    'Add "not a sign" (record resting hands, scratching, reaching: never typed)',
                    size="sm",
                    elem_id="teach-add-background",
                )
                signs = gr.Radio(label="Signs", choices=[], elem_id="teach-signs")
                with gr.Accordion("Rename or delete the sign", open=False):
                    rename_to = gr.Textbox(label="New name")
                    rename_btn = gr.Button("Rename")
                    delete_sign_btn = gr.Button("Delete sign and its clips", variant="stop")
            with gr.Column(scale=2):
                hand_model = teach_hand_model(getattr(visitors.base, "hand_model", None) or config.hand_model)
                in_browser = visitors.records_landmarks and hand_model is not None
                where = "this Space" if config.per_visitor else "this app, in your signs folder"
                stored = STORED_LANDMARKS if in_browser else STORED_VIDEOS.format(where=where)
                store = gr.Radio(
                    list(STORE_CHOICES),
                    value=STORE_CHOICES[0],
                    label="What a recording keeps",
                    info="The video is needed to train image models later; it sends your webcam's frames here.",
                    visible=in_browser,
                    elem_id="teach-store",
                )
                teach_note = gr.Markdown(stored, elem_id="teach-stored")
                if in_browser:  # only landmarks leave the visitor's device
                    feed = browser_feed(
                        asset_urls(config.web_assets, Path(hand_model)),
                        mirror=not config.unmirror,
                        elem_id="teach-browser-feed",
                    )
                with gr.Row(visible=not in_browser) as server_camera:
                    camera = server_webcam("Webcam (start it, then press Record a clip)", elem_id="teach-camera")
                with gr.Row():
                    record_btn = gr.Button(
                        "Record a clip (3-2-1, then 2 s)", variant="primary", elem_id="teach-record", scale=3
                    )
                    takes = gr.Dropdown(
                        [1, 3, 5, 10], value=1, label="Clips in a row", scale=1, min_width=100, elem_id="teach-takes"
                    )
                with gr.Row():
                    status = gr.Markdown(elem_id="teach-status")
                    hands_seen = gr.Image(
                        visible=not in_browser,  # the browser draws them over its own preview
                        label="Hands seen while recording",
                        interactive=False,
                        height=140,
                        elem_id="teach-hands",
                        show_label=True,
                    )
                retry_btn = gr.Button("Save the recording again", visible=False, elem_id="teach-retry")
                with gr.Accordion("Upload clips or photos instead", open=False):
                    files = gr.File(file_count="multiple", file_types=["video", "image"], label="Clips or photos")
                    upload_btn = gr.Button("Add to the sign")
            with gr.Column(scale=2):
                clips = gr.Radio(label="Clips of this sign", choices=[], elem_id="teach-clips")
                player = gr.Video(label="Replay", interactive=False, height=220)
                delete_clip_btn = gr.Button("Delete this clip", variant="stop")
        with gr.Row():
            train_btn = gr.Button("Train", variant="primary", elem_id="teach-train")
            cancel_btn = gr.Button("Cancel training")
        train_status = gr.Markdown(elem_id="teach-train-status")
        with gr.Row():
            confusion = gr.Image(label="Validation: confusion matrix", interactive=False, height=320)
            per_sign = gr.Dataframe(
                headers=["sign", "validation accuracy"], label="Per sign", interactive=False, elem_id="teach-per-sign"
            )
        with gr.Accordion("Publish to the Hugging Face Hub", open=False):
            if config.per_visitor and on_hf_space():  # elsewhere Gradio would sign in with the server's own token
                gr.LoginButton()
            with gr.Row():
                dataset_repo = gr.Textbox(label="Dataset repo", placeholder="your-name/my-signs")
                model_repo = gr.Textbox(label="Model repo", placeholder="your-name/my-sign-model")
                private = gr.Checkbox(value=True, label="Private")
            publish_btn = gr.Button("Publish")
            publish_result = gr.Markdown()
        gr.Markdown(HOW_TO_TEACH)

    page = TeachPage(
        session_state, intro, new_name, signs, rename_to, clips, player, status, retry_btn, files, store, teach_note,
        server_camera, hands_seen, train_status, confusion, per_sign, model_picker,
    )  # fmt: skip
    listing, every = [signs, clips], [c for c in vars(page).values() if c is not session_state]

    def on(event, handler, inputs, **options):  # every handler answers {component: value} for its page
        event(partial(handler, page), [session_state, *inputs], every, api_visibility="private", **options)

    def load(request: gr.Request):  # Gradio hands a request to a parameter annotated so
        return open_session(page, visitors, config, request)

    def unload(request: gr.Request):
        visitors.leave(request.session_hash)

    demo.load(load, None, [session_state, intro, *listing, model_picker], api_visibility="private")
    demo.unload(unload)
    on(add_btn.click, add_sign, [new_name])
    on(new_name.submit, add_sign, [new_name])
    on(add_background_btn.click, add_background_sign, [])
    on(rename_btn.click, rename_sign, [signs, rename_to])
    on(delete_sign_btn.click, delete_sign, [signs])
    on(signs.change, select_sign, [signs])
    on(delete_clip_btn.click, delete_clip, [signs, clips])
    on(record_btn.click, record, [signs, takes], concurrency_limit=None)
    on(retry_btn.click, retry_save, [signs])
    on(upload_btn.click, upload_clips, [signs, files])
    on(train_btn.click, train, [], concurrency_limit=None)
    clips.change(partial(select_clip, page), [session_state, signs, clips], [player], api_visibility="private")
    camera.stream(
        lambda session, frame: feed_frame(session, frame, config.unmirror),
        [session_state, camera],
        [hands_seen],
        stream_every=min(config.stream_every, MOTION_FRAME_SECONDS),  # the Live tab's rate for motion signs
        time_limit=config.time_limit,
        concurrency_limit=config.concurrency,
        show_progress="hidden",
        api_visibility="private",
    )
    if in_browser:
        feed.submit(feed_landmarks, [session_state, feed], [feed], show_progress="hidden", api_visibility="private")
        on(feed.stop, landmarks_unavailable, [feed])
        on(store.input, choose_storage, [store])  # the visitor's own choice; a refused one is set back
    cancel_btn.click(cancel_training, [session_state], [train_status], api_visibility="private")
    publish_btn.click(
        publish_clicked, [session_state, dataset_repo, model_repo, private], [publish_result], api_visibility="private"
    )


def open_session(page: TeachPage, visitors: Visitors, config, request: gr.Request) -> dict:
    """Page load: the visitor's session (their folder, models, place in the queue) and what the tab shows of it."""
    session = visitors.open(request.session_hash)
    privacy = (
        PRIVACY_SHARED.format(hours=SHARED_SESSION_HOURS)
        if config.per_visitor
        else PRIVACY_LOCAL.format(root=session.folder.root, work=session.folder.work)
    )
    if session.folder.hand_model is None:
        privacy += (
            "\n\n**No hand model is available**, so clips cannot be checked or trained: start the app "
            "with --hand_model PATH (MediaPipe's hand_landmarker.task)."
        )
    return {
        page.session: session,
        page.intro: privacy,
        **page.listing(session),
        page.model_picker: gr.update(choices=session.shelf.names(), value=session.shelf.current),
    }
