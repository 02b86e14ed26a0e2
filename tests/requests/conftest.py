"""The shared stacks: services over real storage and the emulator, and the real bot on a FakeTelegram."""

from tests.bot.conftest import make_bot, running_bot, telegram
from tests.service_stack import cipher, fast_bot, i18n, stack

__all__ = ["cipher", "fast_bot", "i18n", "make_bot", "running_bot", "stack", "telegram"]
