"""Tagger settings: the shared QunSettings plus TAGGER_* variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.shared import QunSettings
from services.tagger.decision import Thresholds
from services.tagger.knowledge import DEFAULT_MAX_CACHED

_CALIBRATED = Thresholds()  # defaults calibrated by tools/tagger_eval.py --sweep


class TaggerSettings(QunSettings):
    model_config = SettingsConfigDict(
        env_prefix="TAGGER_", frozen=True, extra="ignore", populate_by_name=True
    )

    answer_threshold: float = Field(
        _CALIBRATED.answer,
        ge=0,
        le=1,
        description="Coverage needed to answer with one message (calibrated on data/eval.yaml)",
    )
    suggest_threshold: float = Field(
        _CALIBRATED.suggest,
        ge=0,
        le=1,
        description="Coverage needed to offer 'did you mean' candidates; below: 'I don't know'",
    )
    margin: float = Field(
        _CALIBRATED.margin, ge=0, description="Lead over the runner-up needed to answer outright"
    )
    unprompted_threshold: float = Field(
        _CALIBRATED.unprompted,
        ge=0,
        le=1,
        description="Coverage needed to answer a message that did not @ the bot",
    )
    unknown_subject_suggest: float = Field(
        _CALIBRATED.unknown_subject_suggest,
        ge=0,
        le=1,
        description="Coverage needed for 'did you mean' when the question's main word is unknown to the room",
    )
    shared_rooms: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Shared knowledge bases as JSON: {"oss": ["room1@chatroom", "room2@chatroom"]}',
    )
    shared_rooms_file: Path | None = Field(
        None,
        description="YAML file with the same mapping (knowledge base name → room ids); merged with the above",
    )
    reranker: str = Field(
        "off", description="Embedding reranker: 'off' (the only choice now; see services/tagger/reranker.py)"
    )
    page_size: int = Field(5, ge=1, le=20, description="Tags per page of 浏览 / tags")
    max_cached_rooms: int = Field(
        DEFAULT_MAX_CACHED,
        ge=1,
        description="Knowledge-base indexes a replica keeps in memory (least recently used evicted, rebuilt on demand)",
    )
    discover_cache_s: float = Field(
        30.0, ge=0, description="How long the list of other services' command keywords is reused"
    )

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(
            answer=self.answer_threshold,
            suggest=self.suggest_threshold,
            margin=self.margin,
            unprompted=self.unprompted_threshold,
            unknown_subject_suggest=self.unknown_subject_suggest,
        )
