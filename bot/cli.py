"""`python -m bot [command]`: run the bot, or one of the operator commands.

Heavy imports (aiogram, the bot's modules) happen inside each command, so `--help` and `genkey` are quick
and a broken optional piece cannot stop the others.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot.config import SettingsError, load_settings

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger("bot")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130

DESCRIPTION = (
    "A self-hosted Telegram bot for QIWI Wallet. Without a command it runs the bot: long polling, or a "
    "webhook server when WEBHOOK_URL is set. Settings come from the environment and ./.env (see README)."
)


class CommandFailed(Exception):
    """A one-line reason the command did not do its job (exit code 1)."""


def _configure_logging(settings: Settings) -> None:
    from bot.logging_setup import setup_logging
    from bot.ops.preflight import secret_values

    setup_logging(settings.log_level, settings.log_format, extra_secrets=secret_values(settings))


# ----- commands -------------------------------------------------------------------------------------


async def _serve(settings: Settings) -> None:
    from bot.app import run_bot

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(signum, stop.set)
    await run_bot(settings, stop_event=stop, configure_logging=False, freeze_start_up=True)


def _settings() -> Settings:
    """Every configuration mistake surfaces here, before the slow imports and before anything starts."""
    from bot.ops.preflight import check_settings

    settings = load_settings()
    check_settings(settings)
    return settings


def cmd_run(_args: argparse.Namespace) -> int:
    # Start-up with the cyclic collector off: its full passes over the imports cost ~0.3 s, for ~1,800
    # objects of garbage. `run_bot` turns it back on once start-up is frozen (`bot.app._freeze`).
    gc.disable()
    settings = _settings()
    _configure_logging(settings)
    asyncio.run(_serve(settings))
    return EXIT_OK


def cmd_console(_args: argparse.Namespace) -> int:
    from bot.devtools.console import run_console

    asyncio.run(run_console(sys.stdin, sys.stdout))
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    from bot.sandbox.__main__ import main as sandbox_main

    return sandbox_main(list(args.sandbox_args))


def cmd_genkey(_args: argparse.Namespace) -> int:
    from bot.crypto import generate_key

    print(generate_key())
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    settings = _settings()
    from bot.ops.check import run_checks

    findings = asyncio.run(
        run_checks(
            settings, offline=args.offline, max_heartbeat_age=args.max_heartbeat_age, request_timeout=args.timeout
        )
    )
    width = max(len(item.name) for item in findings)
    for item in findings:
        print(f"{'ok  ' if item.ok else 'FAIL'} {item.name:<{width}}  {item.detail}")
    failed = [item.name for item in findings if not item.ok]
    print(f"NOT healthy: {', '.join(failed)}" if failed else "healthy")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    settings = _settings()
    from bot.ops.backup import BackupError, backup_database

    try:
        report = asyncio.run(backup_database(settings.database_path, args.path, overwrite=args.force))
    except (BackupError, OSError) as error:
        raise CommandFailed(f"backup failed: {error}") from None
    print(
        f"backup written to {report.path} ({report.size} bytes, schema version {report.schema_version}, "
        "integrity check ok)"
    )
    return EXIT_OK


def cmd_rotate_key(_args: argparse.Namespace) -> int:
    settings = _settings()
    if not settings.encryption_keys:
        print(
            f"ENCRYPTION_KEYS is unset, so the only key is the one in {settings.key_file} and there is "
            "nothing to rotate to. Put a new key first: ENCRYPTION_KEYS=<new>,<contents of the key file> "
            "(see README, Key rotation)."
        )
        return EXIT_OK
    from bot.ops.keys import rotate_key

    report = asyncio.run(rotate_key(settings))
    print(
        f"{report.stored} stored session(s): {report.rotated} re-encrypted now, {report.current_after} under "
        f"the first key of ENCRYPTION_KEYS, {report.unreadable} unreadable."
    )
    if report.unreadable:
        raise CommandFailed(
            f"{report.unreadable} session(s) could not be decrypted with any configured key: those members "
            "must /login again (or put the missing old key back into ENCRYPTION_KEYS and run this again)"
        )
    if report.current_after == report.stored:
        print("Every stored session now decrypts with the first key alone; older keys may be removed.")
    return EXIT_OK


# ----- parser ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=DESCRIPTION)
    parser.set_defaults(handler=cmd_run, command_name="run")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=handler, command_name=name)
        return sub

    add("run", cmd_run, "run the bot (the default when no command is given)")
    add(
        "console",
        cmd_console,
        "chat with the bot in this terminal: no Telegram, no wallet, no token (sandbox + local Bot API)",
    )
    sandbox = add(
        "sandbox",
        cmd_sandbox,
        "run the QIWI emulator alone and print the three QIWI_*_URL lines (same as python -m bot.sandbox); "
        "options after the command go to it, e.g. --port-base 8100",
    )
    sandbox.add_argument("sandbox_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    check = add(
        "check",
        cmd_check,
        "check settings, Telegram (getMe), the three QIWI URLs, the database and the keys; "
        "exit code 0 when healthy, 1 when not, 2 for a configuration error",
    )
    check.add_argument(
        "--offline", action="store_true", help="skip the network checks (settings, database and keys only)"
    )
    check.add_argument(
        "--max-heartbeat-age",
        type=float,
        metavar="SECONDS",
        help="also require the running bot's heartbeat file to be younger than this (for HEALTHCHECK)",
    )
    check.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="per request (default 10)")
    backup = add(
        "backup",
        cmd_backup,
        "copy the database while the bot runs and verify the copy (PRAGMA integrity_check)",
    )
    backup.add_argument(
        "path",
        help="backup file, or a folder (existing, or ending in /) that gets bot-YYYYMMDD-HHMMSS.sqlite3",
    )
    backup.add_argument("--force", action="store_true", help="replace an existing backup file")
    add(
        "rotate-key",
        cmd_rotate_key,
        "re-encrypt every stored session under the first key of ENCRYPTION_KEYS and report the counts",
    )
    add("genkey", cmd_genkey, "print a new random key for ENCRYPTION_KEYS")
    return parser


def _sandbox_help_passthrough(argv: list[str]) -> bool:
    # `sandbox --help` must show the emulator's own options, which live in its own parser.
    return bool(argv) and argv[0] == "sandbox"


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if _sandbox_help_passthrough(arguments):
        args = argparse.Namespace(handler=cmd_sandbox, command_name="sandbox", sandbox_args=arguments[1:])
    else:
        args = parser.parse_args(arguments)
    try:
        code: int = args.handler(args)
        return code
    except SettingsError as error:
        print(str(error), file=sys.stderr)
        return EXIT_CONFIG
    except CommandFailed as error:
        print(str(error), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        from bot.logging_setup import redact

        if args.handler is not cmd_run:
            print(f"{args.command_name} failed: {redact(f'{type(error).__name__}: {error}')}", file=sys.stderr)
            return EXIT_FAILED
        # Goes through the redacting filter, so even an unexpected traceback carries no secret.
        if not logging.getLogger().handlers:
            from bot.logging_setup import setup_logging

            setup_logging()
        log.exception("the bot stopped on an unexpected error")
        return EXIT_FAILED
