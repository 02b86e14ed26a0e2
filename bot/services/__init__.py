"""Plain logic the handlers call: sessions, formatting, periods. No Telegram objects in here."""
