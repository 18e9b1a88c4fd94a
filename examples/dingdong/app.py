"""The smallest complete qunbus service: answers `ding` with `dong`. Copy it to start a new one."""

from schemas import ChatCommand, MessageReceived
from services.shared import Context, QunService, QunSettings

service: QunService[QunSettings, None] = QunService(
    "dingdong",
    version="1.0.0",
    settings=QunSettings,
    summary_zh="回答 ding",
    summary_en="answers ding",
    internal=True,
)


@service.command(
    ChatCommand(
        name="ding", keywords_en=["ding"], usage_zh="ding — 我回答 dong", usage_en="ding — I answer dong"
    )
)
async def ding(event: MessageReceived, ctx: Context[QunSettings, None], args: str) -> None:
    await ctx.reply("dong")


if __name__ == "__main__":
    service.run()
