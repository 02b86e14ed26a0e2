"""Whole conversations with one running bot process: outsiders, invites, login, balance, history, stats,
transfers (dialog, one-liner, double confirm), QIWI failures, and a secret-free database and log.

Every test speaks as its own Telegram user with its own wallet, so the order of tests does not matter for
their assertions (only the last one, the secret scan, wants the others to have run first).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio

from bot.timeutil import MSK
from tests.e2e.conftest import (
    ANSWER_TIMEOUT,
    DEMO_PASSWORD,
    DEMO_WALLET,
    Stand,
    assert_no_secrets,
    client_id_of,
    invite_code,
    login,
    press,
    say,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

ADMIN = 1001
READER = 1002  # the demo wallet with months of history
SENDER = 1003
TWICE = 1004
TROUBLE = 1005
OUTSIDER = 5005
NEWCOMER = 6006
LATECOMER = 6007

RECIPIENT = "79110000099"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stand(stand_factory: Any) -> AsyncIterator[Stand]:
    # A short QIWI timeout, so a hanging QIWI is answered within the test's patience.
    built: Stand = await stand_factory([ADMIN, READER, SENDER, TWICE, TROUBLE], QIWI_TIMEOUT="3", QIWI_RETRIES="0")
    yield built


def rub(amount: Decimal) -> str:
    return f"RUB {amount:,.2f}"


async def test_outsider_gets_one_reply_and_nothing_else(stand: Stand) -> None:
    outsider = stand.user(OUTSIDER, "Stranger")
    tickets_before = len(stand.emulator.issued_tickets)
    for text in ("/start", "/balance", "/login", "79001112233"):
        answer = await say(outsider, text, "private bot")
        assert str(OUTSIDER) in (answer.text or "")
        await outsider.wait_idle(0.5, ANSWER_TIMEOUT)
    bot_messages = [m for m in outsider.messages if m.from_bot]
    assert len(bot_messages) == 4, [m.text for m in bot_messages]
    assert len(stand.emulator.issued_tickets) == tickets_before
    assert stand.query("SELECT * FROM users WHERE tg_id = ?", OUTSIDER) == []
    assert stand.query("SELECT * FROM fsm WHERE user_id = ?", OUTSIDER) == []


async def test_group_chat_refuses_money_commands(stand: Stand) -> None:
    in_group = stand.user(ADMIN, "Admin").in_group(-100500, "Family")
    await say(in_group, "/balance", "only in a private chat")


async def test_invite_link_works_once(stand: Stand) -> None:
    admin = stand.user(ADMIN, "Admin")
    created = await say(admin, "/invite", "Invite link")
    code = invite_code(created.text or "")
    assert f"t.me/{stand.telegram.bot_user['username']}?start={code}" in (created.text or "")

    newcomer = stand.user(NEWCOMER, "Nina")
    await say(newcomer, f"/start {code}", "You are a member now")
    await say(newcomer, "/balance", "You are not logged in to QIWI")
    assert stand.query("SELECT role FROM users WHERE tg_id = ?", NEWCOMER) == [("member",)]

    latecomer = stand.user(LATECOMER, "Lev")
    refused = await say(latecomer, f"/start {code}", "invalid, already used or expired")
    assert str(LATECOMER) in (refused.text or "")
    await say(latecomer, "/balance", "private bot")

    listed = await say(admin, "/members", "Members:")
    assert str(NEWCOMER) in (listed.text or "") and str(LATECOMER) not in (listed.text or "")


async def test_login_deletes_the_password_message_even_when_wrong(stand: Stand) -> None:
    wallet = stand.wallet("79110000001", "Adm1n-pa55word!", rub="777")
    admin = stand.user(ADMIN, "Admin")
    await say(admin, "/login", "Send your QIWI wallet number")
    await say(admin, "12345", "not a Russian or Kazakh mobile number")
    await say(admin, "8 (911) 000-00-01", "Now send the QIWI password")

    wrong = await admin.send("not-the-password")
    await admin.wait_for("did not accept the wallet number and password", timeout=ANSWER_TIMEOUT)
    right = await admin.send("Adm1n-pa55word!")
    done = await admin.wait_for("Logged in as +7 911 000-00-01", timeout=ANSWER_TIMEOUT)
    assert "until" in (done.text or "")

    for update in (wrong, right):
        message_id = update["message"]["message_id"]
        assert admin.message(message_id).deleted, f"password message {message_id} is still in the chat"
    deletions = {action.message_id for action in admin.transcript if action.kind == "delete"}
    assert {wrong["message"]["message_id"], right["message"]["message_id"]} <= deletions

    (ciphertext,) = stand.query("SELECT tgt_ciphertext FROM wallets WHERE tg_id = ?", ADMIN)[0]
    assert ciphertext, "the ticket should be stored (encrypted)"
    tgts = [t.ticket for t in stand.emulator.issued_tickets if t.kind == "TGT" and t.wallet == wallet]
    assert tgts and all(t.encode() not in ciphertext for t in tgts)

    start = await say(admin, "/start", "Logged in as +7 911 000-00-01 until")
    assert "/invite" in (start.text or "")


async def test_balance_history_two_pages_and_stats(stand: Stand) -> None:
    reader = stand.user(READER, "Rita")
    await login(reader, "+7 900 111-22-33", DEMO_PASSWORD)

    balance = await say(reader, "/balance", "Balance")
    wallet = stand.emulator.wallet(DEMO_WALLET)
    assert rub(wallet.balance("RUB")) in (balance.text or "")
    assert "USD 120.35" in (balance.text or "") and "KZT 25,000.00" in (balance.text or "")

    first = await say(reader, "/history", "Payments")
    assert "Older ▶" in first.button_texts()
    first_dates = _dates(first.text or "")
    assert len(first_dates) >= 5 and first_dates == sorted(first_dates, reverse=True)

    older = await press(reader, "Older ▶", "(older)")
    assert older.kind == "edit" and older.message_id == first.message_id, "a page edits the same message"
    older_dates = _dates(older.text or "")
    assert older_dates and older_dates == sorted(older_dates, reverse=True)
    assert max(older_dates) <= min(first_dates)
    assert set((older.text or "").splitlines()[1:]).isdisjoint((first.text or "").splitlines()[1:])

    incoming = await press(reader, "Incoming", "Incoming payments")
    lines = (incoming.text or "").splitlines()[1:]
    assert lines and all("⬇️" in line for line in lines), lines

    stats = await say(reader, "/stats", "Statistics")
    now = datetime.now(MSK)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    expected_in = sum(
        (
            row.amount
            for row in wallet.history
            if row.type == "IN" and row.status == "SUCCESS" and row.currency == "RUB" and row.date >= month_start
        ),
        Decimal(0),
    )
    assert f"Incoming: {rub(expected_in)}" in (stats.text or ""), stats.text
    assert "Outgoing:" in (stats.text or "") and "Net:" in (stats.text or "")
    chart = await reader.wait_for(kind="photo", timeout=ANSWER_TIMEOUT)  # the period's chart follows
    assert chart.file is not None and chart.file.data.startswith(b"\x89PNG")
    last_month = await press(reader, "Last month", "Statistics")
    assert last_month.message_id == stats.message_id and last_month.text != stats.text


def _dates(text: str) -> list[datetime]:
    return [datetime.strptime(found, "%d.%m.%y %H:%M") for found in re.findall(r"\d\d\.\d\d\.\d\d \d\d:\d\d", text)]


async def test_transfer_by_dialog_pays_once_and_shows_the_new_balance(stand: Stand) -> None:
    wallet = stand.wallet("79110000003", "Send3r-secret", rub="5000")
    sender = stand.user(SENDER, "Sam")
    await login(sender, "79110000003", "Send3r-secret")

    await say(sender, "/transfer", "Whom to send money to?")
    await say(sender, "hello", "not a Russian or Kazakh mobile number")
    await say(sender, "+7 911 000-00-99", "How much, in rubles?")
    await say(sender, "0", "must be more than zero")
    await say(sender, "10,555", "At most two digits")
    await say(sender, "150,50", "A comment for the recipient")
    summary = await say(sender, "за обед", "Transfer")
    assert "RUB 150.50" in (summary.text or "") and "за обед" in (summary.text or "")
    assert summary.button_texts() == ["✅ Confirm", "✖️ Cancel"]

    done = await press(sender, "✅ Confirm", "✅ Sent")
    assert done.message_id == summary.message_id and not done.buttons, "the buttons go once used"
    assert f"Balance now: {rub(Decimal('4849.50'))}" in (done.text or "")
    client_id = client_id_of(stand, SENDER, "150.50")
    (entry,) = stand.ledger_for(client_id)
    assert (entry.sender, entry.recipient, entry.amount) == (wallet, RECIPIENT, Decimal("150.50"))
    assert stand.emulator.wallet(wallet).balance("RUB") == Decimal("4849.50")
    assert stand.query("SELECT status FROM transfers WHERE client_id = ?", client_id) == [("accepted",)]


async def test_one_liner_pressed_twice_pays_once(stand: Stand) -> None:
    wallet = stand.wallet("79110000004", "Tw1ce-secret", rub="1000")
    user = stand.user(TWICE, "Tom")
    await login(user, "79110000004", "Tw1ce-secret")
    # Slow payments, so that both presses arrive while the first is still with QIWI.
    stand.emulator.faults.inject("payment", "latency", delay=0.5)

    summary = await say(user, f"/transfer {RECIPIENT} 40 twice", "Transfer")
    confirm = summary.buttons[0]
    assert confirm.text == "✅ Confirm" and confirm.callback_data
    user.forget()
    await user.press_data(confirm.callback_data, message_id=summary.message_id)
    await user.press_data(confirm.callback_data, message_id=summary.message_id)
    await user.wait_for("✅ Sent", timeout=ANSWER_TIMEOUT)
    second = await user.wait_for(
        lambda action: action.kind == "callback_answer" and "already" in (action.text or ""),
        timeout=ANSWER_TIMEOUT,
    )
    assert second.text
    await user.wait_idle(0.5, ANSWER_TIMEOUT)

    client_id = client_id_of(stand, TWICE, "40.00")
    assert len(stand.ledger_for(client_id)) == 1
    assert [e for e in stand.emulator.ledger if e.sender == wallet] == stand.ledger_for(client_id)
    assert stand.emulator.wallet(wallet).balance("RUB") == Decimal("960.00")
    assert not stand.telegram.unanswered_callback_queries()


async def test_qiwi_failures_each_get_their_answer(stand: Stand) -> None:
    stand.wallet("79110000005", "Troub1e-secret", rub="300")
    user = stand.user(TROUBLE, "Tina")
    await login(user, "79110000005", "Troub1e-secret")
    faults = stand.emulator.faults

    faults.inject("balance", "status", status=423)
    await say(user, "/balance", "too many requests. Try again in a minute")

    faults.inject("balance", "status", status=503, times=None)
    await say(user, "/balance", "QIWI is not answering right now")
    faults.clear()

    faults.inject("history", "status", status=500, times=None)
    await say(user, "/history", "QIWI is not answering right now")
    faults.clear()

    faults.inject("balance", "hang")  # no answer at all: the client's timeout, then the same apology
    await say(user, "/balance", "QIWI is not answering right now")
    faults.clear()
    await say(user, "/balance", rub(Decimal("300")))

    faults.inject("balance", "status", status=401)
    await say(user, "/balance", "Please /login again")
    assert stand.query("SELECT tgt_ciphertext FROM wallets WHERE tg_id = ?", TROUBLE) == [(None,)]
    await say(user, "/balance", "You are not logged in to QIWI")
    await login(user, "79110000005", "Troub1e-secret")
    await say(user, "/balance", rub(Decimal("300")))


async def test_another_user_is_served_while_one_waits_on_qiwi(stand: Stand) -> None:
    slow = stand.user(TROUBLE, "Tina")
    fast = stand.user(ADMIN, "Admin")
    stand.emulator.faults.inject("balance", "latency", delay=2.0)
    slow.forget()
    await slow.send("/balance")
    await asyncio.sleep(0.5)  # the slow request is out and holding its balance call
    started = asyncio.get_running_loop().time()
    await say(fast, "/help", "Commands")
    assert asyncio.get_running_loop().time() - started < 3.0
    await slow.wait_for("Balance", timeout=ANSWER_TIMEOUT)


async def test_database_and_debug_log_hold_no_secret(stand: Stand) -> None:
    assert_no_secrets(stand)
    assert await stand.stop() == 0
    assert_no_secrets(stand)
