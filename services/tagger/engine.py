"""The process-wide text analysis (jieba + CC-CEDICT + the optional override dictionary), built once and shared by
every room's index; what it derives from the dictionaries is cached on disk between starts (startcache.py)."""

from __future__ import annotations

import functools

from services.tagger import lexicon, startcache, text
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
    path = startcache.cache_file(dictionary.terms())
    cached = startcache.load(path)
    if cached is not None:
        lexicon.set_readings(cached.readings)
        text.set_global_idf(cached.idf)
        return TextAnalysis(
            analyzer=Analyzer(extra_words=dictionary.terms(), table=cached.table),
            dictionary=dictionary,
            lexicon=Lexicon(cached.glosses),
        )
    words = shared_lexicon()
    analyzer = Analyzer(extra_words=dictionary.terms(), lexicon_words=words.words())
    derived = startcache.Derived(
        glosses=words.glosses, table=analyzer.table(), readings=lexicon.readings(), idf=text.global_idf()
    )
    startcache.save(path, derived)
    lexicon.set_readings(derived.readings)
    return TextAnalysis(analyzer=analyzer, dictionary=dictionary, lexicon=words)
