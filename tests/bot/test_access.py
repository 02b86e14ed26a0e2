"""Who may use the bot: admins, members by one-time invite, outsiders get one line, groups get one line."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from bot.devtools.fake_user import FakeUser
from bot.sandbox import Emulator
from bot.sandbox.seed import RECEIVER_WALLET
from tests.bot.harness import ADMIN_ID, MEMBER_ID, OUTSIDER_ID, BotFactory, RunningBot, ask, login


async def _invite_code(admin: FakeUser) -> str:
    text = await ask(admin, "/invite", "https://t.me/qiwi_family_test_bot?start=")
    return text.split("?start=", 1)[1].split()[0]


def _fsm_rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        fsm_tables = [name for name in tables if "fsm" in name.lower()]
        assert fsm_tables, tables
        return sum(conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0] for name in fsm_tables)


async def test_outsider_gets_one_line_and_nothing_else(running_bot: RunningBot) -> None:
    outsider = running_bot.user(OUTSIDER_ID)
    tickets_before = len(running_bot.emulator.issued_tickets)
    for text in ("/start", "/login", "/balance", "hello", "/start not-a-code"):
        await outsider.send(text)
    await outsider.wait_idle()
    messages = [a for a in outsider.transcript if a.kind == "message"]
    assert len(messages) == 5
    assert all(str(OUTSIDER_ID) in (a.text or "") for a in messages)
    assert "private bot" in (messages[0].text or "")
    assert "invalid" in (messages[4].text or "")
    assert len(running_bot.emulator.issued_tickets) == tickets_before
    assert not [a for a in outsider.transcript if a.kind == "chat_action"]
    await running_bot.stop()
    assert _fsm_rows(running_bot.database_path) == 0


async def test_invites_members_and_removal(running_bot: RunningBot) -> None:
    admin = running_bot.user(ADMIN_ID)
    member = running_bot.user(MEMBER_ID, first_name="Rita", username="rita")
    late = running_bot.user(OUTSIDER_ID)

    code = await _invite_code(admin)
    assert "Welcome" in await ask(member, f"/start {code}", "Welcome")
    assert "invalid, already used" in await ask(late, f"/start {code}", "invalid")  # single use
    assert "Only admins" in await ask(member, "/invite", "Only admins")

    expired = await _invite_code(admin)
    running_bot.emulator.clock.advance(timedelta(hours=24, seconds=1))
    assert "invalid" in await ask(late, f"/start {expired}", "invalid")

    await login(member, RECEIVER_WALLET)
    await ask(member, "/login", "wallet number")  # a dialog left open when the member is removed
    listing = await ask(admin, "/members", "Members: 1")
    # By name first (as Telegram last sent it), then the id and the wallet.
    assert "Rita" in listing and str(MEMBER_ID) in listing and "+7 900 222-33-44" in listing
    assert listing.index("Rita") < listing.index("+7 900 222-33-44")
    member_tgts = [
        t.ticket for t in running_bot.emulator.issued_tickets if t.kind == "TGT" and t.wallet == RECEIVER_WALLET
    ]
    assert member_tgts and running_bot.emulator.live_tgt(member_tgts[-1]) is not None
    await admin.press("Remove Rita")
    notice = await admin.wait_for(lambda a: a.kind == "callback_answer")
    assert "removed" in (notice.text or "")
    edited = await admin.wait_for(lambda a: a.kind == "edit")
    assert "no members" in (edited.text or "")
    # The removed member's ticket is dead at QIWI too, and the member is an outsider again.
    assert running_bot.emulator.live_tgt(member_tgts[-1]) is None
    assert str(MEMBER_ID) in await ask(member, "/balance", "private bot")
    await running_bot.stop()
    assert _fsm_rows(running_bot.database_path) == 0


async def test_group_chats_only_get_a_pointer_to_private(running_bot: RunningBot) -> None:
    admin = running_bot.user(ADMIN_ID)
    in_group = admin.in_group(-100500)
    tickets_before = len(running_bot.emulator.issued_tickets)
    assert "only in a private chat" in await ask(in_group, "/balance", "private")
    assert "only in a private chat" in await ask(in_group, "/login", "private")
    await in_group.send("just chatting")
    await in_group.send("/balance@some_other_bot")
    await in_group.wait_idle()
    assert len([a for a in in_group.transcript if a.kind == "message"]) == 2
    assert len(running_bot.emulator.issued_tickets) == tickets_before


async def test_setup_mode(make_bot: BotFactory, emulator: Emulator) -> None:
    bot = await make_bot(ADMIN_IDS="")
    someone = bot.user(555)
    text = await ask(someone, "/start", "ADMIN_IDS")
    assert "555" in text and "Setup mode" in text
    assert "ADMIN_IDS" in await ask(someone, "/balance", "ADMIN_IDS")
    assert len(emulator.issued_tickets) == 0
