"""Scheduler settings: the shared QunSettings plus SCHEDULER_* variables."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.scheduler.firing import LatePolicy, LoopSettings
from services.scheduler.store import Limits
from services.shared import QunSettings


class SchedulerSettings(QunSettings):
    model_config = SettingsConfigDict(
        env_prefix="SCHEDULER_", frozen=True, extra="ignore", populate_by_name=True
    )

    max_late_s: float = Field(
        600.0,
        ge=0,
        description="Grace for a firing: its deadline at the gateway is the due time plus this. A firing the "
        "scheduler itself reaches later than this (everything was down) is skipped if it repeats, or replaced by a "
        "short 'missed' notice if it does not",
    )
    max_per_creator: int = Field(
        20, ge=0, description="Active reminders one member may have through one bot account (0: no limit)"
    )
    max_per_room: int = Field(
        100, ge=0, description="Active reminders of one room or one direct conversation (0: no limit)"
    )
    late_note_after_s: float = Field(
        60.0, ge=0, description="A firing later than this carries a note saying how late it is"
    )
    poll_interval_s: float = Field(
        1.0,
        gt=0,
        description="Longest sleep of the firing loop (it sleeps until the next due time, or until woken by a "
        "new reminder on this replica); bounds how soon a reminder stored by another replica is seen",
    )
    lease_s: float = Field(
        30.0, gt=0, description="How long a claimed firing is hidden from other replicas before it is retried"
    )
    batch: int = Field(200, ge=1, description="Firings claimed per pass")
    concurrency: int = Field(16, ge=1, description="Firings sent at once")
    list_limit: int = Field(20, ge=1, le=100, description="Reminders shown by 提醒列表 / reminders")

    def limits(self) -> Limits:
        return Limits(per_place=self.max_per_room, per_creator=self.max_per_creator)

    def loop_settings(self) -> LoopSettings:
        return LoopSettings(
            poll_interval_s=self.poll_interval_s,
            lease_ms=round(self.lease_s * 1000),
            batch=self.batch,
            concurrency=self.concurrency,
            late=LatePolicy(
                note_after=timedelta(seconds=self.late_note_after_s),
                max_late=timedelta(seconds=self.max_late_s),
            ),
        )
