"""Where alerts go: one class per platform, each building the payload its robot documents and checking the answer.

A channel raises `DeliveryError` when the platform refused or could not be reached (the outbox retries), and
`Skipped` when it cannot deliver this notification at all (no retry). Nothing here logs a URL or a secret: webhook
URLs carry their key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Literal, Protocol
from urllib.parse import quote_plus

import httpx

from schemas import SayText
from services.ops.alerts import Alert, render
from services.ops.settings import OpsSettings

Lang = Literal["zh", "en", "both"]


class DeliveryError(Exception):
    """The platform did not take the message; worth retrying."""


class Skipped(Exception):  # noqa: N818 - not an error: the notification does not apply to this channel
    """This channel cannot carry this notification (e.g. WeChat while no account is logged in)."""


@dataclass(frozen=True)
class Notification:
    """One announcement of an alert starting (`firing`) or ending (`resolved`)."""

    id: str
    alert: Alert
    status: Literal["firing", "resolved"]
    at: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "alert": self.alert.to_json(), "status": self.status, "at": self.at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notification:
        return cls(data["id"], Alert.from_json(data["alert"]), data["status"], data["at"])

    def text(self, lang: Lang) -> tuple[str, str]:
        return render(self.alert, lang, resolved=self.status == "resolved")


class Channel(Protocol):
    name: str

    async def send(self, note: Notification) -> None: ...


def _plain(note: Notification, lang: Lang) -> str:
    title, body = note.text(lang)
    lines = [title, body]
    if note.alert.link:
        lines.append(note.alert.link)
    return "\n".join(line for line in lines if line)


def _markdown(note: Notification, lang: Lang) -> tuple[str, str]:
    title, body = note.text(lang)
    text = f"### {title}\n\n{body}"
    if note.alert.link:
        text += f"\n\n[{note.alert.link}]({note.alert.link})"
    return title, text


async def _post(
    client: httpx.AsyncClient,
    url: str,
    *,
    ok: Callable[[Any], bool],
    json_body: Any = None,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> None:
    try:
        response = await client.post(url, json=json_body, data=form, headers=headers, content=content)
    except httpx.HTTPError as error:
        raise DeliveryError(f"unreachable ({type(error).__name__})") from None
    if response.status_code >= 300:
        raise DeliveryError(f"HTTP {response.status_code}")
    if not response.content:
        return
    try:
        answer = response.json()
    except ValueError:
        raise DeliveryError("the answer is not JSON") from None
    if not ok(answer):
        # The platforms' error answers hold a code and a message, never our secret.
        raise DeliveryError(f"refused: {json.dumps(answer, ensure_ascii=False)[:200]}")


def _errcode_zero(answer: Any) -> bool:
    return isinstance(answer, dict) and answer.get("errcode", 0) == 0


def _code_zero(answer: Any) -> bool:
    return isinstance(answer, dict) and answer.get("code", answer.get("StatusCode", 0)) == 0


class GenericWebhook:
    """POST of the notification as JSON; with a secret, `X-Qunbus-Signature: sha256=<hex HMAC of the body>` and
    `X-Qunbus-Timestamp` (signed too: the HMAC covers `<timestamp>.<body>`)."""

    name = "webhook"

    def __init__(self, client: httpx.AsyncClient, url: str, secret: str | None, lang: Lang) -> None:
        self._client, self._url, self._secret, self._lang = client, url, secret, lang

    def body(self, note: Notification) -> bytes:
        title, text = note.text(self._lang)
        payload = {**note.to_json(), "title": title, "text": text}
        return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()

    async def send(self, note: Notification) -> None:
        body = self.body(note)
        headers = {"content-type": "application/json"}
        if self._secret:
            timestamp = str(int(time.time()))
            headers["x-qunbus-timestamp"] = timestamp
            headers["x-qunbus-signature"] = "sha256=" + generic_signature(self._secret, timestamp, body)
        await _post(self._client, self._url, ok=lambda _: True, content=body, headers=headers)


def generic_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WeComRobot:
    """WeCom (企业微信) group robot: `{"msgtype": "markdown", "markdown": {"content": ...}}`; `errcode` 0 is success.
    Its markdown content is limited to 4096 bytes."""

    name = "wecom"

    def __init__(self, client: httpx.AsyncClient, url: str, lang: Lang) -> None:
        self._client, self._url, self._lang = client, url, lang

    def payload(self, note: Notification) -> dict[str, Any]:
        title, body = note.text(self._lang)
        text = f"**{title}**\n{body}"
        if note.alert.link:
            text += f"\n[{note.alert.link}]({note.alert.link})"
        return {"msgtype": "markdown", "markdown": {"content": _cut_bytes(text, 4000)}}

    async def send(self, note: Notification) -> None:
        await _post(self._client, self._url, json_body=self.payload(note), ok=_errcode_zero)


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """DingTalk: HMAC-SHA256 keyed with the secret over `<timestamp>\\n<secret>`, base64, then URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


