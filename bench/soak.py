"""`python -m bench.soak`: transfers under QIWI faults and a `kill -9`, checked against the emulator's ledger.

The bot runs as a process (`python -m bot`) against the fake Bot API and the QIWI emulator, both on loopback
in this process (as `python -m bench` does). N members log in through the dialog; then, for T seconds, each
does `/transfer <phone> <amount>` and presses Confirm in a loop, while a seeded random mix makes ~15 % of
all QIWI calls fail (500, connection reset, 423, payment executed but its answer lost). Halfway the bot is
killed with SIGKILL and started again over the same database. After the load, a grace period lets the
outcomes still open arrive.

Printed: time from the Confirm press to the message or edit that states the final outcome (p50 / p95 /
max), how many confirmed transfers had no final outcome when the load ended and after the grace period,
and the violations, judged from the emulator's ledger and request log, the bot's database and every
message the fake Telegram recorded:

- a second client id for one transfer (one summary) that could have moved money;
- "failed" (or "nothing was sent") told for a transfer whose money moved;
- a payment in the ledger whose user was never told it went through;
- a transfer paid twice.

The exit code is 1 when there is any violation. Not part of the test suite; loopback only; every wait is
bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.crypto import generate_key
from bot.devtools.fake_telegram import BotAction, FakeTelegram, FakeUser
from bot.sandbox import Emulator, EmulatorServer
from bot.sandbox.faults import AFTER_COMMIT, DEFAULT_MIX, KINDS, parse_mix_kind
from bot.storage import Database
from tests.e2e.harness import BotProcess, bot_env

ADMIN_ID = 1  # someone must be admin, or the bot starts in setup mode; the admin never writes
FIRST_MEMBER = 200_000
PASSWORD = "soak-password"
RECIPIENT = "79119999999"
STARTUP_TIMEOUT = 120.0
STEP_TIMEOUT = 30.0  # one answer of the bot to one command (the summary, the login steps)
PRESS_AGAIN_AFTER = 15.0  # no "Sending…" and no outcome this long after Confirm: the press was lost; again
TARGET_SECONDS = 10.0

SENT = "✅ Sent"
FAILED = "❌"
NOT_SENT = "nothing was sent"  # "QIWI could not be reached, nothing was sent. Press Confirm again ..."
CONFIRM = "✅ Confirm"


def money_text(amount: Decimal) -> str:
    return f"RUB {amount:,.2f}"


def final_kind(text: str | None) -> str | None:
    """What a bot text says about a transfer: accepted / failed / not_sent, or None while it is open."""
    if not text:
        return None
    if SENT in text:
        return "accepted"
    if FAILED in text:
        return "failed"
    if NOT_SENT in text:
        return "not_sent"
    return None


@dataclasses.dataclass
class Attempt:
    """One summary confirmed by one member."""

    member: int
    amount: Decimal
    message_id: int
    pressed_at: float
    outcome: str | None = None
    outcome_at: float | None = None
    presses: int = 1

    @property
    def seconds(self) -> float | None:
        return None if self.outcome_at is None else self.outcome_at - self.pressed_at


class Soak:
    def __init__(self, args: argparse.Namespace, data_dir: Path) -> None:
        self.args = args
        self.data_dir = data_dir
        self.telegram = FakeTelegram()
        self.emulator = Emulator()
        self.server = EmulatorServer(self.emulator)
        self.key = generate_key()
        self.process: BotProcess | None = None
        self.attempts: list[Attempt] = []
        self.random = random.Random(args.seed)
        self.kill_at: float | None = None
        self.restart_seconds: float | None = None
        self.load_end = 0.0

    # -- the stand ---------------------------------------------------------------------------------------

    async def __aenter__(self) -> Soak:
        await self.telegram.start()
        await self.server.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.running:
            await self.process.kill()
        await self.server.stop()
        await self.telegram.stop()

    def env(self) -> dict[str, str]:
        extra = {"LOG_LEVEL": "INFO", "ENCRYPTION_KEYS": self.key, "QIWI_TIMEOUT": str(self.args.qiwi_timeout)}
        return bot_env(self.telegram, self.server, self.data_dir, admin_ids=[ADMIN_ID], **extra)

    async def start_bot(self) -> float:
        started = time.monotonic()
        self.process = BotProcess(self.env(), self.data_dir, telegram=self.telegram, log_path=self.data_dir / "bot.log")
        await self.process.start()
        await self.process.wait_ready(STARTUP_TIMEOUT)
        return time.monotonic() - started

    async def store_members(self, count: int) -> list[int]:
        """Member rows written before the bot starts, as invites would have made them."""
        now = self.emulator.clock.now()
        ids = []
        async with await Database.open(self.data_dir / "bot.sqlite3") as db:
            for offset in range(count):
                tg_id = FIRST_MEMBER + offset
                await db.users.ensure(tg_id, "member", now=now)
                await db.users.set_language(tg_id, "en")
                ids.append(tg_id)
        return ids

    # -- members -----------------------------------------------------------------------------------------

    async def login(self, user: FakeUser, phone: str) -> None:
        for step, expect in (("/login", "wallet number"), (phone, "password"), (PASSWORD, "Logged in")):
            user.forget()
            await user.send(step)
            await user.wait_for(expect, kind="message", timeout=STEP_TIMEOUT)

    async def member(self, index: int, user: FakeUser) -> None:
        count = 0
        while time.monotonic() < self.load_end:
            await asyncio.sleep(self.random.expovariate(1 / self.args.think) if self.args.think > 0 else 0)
            if time.monotonic() >= self.load_end:
                return
            count += 1
            # Unique per member and round, so that a background "Update on your transfer of RUB x" names it.
            amount = Decimal(count * 1000 + index + 1) / 100
            user.forget()
            await user.send(f"/transfer {RECIPIENT} {amount} soak")
            try:
                summary = await user.wait_for(
                    lambda action, amount=amount: (
                        action.kind == "message"
                        and "Confirm by" in (action.text or "")
                        and money_text(amount) in (action.text or "")
                    ),
                    timeout=STEP_TIMEOUT + (self.restart_seconds or self.args.restart_allowance),
                )
            except AssertionError:
                continue  # the /transfer was lost in the kill: the next round sends another
            assert summary.message_id is not None
            attempt = Attempt(index, amount, summary.message_id, time.monotonic())
            self.attempts.append(attempt)
            await user.press(CONFIRM, message_id=summary.message_id)
            await self.wait_outcome(user, attempt)

    async def wait_outcome(self, user: FakeUser, attempt: Attempt) -> None:
        """Until the edit of the summary, or a message about it, states the final outcome."""
        deadline = self.load_end + self.args.grace

        def final(action: BotAction) -> bool:
            if action.kind == "edit" and action.message_id == attempt.message_id:
                return final_kind(action.text) is not None
            if action.kind == "message" and f"Update on your transfer of {money_text(attempt.amount)}" in (
                action.text or ""
            ):
                return final_kind(action.text) is not None
            return False

        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                found = await user.wait_for(final, timeout=min(remaining, PRESS_AGAIN_AFTER))
            except AssertionError:
                message = user.log.messages.get(attempt.message_id)
                if message is not None and message.button(CONFIRM) is not None:
                    # Still confirmable and nothing happened: that press died with the bot. Press again.
                    attempt.presses += 1
                    await user.press(CONFIRM, message_id=attempt.message_id)
                continue
            attempt.outcome = final_kind(found.text)
            attempt.outcome_at = found.at
            if attempt.outcome == "not_sent":
                return  # the summary was re-opened; a person would press again: a new attempt next round
            return

    async def killer(self) -> None:
        await asyncio.sleep(self.args.seconds * self.args.kill_at)
        assert self.process is not None
        self.kill_at = time.monotonic()
        print(f"kill -9 at {self.args.seconds * self.args.kill_at:.0f} s ...", file=sys.stderr)
        await self.process.kill()
        self.restart_seconds = await self.start_bot()
        print(f"restarted in {self.restart_seconds:.1f} s", file=sys.stderr)

    # -- the run -----------------------------------------------------------------------------------------

    async def run(self) -> int:
        args = self.args
        phones = [f"7951{index:07d}" for index in range(args.members)]
        for phone in phones:
            self.emulator.add_wallet(phone, PASSWORD, {"RUB": Decimal("1000000")})
        ids = await self.store_members(len(phones))
        startup = await self.start_bot()
        print(f"bot started in {startup:.1f} s; {args.members} members log in ...", file=sys.stderr)
        users = [self.telegram.user(tg_id, f"Soak{tg_id}", language_code="en") for tg_id in ids]
        await asyncio.gather(*(self.login(user, phone) for user, phone in zip(users, phones, strict=True)))

        mix = self.emulator.faults.mix(args.rate, args.kinds, seed=args.seed, delay=args.delay)
        self.emulator.faults.latency = args.latency
        print(f"load: {args.seconds:g} s, faults {mix.describe()}", file=sys.stderr)
        started = time.monotonic()
        self.load_end = started + args.seconds
        killer = asyncio.create_task(self.killer()) if args.kill_at > 0 else None
        await asyncio.gather(*(self.member(index, user) for index, user in enumerate(users)))
        if killer is not None:
            await killer
        open_at_load_end = [a for a in self.attempts if a.outcome_at is None or a.outcome_at > self.load_end]
        # Outcomes still arriving: the members above waited until load end + grace for theirs.
        self.emulator.faults.stop_mix()
        await asyncio.sleep(2.0)  # the last background edits and messages
        assert self.process is not None
        code = await self.process.terminate(timeout=60.0)
        return self.report(started, open_at_load_end, users, code)

    # -- judging -----------------------------------------------------------------------------------------

    def rows(self) -> list[dict[str, Any]]:
        connection = sqlite3.connect(f"file:{self.data_dir / 'bot.sqlite3'}?mode=ro", uri=True)
        connection.row_factory = sqlite3.Row
        try:
            return [
                dict(row)
                for row in connection.execute(
                    "SELECT id, client_id, tg_id, amount, status, chat_id, message_id, failure_code FROM transfers"
                )
            ]
        finally:
            connection.close()

    def report(self, started: float, open_at_load_end: list[Attempt], users: list[FakeUser], exit_code: int) -> int:
        args = self.args
        rows = self.rows()
        by_summary: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            if row["chat_id"] is not None and row["message_id"] is not None:
                by_summary[(row["chat_id"], row["message_id"])].append(row)
        summary_of_id = {row["client_id"]: key for key, group in by_summary.items() for row in group}
        executable: Counter[str] = Counter()
        ids_per_summary: dict[tuple[int, int], set[str]] = defaultdict(set)
        for request in self.emulator.payment_requests:
            kind = _kind_of(request.fault)
            if request.client_id is None or (kind is not None and kind not in AFTER_COMMIT):
                continue  # turned away unexecuted (5xx, 423, reset before QIWI read it)
            executable[request.client_id] += 1
            key = summary_of_id.get(request.client_id)
            if key is not None:
                ids_per_summary[key].add(request.client_id)
        ledger_per_summary: dict[tuple[int, int], list[Any]] = defaultdict(list)
        for entry in self.emulator.ledger:
            key = summary_of_id.get(entry.client_id)
            ledger_per_summary[key if key is not None else (0, 0)].append(entry)
        actions_per_chat: dict[int, list[BotAction]] = {user.chat_id: user.transcript for user in users}

        violations: list[str] = []
        for key, ids in ids_per_summary.items():
            if len(ids) > 1:
                violations.append(f"summary {key}: {len(ids)} client ids that could move money: {sorted(ids)}")
        for key, entries in ledger_per_summary.items():
            if key == (0, 0):
                violations.append(f"{len(entries)} payments in the ledger that no transfer row knows")
                continue
            if len(entries) > 1:
                violations.append(f"summary {key}: paid {len(entries)} times")
            chat_id, message_id = key
            amount = entries[0].amount
            told = [
                final_kind(action.text)
                for action in actions_per_chat.get(chat_id, [])
                if (action.kind == "edit" and action.message_id == message_id)
                or (
                    action.kind == "message"
                    and f"Update on your transfer of {money_text(amount)}" in (action.text or "")
                )
            ]
            if "accepted" not in told:
                violations.append(f"summary {key}: paid (txn {entries[0].txn_id}) and never told")
            wrong = [kind for kind in told if kind in ("failed", "not_sent")]
            if wrong:
                violations.append(f"summary {key}: paid (txn {entries[0].txn_id}) but told {wrong}")
            for row in by_summary[key]:
                if row["client_id"] == entries[0].client_id and row["status"] != "accepted":
                    violations.append(f"summary {key}: paid but its row is {row['status']}")

        times = sorted(a.seconds for a in self.attempts if a.seconds is not None)
        outcomes = Counter(a.outcome or "none" for a in self.attempts)
        never = [a for a in self.attempts if a.outcome is None]
        within = sum(1 for seconds in times if seconds <= TARGET_SECONDS)
        statuses = Counter(row["status"] for row in rows)
        injected: Counter[str] = Counter()
        for (endpoint, label), count in self.emulator.faults.injected.items():
            injected[f"{endpoint}:{label}"] += count
        requests = sum(1 for _ in self.emulator.payment_requests)

        out = sys.stdout
        print("\n## Transfer soak", file=out)
        print(
            f"members {args.members}, load {args.seconds:g} s, think ~{args.think:g} s, fault rate {args.rate:g} "
            f"({', '.join(args.kinds)}, seed {args.seed}), QIWI latency {args.latency * 1000:.0f} ms, "
            f"QIWI_TIMEOUT {args.qiwi_timeout:g} s",
            file=out,
        )
        if self.kill_at is not None:
            print(
                f"kill -9 at {self.kill_at - started:.1f} s; restart took {self.restart_seconds or 0:.1f} s "
                "(same database)",
                file=out,
            )
            across = [
                a
                for a in self.attempts
                if a.pressed_at < self.kill_at and (a.outcome_at is None or a.outcome_at > self.kill_at)
            ]
            print(
                f"confirmed before the kill, outcome told by the restarted bot: {len(across)} "
                f"({dict(Counter(a.outcome or 'none' for a in across))})",
                file=out,
            )
            log_path = self.data_dir / "bot.log"
            for line in log_path.read_text("utf-8", errors="replace").splitlines() if log_path.exists() else []:
                if "start-up:" in line:
                    print(f"  bot log: {line.split(' INFO ', 1)[-1]}", file=out)
        print(f"confirmed transfers: {len(self.attempts)} (presses: {sum(a.presses for a in self.attempts)})", file=out)
        print(f"outcomes told: {dict(outcomes)}", file=out)
        if times:
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            print(
                f"time to outcome (Confirm -> final message/edit): p50 {statistics.median(times):.2f} s, "
                f"p95 {p95:.2f} s, max {times[-1]:.2f} s; within {TARGET_SECONDS:g} s: {within}/{len(self.attempts)} "
                f"({100 * within / max(1, len(self.attempts)):.1f} %)",
                file=out,
            )
        oldest = max((self.load_end - a.pressed_at for a in open_at_load_end), default=0.0)
        print(
            f"without a final outcome: {len(open_at_load_end)} when the load ended (pressed at most "
            f"{oldest:.1f} s before its end), {len(never)} after {args.grace:g} s of grace",
            file=out,
        )
        print(f"transfer rows by status: {dict(statuses)}", file=out)
        print(
            f"payments: {len(self.emulator.ledger)} in the ledger; {requests} payment requests "
            f"({sum(executable.values())} executable)",
            file=out,
        )
        print(f"faults injected: {sum(injected.values())} {dict(sorted(injected.items()))}", file=out)
        print(f"bot exit code at the end (SIGTERM): {exit_code}", file=out)
        print(f"violations: {len(violations)}", file=out)
        for line in violations[:50]:
            print(f"  - {line}", file=out)
        if never:
            print("open transfers (member, amount, presses):", file=out)
            for attempt in never[:20]:
                print(f"  - {attempt.member} {attempt.amount} {attempt.presses}", file=out)
        print(f"bot log: {self.data_dir / 'bot.log'}", file=out)
        return 1 if violations else 0


def _kind_of(label: str | None) -> str | None:
    """The fault kind behind a label the emulator noted (a mix token such as `500`, or a kind's name)."""
    if label is None:
        return None
    if label in KINDS:
        return label
    return parse_mix_kind(label).kind


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--members", type=int, default=30, help="members doing transfers at once (30)")
    add("--seconds", type=float, default=60.0, help="length of the load (60)")
    add("--think", type=float, default=2.0, help="mean pause before each transfer, seconds (2)")
    add("--rate", type=float, default=0.15, help="share of QIWI calls that fail (0.15)")
    add("--kinds", default=",".join(DEFAULT_MIX), help=f"fault kinds of the mix ({','.join(DEFAULT_MIX)})")
    add(
        "--delay",
        type=float,
        default=0.0,
        help="seconds for the kinds that wait (late_answer, hang...; 0: their default)",
    )
    add("--seed", type=int, default=1, help="seed of the fault mix and the pauses (1)")
    add("--kill-at", type=float, default=0.5, help="kill -9 the bot at this fraction of the load (0.5; 0: never)")
    add("--grace", type=float, default=40.0, help="seconds after the load for open outcomes to arrive (40)")
    add("--latency", type=float, default=0.02, help="QIWI latency per request, seconds (0.02)")
    add("--qiwi-timeout", type=float, default=10.0, help="the bot's QIWI_TIMEOUT (10, its default)")
    add("--restart-allowance", type=float, default=60.0, help=argparse.SUPPRESS)
    add("--data-dir", type=Path, help="keep the database and the bot's log here (default: a temporary folder)")
    args = parser.parse_args(argv)
    args.kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    if args.members < 1 or args.members > 999 or args.seconds <= 0:
        parser.error("--members must be 1..999 and --seconds positive")
    return args


async def _main(args: argparse.Namespace) -> int:
    if args.data_dir is not None:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        async with Soak(args, args.data_dir) as soak:
            return await soak.run()
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        async with Soak(args, Path(folder)) as soak:
            code = await soak.run()
            print("(the temporary folder is removed; use --data-dir to keep the log)", file=sys.stderr)
            return code


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(_main(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
