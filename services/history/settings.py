"""History settings: the shared QunSettings plus HISTORY_* variables, and the operator's LLM (QUN_LLM_*)."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from services.shared import QunSettings
from services.shared.settings import env

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class HistorySettings(QunSettings):
    model_config = SettingsConfigDict(
        env_prefix="HISTORY_", frozen=True, extra="ignore", populate_by_name=True
    )

    retention_days: float = Field(7.0, gt=0, le=366, description="How long a room's messages are kept")
    max_per_room: int = Field(
        20_000, ge=10, le=1_000_000, description="At most this many messages kept per room (oldest dropped)"
    )
    report_time: str = Field(
        "21:00", description="Local time (room's zone) of daily and weekly reports, HH:MM"
    )
    weekly_report_weekday: int = Field(
        7, ge=1, le=7, description="Day of the weekly report (1 Monday .. 7 Sunday)"
    )
    report_poll_s: float = Field(
        30.0, gt=0, description="Longest wait between looks for due reports (a report is at most this late)"
    )
    chart_font: Path | None = Field(
        None, description="A TrueType/OpenType font with Chinese glyphs for charts; default: the first found"
    )
    summary_max_lines: int = Field(10, ge=3, le=30, description="Lines of a summary at most")
    llm_base_url: str | None = Field(
        None,
        validation_alias=env("QUN_LLM_BASE_URL"),
        description="OpenAI-compatible endpoint (…/v1); unset: summaries are always written offline",
    )
    llm_api_key: SecretStr | None = Field(None, validation_alias=env("QUN_LLM_API_KEY"))
    llm_model: str | None = Field(None, validation_alias=env("QUN_LLM_MODEL"))
    llm_timeout_s: float = Field(
        20.0, gt=0, description="Longest wait for the LLM's summary before the offline one is sent"
    )
    llm_stream: bool = Field(True, description="Ask the LLM to stream its answer (server-sent events)")
    llm_max_input_chars: int = Field(
        24_000, ge=1000, description="Characters of conversation sent to the LLM at most (the latest kept)"
    )

    @field_validator("report_time")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value.strip()):
            raise ValueError("HISTORY_REPORT_TIME must be HH:MM, e.g. 21:00")
        return value.strip()

    @property
    def report_clock(self) -> time:
        hours, minutes = self.report_time.split(":")
        return time(int(hours), int(minutes))

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)