class DingTalkRobot:
    """DingTalk (钉钉) custom robot: markdown `{title, text}`; with a secret, `timestamp` (ms) and `sign` are added
    to the URL's query. `errcode` 0 is success."""

    name = "dingtalk"

    def __init__(self, client: httpx.AsyncClient, url: str, secret: str | None, lang: Lang) -> None:
        self._client, self._url, self._secret, self._lang = client, url, secret, lang

    def payload(self, note: Notification) -> dict[str, Any]:
        title, text = _markdown(note, self._lang)
        return {"msgtype": "markdown", "markdown": {"title": title[:64], "text": text}}

    def signed_url(self, timestamp_ms: str) -> str:
        if not self._secret:
            return self._url
        joiner = "&" if "?" in self._url else "?"
        return f"{self._url}{joiner}timestamp={timestamp_ms}&sign={dingtalk_sign(self._secret, timestamp_ms)}"

    async def send(self, note: Notification) -> None:
        url = self.signed_url(str(int(time.time() * 1000)))
        await _post(self._client, url, json_body=self.payload(note), ok=_errcode_zero)


def feishu_sign(secret: str, timestamp_s: str) -> str:
    """Feishu: HMAC-SHA256 keyed with `<timestamp>\\n<secret>` over an empty message, base64."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class FeishuRobot:
    """Feishu (飞书) custom bot: `{"msg_type": "text", "content": {"text": ...}}`, with `timestamp` (s) and `sign`
    in the body when a secret is set. `code` 0 is success."""

    name = "feishu"

    def __init__(self, client: httpx.AsyncClient, url: str, secret: str | None, lang: Lang) -> None:
        self._client, self._url, self._secret, self._lang = client, url, secret, lang

    def payload(self, note: Notification, timestamp_s: str) -> dict[str, Any]:
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": _plain(note, self._lang)}}
        if self._secret:
            body = {"timestamp": timestamp_s, "sign": feishu_sign(self._secret, timestamp_s), **body}
        return body

    async def send(self, note: Notification) -> None:
        body = self.payload(note, str(int(time.time())))
        await _post(self._client, self._url, json_body=body, ok=_code_zero)


class ServerChan:
    """Server酱: POST `title` and `desp` (markdown) as a form to `<base>/<sendkey>.send`; `code` 0 is success.
    Keys of Server酱³ (`sctp<uid>t...`) go to their own host, Turbo keys to sctapi."""

    name = "serverchan"

    def __init__(self, client: httpx.AsyncClient, sendkey: str, base_url: str, lang: Lang) -> None:
        self._client, self._key, self._lang = client, sendkey, lang
        self._base = base_url.rstrip("/") or _serverchan_base(sendkey)

    def form(self, note: Notification) -> dict[str, str]:
        title, text = _markdown(note, self._lang)
        return {"title": title[:32], "desp": text}

    async def send(self, note: Notification) -> None:
        await _post(self._client, f"{self._base}/{self._key}.send", form=self.form(note), ok=_code_zero)


def _serverchan_base(sendkey: str) -> str:
    if sendkey.startswith("sctp"):
        uid = "".join(char for char in sendkey[4:].split("t", 1)[0] if char.isdigit())
        return f"https://{uid}.push.ft07.com/send"
    return "https://sctapi.ftqq.com"


class Email:
    """Plain-text e-mail over SMTP (STARTTLS, TLS or plain), sent from a worker thread."""

    name = "email"

    def __init__(self, settings: OpsSettings, lang: Lang) -> None:
        self._settings, self._lang = settings, lang

    def message(self, note: Notification) -> EmailMessage:
        settings = self._settings
        title, _ = note.text(self._lang)
        message = EmailMessage()
        message["Subject"] = f"[qunbus] {title}"
        message["From"] = settings.smtp_from or settings.smtp_user or "qunbus@localhost"
        message["To"] = ", ".join(settings.smtp_to)
        message["Message-ID"] = f"<{note.id}@qunbus>"
        message.set_content(_plain(note, self._lang) + "\n")
        return message

    async def send(self, note: Notification) -> None:
        message = self.message(note)
        try:
            await asyncio.to_thread(self._send, message)
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP: {type(error).__name__}") from None

    def _send(self, message: EmailMessage) -> None:
        settings = self._settings
        timeout = settings.http_timeout_s
        smtp: smtplib.SMTP
        if settings.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
        with smtp:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user and settings.smtp_password:
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            smtp.send_message(message)


SendCommand = Callable[[str, SayText], Awaitable[None]]
LoggedInAccounts = Callable[[], Awaitable[list[str]]]

_ALERT_IDS = uuid.UUID("0b7a3f2e-6c1d-4e8a-9f35-2d6e8c4b1a70")
_BOT_ALERTS = frozenset({"logged_out", "scan_needed", "unreachable", "held"})


class WeChatAdmins:
    """A direct message to each global admin (QUN_ADMINS) through a logged-in account, at `notice` priority.
    An alert about an account is sent through another one when possible: that account may not be able to send."""

    name = "wechat"

    def __init__(
        self, send: SendCommand, logged_in: LoggedInAccounts, admins: Sequence[str], lang: Lang
    ) -> None:
        self._send, self._logged_in, self._admins, self._lang = send, logged_in, sorted(admins), lang

    async def choose_account(self, note: Notification) -> str:
        accounts = await self._logged_in()
        subject = note.alert.bot_id
        if note.alert.kind in _BOT_ALERTS and note.status == "firing":
            accounts = [bot for bot in accounts if bot != subject]
        elif subject in accounts:
            return subject
        if not accounts:
            raise Skipped("no logged-in account to send through")
        return accounts[0]

    async def send(self, note: Notification) -> None:
        bot_id = await self.choose_account(note)
        deadline = datetime.fromisoformat(note.at) + timedelta(hours=1)
        for admin in self._admins:
            await self._send(
                bot_id,
                SayText(
                    id=uuid.uuid5(_ALERT_IDS, f"{note.id}/{admin}").hex,
                    contact_id=admin,
                    text=_plain(note, self._lang),
                    priority="notice",
                    deadline=deadline,
                ),
            )


def quiet_http_logs() -> None:
    """httpx logs every request's URL at INFO (and httpcore more at DEBUG): webhook URLs carry their key."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.WARNING, logger.level))


