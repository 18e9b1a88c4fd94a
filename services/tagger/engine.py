"""The process-wide text analysis (jieba + bilingual dictionary), built once and shared by every room's index."""

from __future__ import annotations

import functools

from services.tagger.index import TextAnalysis
from services.tagger.synonyms import SynonymDictionary
from services.tagger.text import Analyzer


@functools.cache
def shared_analysis() -> TextAnalysis:
    dictionary = SynonymDictionary.load()
    return TextAnalysis(analyzer=Analyzer(extra_words=dictionary.terms()), dictionary=dictionary)
