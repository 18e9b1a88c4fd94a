"""The alert rules as pure code: observations and a hand-moved clock in, alerts out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas import GatewayStatus
from services.ops import alerts
from services.ops.alerts import ConsumerLag, Observation, RuleState, Thresholds, evaluate

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LIMITS = Thresholds(
    unreachable_after=timedelta(minutes=5),
    lag_threshold=100,
    lag_for=timedelta(minutes=1),
    service_gone_after=timedelta(seconds=90),
    service_forget_after=timedelta(days=7),
)


def status(bot: str = "bot", **fields: object) -> GatewayStatus:
    return GatewayStatus.model_validate({"bot_id": bot, "logged_in": True, **fields})


def run(observations: list[tuple[timedelta, Observation]], state: RuleState | None = None) -> list[set[str]]:
    """Evaluate at T0 + each offset, carrying the state; the keys holding after each poll."""
    state = state or RuleState()
    holding = []
    for offset, observation in observations:
        result = evaluate(observation, state, LIMITS, T0 + offset)
        state = result.state
        holding.append({alert.key for alert in result.holding} | {alert.key for alert in result.once})
    return holding


def test_logged_out_alert_names_the_account_and_reason() -> None:
    alert = alerts.logged_out("wxid_bot", "kicked by another device", T0)
    assert alert.key == "logged_out:wxid_bot"
    assert alert.severity == "critical"
    assert "kicked by another device" in alert.text_en
    assert "kicked by another device" in alert.text_zh


def test_scan_alert_carries_the_qr_link() -> None:
    alert = alerts.scan_needed("pending", "https://ops.example/qr", T0)
    assert alert.link == "https://ops.example/qr"
    assert "https://ops.example/qr" in alert.text_en
    assert "/qr" in alerts.scan_needed("pending", "", T0).text_en  # no link configured: where to look instead


def test_silent_gateway_alerts_only_after_the_threshold_and_ends_when_it_answers() -> None:
    silent = Observation(gateways={"bot": None})
    answering = Observation(gateways={"bot": status()})
    held = run(
        [
            (timedelta(0), silent),
            (timedelta(minutes=4, seconds=59), silent),
            (timedelta(minutes=5), silent),
            (timedelta(minutes=6), answering),
            (timedelta(minutes=7), silent),  # silent again: the clock starts over
            (timedelta(minutes=11), silent),
            (timedelta(minutes=12), silent),
        ]
    )
    key = "unreachable:bot"
    assert [key in keys for keys in held] == [False, False, True, False, False, False, True]


def test_puppet_errors_count_from_the_first_error_until_the_account_is_logged_in_again() -> None:
    errored = T0 - timedelta(minutes=10)
    still_down = Observation(gateways={"bot": status(logged_in=False)}, troubled_since={"bot": errored})
    recovered = Observation(gateways={"bot": status(logged_in=True)}, troubled_since={"bot": errored})
    assert run([(timedelta(0), still_down), (timedelta(minutes=1), recovered)]) == [
        {"unreachable:bot"},
        set(),
    ]


def test_budget_warns_at_the_ratio_and_says_when_it_is_used_up() -> None:
    def budget(used: int) -> Observation:
        return Observation(gateways={"bot": status(daily_used={"text": used}, daily_limits={"text": 100})})

    held = run([(timedelta(0), budget(79)), (timedelta(1), budget(80)), (timedelta(2), budget(100))])
    assert held == [set(), {"budget:bot:text:near"}, {"budget:bot:text:exhausted"}]
    exhausted = evaluate(budget(100), RuleState(), LIMITS, T0).holding[0]
    assert exhausted.severity == "critical"
    assert "100/100" in exhausted.title_en


def test_held_sending_is_an_alert() -> None:
    held = run([(timedelta(0), Observation(gateways={"bot": status(held="Redis unreachable")}))])
    assert held == [{"held:bot"}]


def test_lag_alerts_when_it_stays_above_the_threshold_for_long_enough() -> None:
    def lag(pending: int) -> Observation:
        return Observation(consumers=(ConsumerLag("QUN_EVT", "tagger", pending),))

    held = run(
        [
            (timedelta(0), lag(150)),
            (timedelta(seconds=59), lag(150)),
            (timedelta(seconds=60), lag(150)),
            (timedelta(seconds=70), lag(10)),
            (timedelta(seconds=80), lag(150)),  # a new burst: measured from its own start
            (timedelta(seconds=100), lag(150)),
        ]
    )
    assert ["lag:QUN_EVT/tagger" in keys for keys in held] == [False, False, True, False, False, False]


def test_a_service_seen_before_and_gone_alerts_after_the_grace_period() -> None:
    both = Observation(services=frozenset({"tagger", "scheduler"}))
    tagger_gone = Observation(services=frozenset({"scheduler"}))
    held = run(
        [
            (timedelta(0), both),
            (timedelta(seconds=10), tagger_gone),
            (timedelta(seconds=99), tagger_gone),
            (timedelta(seconds=100), tagger_gone),
            (timedelta(seconds=110), both),
        ]
    )
    assert ["service_gone:tagger" in keys for keys in held] == [False, False, False, True, False]


def test_a_service_never_seen_is_never_missing_and_an_unanswered_registry_proves_nothing() -> None:
    state = evaluate(Observation(services=frozenset({"tagger"})), RuleState(), LIMITS, T0).state
    blind = Observation(services=frozenset(), discovered=False)
    later = evaluate(blind, state, LIMITS, T0 + timedelta(hours=1))
    assert later.holding == []
    assert "scheduler" not in later.state.services_seen


def test_a_service_gone_for_longer_than_the_forget_period_is_forgotten() -> None:
    state = evaluate(Observation(services=frozenset({"tagger"})), RuleState(), LIMITS, T0).state
    result = evaluate(Observation(), state, LIMITS, T0 + timedelta(days=8))
    assert result.holding == []
    assert "tagger" not in result.state.services_seen


def test_dead_letters_alert_on_growth_not_on_what_was_there_before() -> None:
    held = run(
        [
            (timedelta(0), Observation(dead_letters={"qun.dlq.tagger": 5})),  # first look: the baseline
            (timedelta(1), Observation(dead_letters={"qun.dlq.tagger": 5})),
            (timedelta(2), Observation(dead_letters={"qun.dlq.tagger": 7, "qun.dlq.moderator": 1})),
            (timedelta(3), Observation(dead_letters={"qun.dlq.tagger": 7, "qun.dlq.moderator": 1})),
            (timedelta(4), Observation(dead_letters={})),  # purged
            (timedelta(5), Observation(dead_letters={"qun.dlq.tagger": 1})),  # a new one after the purge
        ]
    )
    assert [alerts.DEAD_LETTERS in keys for keys in held] == [False, False, True, False, False, True]
    grown = evaluate(
        Observation(dead_letters={"qun.dlq.tagger": 7, "qun.dlq.moderator": 1}),
        RuleState(dead_letters={"qun.dlq.tagger": 5}),
        LIMITS,
        T0,
    ).once[0]
    assert grown.title_en == "3 new dead letters (moderator +1, tagger +2)"


def test_rule_state_survives_json() -> None:
    result = evaluate(
        Observation(gateways={"bot": None}, services=frozenset({"tagger"}), dead_letters={"qun.dlq.x": 1}),
        RuleState(),
        LIMITS,
        T0,
    )
    assert RuleState.from_json(result.state.to_json()) == result.state


def test_render_in_both_languages_and_marks_the_end() -> None:
    alert = alerts.logged_out("bot", "", T0)
    title, body = alerts.render(alert, "both", resolved=True)
    assert title.startswith("【已恢复】")
    assert "[resolved] WeChat account logged out" in title
    assert alert.text_zh in body
    assert alert.text_en in body
    assert alerts.render(alert, "en") == (alert.title_en, alert.text_en)
