"""Sign names as the app shows and types them (signspace/core/labels.py)."""

from signspace.core.labels import display_labels


def test_sign_names_read_as_words_unless_two_would_look_the_same():
    assert display_labels(["thank_you", "thank-you_2", "good  bye", "i'm fine", "__"]) == [
        "thank you",
        "thank you 2",
        "good bye",
        "i'm fine",
        "__",
    ]
    assert display_labels(["thank_you", "thank-you", "hello"]) == ["thank_you", "thank-you", "hello"]


def test_a_variant_reads_as_its_word_and_only_accidental_twins_keep_their_spelling():
    assert display_labels(["thanks", "thanks (variant)", "hello"]) == ["thanks", "thanks", "hello"]
    assert display_labels(["thank_you", "thank-you"]) == ["thank_you", "thank-you"]  # an accident: told apart
