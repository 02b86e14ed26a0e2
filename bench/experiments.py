"""`python -m bench.experiments [NAME,...]`: the bot as `python -m bot` runs it, as the benchmark needs it.

The benchmark always starts the bot through this module. One change is always made: the per-member read
budget of `bot/services/wallet.py` (30 reads a minute, so that one member cannot spend a wallet's QIWI
allowance) is lifted, since one benchmark member sends a hundred /balance a minute to measure the CPU of each;
nothing else differs from `python -m bot`.

Named experiments are proposed fixes applied from outside, to measure a change before it is made in the bot
(`python -m bench --experiment NAME[,NAME]`); the bot's own files are not touched. Each names the file the
real fix belongs in:

- `inline-filters` (bot/filters.py, bot/handlers/): aiogram 3.31 runs every synchronous filter or handler
  (`CallableObject.call` → `asyncio.to_thread`) in a thread: a plain-`def` filter, a magic `F...` filter
  and a bare `State` each cost a trip to the default executor and back for every update that reaches
  them. Measured here by calling synchronous callables inline. The bot now has none
  (`tests/unit/test_routing.py` keeps it so), so on it this changes nothing; it stays for comparing older
  checkouts with `python -m bench.compare`.
- `gc-pauses` (a measurement, not a fix): every full pass of the cyclic garbage collector, timed, written
  appended to the file named by `BENCH_GC_LOG` when the bot exits (a `#` line naming the process, then one
  duration in ms a line).
- `one-hop-sql` (bot/storage/connection.py): each `Transaction.fetchone`/`fetchall`/`execute` is three
  trips to aiosqlite's thread (execute, fetch, close the cursor); one (`execute_fetchall`, or one function
  run on the thread) does the same work. /balance no longer reads SQLite (user row and FSM from memory), so
  it shows there only for writes (a transfer, a login) and the background jobs.
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Callable
from typing import Any


def lift_read_budget() -> None:
    try:
        from bot.services.wallet import ReadBudget
    except ImportError:  # a version of the bot from before the budget (`python -m bench.compare`)
        return

    def spend(self: ReadBudget, tg_id: int) -> None:
        """Every read allowed: the benchmark measures the bot's cost, not its guard against a fast member."""

    ReadBudget.spend = spend  # type: ignore[method-assign]


def inline_filters() -> None:
    from functools import partial

    from aiogram.dispatcher.event.handler import CallableObject

    original = CallableObject.call

    async def call(self: CallableObject, *args: Any, **kwargs: Any) -> Any:
        if self.awaitable:
            return await original(self, *args, **kwargs)
        return partial(self.callback, *args, **self._prepare_kwargs(kwargs))()

    CallableObject.call = call  # type: ignore[method-assign]


def one_hop_sql() -> None:
    import sqlite3

    from bot.storage.connection import Params, Transaction

    async def fetchall(self: Transaction, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def fetchone(self: Transaction, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await fetchall(self, sql, params)
        return rows[0] if rows else None

    async def execute(self: Transaction, sql: str, params: Params = ()) -> int:
        raw = self._conn._conn  # the sqlite3 connection, used on aiosqlite's own thread only

        def run() -> int:
            cursor = raw.execute(sql, params)
            try:
                return cursor.rowcount
            finally:
                cursor.close()

        result: int = await self._conn._execute(run)
        return result

    Transaction.fetchall = fetchall  # type: ignore[method-assign]
    Transaction.fetchone = fetchone  # type: ignore[method-assign]
    Transaction.execute = execute  # type: ignore[method-assign]


def gc_pauses() -> None:
    import atexit
    import gc
    import time

    pauses: list[float] = []
    started: list[float] = []

    def timed(phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            pauses.append((time.perf_counter() - started[0]) * 1000)

    def write() -> None:
        if path := os.environ.get("BENCH_GC_LOG"):
            with open(path, "a", encoding="ascii") as out:
                out.write(f"# bot process {os.getpid()}: {len(pauses)} full collections\n")
                out.writelines(f"{ms:.1f}\n" for ms in pauses)

    gc.callbacks.append(timed)
    atexit.register(write)


FIXES: dict[str, Callable[[], None]] = {
    "gc-pauses": gc_pauses,
    "inline-filters": inline_filters,
    "one-hop-sql": one_hop_sql,
}

if __name__ == "__main__":
    # `python -m bench.compare` runs other checkouts' bot with this checkout's benchmark: theirs comes first.
    if tree := os.environ.get("BENCH_BOT_TREE"):
        sys.path.insert(0, tree)
    names = [name for name in (sys.argv.pop(1) if len(sys.argv) > 1 else "").split(",") if name]
    lift_read_budget()
    for name in names:
        FIXES[name]()
    runpy.run_module("bot", run_name="__main__", alter_sys=True)
