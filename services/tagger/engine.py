"""The process-wide text analysis (jieba + CC-CEDICT + the optional override dictionary), built once and shared by
every room's index."""

from __future__ import annotations

import functools

from services.tagger.index import TextAnalysis
from services.tagger.lexicon import Lexicon
from services.tagger.synonyms import SynonymDictionary
from services.tagger.text import Analyzer


@functools.cache
def shared_lexicon() -> Lexicon:
    return Lexicon.load()


@functools.cache
def shared_analysis(*, override: bool = True) -> TextAnalysis:
    """`override=False`: without the hand-written dictionary (data/synonyms.yaml), for the evaluation."""
    dictionary = SynonymDictionary.load() if override else SynonymDictionary({})
    lexicon = shared_lexicon()
    return TextAnalysis(
        analyzer=Analyzer(extra_words=dictionary.terms(), lexicon_words=lexicon.words()),
        dictionary=dictionary,
        lexicon=lexicon,
    )
