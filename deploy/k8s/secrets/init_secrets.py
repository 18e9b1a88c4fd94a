"""Create the git-ignored `*.env` files of deploy/k8s/secrets from their `*.env.example` templates.

    python deploy/k8s/secrets/init_secrets.py [--dir deploy/k8s/secrets]

Placeholders in the templates:
    <generate>           a new random password (a letter, then letters, digits, `-`, `_`: nats-server reads such a
                         value verbatim from its environment, see PASSWORD_PATTERN in services/shared/permissions.py)
    <generate-insecure>  the same with the `insecure_` prefix Wechaty uses for a puppet service without TLS
    <redis-url>          the in-cluster Redis URL with this file's `password`
    <fill-in>            left as is, and reported: only you know the value (a GitHub token, a puppet token)
An existing `.env` file is never overwritten, so running it again is safe.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

REDIS_HOST = "redis:6379"
FILL_IN = "<fill-in>"


def new_password() -> str:
    return "p" + secrets.token_urlsafe(32)


def render(template: str) -> tuple[str, list[str]]:
    """The env file for one template, and the keys the operator still has to fill in."""
    values: dict[str, str] = {}
    lines: list[str] = []
    missing: list[str] = []
    for line in template.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            lines.append(line)
            continue
        key, _, value = line.partition("=")
        if value == "<generate>":
            value = new_password()
        elif value == "<generate-insecure>":
            value = "insecure_" + new_password()
        elif value == "<redis-url>":
            value = f"redis://:{values['password']}@{REDIS_HOST}/0"
        elif value == FILL_IN:
            missing.append(key)
        values[key] = value
        lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n", missing


def _write_private(path: Path, text: str) -> None:
    """Created readable by the operator only: never for a moment with the umask's wider rights."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
        file.write(text)


def init_dir(directory: Path) -> dict[str, list[str]]:
    """Write every missing env file; returns file name -> keys still to fill in (for new and old files)."""
    to_fill: dict[str, list[str]] = {}
    for template_path in sorted(directory.glob("*.env.example")):
        target = template_path.with_suffix("")  # x.env.example -> x.env
        if target.exists():
            missing = [
                line.partition("=")[0] for line in target.read_text().splitlines() if line.endswith(FILL_IN)
            ]
        else:
            text, missing = render(template_path.read_text())
            _write_private(target, text)
        if missing:
            to_fill[target.name] = missing
    return to_fill


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    to_fill = init_dir(args.dir)
    for name, keys in to_fill.items():
        sys.stdout.write(f"{args.dir / name}: fill in {', '.join(keys)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
