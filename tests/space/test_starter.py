"""The ASL starter shipped with the app (space/asl-starter, built by train/build_starter.py): it loads offline with
the hand model shipped beside it, its card names its sources, and every visitor may pick it in the Model list."""

import json

import app
import app_config
import build_starter
import numpy as np
import pytest
from factories import KEYPOINTS_DIR

from signspace.serve.inference import Predictor, SequencePredictor
from signspace.teach.visitors import Visitors

pytestmark = pytest.mark.skipif(not app.STARTER_DIR.is_dir(), reason="space/asl-starter absent")


@pytest.fixture(scope="module")
def starter():
    with Predictor.from_pretrained(str(app.STARTER_DIR), hand_model=str(app_config.BUNDLED_HAND_MODEL)) as loaded:
        yield loaded


def test_the_starter_is_a_small_motion_model_for_three_words_that_never_types_not_a_sign(starter):
    assert isinstance(starter, SequencePredictor) and starter.adapts
    assert sorted(starter.labels) == ["I love you", "hello", "not a sign", "thank you"]
    assert (app.STARTER_DIR / "model.safetensors").stat().st_size < 2_000_000
    bundled = app_config.BUNDLED_HAND_MODEL
    assert bundled.is_file() and (bundled.parent / "hand_landmarker.LICENSE").is_file()


def test_its_card_names_its_sources_licences_attribution_and_its_score_on_people_it_never_saw():
    card = (app.STARTER_DIR / "README.md").read_text(encoding="utf-8")
    assert "license: cc-by-4.0" in card and "Trained on **23 people**" in card
    for source in ("asl-multi-signer", "asl-more-people", "islr-hello-thankyou"):
        assert f"`{source}`" in card
    assert "Google / Deaf Professional Arts Network / Georgia Tech PopSign team" in card and "CC BY 4.0" in card
    assert "Measured on **people the model never saw**" in card and "| prakhar1401 | asl-multi-signer |" in card
    assert "**From a source it never saw**" in card


def test_people_are_held_out_in_groups_of_people_and_whole_sources_each_once():
    sources = {"a1": "asl-multi-signer", "a2": "asl-multi-signer", "m1": "asl-more-people", "i1": "islr-hello-thankyou"}
    people = sorted(sources)
    for groups in (build_starter.person_groups(people, 3), build_starter.source_groups(sources)):
        assert sorted(p for group in groups for p in group) == people
    assert build_starter.source_groups(sources) == [["m1"], ["a1", "a2"], ["i1"]]
    assert build_starter.person_groups(people, 3) == [["a1", "m1"], ["a2"], ["i1"]]


def _fold(signer, truth, predicted, labels=("hello", "not a sign")):
    return {"signer": np.asarray(signer), "label": np.asarray(truth), "predicted": np.asarray(predicted),
            "labels": np.asarray(labels)}  # fmt: skip


def test_its_card_says_how_it_does_for_new_people_and_for_people_of_a_source_it_never_saw(tmp_path):
    """The card's figures are the held-out predictions' own: per person for both kinds of held-out people."""
    sources = {"ann": "asl-multi-signer", "bob": "asl-multi-signer", "cy": "islr-hello-thankyou"}
    people_out = build_starter.summarise(
        [_fold(["ann", "ann", "ann", "cy"], [0, 0, 1, 0], [0, 0, 1, 0]), _fold(["bob", "bob"], [0, 0], [0, 1])], 2
    )
    sources_out = build_starter.summarise(
        [_fold(["ann", "ann", "bob", "bob"], [0, 0, 0, 0], [0, 1, 1, 1]), _fold(["cy"], [0], [0])], 2
    )
    assert sources_out["per_person"] == {"ann": 0.5, "bob": 0.0, "cy": 1.0} and sources_out["accuracy"] == 0.4
    (tmp_path / "config.json").write_text(json.dumps({"id2label": {"0": "hello", "1": "not-a-sign"}}))
    (tmp_path / "metrics.json").write_text(json.dumps({"validation": {"accuracy": 0.9}}))
    build_starter.write_card(tmp_path, sources, {"people": people_out, "sources": sources_out})
    card = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "**80.0% right**; **2 of 3 people at 90 % or more**" in card
    assert "**From a source it never saw**" in card and "**40.0%** of the 5 clips right, 1 of 3 people" in card
    assert "(the mean of its people): asl-multi-signer 25.0%, islr-hello-thankyou 100.0%." in card
    assert "| ann | asl-multi-signer | 100.0% | 50.0% | 100.0% |" in card
    assert "| bob | asl-multi-signer | 50.0% | 0.0% | — |" in card


