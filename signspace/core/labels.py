"""Sign names as the app shows and types them: the not-a-sign class, variants, folder names as words."""

from __future__ import annotations

import re
from collections import Counter

# A sign folder of clips with hands but no sign (resting, scratching, reaching for the mouse): the model learns
# "not a sign" as a class of its own, and the app never types it.
BACKGROUND_LABEL = "not-a-sign"


# A second class for people who sign another form of a sign (build_dataset.py --variants): the app types the word.
VARIANT_SUFFIX = " (variant)"


def display_labels(names: list[str]) -> list[str]:
    """Sign names as words for the page and the typed text: 'thank_you' and 'thank-you' read 'thank you', and
    'thanks (variant)' reads 'thanks' (a variant is the same word on purpose). A name whose word form would
    collide with another sign's by accident keeps its folder spelling."""
    words = [" ".join(re.sub(r"[_-]+", " ", name.removesuffix(VARIANT_SUFFIX)).split()) or name for name in names]
    counts = Counter(word for name, word in zip(names, words) if not name.endswith(VARIANT_SUFFIX))
    return [word if counts[word] <= 1 else name for name, word in zip(names, words)]
