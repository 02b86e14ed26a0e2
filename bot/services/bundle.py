"""Every long-lived service, built once per run and handed to handlers and jobs through the dispatcher.

Each field is also a workflow-data key of its own name, so a handler asks for what it uses by parameter:
`async def balance(message, wallet: WalletService, tr: Translator)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from bot.services.access import Access
from bot.services.alerts import AlertPoller
from bot.services.chart import ChartRenderer
from bot.services.members import MemberService
from bot.services.requests import RequestService
from bot.services.sessions import Clock, SessionService
from bot.services.transfers import TransferService
from bot.services.wallet import WalletService

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.crypto import TicketCipher
    from bot.i18n import CatalogI18n
    from bot.qiwi.client import QiwiClient
    from bot.sandbox.seed import DemoWallet
    from bot.services.notifier import Notifier
    from bot.storage import Database


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    clock: Clock
    i18n: CatalogI18n
    notifier: Notifier
    access: Access
    sessions: SessionService
    wallet: WalletService
    transfers: TransferService
    requests: RequestService
    members: MemberService
    alerts: AlertPoller
    chart: ChartRenderer
    demo_wallets: Sequence[DemoWallet] = field(default_factory=tuple)

    def as_workflow_data(self) -> dict[str, Any]:
        # Handlers talk to services, never to the database: it is the one field not handed to them.
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "db"}

    def close(self) -> None:
        self.chart.close()


def build_services(
    settings: Settings,
    db: Database,
    cipher: TicketCipher,
    qiwi: QiwiClient,
    notifier: Notifier,
    i18n: CatalogI18n,
    clock: Clock,
    demo_wallets: Sequence[DemoWallet] = (),
) -> Services:
    access = Access.of(settings.admin_ids)
    sessions = SessionService(db, cipher, qiwi, clock)
    requests = RequestService(db, clock, access, notifier, i18n)
    members = MemberService(db, sessions, requests, access, clock)
    return Services(
        settings=settings,
        db=db,
        clock=clock,
        i18n=i18n,
        notifier=notifier,
        access=access,
        sessions=sessions,
        wallet=WalletService(sessions),
        transfers=TransferService(sessions, limit=settings.transfer_limit, owner_name=members.name_for_wallet),
        requests=requests,
        members=members,
        alerts=AlertPoller(sessions, notifier, i18n, access, interval=settings.notify_interval),
        chart=ChartRenderer(),
        demo_wallets=tuple(demo_wallets),
    )
