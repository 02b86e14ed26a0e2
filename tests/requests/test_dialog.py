"""Money requests through the real bot: FakeTelegram on loopback, QIWI by the emulator."""

from __future__ import annotations

from decimal import Decimal

from bot.sandbox.seed import MAIN_WALLET, RECEIVER_WALLET
from tests.bot.harness import ADMIN_ID, RunningBot, ask, login
from tests.service_stack import OTHER_ID


async def test_request_paid_once_then_another_declined(fast_bot: RunningBot) -> None:
    alice, bob = fast_bot.user(ADMIN_ID, first_name="Alice"), fast_bot.user(OTHER_ID, first_name="Bob")
    await login(alice, RECEIVER_WALLET)
    await login(bob, MAIN_WALLET)
    # Bob's request arrives outside any update of his: in his stored language (Russian when none is stored).
    await ask(bob, "/language", "Choose")
    await bob.press("• English")
    await bob.wait_idle()

    await ask(alice, "/request", "Whom do you ask")
    await alice.press("Bob · +7 900 111-22-33")  # members by name, then their wallet
    assert "Bob, +7 900 111-22-33" in ((await alice.wait_for("How much")).text or "")
    await ask(alice, "0", "more than zero")  # bad input keeps the step
    await ask(alice, "150,5", "comment")
    await ask(alice, "на билеты", "Request sent")
    request = await bob.wait_for("asks you for")
    assert "150.50" in (request.text or "") and "на билеты" in (request.text or "")
    assert "Alice, +7 900 222-33-44" in (request.text or "")  # who asks, by name

    # Someone else pressing Bob's Pay button is refused.
    message = bob.message(request.message_id or 0)
    pay = message.button("Pay")
    assert pay is not None and pay.callback_data is not None
    fast_bot.telegram.add_callback_query(alice.person, message, pay.callback_data)
    # The answer to a callback is shown on the message's chat (Bob's), to the one who pressed.
    await bob.wait_for("not addressed to you", kind="callback_answer")

    # Pay pressed twice: one summary.
    await bob.press("Pay")
    await bob.press("Pay", message_id=request.message_id)
    await bob.wait_for("already open", kind="callback_answer")
    await bob.wait_idle()
    summaries = [m for m in bob.messages if m.from_bot and m.button("✅ Confirm") is not None]
    assert len(summaries) == 1
    await bob.press("✅ Confirm")
    await bob.wait_for("Sent")
    paid = (await alice.wait_for("paid your request")).text or ""
    assert "150.50" in paid
    ledger = fast_bot.emulator.ledger
    assert len(ledger) == 1 and ledger[0].amount == Decimal("150.50") and ledger[0].recipient == RECEIVER_WALLET

    await ask(alice, "/request", "Whom do you ask")
    await alice.press("Bob · +7 900 111-22-33")
    await ask(alice, "20", "comment")
    await alice.press("Skip")
    await alice.wait_for("Request sent")
    await bob.wait_for("asks you for")
    await bob.press("Decline")
    assert "declined your request" in ((await alice.wait_for("declined")).text or "")
    assert len(fast_bot.emulator.ledger) == 1
