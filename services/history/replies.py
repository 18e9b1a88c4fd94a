"""What the history service says, in Chinese and English (short, phone-sized)."""

from __future__ import annotations

from services.shared import Bilingual

RECORDING_ON = Bilingual(
    zh="好的，本群的聊天记录开始保存（保留 {days} 天），用于总结、日报和没答上的问题。",
    en="OK: this room's messages are kept from now on ({days} days) for summaries, reports and unanswered questions.",
)
RECORDING_OFF = Bilingual(
    zh="好的，已停止保存本群的聊天记录，已保存的也全部删除了。",
    en="OK: this room's messages are no longer kept, and what was kept is deleted.",
)
RECORDING_STATUS_ON = Bilingual(
    zh="本群的聊天记录正在保存（保留 {days} 天，目前 {count} 条）。管理员可发「聊天记录 关」停止并删除。",
    en="This room's messages are kept ({days} days, {count} now). Admins: 'history off' stops and deletes them.",
)
RECORDING_STATUS_OFF = Bilingual(
    zh="本群没有保存聊天记录。管理员可发「聊天记录 开」开始保存。",
    en="This room's messages are not kept. Admins: 'history on' starts keeping them.",
)
SWITCH_USAGE = Bilingual(zh="用法：{keyword} 开|关", en="Usage: {keyword} on|off")

FORGOTTEN = Bilingual(
    zh="好的，已删除你在本群保存的 {count} 条消息。",
    en="Done: your {count} kept message(s) in this room are deleted.",
)
NOTHING_TO_FORGET = Bilingual(zh="本群没有保存你的消息。", en="Nothing of yours is kept in this room.")

RECORDING_IS_OFF = Bilingual(
    zh="本群没有保存聊天记录，无法总结。管理员可发「聊天记录 开」开始保存。",
    en="This room's messages are not kept, so there is nothing to summarize. Admins: 'history on'.",
)
LLM_NOT_CONFIGURED = Bilingual(
    zh="运维没有配置大模型，总结只能离线生成。",
    en="No LLM is configured by the operator: summaries are written offline.",
)
LLM_ON = Bilingual(
    zh="好的，本群的总结由大模型撰写（出错或超时则用离线总结）。聊天内容会发送给运维配置的大模型服务。",
    en="OK: this room's summaries are written by the LLM (offline if it fails or is slow). Messages are sent to the "
    "operator's LLM service.",
)
LLM_OFF = Bilingual(zh="好的，本群的总结改为离线生成。", en="OK: this room's summaries are written offline.")
LLM_STATUS = Bilingual(
    zh="本群的总结：{mode}。管理员可发「AI总结 开|关」。",
    en="This room's summaries: {mode}. Admins: 'ai summary on|off'.",
)

NO_UNANSWERED = Bilingual(zh="最近没有我答不上的问题。", en="No question went unanswered lately.")
UNANSWERED_HEAD = Bilingual(
    zh="最近我没答上的问题（引用答案 @我 标记，或发「标记 编号」）：",
    en="Questions I could not answer lately (quote an answer and @me tag, or 'tag <number>'):",
)
UNANSWERED_ITEM = Bilingual(
    zh="{n}. {question}（{count} 次，{asker}）", en="{n}. {question} ({count}x, {asker})"
)
UNANSWERED_ANSWER = Bilingual(zh="   可能的答案：{who}：{text}", en="   Likely answer: {who}: {text}")
UNANSWERED_NONE = Bilingual(zh="   还没人回答", en="   Nobody answered yet")

REPORT_ON = Bilingual(
    zh="好的，{name}每天 {at}（本群时区 {zone}）发到本群，下一次：{next}。",
    en="OK: the {name} goes out at {at} ({zone}), next: {next}.",
)
REPORT_ON_WEEKLY = Bilingual(
    zh="好的，{name}每周{day} {at}（本群时区 {zone}）发到本群，下一次：{next}。",
    en="OK: the {name} goes out on {day}s at {at} ({zone}), next: {next}.",
)
REPORT_OFF = Bilingual(zh="好的，本群不再发{name}。", en="OK: no more {name} in this room.")
REPORT_STATUS_OFF = Bilingual(
    zh="本群没有开启{name}。管理员可发「{keyword} 开 [21:00]」。",
    en="No {name} in this room. Admins: '{keyword} on [21:00]'.",
)
REPORT_STATUS_ON = Bilingual(
    zh="本群的{name}：{at}（{zone}），下一次：{next}。", en="This room's {name}: {at} ({zone}), next: {next}."
)
LEADERBOARD_ON = Bilingual(
    zh="好的，日报周报里会附上活跃榜。", en="OK: reports include the most active members."
)
LEADERBOARD_OFF = Bilingual(
    zh="好的，日报周报里不再有活跃榜。", en="OK: reports no longer list the most active members."
)


def fill(template: Bilingual, /, **values: object) -> Bilingual:
    return Bilingual(zh=template.zh.format(**values), en=template.en.format(**values))
