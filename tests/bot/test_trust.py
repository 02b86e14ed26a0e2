"""What a careful family relies on, through the real bot: one rule for who is inside, the password step that
deletes everything, bad input answered, a budget for QIWI's allowance, and one line for the unforeseen."""

from __future__ import annotations

from bot.qiwi.constants import EDGE_SERVICE
from bot.sandbox import Emulator
from bot.sandbox.seed import DEMO_PASSWORD, MAIN_WALLET, RECEIVER_WALLET
from bot.services.wallet import READS_PER_MINUTE
from tests.bot.harness import ADMIN_ID, BotFactory, RunningBot, ask, login

FORMER_ADMIN = 1001


def live_logins(emulator: Emulator, wallet: str) -> int:
    return sum(
        1
        for t in emulator.issued_tickets
        if t.kind == "TGT" and t.wallet == wallet and emulator.live_tgt(t.ticket) is not None
    )


async def test_an_admin_taken_out_of_admin_ids_is_an_outsider_everywhere(make_bot: BotFactory) -> None:
    first = await make_bot(ADMIN_IDS=f"{ADMIN_ID},{FORMER_ADMIN}")
    leaving = first.user(FORMER_ADMIN)
    admin = first.user(ADMIN_ID)
    await login(leaving, RECEIVER_WALLET)
    await login(admin)
    assert live_logins(first.emulator, RECEIVER_WALLET) == 1
    await first.stop()

    keys = ",".join(key.get_secret_value() for key in first.settings.encryption_keys)
    second = await make_bot(ADMIN_IDS=str(ADMIN_ID), ENCRYPTION_KEYS=keys)
    # At start-up the stored session was dropped and its ticket ended at QIWI.
    assert live_logins(second.emulator, RECEIVER_WALLET) == 0
    leaving, admin = second.user(FORMER_ADMIN), second.user(ADMIN_ID)
    assert "private" in await ask(leaving, "/balance", "private")
    assert "no members" in await ask(admin, "/members", "members")  # not listed, so not removable either
    assert "nobody to ask" in await ask(admin, "/request", "nobody")  # not offered to be asked for money
    # An invite makes them a member like anyone else: really in, with no session left from before.
    invite = await ask(admin, "/invite", "start=")
    code = invite.split("start=", 1)[1].split()[0].strip("<>\"'")
    assert "Welcome" in await ask(leaving, f"/start {code}", "Welcome")
    assert "not logged in" in await ask(leaving, "/balance", "not logged in")
    assert str(FORMER_ADMIN) in await ask(admin, "/members", "Members: 1")


async def test_every_message_in_the_password_step_is_deleted_commands_included(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await ask(user, "/login", "wallet number")
    await ask(user, MAIN_WALLET, "password")
    sent = await user.send("/cancel hunter2")
    assert "Cancelled" in (await user.wait_for("Cancelled")).text  # type: ignore[operator]
    assert user.message(sent["message"]["message_id"]).deleted
    await ask(user, "/login", "wallet number")
    await ask(user, MAIN_WALLET, "password")
    sent = await user.send("/help " + DEMO_PASSWORD)
    await user.wait_for("/balance")
    assert user.message(sent["message"]["message_id"]).deleted
    # Still in the password step: the real password logs in, and is gone too.
    sent = await user.send(DEMO_PASSWORD)
    await user.wait_for("Logged in")
    assert user.message(sent["message"]["message_id"]).deleted


async def test_text_at_the_confirm_step_points_at_the_buttons(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    await ask(user, "/transfer 9002223344 10 кофе", "Confirm")
    answer = await ask(user, "yes please", "Confirm")
    assert "Cancel" in answer and "text" not in answer.lower()


async def test_absurd_amounts_get_one_line_and_the_dialog_stays(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    await ask(user, "/transfer", "Whom")
    await ask(user, RECEIVER_WALLET, "How much")
    for digits in (27, 300, 4096):
        answer = await ask(user, "9" * digits, "")
        assert "Traceback" not in answer and len(answer) < 400
    assert "comment" in (await ask(user, "150,50", "comment")).lower()


async def test_fullwidth_digits_are_read_as_ascii(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    summary = await ask(user, "/transfer ９００２２２３３４４ １０ кофе", "Confirm")
    assert "+7 900 222-33-44" in summary
    own = await ask(user, "/transfer ＋７ ９００ １１１-２２-３３ 10", "own wallet")
    assert "Confirm" not in own


async def test_a_member_firing_history_is_told_to_slow_down_before_qiwi_blocks_the_wallet(
    running_bot: RunningBot,
) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    edge_before = sum(1 for t in running_bot.emulator.issued_tickets if t.service == EDGE_SERVICE)
    for _ in range(READS_PER_MINUTE + 10):
        await user.send("/history")
    await user.wait_for("a lot of requests", timeout=30)
    await user.wait_idle()
    edge_reads = sum(1 for t in running_bot.emulator.issued_tickets if t.service == EDGE_SERVICE) - edge_before
    assert edge_reads <= READS_PER_MINUTE
    assert running_bot.emulator.history_allowed(MAIN_WALLET)  # QIWI's own block never came


async def test_an_unforeseen_failure_is_answered_with_one_line_and_an_error_id(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    running_bot.telegram.faults.inject("sendMessage", status=500, times=1)
    await user.send("/help")
    answer = await user.wait_for("went wrong")
    assert "error" in (answer.text or "")
    log = running_bot.logs.getvalue()
    failures = [line for line in log.splitlines() if "failed: error" in line]
    assert len(failures) == 1 and "TelegramServerError" in failures[0]
    # The bot goes on serving.
    assert "Commands" in await ask(user, "/help", "Commands")
