"""One simulated member going through the measured commands, timing each from delivery to last answer."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Callable

from bench.stand import PASSWORD, TimedTelegram
from bot.devtools.fake_telegram import BotAction, BotDidNotAnswer, FakeUser, NoSuchButton

ANSWER_TIMEOUT = 120.0
RECIPIENT = "79119999999"

Final = Callable[[BotAction], bool]
# Timed answers per `Member.round`: six commands, and /stats answers twice.
SAMPLES_PER_ROUND = 7


@dataclasses.dataclass(frozen=True)
class Sample:
    command: str
    seconds: float


def _message(fragment: str) -> Final:
    return lambda action: action.kind == "message" and fragment in (action.text or "")


def _edit(fragment: str) -> Final:
    return lambda action: action.kind == "edit" and fragment in (action.text or "")


class Member:
    def __init__(self, telegram: TimedTelegram, tg_id: int, phone: str) -> None:
        self.telegram = telegram
        self.user: FakeUser = telegram.user(tg_id, f"Bench{tg_id}", language_code="en")
        self.phone = phone
        self.samples: list[Sample] = []
        self.confirms = 0
        self.unanswered: list[str] = []  # commands whose answer did not come within ANSWER_TIMEOUT
        self.random = random.Random(tg_id)  # the same pauses on every run

    async def _timed(self, command: str, update: dict[str, object], final: Final) -> BotAction | None:
        """The answer's time as a sample; an answer that never comes is counted in `unanswered` (the "all
        answered" target) and the member goes on with the next command, as a person would."""
        try:
            answer = await self.user.wait_for(final, timeout=ANSWER_TIMEOUT)
        except BotDidNotAnswer:
            self.unanswered.append(command)
            return None
        update_id = update["update_id"]
        assert isinstance(update_id, int)
        delivered = self.telegram.delivered_at[update_id]
        self.samples.append(Sample(command, answer.at - delivered))
        return answer

    async def send(self, command: str, text: str, final: Final) -> BotAction | None:
        self.user.forget()
        return await self._timed(command, await self.user.send(text), final)

    async def press(self, command: str, button: str, final: Final) -> BotAction | None:
        self.user.forget()
        try:
            update = await self.user.press(button)
        except NoSuchButton:  # the message that carries it never came: nothing is sent
            self.unanswered.append(f"{command} (not sent)")
            return None
        return await self._timed(command, update, final)

    async def login(self) -> None:
        await self.send("login: /login", "/login", _message("wallet number"))
        await self.send("login: wallet", self.phone, _message("password"))
        await self.send("login: password", PASSWORD, _message("Logged in"))

    async def round(self, think: float = 0.0) -> None:
        """The five measured commands, plus the summary that precedes Confirm. With `think`,
        the member pauses before each command (exponential, that mean in seconds), as people do."""
        await self._think(think)
        await self.send("/balance", "/balance", _message("Balance"))
        await self._think(think)
        await self.send("/history", "/history", _message("Payments"))
        await self._think(think)
        await self.press("next page", "Older ▶", _edit("(older)"))
        await self._think(think)
        # /stats answers twice: the totals, then a chart drawn from the period's history.
        self.user.forget()
        update = await self.user.send("/stats")
        await self._timed("/stats (totals text)", update, _message("Statistics"))
        await self._timed("/stats (with chart)", update, lambda action: action.kind == "photo")
        await self._think(think)
        await self.send("/transfer summary", f"/transfer {RECIPIENT} 10 bench", _message("Confirm by"))
        await self._think(think)
        name = "transfer confirm (first)" if self.confirms == 0 else "transfer confirm"
        await self.press(name, "✅ Confirm", _edit("Balance now"))
        if self.unanswered[-1:] != [f"{name} (not sent)"]:
            self.confirms += 1  # pressed: the emulator's ledger is checked against the presses

    async def _think(self, mean: float) -> None:
        if mean > 0:
            await asyncio.sleep(self.random.expovariate(1 / mean))

    async def stats(self, count: int) -> None:
        """/stats, `count` times: the totals, then the chart drawn from the period's history."""
        for _ in range(count):
            self.user.forget()
            update = await self.user.send("/stats")
            await self._timed("/stats (totals text)", update, _message("Statistics"))
            await self._timed("/stats (with chart)", update, lambda action: action.kind == "photo")

    async def balances(self, count: int) -> None:
        for _ in range(count):
            await self.send("/balance", "/balance", _message("Balance"))
