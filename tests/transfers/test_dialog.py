"""The /transfer dialog through the real bot: FakeTelegram on loopback, QIWI by the emulator.

After every test the emulator's ledger is compared with what was confirmed: one payment per confirmed
summary that went through, none otherwise.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.callbacks import TransferAction
from bot.devtools.fake_user import FakeUser
from bot.sandbox import Emulator
from bot.sandbox.seed import MAIN_WALLET, RECEIVER_WALLET
from bot.storage import Database, TransferStatus
from tests.bot.harness import ADMIN_ID, BotFactory, RunningBot, ask, login

SECOND_ADMIN = 1001
HANG = 1.5  # the emulator's hang; the harness's QIWI client gives up after 0.5 s
CONFIRM = "✅ Confirm"
CANCEL = "✖️ Cancel"


def transcript(user: FakeUser) -> str:
    """What the bot did in the chat, as a person would read it (for the report and for failures)."""
    lines = []
    for action in user.transcript:
        if action.kind == "chat_action":
            continue
        buttons = f"  [{' | '.join(action.button_texts())}]" if action.buttons else ""
        lines.append(f"{action.kind}#{action.message_id}: {action.text}{buttons}")
    return "\n".join(lines)


async def summary_for(user: FakeUser, command_or_steps: list[str]) -> int:
    """Walks the dialog (or sends a one-liner) and returns the summary's message id."""
    for text in command_or_steps:
        await user.send(text)
    action = await user.wait_for("Confirm by")
    assert action.message_id is not None
    assert action.button_texts() == [CONFIRM, CANCEL]
    return action.message_id


def paid(emulator: Emulator) -> list[tuple[str, str, Decimal]]:
    return [(entry.sender, entry.recipient, entry.amount) for entry in emulator.ledger]


async def rows(bot: RunningBot) -> list[TransferStatus]:
    db = await Database.open(bot.database_path)
    try:
        return [t.status for t in await db.transfers.list_for_user(ADMIN_ID, 50)]
    finally:
        await db.close()


@pytest.fixture
async def two_admins(make_bot: BotFactory) -> RunningBot:
    return await make_bot(ADMIN_IDS=f"{ADMIN_ID},{SECOND_ADMIN}")


