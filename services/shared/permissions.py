"""Who may publish and subscribe to what on NATS: the one permission table.

Every service connects as its own NATS user. This module is the single source of those users' rights: the
Kubernetes NATS config (`deploy/k8s/base/nats/auth.conf`) is rendered from it, and the tests start a real
nats-server with the same rendering. Render it with

    python -m services.shared.permissions --bot-id wxid_qunbot [--bot-id ...] > deploy/k8s/base/nats/auth.conf

What a service may do, and nothing more — derived from its `QunService` declaration:
- publish what it declares in `publishes=` (commands `qun.cmd.*.<suffix>`, events `qun.evt.*.<suffix>`,
  requests `qun.req.*.<suffix>`; only the moderator may add or remove members and accept friends),
- answer the requests it declares with `@service.responds` (`qun.req.*.<suffix>`),
- bind to and pull from its own durable consumer (`$JS.API.CONSUMER.INFO|MSG.NEXT.<stream>.<consumer>`), and
  ack/nak/term what it pulled (`$JS.ACK.<stream>.<consumer>.>`),
- ask and answer the registry (`qun.svc.discover`, `qun.svc.changed`); answers go to the asker's inbox, which
  `allow_responses` permits for exactly the reply subject of a request it received,
- publish its own dead letters (`qun.dlq.<service>`),
- receive replies only on its own inbox prefix (`_INBOX.<user>.>`), so no user can read another's replies or
  the messages pulled by another consumer. Clients must connect with `inbox_prefix=inbox_prefix(user)`.
Creating streams and consumers is reserved to the `provisioner` user (`services.shared.provision`); nobody
here may delete them (an operator does that with the system account).
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from schemas import Command, Event, Payload, Request, streams, subjects

if TYPE_CHECKING:
    from services.shared.service import QunService

PROVISIONER = "provisioner"
GATEWAY = "gateway"
INBOX_ROOT = "_INBOX"

# JetStream API subjects (https://docs.nats.io/reference/reference-protocols/nats_api_reference)
_JS_API = "$JS.API"
_JS_ACK = "$JS.ACK"


@dataclass(frozen=True)
class Permissions:
    """One NATS user's allow-lists. Anything not listed is denied."""

    user: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    allow_responses: bool = False

    @property
    def password_variable(self) -> str:
        """Environment variable of the nats-server process that holds this user's password."""
        return password_variable(self.user)


def password_variable(user: str) -> str:
    return "QUN_NATS_PASSWORD_" + re.sub(r"[^A-Z0-9]", "_", user.upper())


PASSWORD_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{23,}$")
"""nats-server parses a `$VARIABLE` taken from its environment as a config value, not as a quoted string: a
password starting with a digit or `-` is read as a number, one with `#` starts a comment. Passwords must match."""


def new_password() -> str:
    """A random password that nats-server reads back verbatim from its environment."""
    return "p" + secrets.token_urlsafe(32)


def inbox_prefix(user: str | None) -> str:
    """The inbox prefix a client must use (nats-py `connect(inbox_prefix=)`, FastStream `NatsBroker(inbox_prefix=)`;
    pull subscriptions and requests then use it too): `_INBOX.<user>`, or the default `_INBOX` for an
    unauthenticated connection (dev, tests)."""
    return f"{INBOX_ROOT}.{user}" if user else INBOX_ROOT


def gateway_user(bot_id: str) -> str:
    """The NATS user, and the durable consumer on QUN_CMD, of the gateway for one WeChat account."""
    return f"{GATEWAY}-{bot_id}"


def consumer_rights(stream: str, consumer: str) -> tuple[str, ...]:
    """Bind to, pull from and acknowledge one existing durable consumer; never create or delete it."""
    return (
        f"{_JS_API}.CONSUMER.INFO.{stream}.{consumer}",
        f"{_JS_API}.CONSUMER.MSG.NEXT.{stream}.{consumer}",
        f"{_JS_ACK}.{stream}.{consumer}.>",
    )


def subject_of(kind: type[Payload]) -> str:
    """The subject (any bot) a published type travels on."""
    if issubclass(kind, Command):
        return subjects.command(subjects.ANY_BOT, kind)
    if issubclass(kind, Event):
        return subjects.event(subjects.ANY_BOT, kind)
    if issubclass(kind, Request):
        return subjects.request(subjects.ANY_BOT, kind)
    raise TypeError(f"{kind.__name__} is not published on the bus")


