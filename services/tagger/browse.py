"""Browsing a knowledge base: which tags a 浏览 / tags request shows, newest first, a page at a time. Pure."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from services.shared.text import normalize
from services.tagger.commands import BrowseRequest
from services.tagger.models import TagRecord


class Empty(Enum):
    """Why a browse request has nothing to show."""

    NOTHING_TAGGED = "nothing tagged"  # the knowledge base holds no live tag at all
    NO_MATCH = "no match"  # tags exist, but none passes the keyword or date filter


@dataclass(frozen=True)
class Page:
    records: tuple[TagRecord, ...]
    number: int  # 1-based; a request past the end gets the last page
    pages: int


def matches(record: TagRecord, request: BrowseRequest) -> bool:
    """The keyword in the text or among the keywords, and created within the requested dates."""
    if request.keyword:
        wanted = normalize(request.keyword)
        if wanted not in normalize(record.text) and wanted not in record.keywords:
            return False
    if request.since and record.created_at < request.since:
        return False
    return not (request.until and record.created_at >= request.until)


def browse(
    records: Iterable[TagRecord], request: BrowseRequest, now: datetime, page_size: int
) -> Page | Empty:
    live = [record for record in records if not record.expired(now)]
    if not live:
        return Empty.NOTHING_TAGGED
    shown = sorted(
        (record for record in live if matches(record, request)),
        key=lambda record: int(record.id),  # ids are handed out in order: the highest is the newest
        reverse=True,
    )
    if not shown:
        return Empty.NO_MATCH
    pages = math.ceil(len(shown) / page_size)
    number = min(request.page, pages)
    return Page(
        records=tuple(shown[(number - 1) * page_size : number * page_size]), number=number, pages=pages
    )
