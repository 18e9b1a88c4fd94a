"""Which rooms follow which repositories: the YAML file plus bindings made in chat (kept in Redis).

Every room message asks whether its room follows anything (rooms that follow nothing cost nothing), so that answer
is cached per process in the plumbing's one invalidating cache (`services.shared.notify.Cached`, made in the deps
factory): bind and unbind write and publish the room id on `github-sync:rooms:changed` in one transaction, and
every replica drops its copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from services.github_sync import keys
from services.github_sync.categories import ALL_CATEGORIES, Category
from services.github_sync.config import GithubSyncConfig
from services.github_sync.repos import RepoName, is_glob
from services.shared.notify import Cached, Notifications

RoomFollows = Cached[str, bool]
"""Room id -> whether it follows any repository, cached while the process listens for changes."""


def follows_cache(config: GithubSyncConfig, redis: Redis) -> RoomFollows:
    """The cache of whether rooms follow anything, on the process's notification hub (register before it listens)."""
    return Cached(
        keys.rooms_changed(),
        Notifications.of(redis),
        redis,
        partial(_follows_anything, config, redis),
        parse=str,
    )


async def _follows_anything(config: GithubSyncConfig, redis: Redis, room_id: str) -> bool:
    if config.patterns_for_room(room_id):
        return True
    return bool(await _chat_bound(config, redis, room_id))


async def _chat_bound(config: GithubSyncConfig, redis: Redis, room_id: str) -> list[RepoName]:
    """Repositories bound in chat that the `allow` list still covers."""
    stored = await redis.hgetall(keys.room_repos(room_id))
    repos = [RepoName.parse(str(full_name)) for full_name in stored.values()]
    return [repo for repo in repos if config.chat_binding_allowed(repo)]


@dataclass(frozen=True)
class RoomRepos:
    """What a room follows: concrete repositories (issues can be filed there) and globs (notices only)."""

    repos: tuple[RepoName, ...]
    globs: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        return not self.repos and not self.globs

    def find(self, repo: RepoName) -> RepoName | None:
        return next((bound for bound in self.repos if bound.key == repo.key), None)


class Bindings:
    """Reads and changes bindings. Only whether a room follows anything is cached (`follows`); everything else is
    read from Redis, so every replica sees chat changes at once.

    A chat binding counts only while the YAML file's `allow` list covers its repository: the operator's token
    writes there, so the operator decides (removing a pattern silences the chat bindings it allowed)."""

    def __init__(self, config: GithubSyncConfig, redis: Redis, follows: RoomFollows | None = None) -> None:
        self._config = config
        self._redis = redis
        self._follows = follows or follows_cache(
            config, redis
        )  # changes announced even if nobody here caches

    async def bind(self, room_id: str, repo: RepoName) -> bool:
        """Bind in chat; False if the room already followed that repository."""

        def add(pipe: Pipeline) -> None:
            pipe.hsetnx(keys.room_repos(room_id), repo.key, repo.full_name)
            pipe.sadd(keys.repo_rooms(repo), room_id)

        added, _ = await self._follows.write(room_id, add)
        return bool(added)

    async def unbind(self, room_id: str, repo: RepoName) -> bool:
        """Remove a chat binding; False if there was none (YAML bindings cannot be removed in chat)."""

        def remove(pipe: Pipeline) -> None:
            pipe.hdel(keys.room_repos(room_id), repo.key)
            pipe.srem(keys.repo_rooms(repo), room_id)

        removed, _ = await self._follows.write(room_id, remove)
        return bool(removed)

    async def for_room(self, room_id: str) -> RoomRepos:
        repos = {repo.key: repo for repo in await self._chat_bound(room_id)}
        globs: list[str] = []
        for pattern in self._config.patterns_for_room(room_id):
            if is_glob(pattern):
                globs.append(pattern)
            else:
                repo = RepoName.parse(pattern)
                repos.setdefault(repo.key, repo)
        return RoomRepos(repos=tuple(sorted(repos.values())), globs=tuple(dict.fromkeys(globs)))

    async def follows_anything(self, room_id: str) -> bool:
        """Whether the room follows any repository: from memory after the room's first message."""
        return await self._follows.get(room_id)

    def may_bind_in_chat(self, repo: RepoName) -> bool:
        return self._config.chat_binding_allowed(repo)

    async def _chat_bound(self, room_id: str) -> list[RepoName]:
        return await _chat_bound(self._config, self._redis, room_id)

    async def covers(self, room_id: str, repo: RepoName) -> bool:
        """Whether `repo` is bound to the room, directly or through a glob."""
        return room_id in await self.rooms_for_repo(repo)

    async def rooms_for_repo(self, repo: RepoName) -> dict[str, frozenset[Category]]:
        """Room id → categories of notices it wants from `repo` (an admin's choice overrides the file)."""
        rooms = self._config.rooms_for_repo(repo)
        if self.may_bind_in_chat(repo):
            for room_id in await self._redis.smembers(keys.repo_rooms(repo)):
                rooms[str(room_id)] = ALL_CATEGORIES
        for room_id in rooms:
            chosen = await self.chosen_categories(room_id)
            if chosen is not None:
                rooms[room_id] = chosen
        return rooms

    async def chosen_categories(self, room_id: str) -> frozenset[Category] | None:
        stored = {str(name) for name in await self._redis.smembers(keys.room_categories(room_id))}
        known = {category.value for category in Category}
        return frozenset(Category(name) for name in stored if name in known) or None

    async def choose_categories(self, room_id: str, categories: frozenset[Category]) -> None:
        """Set a room's filter; an empty set returns the room to the configured default."""
        key = keys.room_categories(room_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if categories:
                pipe.sadd(key, *sorted(categories))
            await pipe.execute()