def service_permissions(service: QunService[Any, Any]) -> Permissions:
    """A service's rights, from its declaration: what it publishes, its consumer, the requests it answers."""
    name = service.name
    consumer = service.consumer()
    return Permissions(
        user=name,
        publish=(
            *sorted(subject_of(kind) for kind in service.publishes),
            *(consumer_rights(consumer.stream, name) if consumer else ()),
            subjects.DISCOVER,
            subjects.SERVICES_CHANGED,
            subjects.dead_letter(name),
            *service.nats_publish,
        ),
        subscribe=(
            subjects.DISCOVER,
            subjects.SERVICES_CHANGED,
            *sorted(subject_of(kind) for kind in service.responders),
            *service.nats_subscribe,
            f"{inbox_prefix(name)}.>",
        ),
        allow_responses=True,
    )


def gateway_permissions(bot_id: str) -> Permissions:
    """One account's gateway publishes that account's events and executes that account's commands only."""
    user = gateway_user(bot_id)
    return Permissions(
        user=user,
        publish=(
            f"{subjects.EVENTS}.{bot_id}.>",
            *consumer_rights(streams.COMMANDS.name, user),
            subjects.DISCOVER,
            subjects.SERVICES_CHANGED,
            subjects.dead_letter(GATEWAY),
        ),
        subscribe=(
            subjects.gateway_status(bot_id),
            subjects.DISCOVER,
            subjects.SERVICES_CHANGED,
            f"{inbox_prefix(user)}.>",
        ),
        allow_responses=True,
    )


def provisioner_permissions() -> Permissions:
    """Creates and updates our streams and their consumers; may not delete anything or touch messages."""
    publish = [f"{_JS_API}.INFO", f"{_JS_API}.STREAM.NAMES", f"{_JS_API}.STREAM.LIST"]
    for stream in streams.ALL:
        publish += [
            f"{_JS_API}.STREAM.CREATE.{stream.name}",
            f"{_JS_API}.STREAM.UPDATE.{stream.name}",
            f"{_JS_API}.STREAM.INFO.{stream.name}",
            f"{_JS_API}.CONSUMER.CREATE.{stream.name}.>",
            f"{_JS_API}.CONSUMER.DURABLE.CREATE.{stream.name}.*",
            f"{_JS_API}.CONSUMER.INFO.{stream.name}.*",
            f"{_JS_API}.CONSUMER.NAMES.{stream.name}",
            f"{_JS_API}.CONSUMER.LIST.{stream.name}",
        ]
    return Permissions(
        user=PROVISIONER, publish=tuple(publish), subscribe=(f"{inbox_prefix(PROVISIONER)}.>",)
    )


def all_permissions(bot_ids: Iterable[str]) -> tuple[Permissions, ...]:
    """Every user of a deployment: the provisioner, each declared service, and one gateway per account."""
    from services.shared import catalog  # noqa: PLC0415 - the services import this package

    return (
        provisioner_permissions(),
        *(service_permissions(service) for service in catalog.event_services()),
        *(gateway_permissions(bot_id) for bot_id in sorted(set(bot_ids))),
    )


def render_authorization(bot_ids: Sequence[str]) -> str:
    """The nats-server `authorization` block. Passwords are `$VARIABLE` references resolved from the
    server's environment, so the rendered file holds no secret and can live in a ConfigMap or in git."""
    lines = [
        "# Rendered by `python -m services.shared.permissions"
        + "".join(f" --bot-id {bot_id}" for bot_id in bot_ids)
        + "`; do not edit by hand.",
        "# The table lives in services/shared/permissions.py. Passwords come from the server's environment.",
        "authorization {",
        "  users: [",
    ]
    for perms in all_permissions(bot_ids):
        lines += [
            "    {",
            f"      user: {json.dumps(perms.user)}",
            f"      password: ${perms.password_variable}",
            "      permissions: {",
            *_allow_block("publish", perms.publish),
            *_allow_block("subscribe", perms.subscribe),
        ]
        if perms.allow_responses:
            # A responder may publish once to the reply subject of each request it received, within a minute.
            lines.append('        allow_responses: { max: 1, expires: "1m" }')
        lines += ["      }", "    }"]
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


def _allow_block(direction: str, subjects_allowed: Iterable[str]) -> list[str]:
    return [
        f"        {direction}: {{",
        "          allow: [",
        *(f"            {json.dumps(subject)}" for subject in subjects_allowed),
        "          ]",
        "        }",
    ]


def bot_ids_of_rendering(text: str) -> list[str]:
    """The bot ids a rendered file was made for (read back from its first line), to check it is not stale."""
    first_line = text.splitlines()[0] if text else ""
    return re.findall(r"--bot-id (\S+?)(?=[ `])", first_line)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Render the nats-server authorization block for qunbus.")
    parser.add_argument(
        "--bot-id", action="append", default=[], help="contact id of a WeChat account with its own gateway"
    )
    args = parser.parse_args(argv)
    sys.stdout.write(render_authorization(args.bot_id))


if __name__ == "__main__":
    main()
