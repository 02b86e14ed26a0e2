"""What the fake Bot API remembers about each chat: messages as they are now, and everything the bot did."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

ActionKind = Literal["message", "edit", "delete", "callback_answer", "chat_action", "document", "photo"]


@dataclass(frozen=True)
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Button:
        data = payload.get("callback_data")
        url = payload.get("url")
        return cls(text=str(payload.get("text", "")), callback_data=data, url=url)


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    filename: str | None
    mime_type: str | None
    width: int = 0
    height: int = 0

    @property
    def text(self) -> str:
        """The content read as UTF-8 (a CSV export, say); replacement characters where it is not."""
        return self.data.decode("utf-8", errors="replace")


@dataclass
class ChatMessage:
    """A message as the chat shows it now: text after edits, current buttons, deleted or not."""

    message_id: int
    chat: dict[str, Any]
    sender: dict[str, Any]
    date: int
    from_bot: bool
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    inline_keyboard: list[list[Button]] = field(default_factory=list)
    raw_inline_keyboard: list[list[dict[str, Any]]] | None = None
    reply_keyboard: dict[str, Any] | None = None
    document: StoredFile | None = None
    photo: StoredFile | None = None
    edit_date: int | None = None
    edits: int = 0
    deleted: bool = False

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    @property
    def buttons(self) -> list[Button]:
        return [button for row in self.inline_keyboard for button in row]

    def button(self, text: str) -> Button | None:
        return next((button for button in self.buttons if button.text == text), None)

    def payload(self) -> dict[str, Any]:
        """The Bot API `Message` object for this message."""
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.text is not None:
            message["text"] = self.text
            if self.entities:
                message["entities"] = self.entities
        if self.caption is not None:
            message["caption"] = self.caption
            if self.entities:
                message["caption_entities"] = self.entities
        if self.document is not None:
            message["document"] = _document_payload(self.document)
        if self.photo is not None:
            message["photo"] = [_photo_payload(self.photo)]
        if self.raw_inline_keyboard:
            message["reply_markup"] = {"inline_keyboard": self.raw_inline_keyboard}
        return message


def _document_payload(stored: StoredFile) -> dict[str, Any]:
    document: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
    }
    if stored.filename:
        document["file_name"] = stored.filename
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    return document


def _photo_payload(stored: StoredFile) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "width": stored.width,
        "height": stored.height,
        "file_size": len(stored.data),
    }


@dataclass(frozen=True)
class BotAction:
    """One thing the bot did in a chat. `text` is what a person would read: the message text or caption,
    the callback answer's notice, the chat action's name; `None` for a deletion."""

    seq: int
    kind: ActionKind
    chat_id: int
    message_id: int | None
    text: str | None
    buttons: tuple[Button, ...] = ()
    file: StoredFile | None = None
    params: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)

    def button_texts(self) -> list[str]:
        return [button.text for button in self.buttons]


@dataclass
class ChatLog:
    chat: dict[str, Any]
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    actions: list[BotAction] = field(default_factory=list)
    last_message_id: int = 0
    last_action_at: float = field(default_factory=time.monotonic)

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id
