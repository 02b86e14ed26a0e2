"""The QIWI protocol client: CAS tickets, edge reads and wallet-to-wallet payments over one pooled httpx client.

httpx is the API; the bytes go through aiohttp (`AiohttpTransport`), whose connection pool costs a fraction of
httpcore's CPU per request (measured with `python -m bench`), and whose failures are mapped onto httpx's
exceptions so that "never sent" and "sent, answer lost" stay apart.

Secrets (password, TGT, ST, session cookies) travel only in request bodies, headers and the `ticket` query of
the session call; they are never logged and never put into an exception. Logged: method, path without
query, status, milliseconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.cookiejar
import json
import logging
import re
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar

import aiohttp
import httpx
from yarl import URL

from bot.logging_setup import redact
from bot.qiwi.constants import (
    EDGE_ACCEPT,
    EDGE_SERVICE,
    JSON_CONTENT_TYPE,
    MAX_HISTORY_ROWS,
    MAX_WINDOW_DAYS,
    OPERATIONS,
    PAYMENT_ACCEPT,
    PAYMENTS_SERVICE,
    RUB_NUMERIC,
    RUB_SOURCE,
    SOURCES,
    SSO_ACCEPT,
    TGT_COOKIE,
    USER_AGENT,
    WALLET_TRANSFER_PROVIDER,
)
from bot.qiwi.errors import (
    QiwiMalformedResponse,
    QiwiPaymentOutcomeUnknown,
    QiwiUnavailable,
    error_from_response,
)
from bot.qiwi.models import (
    Account,
    HistoryPage,
    Payment,
    PaymentResult,
    Totals,
    parse_balance,
    parse_history,
    parse_payment,
    parse_ticket,
    parse_totals,
)
from bot.timeutil import qiwi_datetime

log = logging.getLogger(__name__)


# Requests to QIWI in flight at once, alert polls included: aiohttp's own default. A command makes its two to
# five requests one after another, so this lets 20-50 members' commands wait on QIWI at the same time
# (twenty made a family pressing at once queue for connections); QIWI's limits are per wallet, not per socket.
MAX_CONNECTIONS = 100


class _RedactTransportLog(logging.Filter):
    """httpx logs every URL at INFO (the web-session URL carries `?ticket=ST-...`); httpcore (an httpx client
    given from outside) logs response headers at DEBUG (`Set-Cookie`), and aiohttp's client loggers could
    print a URL. `logging_setup` quiets them; this keeps secrets out wherever logging is configured otherwise.
    Logger filters do not inherit, so each logger that prints gets one.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


_TRANSPORT_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "aiohttp",
    "aiohttp.client",
    "aiohttp.internal",
)
for _name in _TRANSPORT_LOGGERS:
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _RedactTransportLog) for f in _logger.filters):
        _logger.addFilter(_RedactTransportLog())

T = TypeVar("T")

