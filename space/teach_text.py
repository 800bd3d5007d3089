"""What the Teach tab says: its help, privacy and storage notes, and how a clip's hands are shown."""

from signspace.teach.folder import Hands

HAND_LABELS = {
    Hands.FOUND: "hand found",
    Hands.NONE: "NO HAND: left out of training",
    Hands.UNCHECKED: "not checked yet",
}

STORED_LANDMARKS = """**Stored: your hands' landmarks only.** Your hands are tracked in your browser while you record;
only their landmarks reach this Space, and each clip is kept as those landmarks (`<sign>/<clip>.npy`): no video or
picture of you leaves your device. (Such clips train motion models; image models need videos.)"""
STORED_VIDEOS = """**Stored: each clip as a video** (`<sign>/<clip>.mp4`, your webcam's frames, sent to {where});
its hands' landmarks are tracked from it when you train. Unlike landmarks, a video can also train an image model
later (`train/build_dataset.py`)."""
# What a recording keeps, on a shared Space where the browser tracks (the visitor chooses; landmarks only by default)
STORE_CHOICES = ("Landmarks only", "Landmarks and the video")
PRIVACY_SHARED = """**What is stored, and for how long.** Your clips may show your face and room. On this Space they are
kept in a folder of your session only (no other visitor can list or open them) and **deleted when you close this
tab** (at the latest {hours} hours after you opened the page), together with the models you train here. Nothing leaves
the Space unless you press *Publish*, which uploads your clips, their landmarks and your model to *your own*
Hugging Face account (private by default)."""
PRIVACY_LOCAL = """**Where your clips go.** Clips are saved on this computer in `{root}`, one folder per sign, in the
layout `train/build_dataset.py` reads, so you can train on them later with the scripts. The landmark cache and the
models you train are in `{work}`. Nothing is uploaded unless you press *Publish*."""
HOW_TO_TEACH = """**How to teach a sign.** 1 · Add a sign by name. 2 · Start the webcam below (its own record button),
then press **Record a clip**: after a 3-2-1 countdown, sign it once within 2 seconds. Record 10 or more clips per sign,
varying position and speed a little. 3 · Add at least one more sign, then press **Train** (10 to 40 s for 5 signs of 10
clips on 2 CPU cores). 4 · The Live tab switches to your model at once; earlier models stay in its *Model* list."""


def result_markdown(result) -> str:
    if result.accuracy is None:
        score = "**Score unknown**"
    else:
        score = f"**Validation accuracy {result.accuracy:.0%}** on {result.validation_clips} clips kept aside"
    lines = [
        f"{score}. Model `{result.model_dir.name}` is now active in the Live tab.",
        f"Finding hands took {result.extraction_seconds:.0f} s, training {result.training_seconds:.0f} s.",
    ]
    if result.one_person_note:
        lines.append(f"- **{result.one_person_note}**")
    lines += [f"- {w}" for w in result.warnings]
    if result.excluded:
        lines.append(f"- Left out (no hand found): {', '.join(result.excluded)}")
    return "\n".join(lines)


def per_sign_rows(result) -> list[list]:
    return [[sign, "unknown" if acc is None else f"{acc:.0%}"] for sign, acc in result.per_sign.items()]
