"""The bot's commands (interface.md), named once: group-chat refusals and the update log both use this list."""

ALL_COMMANDS: tuple[str, ...] = (
    "start",
    "help",
    "login",
    "logout",
    "wallets",
    "balance",
    "history",
    "stats",
    "transfer",
    "cancel",
    "language",
    "notify",
    "request",
    "export",
    "invite",
    "members",
)
