"""A fake Telegram Bot API server on loopback for tests, the benchmark and `python -m bot console`.

It answers `{base}/bot{token}/{method}` with the real API's shapes and errors (401 for a wrong token, 404 for
an unknown method, 400 with Telegram's wording for the mistakes bots commonly make), delivers updates by real
long polling, and keeps a per-chat transcript of everything the bot did. People are simulated with
`FakeTelegram.user(...)`, see `bot/devtools/fake_user.py`.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.devtools.bot_api_request import ApiRequest, BadParameter, UploadedFile, read_request
from bot.devtools.fake_user import BotDidNotAnswer, FakeUser, NoSuchButton
from bot.devtools.html_entities import utf16_len
from bot.devtools.message_content import MAX_CAPTION, MAX_TEXT, formatted, keyboard, png_size
from bot.devtools.telegram_faults import FaultPlan
from bot.devtools.transcript import ActionKind, BotAction, Button, ChatLog, ChatMessage, StoredFile

__all__ = [
    "DEFAULT_TOKEN",
    "BotAction",
    "BotDidNotAnswer",
    "Button",
    "ChatMessage",
    "FakeTelegram",
    "FakeUser",
    "FaultPlan",
    "NoSuchButton",
    "StoredFile",
]

DEFAULT_TOKEN = "123456789:AAFakeTelegramTokenForLocalTests_0123"
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_LEADING_COMMAND = re.compile(r"^/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
# Methods a bot may call at start-up that need no behaviour here beyond a truthful "ok".
_ACCEPTED_ONLY = frozenset(
    {
        "close",
        "logout",
        "setmydescription",
        "setmyshortdescription",
        "setmyname",
        "setchatmenubutton",
        "setmydefaultadministratorrights",
    }
)


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass
class CallbackQueryState:
    query_id: str
    chat_id: int
    message_id: int
    user_id: int
    data: str
    answered: bool = False
    answer: dict[str, Any] = field(default_factory=dict)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


Handler = Callable[[ApiRequest], Awaitable[Any]]


class FakeTelegram:
    """The server plus the world around the bot: users, chats, pending updates and the transcript."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "qiwi_family_test_bot",
        bot_first_name: str = "QIWI Family",
    ) -> None:
        self.token = token
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.faults = FaultPlan()
        self.requests: list[ApiRequest] = []
        self.chats: dict[int, ChatLog] = {}
        self.files: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, CallbackQueryState] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook_url: str = ""
        self.blocked: set[int] = set()
        self.get_updates_calls = 0
        self.delivered: list[dict[str, Any]] = []
        self._pending: list[dict[str, Any]] = []
        self._allowed_updates: list[str] = []
        self._last_update_id = 0
        self._last_delivered_id = 0
        self._delivered_ids: set[int] = set()
        self._last_update_by_chat: dict[int, int] = {}
        self._poll_generation = 0
        self._action_seq = 0
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._methods: dict[str, Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "editmessagecaption": self._edit_message_caption,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._send_chat_action,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
        }

    # ----- lifecycle -------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Starts serving and returns the base URL to put into `TELEGRAM_API_URL`."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        # Long polls are woken on stop, so a short grace period is enough.
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = _bound_port(site)
        self._base_url = f"http://{host}:{bound_port}"
        return self._base_url

    async def stop(self) -> None:
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._base_url

    @property
    def bot_id(self) -> int:
        return int(self.bot_user["id"])

    # ----- the user side ----------------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        chat_type: str = "private",
        chat_id: int | None = None,
        title: str | None = None,
    ) -> FakeUser:
        """A person; with `chat_type="group"`/`"supergroup"` the person speaking in that group chat."""
        person: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            person["last_name"] = last_name
        if username:
            person["username"] = username
        if language_code:
            person["language_code"] = language_code
        if chat_type == "private":
            chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
            if last_name:
                chat["last_name"] = last_name
            if username:
                chat["username"] = username
        else:
            if chat_id is None:
                raise ValueError("a group chat needs chat_id (negative)")
            chat = {"id": chat_id, "type": chat_type, "title": title or f"Group {chat_id}"}
        return FakeUser(self, person, chat)

    def chat_log(self, chat: dict[str, Any]) -> ChatLog:
        chat_id = int(chat["id"])
        log = self.chats.get(chat_id)
        if log is None:
            log = self.chats[chat_id] = ChatLog(chat=dict(chat))
        return log

    def enqueue(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Adds an update of `kind` ("message", "callback_query", ...) and wakes a waiting getUpdates."""
        self._last_update_id += 1
        update = {"update_id": self._last_update_id, kind: payload}
        chat = payload.get("chat") or (payload.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            self._last_update_by_chat[int(chat["id"])] = self._last_update_id
        self._pending.append(update)
        self._notify()
        return update

    def add_user_message(self, person: dict[str, Any], chat: dict[str, Any], text: str) -> dict[str, Any]:
        log = self.chat_log(chat)
        message = ChatMessage(
            message_id=log.next_message_id(),
            chat=log.chat,
            sender=person,
            date=int(time.time()),
            from_bot=False,
            text=text,
        )
        command = _LEADING_COMMAND.match(text)
        if command:
            message.entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}]
        log.messages[message.message_id] = message
        log.last_action_at = time.monotonic()
        return self.enqueue("message", message.payload())

    def add_callback_query(self, person: dict[str, Any], message: ChatMessage, data: str) -> dict[str, Any]:
        query_id = str(secrets.randbits(62))
        self.callback_queries[query_id] = CallbackQueryState(
            query_id, message.chat_id, message.message_id, int(person["id"]), data
        )
        self.chats[message.chat_id].last_action_at = time.monotonic()
        payload = {
            "id": query_id,
            "from": person,
            "message": message.payload(),
            "chat_instance": f"ci{abs(message.chat_id)}",
            "data": data,
        }
        return self.enqueue("callback_query", payload)

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return list(self._pending)

    def delivered_up_to(self, update_id: int) -> bool:
        return self._last_delivered_id >= update_id

    def last_update_id(self, chat_id: int) -> int:
        """The id of the newest update from that chat (0 if none)."""
        return self._last_update_by_chat.get(chat_id, 0)

    def unanswered_callback_queries(self) -> list[CallbackQueryState]:
        """Button presses the bot never answered (the user's button would keep spinning)."""
        return [query for query in self.callback_queries.values() if not query.answered]

    def calls(self, method: str) -> list[ApiRequest]:
        """Every request the bot made to `method` (any case), in order, including failed ones."""
        wanted = method.lower()
        return [request for request in self.requests if request.method.lower() == wanted]

    def commands_for(self, language_code: str = "", scope: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return list(self.commands.get((_canonical(scope or {"type": "default"}), language_code), []))

    async def wait_polling(self, timeout: float = 10.0, *, calls: int = 1) -> None:  # noqa: ASYNC109
        """Waits until the bot has called getUpdates at least `calls` times in total."""
        await self.wait_until(lambda: self.get_updates_calls >= calls, timeout, "the bot never polled")

    async def wait_until(self, condition: Callable[[], bool], within: float, what: str) -> None:
        """Waits until `condition()` holds, re-checking after every change and at least every 0.1 s (a condition
        may watch something outside this server, such as the QIWI emulator's ledger); `TimeoutError` after
        `within` s."""
        deadline = time.monotonic() + within
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{what} within {within:g} s")
            await self.wait_change(min(remaining, 0.1))

    async def wait_change(self, at_most: float) -> None:
        """Sleeps until anything changes (an update, a bot action, a poll) or `at_most` seconds pass."""
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), at_most)
        except TimeoutError:
            pass

    def wake(self) -> None:
        """Wakes every waiter so it re-checks its condition (for conditions on things outside the server)."""
        self._notify()

    def _notify(self) -> None:
        # A fresh event per change: waiters grab the current one before sleeping, so none is missed.
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    # ----- HTTP ------------------------------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.Response:
        return _error(404, "Not Found")

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"].lower()
        handler = self._methods.get(method)
        if handler is None and method not in _ACCEPTED_ONLY:
            return _error(404, "Not Found")
        try:
            api = await read_request(request, request.match_info["method"])
        except BadParameter as problem:
            return _error(400, str(problem))
        self.requests.append(api)
        if self.faults.latency > 0:
            await asyncio.sleep(self.faults.latency)
        fault = self.faults.take(method)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status == 429:
                return _error(
                    429,
                    f"Too Many Requests: retry after {fault.retry_after}",
                    {"retry_after": fault.retry_after},
                )
            if fault.status >= 400:
                return _error(fault.status, _STATUS_TEXT.get(fault.status, "Internal Server Error"))
        try:
            result = True if handler is None else await handler(api)
        except BadParameter as problem:
            return _error(400, str(problem))
        except ApiError as problem:
            return _error(problem.status, problem.description, problem.parameters)
        return web.json_response({"ok": True, "result": result})

    # ----- methods ---------------------------------------------------------------------------------

    async def _get_me(self, api: ApiRequest) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, api: ApiRequest) -> Any:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                "the webhook first",
            )
        self.get_updates_calls += 1
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()
        offset = api.get_int("offset", 0) or 0
        limit = max(1, min(100, api.get_int("limit", 100) or 100))
        timeout = max(0, api.get_int("timeout", 0) or 0)
        allowed = api.params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]
        if offset > 0:
            self._pending = [update for update in self._pending if update["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            if self._allowed_updates:
                self._pending = [update for update in self._pending if self._is_allowed(update)]
            ready = self._pending[:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closing:
                break
            await self.wait_change(remaining)
        if ready:
            self._last_delivered_id = max(self._last_delivered_id, ready[-1]["update_id"])
            for update in ready:
                if update["update_id"] not in self._delivered_ids:
                    self._delivered_ids.add(update["update_id"])
                    self.delivered.append(update)
            self._notify()
        return ready

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        kind = next(key for key in update if key != "update_id")
        return kind in self._allowed_updates

    async def _send_message(self, api: ApiRequest) -> Any:
        log = self._chat_for_bot(api)
        text, entities = formatted(api.get_str("text") or "", api.get_str("parse_mode"), api.params.get("entities"))
        if not text.strip():
            raise BadParameter("Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise BadParameter("Bad Request: message is too long")
        message = self._bot_message(log, api)
        message.text, message.entities = text, entities
        return self._store_sent(log, message, "message", text, api)

    async def _send_document(self, api: ApiRequest) -> Any:
        return await self._send_file(api, "document")

    async def _send_photo(self, api: ApiRequest) -> Any:
        return await self._send_file(api, "photo")

    async def _send_file(self, api: ApiRequest, kind: ActionKind) -> Any:
        log = self._chat_for_bot(api)
        stored = self._store_file(api.file(kind), kind, api.get_str("filename"))
        caption: str | None = None
        entities: list[dict[str, Any]] = []
        if api.get_str("caption"):
            caption, entities = formatted(
                api.get_str("caption") or "", api.get_str("parse_mode"), api.params.get("caption_entities")
            )
            if utf16_len(caption) > MAX_CAPTION:
                raise BadParameter("Bad Request: message caption is too long")
        message = self._bot_message(log, api)
        message.caption, message.entities = caption, entities
        if kind == "document":
            message.document = stored
        else:
            message.photo = stored
        return self._store_sent(log, message, kind, caption, api, stored)

    async def _edit_message_text(self, api: ApiRequest) -> Any:
        log, message = self._editable(api)
        if message.text is None:
            raise BadParameter("Bad Request: there is no text in the message to edit")
        text, entities = formatted(api.get_str("text") or "", api.get_str("parse_mode"), api.params.get("entities"))
        if not text.strip():
            raise BadParameter("Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise BadParameter("Bad Request: message is too long")
        raw, rows, _ = keyboard(api.params.get("reply_markup"))
        if (text, entities, raw) == (message.text, message.entities, message.raw_inline_keyboard):
            raise BadParameter(_NOT_MODIFIED)
        message.text, message.entities = text, entities
        message.raw_inline_keyboard, message.inline_keyboard = raw, rows
        return self._store_edit(log, message, api)

    async def _edit_message_caption(self, api: ApiRequest) -> Any:
        log, message = self._editable(api)
        if message.document is None and message.photo is None:
            raise BadParameter("Bad Request: there is no caption in the message to edit")
        caption, entities = formatted(
            api.get_str("caption") or "", api.get_str("parse_mode"), api.params.get("caption_entities")
        )
        raw, rows, _ = keyboard(api.params.get("reply_markup"))
        if (caption, entities, raw) == (message.caption or "", message.entities, message.raw_inline_keyboard):
            raise BadParameter(_NOT_MODIFIED)
        message.caption, message.entities = caption or None, entities
        message.raw_inline_keyboard, message.inline_keyboard = raw, rows
        return self._store_edit(log, message, api)

    async def _edit_message_reply_markup(self, api: ApiRequest) -> Any:
        log, message = self._editable(api)
        raw, rows, _ = keyboard(api.params.get("reply_markup"))
        if raw == message.raw_inline_keyboard:
            raise BadParameter(_NOT_MODIFIED)
        message.raw_inline_keyboard, message.inline_keyboard = raw, rows
        return self._store_edit(log, message, api)

    async def _delete_message(self, api: ApiRequest) -> Any:
        log = self._chat_for_bot(api)
        message = log.messages.get(api.get_int("message_id") or 0)
        if message is None or message.deleted:
            raise BadParameter("Bad Request: message to delete not found")
        if not message.from_bot and log.chat["type"] != "private":
            raise BadParameter("Bad Request: message can't be deleted")
        self._delete(log, message, api)
        return True

    async def _delete_messages(self, api: ApiRequest) -> Any:
        log = self._chat_for_bot(api)
        ids = api.params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise BadParameter("Bad Request: message_ids must be a list of 1-100 identifiers")
        for message_id in ids:
            message = log.messages.get(int(message_id))
            if message is not None and not message.deleted:
                self._delete(log, message, api)
        return True

    async def _answer_callback_query(self, api: ApiRequest) -> Any:
        query = self.callback_queries.get(api.get_str("callback_query_id") or "")
        if query is None or query.answered:
            raise BadParameter(_QUERY_INVALID)
        query.answered = True
        query.answer = dict(api.params)
        self._record(self.chats[query.chat_id], "callback_answer", query.message_id, api.get_str("text"), api)
        return True

    async def _send_chat_action(self, api: ApiRequest) -> Any:
        log = self._chat_for_bot(api)
        action = api.get_str("action")
        if not action:
            raise BadParameter("Bad Request: wrong parameter action in request")
        self._record(log, "chat_action", None, action, api)
        return True

    async def _set_my_commands(self, api: ApiRequest) -> Any:
        commands = api.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise BadParameter("Bad Request: commands must be a list of at most 100 commands")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND.match(str(command.get("command", ""))):
                raise BadParameter("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise BadParameter("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(api)] = [
            {"command": command["command"], "description": command["description"]} for command in commands
        ]
        return True

    async def _get_my_commands(self, api: ApiRequest) -> Any:
        return self.commands.get(self._commands_key(api), [])

    async def _delete_my_commands(self, api: ApiRequest) -> Any:
        self.commands.pop(self._commands_key(api), None)
        return True

    def _commands_key(self, api: ApiRequest) -> tuple[str, str]:
        scope = api.params.get("scope") or {"type": "default"}
        return _canonical(scope), api.get_str("language_code") or ""

    async def _set_webhook(self, api: ApiRequest) -> Any:
        url = api.get_str("url") or ""
        if url and not url.startswith("https://"):
            raise BadParameter("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        if api.get_bool("drop_pending_updates"):
            self._pending.clear()
        self._poll_generation += 1
        self._notify()
        return True

    async def _delete_webhook(self, api: ApiRequest) -> Any:
        self.webhook_url = ""
        if api.get_bool("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _get_webhook_info(self, api: ApiRequest) -> Any:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    # ----- helpers ---------------------------------------------------------------------------------

    def _chat_for_bot(self, api: ApiRequest) -> ChatLog:
        chat_id = api.chat_id()
        log = self.chats.get(chat_id)
        if log is None:
            raise BadParameter("Bad Request: chat not found")
        if log.chat["type"] == "private" and chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return log

    def _editable(self, api: ApiRequest) -> tuple[ChatLog, ChatMessage]:
        if api.params.get("inline_message_id"):
            raise BadParameter("Bad Request: inline messages are not supported by the fake server")
        log = self._chat_for_bot(api)
        message = log.messages.get(api.get_int("message_id") or 0)
        if message is None or message.deleted:
            raise BadParameter("Bad Request: message to edit not found")
        if not message.from_bot:
            raise BadParameter("Bad Request: message can't be edited")
        return log, message

    def _bot_message(self, log: ChatLog, api: ApiRequest) -> ChatMessage:
        raw, rows, reply = keyboard(api.params.get("reply_markup"))
        return ChatMessage(
            message_id=log.next_message_id(),
            chat=log.chat,
            sender=self.bot_user,
            date=int(time.time()),
            from_bot=True,
            raw_inline_keyboard=raw,
            inline_keyboard=rows,
            reply_keyboard=reply,
        )

    def _store_sent(
        self,
        log: ChatLog,
        message: ChatMessage,
        kind: ActionKind,
        text: str | None,
        api: ApiRequest,
        stored: StoredFile | None = None,
    ) -> dict[str, Any]:
        log.messages[message.message_id] = message
        self._record(log, kind, message.message_id, text, api, message.buttons, stored)
        return message.payload()

    def _store_edit(self, log: ChatLog, message: ChatMessage, api: ApiRequest) -> dict[str, Any]:
        message.edit_date = int(time.time())
        message.edits += 1
        self._record(log, "edit", message.message_id, message.text or message.caption, api, message.buttons)
        return message.payload()

    def _delete(self, log: ChatLog, message: ChatMessage, api: ApiRequest) -> None:
        message.deleted = True
        self._record(log, "delete", message.message_id, None, api)

    def _record(
        self,
        log: ChatLog,
        kind: ActionKind,
        message_id: int | None,
        text: str | None,
        api: ApiRequest,
        buttons: list[Button] | None = None,
        stored: StoredFile | None = None,
    ) -> None:
        self._action_seq += 1
        log.actions.append(
            BotAction(
                seq=self._action_seq,
                kind=kind,
                chat_id=int(log.chat["id"]),
                message_id=message_id,
                text=text,
                buttons=tuple(buttons or ()),
                file=stored,
                params=dict(api.params),
            )
        )
        log.last_action_at = time.monotonic()
        self._notify()

    def _store_file(self, source: UploadedFile | str | None, kind: str, filename: str | None) -> StoredFile:
        if source is None or source == "":
            raise BadParameter(f"Bad Request: there is no {kind} in the request")
        if isinstance(source, str):
            known = self.files.get(source)
            if known is not None:
                return known
            if not source.startswith(("http://", "https://")):
                raise BadParameter("Bad Request: wrong file identifier/HTTP URL specified")
            data, name = b"", source.rsplit("/", 1)[-1]
        else:
            data, name = source.data, filename or source.filename or ""
        mime: str | None = None
        if name:
            mime = mimetypes.guess_type(name)[0]
        width, height = png_size(data) if kind == "photo" else (0, 0)
        stored = StoredFile(
            file_id=("BQAC" if kind == "document" else "AgAC") + secrets.token_urlsafe(24),
            file_unique_id="AgAD" + secrets.token_urlsafe(8),
            data=data,
            filename=name if kind == "document" else None,
            mime_type=(mime or "application/octet-stream") if kind == "document" else None,
            width=width,
            height=height,
        )
        self.files[stored.file_id] = stored
        return stored


_STATUS_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def _bound_port(site: web.TCPSite) -> int:
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    return int(sockets[0].getsockname()[1])


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)