_CLIENT_ID = re.compile(r"\d{1,20}")
_WALLET = re.compile(r"\d{10,15}")
# Failures where the request certainly never left: nothing can have happened on QIWI's side.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class _RefuseAllCookies(http.cookiejar.CookiePolicy):
    """A jar policy that stores nothing and sends nothing: cookies are per wallet and sent explicitly."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False


def cookieless_jar() -> http.cookiejar.CookieJar:
    # A bare CookieJar: wrapping it in httpx.Cookies first would copy it into a jar with the default policy.
    return http.cookiejar.CookieJar(policy=_RefuseAllCookies())


# Request headers aiohttp writes itself from the URL and the body: httpx's copies would be sent twice.
_OWN_HEADERS = frozenset({b"host", b"content-length", b"transfer-encoding"})


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx's transport interface over one aiohttp session: the QIWI client's code keeps httpx's API.

    What httpcore did and this must do too:
    - **Failures keep their meaning.** Only a failure before anything was written becomes a connect-type
      error (`ConnectError`, `ConnectTimeout`, `UnsupportedProtocol`: see `_NOT_SENT`); everything after the
      connection was had (a reset, a disconnect, a read timeout, a malformed answer) becomes a read-type or
      protocol error, since the request may have been acted on: for a payment that is "outcome unknown".
      aiohttp's own silent resend of an idempotent request over a broken kept-alive connection is switched
      off: an edge GET carries a single-use ticket, and the client's own retries fetch a new one.
    - **No cookie is kept.** The session's jar is a `DummyCookieJar`: cookies are per wallet and sent
      explicitly, never carried from one member's answer into another's request.
    - **The bytes on the wire are the client's**: the URL is sent as encoded (`%2B`, `%3A` stay), the body
      is the exact bytes given, nothing is decompressed here (httpx decodes as before), no redirect followed.
    - **Timeouts per request**, from httpx's: connect → `sock_connect`, read → `sock_read`, pool → `connect`
      (aiohttp's wait for a pooled connection plus its connect).
    The aiohttp session is opened on first use (it belongs to the running event loop) and closed by `aclose`.
    """

    def __init__(self, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits()
        self._max_connections = limits.max_connections or 0  # aiohttp: 0 is no limit
        self._keepalive = limits.keepalive_expiry if limits.keepalive_expiry is not None else 5.0
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections, keepalive_timeout=self._keepalive)
            session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                trust_env=False,
            )
            if hasattr(session, "_retry_connection"):
                session._retry_connection = False  # see the class's docstring
            self._session = session
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """httpx's transport interface: for an `httpx.AsyncClient` built on this transport."""
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw
            if name.lower() not in _OWN_HEADERS
        ]
        timeouts = request.extensions.get("timeout", {})
        body = await request.aread()
        return await self._exchange(request.method, str(request.url), headers, body, timeouts, request)

    async def send(
        self, method: str, url: str, headers: Mapping[str, str], content: bytes | None, timeouts: Mapping[str, Any]
    ) -> httpx.Response:
        """One exchange without the httpx client around it: what `QiwiClient` uses when it built the client
        itself (no cookies to merge or extract, no auth, redirects or hooks: ~0.2 ms of CPU per request)."""
        return await self._exchange(method, url, list(headers.items()), content or b"", timeouts, None)

    async def _exchange(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        timeouts: Mapping[str, Any],
        request: httpx.Request | None,
    ) -> httpx.Response:
        try:
            async with self._open().request(
                method,
                URL(url, encoded=True),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeouts.get("pool"),
                    sock_connect=timeouts.get("connect"),
                    sock_read=timeouts.get("read"),
                ),
            ) as answer:
                content = await answer.read()
                status, raw_headers, reason = answer.status, answer.raw_headers, answer.reason
        except aiohttp.ClientError as error:
            raise _httpx_error(error, request) from error
        extensions = {"http_version": b"HTTP/1.1", "reason_phrase": (reason or "").encode("latin-1", "replace")}
        if request is None:
            # `content=` is read (and decoded, gzip included) at once, as httpx's client would on `aread`.
            return httpx.Response(status, headers=raw_headers, content=content, extensions=extensions)
        return httpx.Response(
            status, headers=raw_headers, stream=httpx.ByteStream(content), request=request, extensions=extensions
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _httpx_error(error: aiohttp.ClientError, request: httpx.Request | None) -> httpx.TransportError:
    """aiohttp's failure as httpx's: connect-type only where the request certainly never left."""
    name = type(error).__name__
    kind: type[httpx.TransportError]
    if isinstance(error, aiohttp.ConnectionTimeoutError):  # before ServerTimeoutError, its base
        kind = httpx.ConnectTimeout
    elif isinstance(error, aiohttp.ClientConnectorError):  # refused, DNS, TLS handshake: nothing written
        kind = httpx.ConnectError
    elif isinstance(error, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        kind = httpx.UnsupportedProtocol
    elif isinstance(error, aiohttp.ServerTimeoutError):  # sock_read: the request went out
        kind = httpx.ReadTimeout
    elif isinstance(error, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        kind = httpx.RemoteProtocolError
    else:  # a reset, a broken pipe, a cut body, anything else once connected: it may have been acted on
        kind = httpx.ReadError
    # The name only: aiohttp's text can carry the URL, and the web-session URL carries a ticket.
    return kind(name, request=request)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class _WebSession:
    tgt_digest: str  # which login the cookies belong to, without keeping the TGT itself
    cookies: dict[str, str] = field(default_factory=dict)


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    found: dict[str, str] = {}
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            continue
        for name, morsel in jar.items():
            found[name] = morsel.value
    return found


def _cookie_header(cookies: Mapping[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def _amount_literal(amount: Decimal) -> str:
    """The JSON number for a ruble amount, written from the Decimal's digits (never through float)."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValueError("amount must be a positive finite Decimal")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("amount has more than two decimal places")
    return format(amount, "f")


def payment_body(*, client_id: str, amount: Decimal, account: str, comment: str) -> bytes:
    """The transfer request exactly as the spec shows it, with `sum.amount` as a bare JSON number."""
    if not _CLIENT_ID.fullmatch(client_id):
        raise ValueError("client id must be 1..20 digits")
    if not re.fullmatch(r"\d{10}", account):
        raise ValueError("recipient account must be the 10 digits after the +7 prefix")
    text = (
        f'{{"id": {json.dumps(client_id)}, '
        f'"sum": {{"amount": {_amount_literal(amount)}, "currency": "{RUB_NUMERIC}"}}, '
        f'"source": "{RUB_SOURCE}", '
        f'"paymentMethod": {{"type": "Account", "accountId": "{RUB_NUMERIC}"}}, '
        f'"comment": {json.dumps(comment, ensure_ascii=False)}, '
        f'"fields": {{"account": {json.dumps(account)}}}}}'
    )
    return text.encode()


def _encode_query(pairs: Iterable[tuple[str, str]]) -> str:
    # Built by hand so that `+` leaves as %2B and `:` as %3A whatever the HTTP library's defaults are.
    return "&".join(
        f"{urllib.parse.quote(key, safe='[]')}={urllib.parse.quote(value, safe='')}" for key, value in pairs
    )


def _validate_window(start: datetime | None, end: datetime | None) -> None:
    if (start is None) != (end is None):
        raise ValueError("start and end go together")
    if start is not None and end is not None:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        if end < start:
            raise ValueError("end is before start")
        if end - start > timedelta(days=MAX_WINDOW_DAYS):
            raise ValueError(f"QIWI allows at most {MAX_WINDOW_DAYS} days between start and end")


def _filter_pairs(operation: str, sources: Iterable[str]) -> list[tuple[str, str]]:
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {sorted(OPERATIONS)}")
    pairs = [("operation", operation)]
    for index, source in enumerate(sources):
        if source not in SOURCES:
            raise ValueError(f"source must be one of {sorted(SOURCES)}")
        pairs.append((f"sources[{index}]", source))
    return pairs


def history_query(
    *,
    rows: int,
    operation: str = "ALL",
    sources: Iterable[str] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    next_txn_id: int | None = None,
    next_txn_date: datetime | None = None,
) -> str:
    if isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows <= MAX_HISTORY_ROWS:
        raise ValueError(f"rows must be an integer 1..{MAX_HISTORY_ROWS}")
    _validate_window(start, end)
    if (next_txn_id is None) != (next_txn_date is None):
        raise ValueError("next_txn_id and next_txn_date go together")
    pairs = [("rows", str(rows)), *_filter_pairs(operation, sources)]
    if start is not None and end is not None:
        pairs += [("startDate", qiwi_datetime(start)), ("endDate", qiwi_datetime(end))]
    if next_txn_id is not None and next_txn_date is not None:
        pairs += [("nextTxnId", str(next_txn_id)), ("nextTxnDate", qiwi_datetime(next_txn_date))]
    return _encode_query(pairs)


def totals_query(
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    operation: str = "ALL",
    sources: Iterable[str] = (),
) -> str:
    _validate_window(start, end)
    pairs: list[tuple[str, str]] = []
    if start is not None and end is not None:
        pairs += [("startDate", qiwi_datetime(start)), ("endDate", qiwi_datetime(end))]
    pairs += _filter_pairs(operation, sources)
    return _encode_query(pairs)


def _check_wallet(wallet: str) -> str:
    if not _WALLET.fullmatch(wallet):
        raise ValueError("wallet must be digits with the country code, without '+'")
    return wallet


class QiwiClient:
    """One instance per process; safe for many users at once (no state shared between wallets)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        auth_url: str,
        web_url: str,
        edge_url: str,
        read_retries: int = 3,
        backoff: float = 0.2,
        user_agent: str = USER_AGENT,
        transport: AiohttpTransport | None = None,
    ) -> None:
        """`transport`: the aiohttp transport under `http`, when the caller built them together (`create`):
        requests then go to it directly, with `http`'s default headers and timeouts (see `_send`)."""
        self._http = http
        self._direct = transport
        # httpx's defaults as it would send them (Accept, Accept-Encoding, Connection, User-Agent), names as cased.
        self._default_headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in http.headers.raw}
        self._timeouts = http.timeout.as_dict()
        # A shared jar would carry one user's web-session cookies into another user's requests.
        self._http.cookies = cookieless_jar()
        self._auth = auth_url.rstrip("/")
        self._web = web_url.rstrip("/")
        self._edge = edge_url.rstrip("/")
        self._read_retries = max(0, read_retries)
        self._backoff = max(0.0, backoff)
        self._user_agent = user_agent
        self._sessions: dict[str, _WebSession] = {}
        self._session_locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def create(
        cls,
        auth_url: str,
        web_url: str,
        edge_url: str,
        timeout: float = 15.0,
        *,
        read_retries: int = 3,
        backoff: float = 0.2,
        max_connections: int = MAX_CONNECTIONS,
    ) -> QiwiClient:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections // 2)
        transport = AiohttpTransport(limits)
        http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            cookies=cookieless_jar(),
            follow_redirects=False,
            trust_env=False,
        )
        return cls(
            http,
            auth_url=auth_url,
            web_url=web_url,
            edge_url=edge_url,
            read_retries=read_retries,
            backoff=backoff,
            transport=transport,
        )

    async def aclose(self) -> None:
        self._sessions.clear()
        await self._http.aclose()

    async def __aenter__(self) -> QiwiClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- transport -------------------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None = None,
        lost_answer: type[QiwiUnavailable] = QiwiUnavailable,
    ) -> httpx.Response:
        """One HTTP exchange; transport failures become QiwiUnavailable (or `lost_answer` once sent)."""
        path = urllib.parse.urlsplit(url).path
        started = time.monotonic()
        all_headers = {"User-Agent": self._user_agent, **headers}
        try:
            if self._direct is not None:
                given = {name.lower() for name in all_headers}
                defaults = {name: value for name, value in self._default_headers.items() if name.lower() not in given}
                response = await self._direct.send(method, url, defaults | all_headers, content, self._timeouts)
            else:
                response = await self._http.request(method, url, headers=all_headers, content=content)
        except _NOT_SENT as exc:
            log.debug("%s %s -> %s after %d ms", method, path, type(exc).__name__, _ms(started))
            # `from None`: httpx's exception text and request carry the URL, and so possibly a ticket.
            raise QiwiUnavailable(f"QIWI is unreachable ({type(exc).__name__}) on {method} {path}") from None
        except httpx.DecodingError:
            log.debug("%s %s -> undecodable body after %d ms", method, path, _ms(started))
            raise QiwiMalformedResponse(f"unreadable QIWI answer on {method} {path}") from None
        except httpx.HTTPError as exc:
            log.debug("%s %s -> %s after %d ms", method, path, type(exc).__name__, _ms(started))
            raise lost_answer(f"no answer from QIWI ({type(exc).__name__}) on {method} {path}") from None
        log.debug("%s %s -> %d in %d ms", method, path, response.status_code, _ms(started))
        return response

    def _cas_headers(self) -> dict[str, str]:
        return {"Accept": SSO_ACCEPT, "Content-Type": JSON_CONTENT_TYPE}

    async def _cas_post(self, path: str, body: Mapping[str, str], prefix: str) -> str:
        response = await self._send(
            "POST", f"{self._auth}{path}", headers=self._cas_headers(), content=json.dumps(body).encode()
        )
        if response.status_code not in (200, 201):
            raise error_from_response(response.status_code, response.content)
        return parse_ticket(response.content, prefix)

    # -- CAS -------------------------------------------------------------------------------------------

    async def create_tgt(self, login: str, password: str) -> str:
        """Log in: the TGT is the long-lived secret (store it encrypted, never the password)."""
        return await self._cas_post("/cas/tgts", {"login": _check_wallet(login), "password": password}, "TGT-")

    async def check_tgt(self, tgt: str) -> bool:
        """True when CAS still knows this TGT; False on 401. Other failures raise."""
        headers = {**self._cas_headers(), "Cookie": f"{TGT_COOKIE}={tgt}"}
        response = await self._send("GET", f"{self._auth}/cas/tgts", headers=headers)
        if response.status_code == 401:
            return False
        if 200 <= response.status_code < 300:
            return True
        raise error_from_response(response.status_code, response.content)

    async def delete_tgt(self, tgt: str) -> None:
        """Log out. A TGT that is already dead (401/404) counts as logged out."""
        digest = _digest(tgt)
        for wallet in [w for w, s in self._sessions.items() if s.tgt_digest == digest]:
            self.forget_web_session(wallet)
        body = json.dumps({"service": PAYMENTS_SERVICE, "ticket": tgt}).encode()
        response = await self._send("DELETE", f"{self._auth}/cas/tgts", headers=self._cas_headers(), content=body)
        if response.status_code in (401, 404) or 200 <= response.status_code < 300:
            return
        raise error_from_response(response.status_code, response.content)

    async def issue_st(self, tgt: str, service: str) -> str:
        """A single-use service ticket for `service` (PAYMENTS_SERVICE or EDGE_SERVICE)."""
        if service not in (PAYMENTS_SERVICE, EDGE_SERVICE):
            raise ValueError("service must be PAYMENTS_SERVICE or EDGE_SERVICE")
        return await self._cas_post("/cas/sts", {"service": service, "ticket": tgt}, "ST-")

    # -- edge reads ------------------------------------------------------------------------------------

    async def _with_retries(self, attempt: Callable[[], Awaitable[T]]) -> T:
        tries = 0
        while True:
            try:
                return await attempt()
            except QiwiUnavailable:
                if tries >= self._read_retries:
                    raise
                await asyncio.sleep(min(self._backoff * 2**tries, 5.0))
                tries += 1

    async def _edge_get(self, tgt: str, path: str, query: str = "") -> httpx.Response:
        """GET on the edge host with a fresh edge ST; raises the mapped error unless 200 or 404."""
        ticket = await self.issue_st(tgt, EDGE_SERVICE)
        url = f"{self._edge}{path}" + (f"?{query}" if query else "")
        headers = {"Accept": EDGE_ACCEPT, "Authorization": f"Token {ticket}"}
        response = await self._send("GET", url, headers=headers)
        if response.status_code not in (200, 404):
            raise error_from_response(response.status_code, response.content)
        return response

    async def balance(self, tgt: str, wallet: str) -> list[Account]:
        path = f"/funding-sources/v1/accounts/{_check_wallet(wallet)}"

        async def attempt() -> list[Account]:
            response = await self._edge_get(tgt, path)
            if response.status_code == 404:
                raise error_from_response(404, response.content)
            return parse_balance(response.content)

        return await self._with_retries(attempt)

    async def history(
        self,
        tgt: str,
        wallet: str,
        *,
        rows: int = 20,
        operation: str = "ALL",
        sources: Iterable[str] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        next_txn_id: int | None = None,
        next_txn_date: datetime | None = None,
    ) -> HistoryPage:
        """One page, newest first. Without start/end QIWI covers only yesterday to now."""
        query = history_query(
            rows=rows,
            operation=operation,
            sources=tuple(sources),
            start=start,
            end=end,
            next_txn_id=next_txn_id,
            next_txn_date=next_txn_date,
        )
        path = f"/payment-history/v1/persons/{_check_wallet(wallet)}/payments"

        async def attempt() -> HistoryPage:
            response = await self._edge_get(tgt, path, query)
            if response.status_code == 404:
                # QIWI answers "no payments match" (and a wallet with no operations at all) with 404.
                return HistoryPage(payments=[], next_txn_id=None, next_txn_date=None)
            return parse_history(response.content)

        return await self._with_retries(attempt)

    async def iter_history(
        self,
        tgt: str,
        wallet: str,
        *,
        start: datetime,
        end: datetime,
        operation: str = "ALL",
        rows: int = MAX_HISTORY_ROWS,
    ) -> AsyncIterator[Payment]:
        """Every payment between start and end, newest first, following the cursor to the last page.

        Windows longer than QIWI's 90 days are walked in 90-day slices, newest slice first.
        """
        if start.tzinfo is None or end.tzinfo is None or end < start:
            raise ValueError("start and end must be aware and in order")
        slice_end = end
        while True:
            slice_start = max(start, slice_end - timedelta(days=MAX_WINDOW_DAYS))
            cursor: tuple[int, datetime] | None = None
            while True:
                page = await self.history(
                    tgt,
                    wallet,
                    rows=rows,
                    operation=operation,
                    start=slice_start,
                    end=slice_end,
                    next_txn_id=cursor[0] if cursor else None,
                    next_txn_date=cursor[1] if cursor else None,
                )
                for payment in page.payments:
                    yield payment
                if page.next_txn_id is None or page.next_txn_date is None:
                    break
                next_cursor = (page.next_txn_id, page.next_txn_date)
                if next_cursor == cursor or not page.payments:
                    break  # a server repeating its cursor would otherwise loop forever
                cursor = next_cursor
            if slice_start <= start:
                return
            slice_end = slice_start - timedelta(seconds=1)

    async def totals(
        self,
        tgt: str,
        wallet: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        operation: str = "ALL",
        sources: Iterable[str] = (),
    ) -> Totals:
        """Sums per currency. Without start/end QIWI counts from the 1st of the current month."""
        query = totals_query(start=start, end=end, operation=operation, sources=tuple(sources))
        path = f"/payment-history/v1/persons/{_check_wallet(wallet)}/payments/total"

        async def attempt() -> Totals:
            response = await self._edge_get(tgt, path, query)
            if response.status_code == 404:
                return Totals(incoming=[], outgoing=[])
            return parse_totals(response.content)

        return await self._with_retries(attempt)

    # -- payments --------------------------------------------------------------------------------------

    def forget_web_session(self, wallet: str) -> None:
        """Drops the wallet's cookies (a dead login, a logout): nothing per wallet outlives its session."""
        self._sessions.pop(wallet, None)
        lock = self._session_locks.get(wallet)
        if lock is not None and not lock.locked():
            del self._session_locks[wallet]

    def has_web_session(self, wallet: str) -> bool:
        return wallet in self._sessions

    def _lock(self, wallet: str) -> asyncio.Lock:
        lock = self._session_locks.get(wallet)
        if lock is None:
            lock = self._session_locks[wallet] = asyncio.Lock()
        return lock

    async def _web_session(self, tgt: str, wallet: str, *, renew: bool) -> _WebSession:
        digest = _digest(tgt)
        async with self._lock(wallet):
            session = self._sessions.get(wallet)
            if session is not None and session.tgt_digest == digest and not renew:
                return session
            self._sessions.pop(wallet, None)
            ticket = await self.issue_st(tgt, PAYMENTS_SERVICE)
            url = f"{self._web}/j_spring_cas_security_check?ticket={urllib.parse.quote(ticket, safe='')}"
            response = await self._send("GET", url, headers={"Accept": "*/*"})
            # CAS may answer with a redirect that sets the cookies; only 2xx/3xx with cookies is a session.
            if response.status_code >= 400:
                raise error_from_response(response.status_code, response.content)
            session = _WebSession(tgt_digest=digest, cookies=_set_cookies(response))
            if not session.cookies:
                raise QiwiMalformedResponse("QIWI opened no web session (no cookies)", status=response.status_code)
            self._sessions[wallet] = session
            return session

    async def _post_payment(self, session: _WebSession, body: bytes) -> httpx.Response:
        headers = {
            "Accept": PAYMENT_ACCEPT,
            "Content-Type": JSON_CONTENT_TYPE,
            "Cookie": _cookie_header(session.cookies),
        }
        url = f"{self._web}/user/sinap/api/terms/{WALLET_TRANSFER_PROVIDER}/payments/proxy.action"
        response = await self._send("POST", url, headers=headers, content=body, lost_answer=QiwiPaymentOutcomeUnknown)
        session.cookies.update(_set_cookies(response))
        return response

    async def pay(
        self, tgt: str, wallet: str, *, client_id: str, amount: Decimal, account: str, comment: str
    ) -> PaymentResult:
        """Transfer rubles to the QIWI wallet `account` (no country prefix) under the caller's fixed id.

        Never retried under a new id. On 401 the web session is opened again once and the SAME body resent.
        Raises QiwiPaymentRefused (no money moved), QiwiPaymentOutcomeUnknown (ask again with the same id),
        QiwiUnavailable before anything was sent, QiwiAuthError when the login itself is dead.
        """
        _check_wallet(wallet)
        body = payment_body(client_id=client_id, amount=amount, account=account, comment=comment)
        session = await self._web_session(tgt, wallet, renew=False)
        response = await self._post_payment(session, body)
        if response.status_code == 401:
            self.forget_web_session(wallet)
            session = await self._web_session(tgt, wallet, renew=True)
            response = await self._post_payment(session, body)
            if response.status_code == 401:
                self.forget_web_session(wallet)
        return self._payment_outcome(response, client_id)

    @staticmethod
    def _payment_outcome(response: httpx.Response, client_id: str) -> PaymentResult:
        try:
            if response.status_code != 200:
                raise error_from_response(response.status_code, response.content)
            return parse_payment(response.content)
        except (QiwiMalformedResponse, QiwiUnavailable) as exc:
            if isinstance(exc, QiwiPaymentOutcomeUnknown):
                raise
            # The request reached QIWI and the answer says nothing certain: the money may have moved.
            raise QiwiPaymentOutcomeUnknown(
                f"payment {client_id}: outcome unknown ({exc.message})", code=exc.code, status=exc.status
            ) from None


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


__all__ = ["AiohttpTransport", "QiwiClient", "cookieless_jar", "history_query", "payment_body", "totals_query"]