def _cut_bytes(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


def configured(
    settings: OpsSettings,
    client: httpx.AsyncClient,
    *,
    send: SendCommand | None = None,
    logged_in: LoggedInAccounts | None = None,
) -> list[Channel]:
    """The channels the environment configures, in a fixed order."""
    quiet_http_logs()
    lang: Lang = settings.alert_lang

    def secret(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    channels: list[Channel] = []
    if settings.webhook_url:
        channels.append(
            GenericWebhook(
                client, settings.webhook_url.get_secret_value(), secret(settings.webhook_secret), lang
            )
        )
    if settings.wecom_webhook_url:
        channels.append(WeComRobot(client, settings.wecom_webhook_url.get_secret_value(), lang))
    if settings.dingtalk_webhook_url:
        channels.append(
            DingTalkRobot(
                client,
                settings.dingtalk_webhook_url.get_secret_value(),
                secret(settings.dingtalk_secret),
                lang,
            )
        )
    if settings.feishu_webhook_url:
        channels.append(
            FeishuRobot(
                client, settings.feishu_webhook_url.get_secret_value(), secret(settings.feishu_secret), lang
            )
        )
    if settings.serverchan_sendkey:
        channels.append(
            ServerChan(client, settings.serverchan_sendkey.get_secret_value(), settings.serverchan_url, lang)
        )
    if settings.smtp_host and settings.smtp_to:
        channels.append(Email(settings, lang))
    if settings.wechat_alerts and settings.admins and send is not None and logged_in is not None:
        channels.append(WeChatAdmins(send, logged_in, sorted(settings.admins), lang))
    return channels
