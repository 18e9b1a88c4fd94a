"""Operator settings: the shared QunSettings plus OPS_* variables. Every secret (webhook URLs carry their key,
signing secrets, the SMTP password, the console tokens) is a SecretStr: it never reaches a log."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from services.shared import QunSettings


def _split(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class OpsSettings(QunSettings):
    model_config = SettingsConfigDict(env_prefix="OPS_", frozen=True, extra="ignore", populate_by_name=True)

    # --- what is watched ------------------------------------------------------------------------------------
    bots: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Accounts (bot ids) to watch from the start; accounts seen on the bus are added by themselves",
    )
    poll_s: float = Field(
        15.0, gt=0, description="How often gateways, the registry and JetStream are checked"
    )
    qr_url: str = Field(
        "",
        description="Public URL of the gateway's /qr page put in 'scan needed' alerts; `{bot_id}` is replaced",
    )
    unreachable_after_s: float = Field(
        300.0, gt=0, description="A gateway or puppet failing this long is an alert"
    )
    budget_warn_ratio: float = Field(0.8, gt=0, le=1, description="Share of a daily budget that warns")
    lag_threshold: int = Field(1000, ge=1, description="Messages waiting for a consumer that make an alert")
    lag_for_s: float = Field(60.0, ge=0, description="...when they wait above the threshold this long")
    dead_letter_growth: int = Field(1, ge=1, description="New dead letters that make an alert")
    service_gone_after_s: float = Field(
        90.0, gt=0, description="A service seen before that has no live replica this long is an alert"
    )
    service_forget_after_s: float = Field(
        7 * 24 * 3600.0, gt=0, description="A service gone this long is forgotten (no more alerts)"
    )

    # --- alert delivery -------------------------------------------------------------------------------------
    alert_repeat_s: float = Field(
        4 * 3600.0, gt=0, description="A condition still true is announced again after this long"
    )
    alert_max_per_hour: int = Field(20, ge=1, description="Messages per channel per hour at most")
    alert_lang: Literal["zh", "en", "both"] = Field("both", description="Language of alert texts")
    alert_retry_s: float = Field(30.0, gt=0, description="First retry of a failed delivery (doubles)")
    alert_attempts: int = Field(6, ge=1, description="Deliveries tried per channel before giving up")
    http_timeout_s: float = Field(10.0, gt=0, description="One call to a webhook")

    webhook_url: SecretStr | None = Field(None, description="Generic JSON webhook")
    webhook_secret: SecretStr | None = Field(
        None, description="Signs the generic webhook's body (X-Qunbus-Signature: sha256=<hex HMAC>)"
    )
    wecom_webhook_url: SecretStr | None = Field(None, description="WeCom group robot URL (with its key)")
    dingtalk_webhook_url: SecretStr | None = Field(
        None, description="DingTalk robot URL (with its access_token)"
    )
    dingtalk_secret: SecretStr | None = Field(None, description="DingTalk robot signing secret (SEC...)")
    feishu_webhook_url: SecretStr | None = Field(None, description="Feishu custom bot URL")
    feishu_secret: SecretStr | None = Field(None, description="Feishu custom bot signing secret")
    serverchan_sendkey: SecretStr | None = Field(None, description="Server酱 SendKey")
    serverchan_url: str = Field(
        "", description="Server酱 API base; empty: chosen from the key (Turbo or Server酱³)"
    )
    smtp_host: str = Field("", description="SMTP server; e-mail alerts are off without it")
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Literal["starttls", "ssl", "none"] = Field("starttls")
    smtp_user: str = Field("")
    smtp_password: SecretStr | None = Field(None)
    smtp_from: str = Field("", description="Sender address")
    smtp_to: Annotated[tuple[str, ...], NoDecode] = Field((), description="Comma-separated recipients")
    wechat_alerts: bool = Field(
        True, description="Also tell the global admins (QUN_ADMINS) by WeChat while an account is logged in"
    )

    # --- console and broadcasts -----------------------------------------------------------------------------
    console_token: SecretStr | None = Field(
        None, description="Bearer token to read the console and its API; the console is off without it"
    )
    console_write_token: SecretStr | None = Field(
        None, description="Bearer token that may also send broadcasts, cancel them and replay dead letters"
    )
    broadcast_window: int = Field(
        3, ge=1, description="Broadcast messages handed to the gateway and not yet carried out, at most"
    )
    broadcast_deadline_s: float = Field(
        6 * 3600.0,
        gt=0,
        description="A broadcast message not sent within this long is dropped by the gateway",
    )

    @field_validator("bots", "smtp_to", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value)

    def qr_link(self, bot_id: str) -> str:
        return self.qr_url.replace("{bot_id}", bot_id) if self.qr_url else ""
