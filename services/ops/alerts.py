"""What deserves an operator's attention, as pure rules over what was observed: no NATS, no Redis, no clock of
their own (`now` is passed in, so tests move time by hand).

Two kinds of alerts:
- from an event (the account logged out, a QR code waits to be scanned): fired by the event, resolved by a later
  one (logged in again);
- from a condition checked at every poll (a gateway unreachable too long, a daily budget near its end, consumer
  lag, a service without a live replica, dead letters growing): `evaluate` returns the alerts that hold now; the
  book (`book.py`) announces new ones, repeats old ones now and then, and announces the end of those that stop.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from schemas import GatewayStatus

Severity = Literal["critical", "warning", "info"]

LOGGED_OUT = "logged_out"
SCAN_NEEDED = "scan_needed"
UNREACHABLE = "unreachable"
BUDGET = "budget"
HELD = "held"
DEAD_LETTERS = "dead_letters"
LAG = "lag"
SERVICE_GONE = "service_gone"
TEST = "test"

POLLED_KINDS = frozenset({UNREACHABLE, BUDGET, HELD, LAG, SERVICE_GONE})
"""Kinds whose alerts hold exactly while `evaluate` returns them."""
QUIET_END = frozenset({SCAN_NEEDED, BUDGET})
"""Kinds whose end is not announced (a login says it; a budget ends with the day)."""


@dataclass(frozen=True)
class Alert:
    key: str
    """Dedupe key: one alert per key is active at a time (e.g. `logged_out:wxid_bot`)."""
    kind: str
    severity: Severity
    title_zh: str
    title_en: str
    text_zh: str = ""
    text_en: str = ""
    bot_id: str = ""
    link: str = ""
    at: str = ""
    """ISO time when it was raised."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alert:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Thresholds:
    unreachable_after: timedelta = timedelta(minutes=5)
    budget_warn_ratio: float = 0.8
    lag_threshold: int = 1000
    lag_for: timedelta = timedelta(minutes=1)
    dead_letter_growth: int = 1
    service_gone_after: timedelta = timedelta(seconds=90)
    service_forget_after: timedelta = timedelta(days=7)


# -- alerts from events -----------------------------------------------------------------------------------------


def logged_out(bot_id: str, reason: str, now: datetime) -> Alert:
    why_zh = f"（{reason}）" if reason else ""
    why_en = f" ({reason})" if reason else ""
    return Alert(
        key=f"{LOGGED_OUT}:{bot_id}",
        kind=LOGGED_OUT,
        severity="critical",
        title_zh=f"微信账号已登出：{bot_id}",
        title_en=f"WeChat account logged out: {bot_id}",
        text_zh=f"机器人在所有群里都不会再回复{why_zh}。请重新扫码登录。",
        text_en=f"The bot is silent in every room{why_en}. Scan the QR code to log in again.",
        bot_id=bot_id,
        at=now.isoformat(),
    )


def scan_needed(bot_id: str, link: str, now: datetime) -> Alert:
    where_zh = (
        f"打开 {link} 用机器人账号的手机扫码。" if link else "在网关的 /qr 页面或日志里找到二维码并扫码。"
    )
    where_en = (
        f"Open {link} and scan it with the bot account's phone."
        if link
        else "Find the QR code on the gateway's /qr page or in its log and scan it."
    )
    return Alert(
        key=f"{SCAN_NEEDED}:{bot_id}",
        kind=SCAN_NEEDED,
        severity="critical",
        title_zh=f"需要扫码登录：{bot_id}",
        title_en=f"QR scan needed to log in: {bot_id}",
        text_zh=where_zh,
        text_en=where_en,
        bot_id=bot_id,
        link=link,
        at=now.isoformat(),
    )


def test_alert(now: datetime) -> Alert:
    return Alert(
        key=f"{TEST}:{now.isoformat()}",
        kind=TEST,
        severity="info",
        title_zh="qunbus 告警测试",
        title_en="qunbus alert test",
        text_zh="这个通道能收到告警。",
        text_en="This channel receives alerts.",
        at=now.isoformat(),
    )


# -- alerts from polls ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsumerLag:
    stream: str
    name: str
    pending: int
    """Messages not yet delivered to the consumer."""
    ack_pending: int = 0
    redelivered: int = 0


@dataclass(frozen=True)
class Observation:
    """One poll: what the gateways answered (None: no answer), who answered the registry, JetStream's view."""

    gateways: dict[str, GatewayStatus | None] = field(default_factory=dict)
    troubled_since: dict[str, datetime] = field(default_factory=dict)
    """Per account: since when its gateway reported errors without recovering (from GatewayErrored events)."""
    services: frozenset[str] = frozenset()
    consumers: tuple[ConsumerLag, ...] = ()
    dead_letters: dict[str, int] = field(default_factory=dict)
    """Messages per subject in QUN_DLQ."""
    discovered: bool = True
    """False when the registry could not be asked at all (then no service counts as gone)."""


