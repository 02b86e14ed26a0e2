"""Stopping and crashing the bot process: SIGTERM and a restart keep logins, open dialogs and open summaries;
`kill -9` between Confirm and QIWI's answer still ends in exactly one payment and a user who is told.

The tests of this module run in order on one stand (one database, one log, several processes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio

from tests.e2e.conftest import (
    ANSWER_TIMEOUT,
    Stand,
    assert_no_secrets,
    client_id_of,
    login,
    press,
    say,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

PAYER = 2001
DIALOG = 2002
RECIPIENT = "79110000029"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stand(stand_factory: Any) -> AsyncIterator[Stand]:
    # A long QIWI timeout: the kill -9 must land while the bot still waits for the payment's answer.
    built: Stand = await stand_factory([PAYER, DIALOG], QIWI_TIMEOUT="120")
    built.wallet("79110000021", "Pay3r-secret-21", rub="1000")
    built.wallet("79110000022", "Dia1og-secret-22", rub="1000")
    yield built


async def test_sigterm_and_restart_keep_login_open_dialog_and_summary(stand: Stand) -> None:
    payer = stand.user(PAYER, "Pavel")
    chatty = stand.user(DIALOG, "Dasha")
    await login(payer, "79110000021", "Pay3r-secret-21")
    await login(chatty, "79110000022", "Dia1og-secret-22")
    summary = await say(payer, f"/transfer {RECIPIENT} 25 before restart", "Transfer")
    await say(chatty, "/transfer", "Whom to send money to?")
    await say(chatty, "+7 911 000-00-29", "How much, in rubles?")

    assert await stand.stop() == 0
    assert "Stopped" in stand.log_text()
    await stand.start()

    await say(chatty, "12,5", "A comment for the recipient")  # the dialog went on where it was
    await say(payer, "/balance", "RUB 1,000.00")  # still logged in
    done = await press(payer, "✅ Confirm", "✅ Sent")
    assert done.message_id == summary.message_id
    client_id = client_id_of(stand, PAYER, "25.00")
    assert len(stand.ledger_for(client_id)) == 1
    assert stand.emulator.wallet("79110000021").balance("RUB") == Decimal("975.00")


async def test_kill_9_between_confirm_and_answer_pays_once_and_tells_the_user(stand: Stand) -> None:
    payer = stand.user(PAYER, "Pavel")
    summary = await say(payer, f"/transfer {RECIPIENT} 30 during crash", "Transfer")
    # QIWI moves the money and then never answers: the bot is killed while it waits.
    stand.emulator.faults.inject("payment", "hang_after_commit")
    await press(payer, "✅ Confirm", "Sending")
    await stand.telegram.wait_until(
        lambda: any(e.amount == Decimal("30.00") for e in stand.emulator.ledger), ANSWER_TIMEOUT, "no payment"
    )
    client_id = client_id_of(stand, PAYER, "30.00")
    assert stand.query("SELECT status FROM transfers WHERE client_id = ?", client_id) == [("sending",)]

    assert await stand.kill() == -9
    payer.forget()
    await stand.start()

    # Told without asking, in the language the conversation was in: the start-up reconciliation.
    notice = await payer.wait_for(kind="message", timeout=ANSWER_TIMEOUT)
    assert "Update on your transfer of RUB 30.00" in (notice.text or "") and "✅ Sent" in (notice.text or "")
    assert str(stand.ledger_for(client_id)[0].txn_id) in (notice.text or "")
    assert len(stand.ledger_for(client_id)) == 1
    assert stand.emulator.wallet("79110000021").balance("RUB") == Decimal("945.00")
    assert stand.query("SELECT status FROM transfers WHERE client_id = ?", client_id) == [("accepted",)]
    assert summary.message_id is not None
    edited = payer.message(summary.message_id)
    assert "✅" in (edited.text or "") and not edited.buttons

    # Pressing the old Confirm again changes nothing.
    payer.forget()
    await payer.press_data(summary.buttons[0].callback_data or "", message_id=summary.message_id)
    await payer.wait_for(lambda action: action.kind == "callback_answer", timeout=ANSWER_TIMEOUT)
    assert len(stand.ledger_for(client_id)) == 1


async def test_no_secret_in_database_or_log_across_restarts(stand: Stand) -> None:
    assert stand.starts == 3
    assert_no_secrets(stand)
    assert await stand.stop() == 0
    assert_no_secrets(stand)
