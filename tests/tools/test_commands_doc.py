from tools.commands_doc import COMMANDS_MD, render


def test_committed_command_table_is_current() -> None:
    assert COMMANDS_MD.read_text(encoding="utf-8") == render(), "run `make docs` and commit docs/commands.md"
