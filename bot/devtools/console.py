"""`python -m bot console`: the whole bot in a terminal, with the QIWI emulator and a fake Bot API.

The person at the keyboard is an admin user in a private chat. Text is sent as a message; `#1`
presses button 1 of the latest message that showed buttons; `/quit` or end of input stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TextIO

from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.fake_user import BotDidNotAnswer, FakeUser
from bot.devtools.transcript import BotAction, Button

CONSOLE_TOKEN = "100200300:ConsoleOnlyTokenNotValidAnywhere"
CONSOLE_USER_ID = 100001
# `#N`, never a bare number: amounts and comments are numbers too.
_BUTTON_NUMBER = re.compile(r"#(\d{1,3})")
# After each input the console waits until the bot has been quiet this long, so that a script (or a
# person typing ahead) presses buttons on the answer to the previous line, not on an older message.
SETTLE_SECONDS = 0.4
START_TIMEOUT = 60.0

# Runs a bot against the given fake Telegram until the event is set.
BotBackend = Callable[[FakeTelegram, asyncio.Event], Coroutine[Any, Any, None]]


async def run_console(
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    *,
    backend: BotBackend | None = None,
    user_id: int = CONSOLE_USER_ID,
    first_name: str = "Console",
    language_code: str = "en",
    database_path: Path | None = None,
    settle: float = SETTLE_SECONDS,
    configure_logging: bool = True,
) -> None:
    """Serves the console until `/quit` or end of input. `backend` replaces the real bot (tests)."""
    telegram = FakeTelegram(CONSOLE_TOKEN, bot_username="qiwi_console_bot")
    await telegram.start()
    workdir = tempfile.TemporaryDirectory(prefix="qiwi-bot-console-")
    out = _Printer(stdout)
    stop = asyncio.Event()
    if backend is None:
        backend = _sandboxed_bot(
            out,
            Path(workdir.name),
            database_path=database_path,
            admin_id=user_id,
            configure_logging=configure_logging,
        )
    bot_task = asyncio.create_task(backend(telegram, stop), name="console-bot")
    bot_task.add_done_callback(lambda _: telegram.wake())
    user = telegram.user(user_id, first_name, language_code=language_code)
    screen = _Screen(out, user)
    printer = asyncio.create_task(screen.follow(), name="console-printer")
    try:
        if await _started(telegram, bot_task, out):
            out.line(
                f"Console: you are user {user_id} ({first_name}, admin, language {language_code}). Type a "
                "message; #N presses button N of the latest buttons; /quit leaves."
            )
            await _conversation(stdin, out, user, screen, bot_task, settle)
    finally:
        stop.set()
        await _finish(bot_task, out)
        await _settle_printer(printer)
        screen.flush()
        await telegram.stop()
        workdir.cleanup()
        out.line("Bye.")


def _sandboxed_bot(
    out: _Printer,
    workdir: Path,
    *,
    database_path: Path | None,
    admin_id: int,
    configure_logging: bool,
) -> BotBackend:
    async def serve(telegram: FakeTelegram, stop: asyncio.Event) -> None:
        from bot.app import run_bot
        from bot.config import load_settings
        from bot.crypto import generate_key
        from bot.sandbox import DEMO_WALLETS, EmulatorServer

        async with EmulatorServer() as qiwi:
            settings = load_settings(
                _env_file=None,
                BOT_TOKEN=telegram.token,
                TELEGRAM_API_URL=telegram.base_url,
                QIWI_AUTH_URL=qiwi.auth_url,
                QIWI_WEB_URL=qiwi.web_url,
                QIWI_EDGE_URL=qiwi.edge_url,
                QIWI_SANDBOX=False,
                WEBHOOK_URL=None,
                DATABASE_PATH=str(database_path or workdir / "console.sqlite3"),
                # The emulator forgets every session when the console ends, so a throwaway key will do.
                ENCRYPTION_KEYS=generate_key(),
                KEY_FILE=str(workdir / "secret.key"),
                ADMIN_IDS=str(admin_id),
                LOG_LEVEL="WARNING",
            )
            out.line(f"QIWI emulator: {qiwi.auth_url} {qiwi.web_url} {qiwi.edge_url}")
            for demo in DEMO_WALLETS:
                out.line(f"  demo wallet {demo.phone} / {demo.password}: {demo.description}")
            await run_bot(
                settings,
                stop_event=stop,
                clock=qiwi.emulator.clock.now,
                configure_logging=configure_logging,
                log_stream=out.stream,
                demo_wallets=DEMO_WALLETS,
            )

    return serve


async def _started(telegram: FakeTelegram, bot_task: asyncio.Task[None], out: _Printer) -> bool:
    out.line("Starting the bot...")
    try:
        await telegram.wait_until(
            lambda: telegram.get_updates_calls > 0 or bot_task.done(), START_TIMEOUT, "the bot did not start"
        )
    except TimeoutError as problem:
        out.line(f"The bot did not start: {problem}.")
        return False
    return not bot_task.done()


async def _conversation(
    stdin: TextIO,
    out: _Printer,
    user: FakeUser,
    screen: _Screen,
    bot_task: asyncio.Task[None],
    settle: float,
) -> None:
    lines = _read_lines(stdin)
    echo = not _is_tty(stdin)
    while True:
        line = await lines.get()
        if line is None or bot_task.done():
            return
        text = line.strip()
        if not text:
            continue
        if echo:
            out.line(f"you> {text}")
        if text == "/quit":
            return
        number = _BUTTON_NUMBER.fullmatch(text)
        if number:
            await screen.press(int(number.group(1)))
        else:
            await user.send(text)
        try:
            await user.wait_idle(idle=settle, timeout=30.0)
        except BotDidNotAnswer:
            out.line("(the bot is still busy; its answers will appear as they come)")


def _read_lines(stdin: TextIO) -> asyncio.Queue[str | None]:
    """Lines from a blocking stream, read on a daemon thread so that a pending read never blocks exit."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        while True:
            line = stdin.readline()
            try:
                loop.call_soon_threadsafe(queue.put_nowait, line or None)
            except RuntimeError:  # the loop is gone: the console has ended
                return
            if not line:
                return

    threading.Thread(target=pump, name="console-stdin", daemon=True).start()
    return queue


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


