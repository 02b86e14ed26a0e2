"""A simulated person talking to the bot through `FakeTelegram`: sends text, presses buttons, waits for answers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from bot.devtools.transcript import ActionKind, BotAction, ChatLog, ChatMessage

if TYPE_CHECKING:
    from bot.devtools.fake_telegram import FakeTelegram

Match = str | Callable[[BotAction], bool] | None


class BotDidNotAnswer(AssertionError):
    """The awaited bot action never came; the message lists what the bot did do in the chat."""


class NoSuchButton(LookupError):
    pass


class FakeUser:
    """One person in one chat (their private chat with the bot, or a group)."""

    def __init__(self, telegram: FakeTelegram, person: dict[str, Any], chat: dict[str, Any]) -> None:
        self.telegram = telegram
        self.person = person
        self.chat = chat
        self._consumed: set[int] = set()

    @property
    def id(self) -> int:
        return int(self.person["id"])

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    @property
    def log(self) -> ChatLog:
        # Looking does not create the chat: the bot may only write once the person has written.
        return self.telegram.chats.get(self.chat_id) or ChatLog(chat=dict(self.chat), last_action_at=0.0)

    def in_group(self, chat_id: int, title: str | None = None, chat_type: str = "group") -> FakeUser:
        """The same person writing in a group chat."""
        chat = {"id": chat_id, "type": chat_type, "title": title or f"Group {chat_id}"}
        return FakeUser(self.telegram, self.person, chat)

    def block(self) -> None:
        """From now on the bot's messages to this person fail with 403, as after "Stop and block bot"."""
        self.telegram.blocked.add(self.id)

    def unblock(self) -> None:
        self.telegram.blocked.discard(self.id)

    # ----- acting ----------------------------------------------------------------------------------

    async def send(self, text: str) -> dict[str, Any]:
        """Sends a text message; returns the update as the bot will receive it."""
        return self.telegram.add_user_message(self.person, self.chat, text)

    async def press(self, text: str, *, message_id: int | None = None) -> dict[str, Any]:
        """Presses the inline button labelled `text` on the newest message that has it (or on `message_id`)."""
        message = self._message_with(lambda candidate: candidate.button(text) is not None, message_id)
        if message is None:
            raise NoSuchButton(f"no inline button {text!r} in chat {self.chat_id}; buttons: {self._buttons()}")
        button = message.button(text)
        assert button is not None
        if button.callback_data is None:
            raise NoSuchButton(f"button {text!r} is not a callback button (url={button.url!r})")
        return self.telegram.add_callback_query(self.person, message, button.callback_data)

    async def press_data(self, data: str, *, message_id: int | None = None) -> dict[str, Any]:
        """Sends a callback query with `data`: from the newest message having such a button, or from
        `message_id` whatever its buttons are now (a stale or forged button)."""
        if message_id is not None:
            message = self.log.messages.get(message_id)
            if message is None or not message.from_bot:
                raise NoSuchButton(f"no bot message {message_id} in chat {self.chat_id}")
        else:
            message = self._message_with(
                lambda candidate: any(button.callback_data == data for button in candidate.buttons), None
            )
            if message is None:
                raise NoSuchButton(f"no inline button with data {data!r} in chat {self.chat_id}")
        return self.telegram.add_callback_query(self.person, message, data)

    def _message_with(self, has: Callable[[ChatMessage], bool], message_id: int | None) -> ChatMessage | None:
        if message_id is not None:
            message = self.log.messages.get(message_id)
            return message if message is not None and not message.deleted and has(message) else None
        for message in sorted(self.log.messages.values(), key=lambda m: m.message_id, reverse=True):
            if message.from_bot and not message.deleted and has(message):
                return message
        return None

    def _buttons(self) -> list[str]:
        return [b.text for m in self.log.messages.values() if not m.deleted for b in m.buttons]

    # ----- observing -------------------------------------------------------------------------------

    @property
    def transcript(self) -> list[BotAction]:
        """Everything the bot did in this chat, oldest first."""
        return list(self.log.actions)

    @property
    def messages(self) -> list[ChatMessage]:
        """Every message of the chat (the person's and the bot's) as it is now, by message id."""
        return sorted(self.log.messages.values(), key=lambda message: message.message_id)

    def message(self, message_id: int) -> ChatMessage:
        return self.log.messages[message_id]

    @property
    def last_bot_message(self) -> ChatMessage | None:
        return self._message_with(lambda _: True, None)

    def bot_texts(self) -> list[str]:
        """Current texts (or captions) of the bot's messages that are not deleted, oldest first."""
        return [
            message.text or message.caption or ""
            for message in self.messages
            if message.from_bot and not message.deleted
        ]

    def forget(self) -> None:
        """Marks everything so far as seen, so that `wait_for` only looks at what comes next."""
        self._consumed.update(action.seq for action in self.log.actions)

    async def wait_for(
        self,
        match: Match = None,
        *,
        kind: ActionKind | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> BotAction:
        """The oldest bot action in this chat not yet returned by `wait_for` that matches: a substring of
        its text, a predicate, or anything; `kind` narrows it. Text matching skips chat actions."""

        def matches(action: BotAction) -> bool:
            if kind is not None and action.kind != kind:
                return False
            if match is None:
                return True
            if isinstance(match, str):
                return action.kind != "chat_action" and action.text is not None and match in action.text
            return match(action)

        found: list[BotAction] = []

        def ready() -> bool:
            for action in self.log.actions:
                if action.seq not in self._consumed and matches(action):
                    found.append(action)
                    return True
            return False

        try:
            await self.telegram.wait_until(ready, timeout, "no match")
        except TimeoutError:
            raise BotDidNotAnswer(
                f"bot did not answer {match!r} (kind={kind}) within {timeout:g} s in chat {self.chat_id}; "
                f"it did: {self._describe()}"
            ) from None
        self._consumed.add(found[0].seq)
        return found[0]

    async def wait_idle(self, idle: float = 0.3, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Waits until the bot has received everything sent here and has been quiet for `idle` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            delivered = self.telegram.delivered_up_to(self._last_update_id())
            quiet_for = now - self.log.last_action_at
            if delivered and quiet_for >= idle:
                return
            remaining = deadline - now
            if remaining <= 0:
                raise BotDidNotAnswer(
                    f"chat {self.chat_id} did not settle within {timeout:g} s "
                    f"({'bot still busy' if delivered else 'updates not fetched by the bot'})"
                )
            await self.telegram.wait_change(min(remaining, idle - quiet_for if delivered else remaining))

    def _last_update_id(self) -> int:
        return self.telegram.last_update_id(self.chat_id)

    async def stream(self, *, from_start: bool = False) -> AsyncIterator[BotAction]:
        """Every bot action in this chat as it happens, in order (independent of `wait_for`)."""
        index = 0 if from_start else len(self.log.actions)
        while True:
            actions = self.log.actions
            while index < len(actions):
                yield actions[index]
                index += 1
            await self.telegram.wait_change(3600.0)

    def _describe(self) -> str:
        recent = self.log.actions[-8:]
        if not recent:
            return "nothing"
        return "; ".join(f"{a.kind}#{a.message_id}: {(a.text or '')[:60]!r}" for a in recent)
