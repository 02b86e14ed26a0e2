"""The schema as a list of forward steps; `PRAGMA user_version` records how many have run.

Never edit a step that has shipped: append a new one. Each step runs in its own transaction together with
the version bump, so a crash leaves the file at a whole version.
"""

from __future__ import annotations

import logging

from .connection import SQLite

log = logging.getLogger(__name__)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: who may use the bot, and the invites that let members in.
    (
        """
        CREATE TABLE users (
            tg_id              INTEGER PRIMARY KEY,
            role               TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
            language           TEXT,
            wallet             TEXT,
            tgt_ciphertext     BLOB,
            session_started_at TEXT,
            last_activity_at   TEXT,
            notify             INTEGER NOT NULL DEFAULT 1 CHECK (notify IN (0, 1)),
            last_seen_txn_id   INTEGER,
            created_at         TEXT    NOT NULL
        )
        """,
        # The incoming-payment poller walks only the users with a session.
        "CREATE INDEX users_with_session ON users (tg_id) WHERE tgt_ciphertext IS NOT NULL",
        """
        CREATE TABLE invites (
            code       TEXT    PRIMARY KEY,
            created_by INTEGER NOT NULL,
            created_at TEXT    NOT NULL,
            expires_at TEXT    NOT NULL,
            used_by    INTEGER,
            used_at    TEXT,
            CHECK ((used_by IS NULL) = (used_at IS NULL))
        )
        """,
        "CREATE INDEX invites_unused_by_expiry ON invites (expires_at) WHERE used_by IS NULL",
    ),
    # 2: aiogram dialog state, so open dialogs survive a restart. NULL is never part of the key
    # (SQLite treats NULLs as distinct in a primary key): no thread is 0, no business connection is ''.
    (
        """
        CREATE TABLE fsm (
            bot_id                 INTEGER NOT NULL,
            chat_id                INTEGER NOT NULL,
            user_id                INTEGER NOT NULL,
            thread_id              INTEGER NOT NULL DEFAULT 0,
            business_connection_id TEXT    NOT NULL DEFAULT '',
            destiny                TEXT    NOT NULL,
            state                  TEXT,
            data                   TEXT    NOT NULL DEFAULT '{}',
            updated_at             TEXT    NOT NULL,
            PRIMARY KEY (bot_id, chat_id, user_id, thread_id, business_connection_id, destiny)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX fsm_by_user ON fsm (user_id)",
    ),
    # 3: transfers — the client id is fixed when the summary is shown, so a payment is sent at most once.
    # No foreign key to users: removing a member must not erase the record of money they moved.
    (
        """
        CREATE TABLE transfers (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            client_id       TEXT    NOT NULL UNIQUE
                            CHECK (length(client_id) BETWEEN 1 AND 20 AND client_id NOT GLOB '*[^0-9]*'),
            tg_id           INTEGER NOT NULL,
            wallet          TEXT    NOT NULL,
            recipient       TEXT    NOT NULL,
            amount          TEXT    NOT NULL,
            comment         TEXT    NOT NULL DEFAULT '',
            status          TEXT    NOT NULL CHECK (status IN ('awaiting_confirmation', 'sending', 'accepted',
                                                           'failed', 'unknown', 'cancelled', 'expired')),
            created_at      TEXT    NOT NULL,
            updated_at      TEXT    NOT NULL,
            qiwi_txn_id     TEXT,
            failure_code    TEXT,
            failure_message TEXT,
            chat_id         INTEGER,
            message_id      INTEGER
        )
        """,
        "CREATE INDEX transfers_by_user ON transfers (tg_id, id)",
        # Start-up reconciliation and expiry look only at rows still in motion.
        """
        CREATE INDEX transfers_open ON transfers (status, created_at)
            WHERE status IN ('awaiting_confirmation', 'sending', 'unknown')
        """,
    ),
    # 4: money requests between members (/request). The payment itself is an ordinary transfer row; the
    # request only points at it, so "paid" is decided by the transfer's own exactly-once record.
    (
        """
        CREATE TABLE money_requests (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            requester_tg_id INTEGER NOT NULL,
            requester_wallet TEXT   NOT NULL,
            requester_name  TEXT    NOT NULL DEFAULT '',
            payer_tg_id     INTEGER NOT NULL,
            amount          TEXT    NOT NULL,
            comment         TEXT    NOT NULL DEFAULT '',
            status          TEXT    NOT NULL CHECK (status IN ('open', 'paying', 'paid', 'declined', 'expired',
                                                           'cancelled')),
            created_at      TEXT    NOT NULL,
            expires_at      TEXT    NOT NULL,
            updated_at      TEXT    NOT NULL,
            transfer_id     INTEGER,
            chat_id         INTEGER,
            message_id      INTEGER
        )
        """,
        "CREATE INDEX money_requests_live ON money_requests (status, expires_at) WHERE status IN ('open', 'paying')",
    ),
    # 5: several wallets per member, each with its own session and alerts; members known by name.
    (
        """
        CREATE TABLE wallets (
            tg_id              INTEGER NOT NULL,
            wallet             TEXT    NOT NULL,
            tgt_ciphertext     BLOB,
            session_started_at TEXT,
            last_activity_at   TEXT,
            notify             INTEGER NOT NULL DEFAULT 1 CHECK (notify IN (0, 1)),
            last_seen_txn_id   INTEGER,
            created_at         TEXT    NOT NULL,
            PRIMARY KEY (tg_id, wallet)
        )
        """,
        "CREATE INDEX wallets_with_session ON wallets (tg_id) WHERE tgt_ciphertext IS NOT NULL",
        """
        INSERT INTO wallets (tg_id, wallet, tgt_ciphertext, session_started_at, last_activity_at, notify,
                             last_seen_txn_id, created_at)
        SELECT tg_id, wallet, tgt_ciphertext, session_started_at, last_activity_at, notify, last_seen_txn_id,
               COALESCE(session_started_at, created_at)
        FROM users WHERE wallet IS NOT NULL
        """,
        # The ticket lives in one place only: its old column goes, with what belonged to it.
        "DROP INDEX users_with_session",
        "ALTER TABLE users DROP COLUMN tgt_ciphertext",
        "ALTER TABLE users DROP COLUMN session_started_at",
        "ALTER TABLE users DROP COLUMN last_activity_at",
        "ALTER TABLE users DROP COLUMN notify",
        "ALTER TABLE users DROP COLUMN last_seen_txn_id",
        "ALTER TABLE users RENAME COLUMN wallet TO current_wallet",
        "ALTER TABLE users ADD COLUMN first_name TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE users ADD COLUMN username TEXT",
    ),
    # 6: when the user was shown a transfer's final outcome, so a restart tells exactly those never told.
    (
        "ALTER TABLE transfers ADD COLUMN told_at TEXT",
        # Rows settled before this column existed were told by the run that settled them.
        "UPDATE transfers SET told_at = updated_at WHERE status NOT IN ('awaiting_confirmation', 'sending', 'unknown')",
    ),
)

LATEST_VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    """The file was written by a newer version of the bot; opening it could corrupt it."""


async def user_version(sql: SQLite) -> int:
    row = await sql.fetchone("PRAGMA user_version")
    return int(row[0]) if row is not None else 0


async def migrate(sql: SQLite, target: int = LATEST_VERSION) -> int:
    """Runs the missing steps up to `target`; returns the version the file is at afterwards."""
    if not 0 <= target <= LATEST_VERSION:
        raise ValueError(f"no schema version {target}")
    while True:
        async with sql.transaction() as tx:
            # Read inside the write transaction, so two processes opening one file cannot both migrate.
            row = await tx.fetchone("PRAGMA user_version")
            current = int(row[0]) if row is not None else 0
            if current > LATEST_VERSION:
                raise SchemaTooNew(
                    f"database schema version {current} is newer than this bot understands "
                    f"({LATEST_VERSION}); upgrade the bot or restore a backup"
                )
            if current >= target:
                return current
            for statement in MIGRATIONS[current]:
                await tx.execute(statement)
            # PRAGMA takes no parameters; the value is our own integer.
            await tx.execute(f"PRAGMA user_version = {current + 1}")
        log.info("database schema migrated to version %d", current + 1)
