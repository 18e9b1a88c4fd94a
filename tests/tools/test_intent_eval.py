"""The reminder evaluation runs on its data and prints its table (the aims are reported, not asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tools.intent_eval import TUNED_FILE, UNSEEN_FILE, load

ROOT = Path(__file__).resolve().parents[2]


def test_the_script_prints_the_table_for_both_parts() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.intent_eval"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["part", "reminders", "set", "right"]
    rows = {line.split()[0]: line for line in lines[1:3]}
    assert set(rows) == {"tuned", "unseen"}
    for name, path in (("tuned", TUNED_FILE), ("unseen", UNSEEN_FILE)):
        cases = load(path)
        reminders = sum(case.reminder for case in cases)
        assert re.search(rf"\b\d+/{reminders} \d+\.\d%", rows[name]), rows[name]
        assert re.search(rf"\b\d+/{len(cases) - reminders} \d+\.\d%$", rows[name]), rows[name]


def test_the_data_is_as_large_as_the_issue_asks() -> None:
    tuned, unseen = load(TUNED_FILE), load(UNSEEN_FILE)
    reminders = [case for case in tuned + unseen if case.reminder]
    others = [case for case in tuned + unseen if not case.reminder]
    keyword_first = [
        case for case in reminders if re.match(r"(提\W*醒|定时|remind\b)", case.say, re.IGNORECASE)
    ]
    assert len(reminders) >= 80
    assert len(others) >= 40
    assert len(keyword_first) <= len(reminders) / 2
    assert 0.3 <= len(unseen) / len(tuned + unseen) <= 0.4