@dataclass(frozen=True)
class RuleState:
    """What the rules remember between polls (kept in Redis as JSON)."""

    unreachable_since: dict[str, str] = field(default_factory=dict)
    lag_since: dict[str, str] = field(default_factory=dict)
    services_seen: dict[str, str] = field(default_factory=dict)
    """Service name -> last time it answered the registry."""
    missing_since: dict[str, str] = field(default_factory=dict)
    dead_letters: dict[str, int] | None = None
    """Counts per subject when dead letters were last announced (None: not measured yet)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RuleState:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def forget_service(self, name: str) -> RuleState:
        return replace(
            self,
            services_seen={k: v for k, v in self.services_seen.items() if k != name},
            missing_since={k: v for k, v in self.missing_since.items() if k != name},
        )


@dataclass(frozen=True)
class Evaluation:
    state: RuleState
    holding: list[Alert]
    """Alerts of POLLED_KINDS that hold now."""
    once: list[Alert]
    """One-off alerts (dead letters grew)."""


def evaluate(observation: Observation, state: RuleState, limits: Thresholds, now: datetime) -> Evaluation:
    holding: list[Alert] = []
    unreachable = _unreachable(observation, state, limits, now, holding)
    lag = _lag(observation, state, limits, now, holding)
    seen, missing = _services(observation, state, limits, now, holding)
    _budgets(observation, limits, now, holding)
    counts, once = _dead_letters(observation, state, limits, now)
    new_state = RuleState(
        unreachable_since=unreachable,
        lag_since=lag,
        services_seen=seen,
        missing_since=missing,
        dead_letters=counts,
    )
    return Evaluation(new_state, holding, once)


def _since(value: str | None, now: datetime) -> datetime:
    return datetime.fromisoformat(value) if value else now


def _minutes(delta: timedelta) -> int:
    return max(1, round(delta.total_seconds() / 60))


def _unreachable(
    observation: Observation, state: RuleState, limits: Thresholds, now: datetime, holding: list[Alert]
) -> dict[str, str]:
    """A gateway that does not answer, or whose puppet keeps failing, for longer than the threshold."""
    since: dict[str, str] = {}
    for bot_id in sorted(set(observation.gateways) | set(observation.troubled_since)):
        status = observation.gateways.get(bot_id)
        silent = bot_id in observation.gateways and status is None
        # An account that is logged in works, whatever errors its gateway reported before.
        troubled = None if status is not None and status.logged_in else observation.troubled_since.get(bot_id)
        if not silent and troubled is None:
            continue
        starts = [troubled] if troubled is not None else []
        if silent:
            starts.append(_since(state.unreachable_since.get(bot_id), now))
        start = min(starts)
        since[bot_id] = start.isoformat()
        down = now - start
        if down < limits.unreachable_after:
            continue
        what_zh = "网关没有响应" if silent else "网关连不上微信（puppet 服务）"
        what_en = (
            "the gateway does not answer" if silent else "the gateway cannot reach WeChat (puppet service)"
        )
        holding.append(
            Alert(
                key=f"{UNREACHABLE}:{bot_id}",
                kind=UNREACHABLE,
                severity="critical",
                title_zh=f"{bot_id}：{what_zh}已 {_minutes(down)} 分钟",
                title_en=f"{bot_id}: {what_en} for {_minutes(down)} min",
                text_zh="消息既收不到也发不出。请检查网关和 puppet 服务。",
                text_en="No message comes in or goes out. Check the gateway and the puppet service.",
                bot_id=bot_id,
                at=now.isoformat(),
            )
        )
    return since


def _budgets(observation: Observation, limits: Thresholds, now: datetime, holding: list[Alert]) -> None:
    for bot_id, status in sorted(observation.gateways.items()):
        if status is None:
            continue
        if status.held:
            holding.append(
                Alert(
                    key=f"{HELD}:{bot_id}",
                    kind=HELD,
                    severity="critical",
                    title_zh=f"{bot_id}：暂停发送（{status.held}）",
                    title_en=f"{bot_id}: sending is held ({status.held})",
                    text_zh="网关在等待，恢复后会继续发送。",
                    text_en="The gateway waits and resumes once this is over.",
                    bot_id=bot_id,
                    at=now.isoformat(),
                )
            )
        for kind, limit in sorted(status.daily_limits.items()):
            used = status.daily_used.get(kind, 0)
            if limit <= 0 or used < limit * limits.budget_warn_ratio:
                continue
            exhausted = used >= limit
            holding.append(
                Alert(
                    key=f"{BUDGET}:{bot_id}:{kind}:{'exhausted' if exhausted else 'near'}",
                    kind=BUDGET,
                    severity="critical" if exhausted else "warning",
                    title_zh=f"{bot_id}：今天的「{kind}」发送额度{'已用完' if exhausted else '快用完了'}"
                    f"（{used}/{limit}）",
                    title_en=f"{bot_id}: today's '{kind}' send budget "
                    f"{'is used up' if exhausted else 'is nearly used up'} ({used}/{limit})",
                    text_zh="用完后这类消息暂停发送，直到明天。"
                    if exhausted
                    else "用完后这类消息会暂停发送。",
                    text_en="Such messages are held until tomorrow."
                    if exhausted
                    else "Once used up, such messages are held until tomorrow.",
                    bot_id=bot_id,
                    at=now.isoformat(),
                )
            )


def _lag(
    observation: Observation, state: RuleState, limits: Thresholds, now: datetime, holding: list[Alert]
) -> dict[str, str]:
    since: dict[str, str] = {}
    for consumer in observation.consumers:
        name = f"{consumer.stream}/{consumer.name}"
        if consumer.pending < limits.lag_threshold:
            continue
        start = _since(state.lag_since.get(name), now)
        since[name] = start.isoformat()
        if now - start < limits.lag_for:
            continue
        holding.append(
            Alert(
                key=f"{LAG}:{name}",
                kind=LAG,
                severity="warning",
                title_zh=f"{consumer.name} 积压 {consumer.pending} 条消息",
                title_en=f"{consumer.name} is {consumer.pending} messages behind",
                text_zh=f"{consumer.stream} 的消费者 {consumer.name} 处理不过来：加副本或查看它的日志。",
                text_en=f"Consumer {consumer.name} on {consumer.stream} falls behind: add replicas or check its log.",
                at=now.isoformat(),
            )
        )
    return since


def _services(
    observation: Observation, state: RuleState, limits: Thresholds, now: datetime, holding: list[Alert]
) -> tuple[dict[str, str], dict[str, str]]:
    seen = dict(state.services_seen)
    for name in observation.services:
        seen[name] = now.isoformat()
    missing: dict[str, str] = {}
    if not observation.discovered:
        return seen, dict(state.missing_since)
    for name, last in sorted(seen.items()):
        if name in observation.services:
            continue
        if now - datetime.fromisoformat(last) > limits.service_forget_after:
            del seen[name]
            continue
        start = _since(state.missing_since.get(name), now)
        missing[name] = start.isoformat()
        gone = now - start
        if gone < limits.service_gone_after:
            continue
        holding.append(
            Alert(
                key=f"{SERVICE_GONE}:{name}",
                kind=SERVICE_GONE,
                severity="critical",
                title_zh=f"服务 {name} 没有在运行的副本（{_minutes(gone)} 分钟）",
                title_en=f"Service {name} has no live replica ({_minutes(gone)} min)",
                text_zh="它负责的功能现在不工作。若是有意下线，用 `qunctl services --forget NAME` 忽略它。",
                text_en="What it does is not being done. If it was removed on purpose: `qunctl services --forget NAME`.",
                at=now.isoformat(),
            )
        )
    return seen, missing


def _dead_letters(
    observation: Observation, state: RuleState, limits: Thresholds, now: datetime
) -> tuple[dict[str, int] | None, list[Alert]]:
    current = observation.dead_letters
    if state.dead_letters is None:
        return dict(current), []  # first look: what is there already was there before us
    grown = {
        subject: count - state.dead_letters.get(subject, 0)
        for subject, count in current.items()
        if count > state.dead_letters.get(subject, 0)
    }
    total = sum(grown.values())
    # Purged subjects shrink: the baseline follows them down at once, and up only when announced.
    baseline = {subject: min(count, current.get(subject, 0)) for subject, count in state.dead_letters.items()}
    if total < limits.dead_letter_growth:
        return {k: v for k, v in baseline.items() if v}, []
    services = ", ".join(f"{subject.rsplit('.', 1)[-1]} +{count}" for subject, count in sorted(grown.items()))
    alert = Alert(
        key=DEAD_LETTERS,
        kind=DEAD_LETTERS,
        severity="warning",
        title_zh=f"新增 {total} 条死信（{services}）",
        title_en=f"{total} new dead letters ({services})",
        text_zh="有消息处理失败被放弃了。用 `qunctl dlq list` 查看，修好后 `qunctl dlq replay`。",
        text_en="Messages failed and were given up. See `qunctl dlq list`; after a fix, `qunctl dlq replay`.",
        at=now.isoformat(),
    )
    return dict(current), [alert]


def render(alert: Alert, lang: Literal["zh", "en", "both"], *, resolved: bool = False) -> tuple[str, str]:
    """(title, body) of a message in the configured language(s)."""
    mark_zh, mark_en = ("【已恢复】", "[resolved] ") if resolved else ("", "")
    zh = (mark_zh + alert.title_zh, alert.text_zh)
    en = (mark_en + alert.title_en, alert.text_en)
    if lang == "zh":
        return zh
    if lang == "en":
        return en
    return f"{zh[0]} / {en[0]}", "\n".join(part for part in (zh[1], en[1]) if part)