@pytest.mark.skipif(not (KEYPOINTS_DIR / "asl-more-people").is_dir(), reason="../shared sign keypoints absent")
def test_it_recognises_people_of_the_shared_set_as_its_card_says(starter):
    """A sanity check on real clips (people it trained on: their own clips, so near-perfect; the card's figures are
    on people it never saw)."""
    person = KEYPOINTS_DIR / "asl-more-people" / "mujster"
    words = {"hello": "hello", "thanks": "thank you", "iloveyou": "I love you"}
    right = total = 0
    for folder, word in words.items():
        for clip in sorted((person / folder).glob("*.npy"))[:5]:
            values = np.load(clip)
            right += starter.predict_landmarks(values, np.arange(len(values)) / 30).best[0] == word
            total += 1
    assert right >= 0.8 * total


def test_every_visitor_may_pick_it_and_it_is_loaded_once_for_all(starter, tmp_path):
    config = app.AppConfig(model="local", per_visitor=True)
    shared = app.shared_models(config)
    assert list(shared) == [app.STARTER_NAME]
    visitors = Visitors(config, starter, "local", root=tmp_path, shared=shared)
    one = visitors.open("one")
    two = visitors.open("two")
    assert one.shelf.names() == ["local", app.STARTER_NAME]
    one.shelf.select(app.STARTER_NAME)
    two.shelf.select(app.STARTER_NAME)
    assert one.shelf.predictor is two.shelf.predictor  # one copy for every visitor
    visitors.close(one)
    assert two.shelf.predictor.still_tracker is not None  # a visitor leaving closes nothing shared
    visitors.close(two)
    shared[app.STARTER_NAME].close()
    assert app.shared_models(app.AppConfig(model=str(app.STARTER_DIR))) == {}  # serving it already: not twice
    assert app.model_label(app.AppConfig(model=str(app.STARTER_DIR))) == app.STARTER_NAME


def test_with_no_model_named_and_no_hub_the_starter_serves_and_a_named_model_fails_clearly(starter):
    """The fallback's logic with a loader that meets no Hub (the whole offline start runs in test_app.py)."""
    from signspace.core.hub import HubError

    def offline(model, revision):
        if app.is_starter(model):
            return starter
        raise HubError(f"cannot reach the Hugging Face Hub at http://nowhere to download {model!r}. Check the network")

    said = []
    config = app.AppConfig()
    assert not config.chosen and config.model == app_config.DEFAULT_MODEL
    assert app.load_model(config, announce=said.append, load=offline) is starter
    assert config.model == str(app.STARTER_DIR) and config.revision is None
    assert said == [
        f"note: cannot reach the Hugging Face Hub at http://nowhere to download 'RavenOnur/Sign-Language'; serving the "
        f"ASL starter shipped with the app instead ({app.STARTER_NAME}). Pass --model for another model."
    ]
    with pytest.raises(HubError):  # a model the user named is never swapped for the starter
        app.load_model(app.AppConfig(model="RavenOnur/Sign-Language"), announce=said.append, load=offline)
    assert len(said) == 1


def test_a_keypoints_folder_without_the_three_sources_is_one_line_and_nothing_is_written(tmp_path):
    from signspace.data.scan import DataFolderError

    (tmp_path / "keypoints" / "asl-multi-signer").mkdir(parents=True)
    out = tmp_path / "starter"
    with pytest.raises(DataFolderError, match="lacks asl-more-people, islr-hello-thankyou; pass --keypoints"):
        build_starter.main(["--keypoints", str(tmp_path / "keypoints"), "--output_dir", str(out)])
    assert not out.exists()
