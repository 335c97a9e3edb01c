"""A local EU Transparency Database (the statement API of DSA Art. 24(5)) on a loopback port.

It applies the database's rules as ``/work/shared/reference/dsa-statement-of-reasons.md`` states them:
the bearer token (401; 403 for a token without the right to submit), a batch of 1 to 100 statements, all
or none (``422`` with the errors keyed ``statement_N``), each statement validated by the project's own
validator (the rules the database applies), a puid unique in the call and for ever (``422`` with
``errors.existing_puids``), ``201`` echoing each stored statement with its ``uuid``; the single statement
endpoint and ``existing-puid`` (``302`` with the stored statement, or ``404``).

Failure modes a test switches on (each for the next ``times`` requests to the statement endpoints):
``fail_next(status=500)`` (or 503), ``rate_limit(retry_after=…)`` (429 with ``Retry-After``),
``drop_next()`` (the connection closed in the middle of the response; ``after_storing=True`` stores the
batch first: the client cannot tell), ``slow_next(seconds, after_storing=…)``, ``refuse_puid(puid)`` (422
for that statement, as if the database found it invalid), ``forbid``/``token`` for 401/403.
``stored`` keeps what was accepted, puid → statement, so that tests can check "exactly once";
``requests`` every request received.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from trustdesk.safety.statement_rules import StatementRefused, statement_from_json

PLATFORM_NAME = "Reference platform"


@dataclass
class Received:
    """One request: method, path, and the puids it carried (a batch's, in order)."""

    method: str
    path: str
    puids: list[str] = field(default_factory=list)


@dataclass
class _Fault:
    kind: str  # status | rate_limit | drop | slow
    times: int
    status: int = 500
    retry_after: str | None = None
    seconds: float = 0.0
    after_storing: bool = False


class TdbServer:
    """The server; ``url`` is its base URL. Use `running` to start and stop it."""

    def __init__(self, token: str = "tdb-test-token") -> None:
        self.token = token
        self.forbidden = False
        self.stored: dict[str, dict[str, Any]] = {}
        self.requests: list[Received] = []
        self.refused: dict[str, str] = {}
        self.rate_limit_remaining: int | None = None
        self.unkeyed_refusals = False
        """Answer an invalid batch's 422 without saying which statement (as a proxy or an old API might)."""
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------------------- switches

    def fail_next(self, times: int = 1, *, status: int = 500) -> None:
        self._faults.append(_Fault("status", times, status=status))

    def rate_limit(self, times: int = 1, *, retry_after: str | None = "7") -> None:
        self._faults.append(_Fault("rate_limit", times, status=429, retry_after=retry_after))

    def drop_next(self, times: int = 1, *, after_storing: bool = False) -> None:
        self._faults.append(_Fault("drop", times, after_storing=after_storing))

    def slow_next(self, seconds: float, times: int = 1, *, after_storing: bool = True) -> None:
        self._faults.append(_Fault("slow", times, seconds=seconds, after_storing=after_storing))

    def refuse_puid(self, puid: str, reason: str = "The decision facts are not acceptable.") -> None:
        self.refused[puid] = reason

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            while self._faults:
                fault = self._faults[0]
                if fault.times <= 0:
                    self._faults.pop(0)
                    continue
                fault.times -= 1
                return fault
        return None

    # ----------------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="tdb-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def batch_sizes(self) -> list[int]:
        return [len(r.puids) for r in self.requests if r.path.endswith("/statements")]

    def sent_puids(self) -> list[str]:
        """Every puid received in a statement request, repeats included."""
        return [p for r in self.requests if r.method == "POST" for p in r.puids]

    # ----------------------------------------------------------------------------- the rules

    def validate(self, statement: object) -> dict[str, list[str]]:
        """The database's errors for one statement, ``{field: [messages]}`` (empty: valid)."""
        if not isinstance(statement, dict):
            return {"statement": ["must be an object"]}
        if statement.get("puid") in self.refused:
            return {"decision_facts": [self.refused[str(statement["puid"])]]}
        try:
            statement_from_json(statement)
        except StatementRefused as refused:
            return {refused.field: [str(refused)]}
        except (TypeError, ValueError) as exc:
            return {"statement": [str(exc)]}
        return {}

    def store(self, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        with self._lock:
            for statement in statements:
                sid = str(uuid.uuid4())
                stored = {**statement, "uuid": sid, "created_at": now, "platform_name": PLATFORM_NAME,
                          "permalink": f"{self.url}/statement/{sid}",
                          "self": f"{self.url}/api/v1/statement/{sid}"}  # fmt: skip
                self.stored[str(statement["puid"])] = stored
                out.append(stored)
        return out


def _handler_for(server: TdbServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            """Quiet."""

        # -- answers

        def _answer(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-RateLimit-Limit", "200")
            remaining = server.rate_limit_remaining
            self.send_header("X-RateLimit-Remaining", str(199 if remaining is None else remaining))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _drop(self) -> None:
            """Begin an answer, then close the connection in the middle of it."""
            self.wfile.write(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n")
            self.wfile.write(b'Content-Length: 4096\r\n\r\n{"statements": [{"puid"')
            self.wfile.flush()
            self.close_connection = True
            with suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def _authorised(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {server.token}":
                self._answer(401, {"message": "Unauthenticated."})
                return False
            if server.forbidden:
                self._answer(403, {"message": "Unauthorized"})
                return False
            return True

        def _body(self) -> object:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw or b"null")
            except ValueError:
                return None

        # -- routes

        def do_GET(self) -> None:
            server.requests.append(Received("GET", self.path))
            if not self._authorised():
                return
            prefix = "/api/v1/statement/existing-puid/"
            if not self.path.startswith(prefix):
                self._answer(404, {"message": "not found"})
                return
            puid = self.path.removeprefix(prefix)
            stored = server.stored.get(puid)
            if stored is None:
                self._answer(404, {"message": "statement of reason not found"})
            else:
                self._answer(302, stored)

        def do_POST(self) -> None:
            body = self._body()
            statements: list[Any]
            if self.path == "/api/v1/statements":
                raw = body.get("statements") if isinstance(body, dict) else None
                statements = raw if isinstance(raw, list) else []
            elif self.path == "/api/v1/statement":
                statements = [body]
            else:
                server.requests.append(Received("POST", self.path))
                self._answer(404, {"message": "not found"})
                return
            puids = [str(s.get("puid")) for s in statements if isinstance(s, dict)]
            server.requests.append(Received("POST", self.path, puids))
            if not self._authorised():
                return
            fault = server._take_fault()
            if fault is not None and fault.kind == "status":
                self._answer(fault.status, {"message": "Server Error"})
                return
            if fault is not None and fault.kind == "rate_limit":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                server.rate_limit_remaining = None
                self._answer(
                    429, {"message": "Too Many Attempts."}, {**headers, "X-RateLimit-Remaining": "0"}
                )
                return
            if fault is not None and not fault.after_storing:
                if fault.kind == "slow":
                    time.sleep(fault.seconds)
                else:
                    self._drop()
                    return
            if self.path == "/api/v1/statements":
                outcome = self._batch(statements)
            else:
                outcome = self._single(statements[0])
            if fault is not None and fault.after_storing and outcome[0] == 201:
                if fault.kind == "slow":
                    time.sleep(fault.seconds)
                else:
                    self._drop()
                    return
            self._answer(*outcome)

        def _batch(self, statements: list[Any]) -> tuple[int, object]:
            if not 1 <= len(statements) <= 100:
                message = "The statements field must have between 1 and 100 items."
                return 422, {"message": message, "errors": {"statements": [message]}}
            errors = {}
            for index, statement in enumerate(statements):
                if found := server.validate(statement):
                    errors[f"statement_{index}"] = found
            if errors and server.unkeyed_refusals:
                return 422, {"message": "The given data was invalid.", "errors": {"statements": ["invalid"]}}
            if errors:
                return 422, {"errors": errors}
            puids = [str(s["puid"]) for s in statements]
            if len(set(puids)) != len(puids):
                message = "The platform identifier(s) are not all unique within this call."
                return 422, {"message": message, "errors": {"puid": [message]}}
            existing = [p for p in puids if p in server.stored]
            if existing:
                message = "the platform identifier(s) given are not all unique within this platform."
                return 422, {"message": message, "errors": {"puid": [message], "existing_puids": existing}}
            return 201, {"statements": server.store(statements)}

        def _single(self, statement: Any) -> tuple[int, object]:
            if errors := server.validate(statement):
                return 422, {"message": "The given data was invalid.", "errors": errors}
            puid = str(statement["puid"])
            if puid in server.stored:
                message = "The identifier given is not unique within this platform."
                return 422, {
                    "message": message,
                    "errors": {"puid": [message]},
                    "existing": server.stored[puid],
                }
            return 201, server.store([statement])[0]

    return Handler


@contextmanager
def running(token: str = "tdb-test-token") -> Iterator[TdbServer]:
    server = TdbServer(token)
    server.start()
    try:
        yield server
    finally:
        server.stop()
