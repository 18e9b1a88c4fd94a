"""Summaries written by the operator's LLM, through any OpenAI-compatible chat-completions endpoint.

Used only when the operator configured one (QUN_LLM_BASE_URL, QUN_LLM_MODEL, QUN_LLM_API_KEY) and a room's admin
switched it on; never for direct messages. It gets the same material as the offline summary (the kept messages
of the stretch, latest first when they do not all fit). Any failure — refused, malformed, empty, too slow — raises
`LlmError`, and the caller sends the offline summary instead. The API key is a SecretStr: it goes into the
Authorization header and nowhere else (never logged).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr

from schemas import HistoryMessage
from services.shared.commands import Lang

log = logging.getLogger("qunbus.history.llm")


class LlmError(Exception):
    """The LLM gave no usable summary."""


@dataclass(frozen=True)
class LlmConfig:
    base_url: str
    model: str
    api_key: SecretStr | None
    timeout_s: float = 20.0
    stream: bool = True
    max_input_chars: int = 24_000


_SYSTEM = {
    "zh": (
        "你在为一个微信群写聊天总结。只根据给出的聊天记录，用中文写不超过{lines}行纯文本（不要 Markdown 标题）："
        "第一行概括（时间段、消息数、人数），然后是讨论的话题（每个一句要点，括号里写参与的人），"
        "没人回答的问题，做出的决定，分享的链接。没有的部分就不写。"
    ),
    "en": (
        "You write a summary of a WeChat group chat. Using only the messages given, write at most {lines} lines of "
        "plain English text (no Markdown headings): a first line with the period, message and people counts, then "
        "the topics discussed (one short gist each, with who took part in parentheses), open questions nobody "
        "answered, decisions taken, and links shared. Leave out what there is none of."
    ),
}


def transcript(messages: Sequence[HistoryMessage], zone: ZoneInfo, max_chars: int) -> str:
    """`HH:MM name: text` lines, the latest kept when they do not all fit in `max_chars`."""
    lines: list[str] = []
    used = 0
    for message in reversed(messages):
        text = " ".join(message.text.split())
        if message.quote is not None:
            text = (
                f"[reply to {message.quote.talker_name}: {' '.join(message.quote.text.split())[:60]}] {text}"
            )
        line = f"{message.timestamp.astimezone(zone):%m-%d %H:%M} {message.talker.name}: {text}"
        if used + len(line) + 1 > max_chars:
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(reversed(lines))


def prompt(header: str, chat: str, lang: Lang, max_lines: int) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": _SYSTEM[lang].format(lines=max_lines)},
        {"role": "user", "content": f"{header}\n\n{chat}"},
    ]


async def summarize(
    client: httpx.AsyncClient, config: LlmConfig, messages: list[dict[str, str]], max_lines: int
) -> list[str]:
    """The LLM's summary as at most `max_lines` non-empty lines; raises LlmError on any failure or timeout."""
    try:
        async with asyncio.timeout(config.timeout_s):
            text = await _complete(client, config, messages)
    except TimeoutError as error:
        raise LlmError(f"no answer within {config.timeout_s:g}s") from error
    except httpx.HTTPError as error:
        raise LlmError(f"{type(error).__name__}") from error
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    lines = [line.lstrip("#").strip() for line in lines]
    if not lines:
        raise LlmError("empty answer")
    return lines[:max_lines]


async def _complete(client: httpx.AsyncClient, config: LlmConfig, messages: list[dict[str, str]]) -> str:
    url = config.base_url.rstrip("/") + "/chat/completions"
    headers = {"Content-Type": "application/json"}
    if config.api_key is not None:
        headers["Authorization"] = f"Bearer {config.api_key.get_secret_value()}"
    body = {"model": config.model, "messages": messages, "temperature": 0.2, "stream": config.stream}
    async with client.stream("POST", url, json=body, headers=headers) as response:
        if response.status_code != 200:
            raise LlmError(f"HTTP {response.status_code}")
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return await _read_events(response)
        raw = await response.aread()
    try:
        content = json.loads(raw)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise LlmError("malformed answer") from error
    if not isinstance(content, str):
        raise LlmError("malformed answer")
    return content


async def _read_events(response: httpx.Response) -> str:
    """Server-sent events: `data: {chunk}` lines until `data: [DONE]`; the text is the deltas' content."""
    parts: list[str] = []
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            choice = json.loads(data)["choices"][0]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise LlmError("malformed stream chunk") from error
        piece = (choice.get("delta") or {}).get("content")
        if isinstance(piece, str):
            parts.append(piece)
    return "".join(parts)