async def _finish(bot_task: asyncio.Task[None], out: _Printer) -> None:
    try:
        await asyncio.wait_for(asyncio.shield(bot_task), 30.0)
    except TimeoutError:
        bot_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await bot_task
        out.line("(the bot did not stop within 30 s and was cancelled)")
    except Exception as error:
        out.line(f"The bot stopped with an error: {error}")


async def _settle_printer(printer: asyncio.Task[None]) -> None:
    await asyncio.sleep(0)
    printer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await printer


class _Printer:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


class _Screen:
    """Prints the bot's actions in the console chat and remembers which buttons the numbers refer to."""

    def __init__(self, out: _Printer, user: FakeUser) -> None:
        self.out = out
        self.user = user
        self.numbered_message: int | None = None
        self.files_dir: Path | None = None
        self.printed = 0

    async def follow(self) -> None:
        while True:
            self.flush()
            await self.user.telegram.wait_change(3600.0)

    def flush(self) -> None:
        """Prints whatever the bot did that is not on the screen yet."""
        actions = self.user.log.actions
        while self.printed < len(actions):
            self.show(actions[self.printed])
            self.printed += 1

    def show(self, action: BotAction) -> None:
        if action.kind == "message":
            self._text(f"bot #{action.message_id}: ", action.text or "")
            self._buttons(action)
        elif action.kind == "edit":
            self._text(f"bot #{action.message_id} (edited): ", action.text or "")
            self._buttons(action)
        elif action.kind == "delete":
            message = self.user.log.messages.get(action.message_id or 0)
            whose = "your message" if message is not None and not message.from_bot else "message"
            self.out.line(f"(bot deleted {whose} #{action.message_id})")
        elif action.kind == "callback_answer":
            if action.text:
                alert = str(action.params.get("show_alert", "")).lower() == "true"
                self.out.line(f"({'alert' if alert else 'notice'}) {action.text}")
        elif action.kind in ("document", "photo") and action.file is not None:
            path = self._save(action)
            self.out.line(
                f"bot #{action.message_id} sent a {action.kind} ({len(action.file.data)} bytes), saved to {path}"
            )
            if action.text:
                self._text("    caption: ", action.text)
            self._buttons(action)

    def _text(self, prefix: str, text: str) -> None:
        indent = " " * len(prefix)
        lines = text.splitlines() or [""]
        self.out.line(prefix + lines[0])
        for line in lines[1:]:
            self.out.line(indent + line if line else "")

    def _buttons(self, action: BotAction) -> None:
        if not action.buttons:
            if action.message_id == self.numbered_message:
                self.numbered_message = None
            return
        self.numbered_message = action.message_id
        labels = [f"[{number}] {button.text}" for number, button in enumerate(action.buttons, start=1)]
        self.out.line("    " + "  ".join(labels))

    def _save(self, action: BotAction) -> Path:
        assert action.file is not None
        if self.files_dir is None:
            self.files_dir = Path(tempfile.mkdtemp(prefix="qiwi-bot-console-files-"))
        name = Path(action.file.filename or f"{action.kind}-{action.message_id}").name
        path = self.files_dir / name
        path.write_bytes(action.file.data)
        return path

    def _target_buttons(self) -> tuple[int, list[Button]] | None:
        messages = self.user.log.messages
        current = messages.get(self.numbered_message or 0)
        if current is not None and not current.deleted and current.buttons:
            return current.message_id, current.buttons
        for message in sorted(messages.values(), key=lambda m: m.message_id, reverse=True):
            if message.from_bot and not message.deleted and message.buttons:
                return message.message_id, message.buttons
        return None

    async def press(self, number: int) -> None:
        target = self._target_buttons()
        if target is None:
            self.out.line("(no message with buttons to press)")
            return
        message_id, buttons = target
        if not 1 <= number <= len(buttons):
            self.out.line(f"(message #{message_id} has buttons 1-{len(buttons)})")
            return
        button = buttons[number - 1]
        if button.callback_data is None:
            self.out.line(f"(button {number} opens {button.url}; nothing to press here)")
            return
        self.out.line(f"(you pressed [{number}] {button.text})")
        await self.user.press_data(button.callback_data, message_id=message_id)
