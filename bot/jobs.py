"""Background work, every piece in one shape: a `Job` is started and stopped by the dispatcher.

`build_jobs` lists them all; `bot/dispatcher.py` registers each one's `start` on `dp.startup` and `stop`
on `dp.shutdown`, so they run exactly while updates are taken and end before the database closes. A job
owns one task; a step that fails is logged and tried again at the next beat, never ending the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

from bot.keyboards.menu import set_command_menu
from bot.ops.heartbeat import HEARTBEAT_INTERVAL, heartbeat_path, touch
from bot.services import requests as request_service
from bot.services import transfer_reconcile
from bot.services.alerts import TICK_SECONDS
from bot.storage import DatabaseClosed

if TYPE_CHECKING:
    from pathlib import Path

    from aiogram import Bot

    from bot.services.bundle import Services

log = logging.getLogger(__name__)

# How long `stop` lets a step in progress finish before cancelling it.
STOP_GRACE = 10.0

Step = Callable[[], Awaitable[object]]


class Job:
    """Runs `step` every `every` seconds in one task, from `start` until `stop`.

    `on_stop` runs after the last step (e.g. letting polls the step started finish)."""

    def __init__(
        self,
        name: str,
        step: Step,
        every: float,
        *,
        first_after: float | None = None,
        on_stop: Step | None = None,
    ) -> None:
        self.name = name
        self.step = step
        self.every = every
        self.first_after = every if first_after is None else first_after
        self.on_stop = on_stop
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.running:
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            _, late = await asyncio.wait({task}, timeout=STOP_GRACE)
            if late:
                log.warning("job %s did not stop in %.0f s; cancelled", self.name, STOP_GRACE)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.on_stop is not None:
            await self.on_stop()

    async def _loop(self) -> None:
        delay = self.first_after
        while not await self._sleep(delay):
            delay = self.every
            try:
                await self.step()
            except DatabaseClosed:
                return
            except Exception:
                log.exception("job %s failed; trying again in %.0f s", self.name, self.every)

    async def _sleep(self, seconds: float) -> bool:
        """True when stopping was asked for meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        return self._stopping.is_set()


def heartbeat_job(path: Path, every: float = HEARTBEAT_INTERVAL) -> Job:
    failing = False

    async def beat() -> None:
        nonlocal failing
        try:
            touch(path)
            failing = False
        except OSError as error:
            # Logged once per outage, not every beat: the health check reports it anyway.
            if not failing:
                log.warning("cannot write the heartbeat file %s: %s", path, error.strerror or error)
            failing = True

    return Job("heartbeat", beat, every, first_after=0.0)


async def before_serving(services: Services, bot: Bot) -> None:
    """Start-up work before the first update: the command menu, the access rule applied to what is stored,
    and the payments a previous run left in doubt (their users hear the outcome now)."""
    try:
        await set_command_menu(bot, services.i18n)
    except (TelegramAPIError, TelegramNetworkError) as error:
        log.warning("Could not set the command menu: %s", type(error).__name__)
    await services.members.retire_former_admins()
    try:
        await transfer_reconcile.reconcile_unresolved(services.transfers, services.notifier, services.i18n)
    except Exception:
        # Unknown outcomes stay marked as such and are checked again by the re-check job; never block start-up.
        log.exception("Reconciling unresolved transfers failed")


def build_jobs(services: Services) -> list[Job]:
    """Every background job of the bot, in the order they start."""
    alerts = services.alerts
    return [
        heartbeat_job(heartbeat_path(services.settings)),
        Job(
            "transfer-recheck",
            lambda: transfer_reconcile.recheck_open(services.transfers, services.notifier, services.i18n),
            transfer_reconcile.RECHECK_INTERVAL,
        ),
        Job("request-sweeper", services.requests.sweep, request_service.SWEEP_EVERY),
        Job("alert-poller", alerts.tick, min(TICK_SECONDS, alerts.interval / 4), on_stop=alerts.drain),
    ]
