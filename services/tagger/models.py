"""The tagger's stored value: one tagged message (or one imported FAQ entry) in a knowledge base."""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.shared.text import normalize
from services.tagger.index import Document


def content_hash(text: str) -> str:
    """Same text (up to width, case and spacing) → same hash: tagging it again updates the tag."""
    return hashlib.sha256(normalize(text).encode()).hexdigest()[:32]


class TagRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Short id, unique within the knowledge base (a counter), shown as #id.")
    kb: str = Field(description="Knowledge base: a room's own, or a shared one.")
    room_id: str | None = Field(default=None, description="Room the tag was made in; None for an FAQ import.")
    text: str = Field(description="The quoted message (or the FAQ answer).")
    author_name: str = Field(description="Name of the quoted message's author, as the quote showed it.")
    author_id: str | None = Field(
        default=None, description="Contact id of the quoted author, only when the gateway verified the quote."
    )
    verified: bool = Field(
        default=True,
        description="The quote was verified (or the text came from an FAQ): it may be attributed to its author. "
        "False: shown as tagged by the tagger, the quote not verified.",
    )
    tagger_id: str | None = Field(default=None, description="Contact id of who tagged it.")
    tagger_name: str = Field(default="", description="Name of who tagged it.")
    keywords: tuple[str, ...] = Field(default=(), description="Keywords the tagger gave.")
    questions: tuple[str, ...] = Field(default=(), description="FAQ question variants, if imported.")
    created_at: datetime = Field(description="When it was first tagged.")
    updated_at: datetime = Field(description="When it was last tagged or imported.")
    expires_at: datetime | None = Field(default=None, description="When it disappears; None = never.")
    hash: str = Field(description="content_hash(text): the dedupe key within the knowledge base.")
    vector: str | None = Field(
        default=None,
        description="Only in records stored before vectors got their own hash (keys.vectors); read, never written.",
    )
    created_by_event: str | None = Field(
        default=None,
        description="Id of the chat event that first tagged it: a redelivery of that event is not an update.",
    )

    def document(self) -> Document:
        return Document(id=self.id, text=self.text, keywords=self.keywords, questions=self.questions)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


class Tombstone(BaseModel):
    """A deleted tag and the chat event that deleted it, kept for a while after the delete."""

    model_config = ConfigDict(frozen=True)

    event_id: str | None = Field(description="Id of the chat event that deleted it (None: not from chat).")
    record: TagRecord = Field(description="The tag as it was when deleted.")