async def test_dialog_transfer(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    user.log.actions.clear()

    assert "phone number" in await ask(user, "/transfer", "recipient")
    assert "+7 900 222-33-44" in await ask(user, "+7 900 222-33-44", "How much")  # the whole number
    await ask(user, "150,50", "comment")
    summary = await summary_for(user, ["за обед <b>"])
    text = user.message(summary).text or ""
    assert "RUB 150.50" in text and "за обед <b>" in text and "+7 900 222-33-44" in text

    await user.press(CONFIRM)
    await user.wait_for("Sending")
    done = await user.wait_for("Balance now")
    await user.wait_idle()
    print("\n--- dialog-driven transfer ---\n" + transcript(user))

    assert done.message_id == summary and done.buttons == ()
    assert paid(running_bot.emulator) == [(MAIN_WALLET, RECEIVER_WALLET, Decimal("150.50"))]
    assert running_bot.emulator.ledger[0].txn_id and str(running_bot.emulator.ledger[0].txn_id) in (done.text or "")
    assert "RUB 15" in (done.text or "")  # the balance after the transfer


async def test_one_liner_and_skip(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    summary = await summary_for(user, ["/transfer +7 900 222 33 44 1 000"])  # "1 000": amount 1, comment "000"
    assert "RUB 1.00" in (user.message(summary).text or "")
    await user.press(CANCEL)
    await user.wait_for("Transfer cancelled")

    await ask(user, "/transfer", "recipient")
    await ask(user, "89002223344", "How much")
    await ask(user, "2", "comment")
    await user.press("Skip")
    summary = await summary_for(user, [])
    assert "Comment: —" in (user.message(summary).text or "")
    await user.press(CONFIRM)
    await user.wait_for("Sent")
    assert paid(running_bot.emulator) == [(MAIN_WALLET, RECEIVER_WALLET, Decimal("2.00"))]


async def test_double_confirm_pays_once(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    summary = await summary_for(user, ["/transfer 9002223344 300 два нажатия"])
    user.log.actions.clear()
    message = user.message(summary)
    data = TransferAction(action="confirm", transfer_id=_transfer_id(user, summary)).pack()

    # Both presses are queued before the bot fetches either: a bad connection retrying the tap.
    running_bot.telegram.add_callback_query(user.person, message, data)
    running_bot.telegram.add_callback_query(user.person, message, data)
    await user.wait_for("Balance now")
    second = await user.wait_for("already been", kind="callback_answer")
    await user.wait_idle()
    print("\n--- double confirm ---\n" + transcript(user))

    assert second.params.get("show_alert") in (True, "true", "True")
    assert paid(running_bot.emulator) == [(MAIN_WALLET, RECEIVER_WALLET, Decimal("300.00"))]


def _transfer_id(user: FakeUser, message_id: int) -> int:
    button = user.message(message_id).button(CONFIRM)
    assert button is not None and button.callback_data is not None
    return TransferAction.unpack(button.callback_data).transfer_id


async def test_confirm_by_another_user(two_admins: RunningBot) -> None:
    owner = two_admins.user(ADMIN_ID)
    other = two_admins.user(SECOND_ADMIN)
    await login(owner)
    summary = await summary_for(owner, ["/transfer 9002223344 10"])
    data = TransferAction(action="confirm", transfer_id=_transfer_id(owner, summary)).pack()

    two_admins.telegram.add_callback_query(other.person, owner.message(summary), data)
    answer = await owner.wait_for("Only the person", kind="callback_answer")
    assert answer.text is not None
    await owner.wait_idle()

    assert paid(two_admins.emulator) == []
    assert owner.message(summary).button(CONFIRM) is not None  # the owner's summary is untouched
    await owner.press(CONFIRM)
    await owner.wait_for("Sent")
    assert len(two_admins.emulator.ledger) == 1


async def test_expired_summary(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    await summary_for(user, ["/transfer 9002223344 10"])
    running_bot.emulator.clock.advance(timedelta(minutes=10, seconds=1))

    await user.press(CONFIRM)
    text = (await user.wait_for("older than 10 minutes")).text
    assert text is not None
    await user.wait_idle()
    assert user.last_bot_message is not None and user.last_bot_message.buttons == []
    assert paid(running_bot.emulator) == []


async def test_cancel_button_and_command(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    first = await summary_for(user, ["/transfer 9002223344 10"])
    await user.press(CANCEL)
    await user.wait_for("Transfer cancelled")
    assert user.message(first).buttons == []
    # A stale Confirm on the cancelled summary (pressed from an old client) pays nothing.
    data = TransferAction(action="confirm", transfer_id=1).pack()
    await user.press_data(data, message_id=first)
    await user.wait_for("Transfer cancelled", kind="callback_answer")

    await ask(user, "/transfer", "recipient")
    await ask(user, "9002223344", "How much")
    await ask(user, "/cancel", "Cancelled")
    await ask(user, "25", "")  # no longer in the dialog: the bot answers something else
    await user.wait_idle()
    assert "A comment for the recipient" not in user.bot_texts()[-1]
    assert paid(running_bot.emulator) == []


async def test_every_bad_input_keeps_the_step(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    await ask(user, "/transfer", "recipient")
    assert "not a Russian or Kazakh" in await ask(user, "12345", "mobile")
    assert "not a Russian or Kazakh" in await ask(user, "+1 212 555-01-23", "mobile")
    assert "your own wallet" in await ask(user, "+7 900 111-22-33", "own wallet")
    await ask(user, "+7 900 222-33-44", "How much")
    assert "not an amount" in await ask(user, "сто", "amount")
    assert "more than zero" in await ask(user, "0", "zero")
    assert "more than zero" in await ask(user, "-5", "zero")
    assert "two digits" in await ask(user, "10.555", "two digits")
    assert "above the limit" in await ask(user, "100000", "limit")
    await ask(user, "10", "comment")
    assert "too long" in await ask(user, "x" * 141, "too long")
    summary = await summary_for(user, ["x" * 140])
    await user.wait_idle()
    # One line per bad input, and the dialog went on from where it was.
    assert all("\n" not in text for text in user.bot_texts() if "not a" in text or "too long" in text)
    await user.press(CONFIRM)
    await user.wait_for("Sent")
    assert user.message(summary).buttons == []
    assert paid(running_bot.emulator) == [(MAIN_WALLET, RECEIVER_WALLET, Decimal("10.00"))]


async def test_bad_one_liners(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    assert "not a Russian or Kazakh" in await ask(user, "/transfer 555 10", "Usage")
    assert "not an amount" in await ask(user, "/transfer 9002223344 ten", "Usage")
    assert "phone number and the amount" in await ask(user, "/transfer 9002223344", "Usage")
    assert "above the limit" in await ask(user, "/transfer 9002223344 1000000", "Usage")
    assert paid(running_bot.emulator) == []
    assert await rows(running_bot) == []


async def test_session_died_before_confirm_then_login_and_confirm(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    summary = await summary_for(user, ["/transfer 9002223344 42"])
    running_bot.emulator.revoke_tgts(MAIN_WALLET)

    await user.press(CONFIRM)
    await user.wait_for("session has ended")
    assert paid(running_bot.emulator) == []
    assert user.message(summary).button(CONFIRM) is not None  # still confirmable, now under a new row

    await login(user)
    await user.press(CONFIRM, message_id=summary)
    await user.wait_for("Balance now")
    assert paid(running_bot.emulator) == [(MAIN_WALLET, RECEIVER_WALLET, Decimal("42.00"))]
    assert sorted(await rows(running_bot)) == sorted([TransferStatus.ACCEPTED, TransferStatus.FAILED])


async def test_timeout_after_commit_resolves_to_the_payment(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    await summary_for(user, ["/transfer 9002223344 77"])
    running_bot.emulator.faults.inject("payment", "hang_after_commit", delay=HANG)

    await user.press(CONFIRM)
    await user.wait_for("Balance now", timeout=10)
    assert paid(running_bot.emulator) == [(MAIN_WALLET, RECEIVER_WALLET, Decimal("77.00"))]


async def test_a_request_lost_before_commit_is_sent_again_under_the_same_id(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    await summary_for(user, ["/transfer 9002223344 77"])
    running_bot.emulator.faults.inject("payment", "hang", delay=HANG)

    await user.press(CONFIRM)
    # QIWI never saw the first request; the identical one under the same id goes through, within seconds.
    await user.wait_for("Balance now", timeout=15)
    assert paid(running_bot.emulator) == [(MAIN_WALLET, RECEIVER_WALLET, Decimal("77.00"))]
    client_ids = {request.client_id for request in running_bot.emulator.payment_requests}
    assert len(client_ids) == 1 and len(running_bot.emulator.payment_requests) >= 2


async def test_restart_between_sending_and_answer(running_bot: RunningBot) -> None:
    """The bot dies after claiming and sending (the payment went through, the answer never recorded)."""
    user = running_bot.user(ADMIN_ID)
    await login(user)
    summary = await summary_for(user, ["/transfer 9002223344 55 перед перезапуском"])
    transfer_id = _transfer_id(user, summary)
    await running_bot.stop()

    db = await Database.open(running_bot.database_path)
    try:
        transfer = await db.transfers.get(transfer_id)
        assert transfer is not None
        claimed = await db.transfers.claim(transfer_id, ADMIN_ID, transfer.created_at, timedelta(minutes=10))
        assert claimed is not None
    finally:
        await db.close()
    # What the dead process had sent: the payment under the summary's own client id.
    wallet = running_bot.emulator.wallet(MAIN_WALLET)
    running_bot.emulator.pay(
        MAIN_WALLET,
        {
            "id": claimed.client_id,
            "sum": {"amount": claimed.amount, "currency": "643"},
            "comment": claimed.comment,
            "fields": {"account": claimed.recipient[1:]},
            "source": "account_643",
            "paymentMethod": {"type": "Account", "accountId": "643"},
        },
    )
    assert wallet.balance() > 0

    user.forget()
    await running_bot.start()
    # In the language the summary was shown in (the user's Telegram language: none was chosen).
    notice = await user.wait_for("Update on your transfer", timeout=10)
    await user.wait_idle()
    assert "Sent: RUB 55.00" in (notice.text or "") and "Balance now" in (notice.text or "")
    summary_now = user.message(summary).text or ""
    assert "Sent" in summary_now and user.message(summary).buttons == []
    assert paid(running_bot.emulator) == [(MAIN_WALLET, RECEIVER_WALLET, Decimal("55.00"))]
    assert await rows(running_bot) == [TransferStatus.ACCEPTED]


async def test_restart_after_claim_before_sending(running_bot: RunningBot) -> None:
    """The bot dies right after the claim: on start-up the same id is sent once, and the user told."""
    user = running_bot.user(ADMIN_ID)
    await login(user)
    summary = await summary_for(user, ["/transfer 9002223344 66"])
    transfer_id = _transfer_id(user, summary)
    await running_bot.stop()
    db = await Database.open(running_bot.database_path)
    try:
        transfer = await db.transfers.get(transfer_id)
        assert transfer is not None
        assert await db.transfers.claim(transfer_id, ADMIN_ID, transfer.created_at, timedelta(minutes=10))
    finally:
        await db.close()

    user.forget()
    await running_bot.start()
    notice = await user.wait_for("Update on your transfer", timeout=10)
    assert "Sent: RUB 66.00" in (notice.text or "")
    assert paid(running_bot.emulator) == [(MAIN_WALLET, RECEIVER_WALLET, Decimal("66.00"))]
    assert running_bot.emulator.ledger[0].client_id == transfer.client_id
    await running_bot.restart()  # a second start-up finds nothing open and pays nothing
    await user.wait_idle()
    assert len(running_bot.emulator.ledger) == 1


async def test_starting_over_closes_the_open_summary(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    first = await summary_for(user, ["/transfer 9002223344 10 first"])
    stale = TransferAction(action="confirm", transfer_id=_transfer_id(user, first)).pack()
    second = await summary_for(user, ["/transfer 9002223344 20 second"])

    assert user.message(first).buttons == [] and "Transfer cancelled" in (user.message(first).text or "")
    await user.press_data(stale, message_id=first)
    await user.wait_for("Transfer cancelled", kind="callback_answer")
    await user.press(CONFIRM, message_id=second)
    await user.wait_for("Sent")
    assert paid(running_bot.emulator) == [(MAIN_WALLET, RECEIVER_WALLET, Decimal("20.00"))]


async def test_refusals_are_explained_in_the_users_language(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID, language_code="ru")
    await ask(user, "/login", "номер QIWI")
    await ask(user, MAIN_WALLET, "пароль")
    await ask(user, "demo-password", "Вход выполнен")

    for amount, explanation in (("0,50", "меньше минимальной"), ("90000", "недостаточно денег")):
        await user.send(f"/transfer 9002223344 {amount}")
        summary = await user.wait_for("Подтвердите до")
        assert summary.button_texts() == ["✅ Подтвердить", "✖️ Отменить"]
        await user.press("✅ Подтвердить")
        refused = await user.wait_for("Не отправлено")
        assert explanation in (refused.text or "") and refused.buttons == ()

    await user.send("/transfer 79005556677 10")
    await user.wait_for("Подтвердите до")
    await user.press("✅ Подтвердить")
    assert "идентификацию" in ((await user.wait_for("Не отправлено")).text or "")
    assert paid(running_bot.emulator) == []


async def test_cancel_command_at_the_summary(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    summary = await summary_for(user, ["/transfer 9002223344 15"])
    stale = TransferAction(action="confirm", transfer_id=_transfer_id(user, summary)).pack()

    await ask(user, "/cancel", "Cancelled")
    await user.wait_idle()
    assert user.message(summary).buttons == [] and "Transfer cancelled" in (user.message(summary).text or "")
    await user.press_data(stale, message_id=summary)
    await user.wait_for("Transfer cancelled", kind="callback_answer")
    assert paid(running_bot.emulator) == []
    assert await rows(running_bot) == [TransferStatus.CANCELLED]
