"""Tagger settings: the shared QunSettings plus TAGGER_* variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.shared import QunSettings
from services.tagger.knowledge import DEFAULT_MAX_CACHED


class TaggerSettings(QunSettings):
    model_config = SettingsConfigDict(
        env_prefix="TAGGER_", frozen=True, extra="ignore", populate_by_name=True
    )

    dense: bool = Field(
        True,
        description="Embed tags and (when the lexical side is unsure) questions with multilingual-e5-small",
    )
    embed_max_tokens: int = Field(
        32, ge=8, le=512, description="A tagged message is cut to this many tokens before embedding (cost)"
    )
    query_cache_size: int = Field(
        4_096, ge=0, description="Recent question vectors kept per replica (0: embed every question afresh)"
    )
    override_dictionary: bool = Field(
        True,
        description="Use the small hand-written bilingual dictionary (data/synonyms.yaml) on top of CC-CEDICT",
    )
    decision_model_file: Path | None = Field(
        None,
        description="Decision model JSON (default: data/decision.json, fitted by tools/tagger_eval.py --fit)",
    )
    max_tags_per_room: int = Field(10_000, ge=1, description="Live tags a knowledge base may hold")
    max_tags_per_member: int = Field(
        500, ge=1, description="Live tags one member may have made in a knowledge base"
    )
    shared_rooms: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Shared knowledge bases as JSON: {"oss": ["room1@chatroom", "room2@chatroom"]}',
    )
    shared_rooms_file: Path | None = Field(
        None,
        description="YAML file with the same mapping (knowledge base name → room ids); merged with the above",
    )
    page_size: int = Field(5, ge=1, le=20, description="Tags per page of 浏览 / tags")
    max_cached_rooms: int = Field(
        DEFAULT_MAX_CACHED,
        ge=1,
        description="Knowledge-base indexes a replica keeps in memory (least recently used evicted, rebuilt on demand)",
    )
    history_timeout_s: float = Field(
        2.0, gt=0, description="How long to wait for the history service's answer"
    )
