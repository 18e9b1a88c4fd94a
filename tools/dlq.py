"""Dead letters you can act on (an alias of `python -m tools.qunctl dlq ...`).

    python -m tools.dlq list [--service tagger] [--subject 'qun.evt.*.message'] [--since 2026-11-22T09:00+08:00]
    python -m tools.dlq show SEQ
    python -m tools.dlq replay SEQ... | --service tagger [--remove] [--dry-run]
    python -m tools.dlq purge SEQ... | --service tagger | --all [--dry-run]

Replay republishes each payload to its original subject with the original message id in `Nats-Msg-Id`, so
JetStream and the gateway drop duplicates. Add `--json` for scripts.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from tools import qunctl


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    flags = [arg for arg in args if arg == "--json"]
    qunctl.main([*flags, "dlq", *(arg for arg in args if arg != "--json")])


if __name__ == "__main__":
    main()
