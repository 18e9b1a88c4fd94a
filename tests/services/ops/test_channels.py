"""Every alert channel against a local server speaking its platform's protocol (signature checked there), and
e-mail against a local SMTP server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from schemas import SayText
from services.ops import alerts, channels
from services.ops.channels import DeliveryError, Notification, Skipped
from services.ops.settings import OpsSettings
from tests.services.ops import robots as fake
from tests.services.ops.robots import Robots, serving_mailbox, serving_robots

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
NOTE = Notification(
    "n1", alerts.scan_needed("wxid_bot", "https://ops.example/qr", NOW), "firing", NOW.isoformat()
)


@pytest.fixture
async def robots() -> AsyncIterator[Robots]:
    async with serving_robots() as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield http


def settings(**overrides: Any) -> OpsSettings:
    return OpsSettings(**overrides)


def by_name(configured: list[channels.Channel]) -> dict[str, channels.Channel]:
    return {channel.name: channel for channel in configured}


async def test_every_platform_accepts_its_payload_and_signature(
    robots: Robots, client: httpx.AsyncClient
) -> None:
    configured = by_name(channels.configured(settings(**robots.settings()), client))
    assert list(configured) == ["webhook", "wecom", "dingtalk", "feishu", "serverchan"]
    for channel in configured.values():
        await channel.send(NOTE)
    assert robots.refused == []

    (wecom,) = robots.of("wecom")
    assert wecom["msgtype"] == "markdown"
    assert wecom["markdown"]["content"].startswith(
        "**需要扫码登录：wxid_bot / QR scan needed to log in: wxid_bot**"
    )
    assert "https://ops.example/qr" in wecom["markdown"]["content"]

    (ding,) = robots.of("dingtalk")
    assert ding["msgtype"] == "markdown"
    assert "wxid_bot" in ding["markdown"]["title"]

    (feishu,) = robots.of("feishu")
    assert feishu["msg_type"] == "text"
    assert "https://ops.example/qr" in feishu["content"]["text"]

    (chan,) = robots.of("serverchan")
    assert chan["title"]
    assert "https://ops.example/qr" in chan["desp"]

    (hook,) = robots.of("webhook")
    assert hook["id"] == "n1"
    assert hook["status"] == "firing"
    assert hook["alert"]["key"] == "scan_needed:wxid_bot"
    assert hook["alert"]["link"] == "https://ops.example/qr"


async def test_a_wrong_signing_secret_is_refused_and_reported_without_secrets(
    robots: Robots, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = {
        **robots.settings(),
        "dingtalk_secret": "SECwrong",
        "feishu_secret": "wrong",
        "webhook_secret": "wrong",
    }
    configured = by_name(channels.configured(settings(**wrong), client))
    for name in ("dingtalk", "feishu", "webhook"):
        with pytest.raises(DeliveryError) as refused:
            await configured[name].send(NOTE)
        assert fake.DINGTALK_TOKEN not in str(refused.value)
        assert "SECwrong" not in str(refused.value)
    assert [item.robot for item in robots.refused] == ["dingtalk", "feishu", "webhook"]
    assert robots.accepted == []


async def test_unsigned_robots_send_without_signature_fields(
    robots: Robots, client: httpx.AsyncClient
) -> None:
    plain = {**robots.settings(), "feishu_secret": None, "dingtalk_secret": None}
    configured = by_name(channels.configured(settings(**plain), client))
    feishu = configured["feishu"]
    assert isinstance(feishu, channels.FeishuRobot)
    assert "sign" not in feishu.payload(NOTE, "1700000000")
    ding = configured["dingtalk"]
    assert isinstance(ding, channels.DingTalkRobot)
    assert ding.signed_url("1700000000000") == f"{robots.url}/robot/send?access_token={fake.DINGTALK_TOKEN}"


async def test_no_secret_reaches_a_log_even_at_debug(
    robots: Robots, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    configured = channels.configured(settings(**robots.settings()), client)
    for channel in configured:
        await channel.send(NOTE)
    robots.fail_next = 1
    with pytest.raises(DeliveryError):
        await configured[1].send(NOTE)
    logged = caplog.text
    for secret in (
        fake.WECOM_KEY,
        fake.DINGTALK_TOKEN,
        fake.DINGTALK_SECRET,
        fake.FEISHU_HOOK,
        fake.SERVERCHAN_KEY,
    ):
        assert secret not in logged


async def test_an_outage_is_a_delivery_error(robots: Robots, client: httpx.AsyncClient) -> None:
    robots.fail_next = 1
    wecom = by_name(channels.configured(settings(**robots.settings()), client))["wecom"]
    with pytest.raises(DeliveryError, match="HTTP 503"):
        await wecom.send(NOTE)
    await wecom.send(NOTE)
    assert len(robots.of("wecom")) == 1


async def test_unreachable_platform_names_no_url(client: httpx.AsyncClient) -> None:
    wecom = channels.WeComRobot(client, "http://127.0.0.1:9/cgi-bin/webhook/send?key=secret-key", "en")
    with pytest.raises(DeliveryError) as error:
        await wecom.send(NOTE)
    assert "secret-key" not in str(error.value)


def test_dingtalk_signature_is_url_encoded_base64_of_the_hmac() -> None:
    sign = channels.dingtalk_sign("SECabc", "1577262236757")
    assert "%" in sign or sign.isalnum()  # base64's + / = are encoded
    assert "+" not in sign
    assert "/" not in sign
    assert "=" not in sign


def test_serverchan_picks_its_host_from_the_key() -> None:
    assert channels._serverchan_base("SCT1Tabc") == "https://sctapi.ftqq.com"
    assert channels._serverchan_base("sctp1234tAbCd") == "https://1234.push.ft07.com/send"


def test_settings_keep_secrets_out_of_their_repr() -> None:
    configured = settings(
        wecom_webhook_url="https://x.example/send?key=topsecret", smtp_password="pw123", console_token="tok"
    )
    text = repr(configured) + str(configured.model_dump())
    assert "topsecret" not in text
    assert "pw123" not in text
    assert "tok'" not in text
    assert isinstance(configured.smtp_password, SecretStr)


async def test_email_goes_through_smtp() -> None:
    async with serving_mailbox() as mailbox:
        configured = settings(
            smtp_host=mailbox.host,
            smtp_port=mailbox.port,
            smtp_security="none",
            smtp_from="qunbus@example.org",
            smtp_to="ops@example.org, oncall@example.org",
            alert_lang="en",
        )
        (email,) = channels.configured(configured, httpx.AsyncClient())
        await email.send(NOTE)
    (message,) = mailbox.messages
    assert message["Subject"] == "[qunbus] QR scan needed to log in: wxid_bot"
    assert message["To"] == "ops@example.org, oncall@example.org"
    assert "https://ops.example/qr" in message.get_payload()


async def test_email_failure_is_a_delivery_error() -> None:
    configured = settings(smtp_host="127.0.0.1", smtp_port=9, smtp_security="none", smtp_to="ops@example.org")
    with pytest.raises(DeliveryError, match="SMTP"):
        await channels.Email(configured, "en").send(NOTE)


class Sent:
    def __init__(self) -> None:
        self.commands: list[tuple[str, SayText]] = []

    async def __call__(self, bot_id: str, command: SayText) -> None:
        self.commands.append((bot_id, command))


async def test_wechat_tells_each_admin_through_another_account_at_notice_priority() -> None:
    sent = Sent()

    async def logged_in() -> list[str]:
        return ["wxid_a", "wxid_b"]

    wechat = channels.WeChatAdmins(sent, logged_in, ["admin2", "admin1"], "zh")
    note = Notification("n2", alerts.logged_out("wxid_a", "", NOW), "firing", NOW.isoformat())
    await wechat.send(note)
    assert [(bot, say.contact_id, say.priority) for bot, say in sent.commands] == [
        ("wxid_b", "admin1", "notice"),
        ("wxid_b", "admin2", "notice"),
    ]
    await wechat.send(note)  # the same notification again: the same command ids (the gateway drops repeats)
    assert [say.id for _, say in sent.commands[:2]] == [say.id for _, say in sent.commands[2:]]


async def test_wechat_is_skipped_while_no_other_account_is_logged_in(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def only_the_logged_out_one() -> list[str]:
        return ["wxid_a"]

    wechat = channels.WeChatAdmins(Sent(), only_the_logged_out_one, ["admin"], "en")
    with pytest.raises(Skipped):
        await wechat.send(Notification("n3", alerts.logged_out("wxid_a", "", NOW), "firing", NOW.isoformat()))


async def test_no_channel_is_configured_by_default(client: httpx.AsyncClient) -> None:
    caplog_free = channels.configured(settings(), client)
    assert caplog_free == []
    assert logging.getLogger("qunbus.ops").name == "qunbus.ops"
