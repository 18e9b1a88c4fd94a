"""Which knowledge base a room reads and writes: its own, or one it shares with other rooms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class KnowledgeBases:
    room_to_shared: Mapping[str, str]

    @classmethod
    def from_config(cls, shared: Mapping[str, Sequence[str]], file: Path | None = None) -> KnowledgeBases:
        groups: dict[str, list[str]] = {name: list(rooms) for name, rooms in shared.items()}
        if file is not None:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
            if not isinstance(loaded, dict):
                raise ValueError(f"{file}: expected a mapping of knowledge base name to room ids")
            for name, rooms in loaded.items():
                groups.setdefault(str(name), []).extend(str(room) for room in rooms or ())
        mapping: dict[str, str] = {}
        for name, rooms in groups.items():
            for room in rooms:
                if mapping.get(room, name) != name:
                    raise ValueError(f"room {room} is in two shared knowledge bases: {mapping[room]}, {name}")
                mapping[room] = name
        return cls(mapping)

    def for_room(self, room_id: str) -> str:
        shared = self.room_to_shared.get(room_id)
        return f"shared:{shared}" if shared else f"room:{room_id}"

    @staticmethod
    def shared(name: str) -> str:
        return f"shared:{name}"
