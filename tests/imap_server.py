"""A small IMAP4rev1 server over loopback for the poller's tests: the commands ``imaplib`` sends for
``trustdesk mail poll`` (CAPABILITY, LOGIN, SELECT, SEARCH UNSEEN, FETCH with INTERNALDATE and BODY.PEEK[] or
RFC822, STORE +FLAGS, NOOP, LOGOUT), one folder, one user. Like a real server, ``FETCH RFC822`` (and
``BODY[]``) sets ``\\Seen`` implicitly, and ``BODY.PEEK[]`` does not — the difference the poller relies on.

Chosen over Dovecot (``dovecot-imapd`` is in Debian's registry, but the suite must run wherever ``make test``
runs, without a system daemon): the poller talks real IMAP over a real socket to this server.
"""

import re
import socketserver
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class Stored:
    raw: bytes
    arrived: datetime
    flags: set[str] = field(default_factory=set)


@dataclass
class Mailstore:
    user: str
    password: str
    folder: str = "INBOX"
    messages: list[Stored] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    commands: list[str] = field(default_factory=list)

    def deliver(self, raw: bytes, arrived: datetime | None = None) -> None:
        with self.lock:
            self.messages.append(Stored(raw, arrived or datetime(2026, 11, 2, 8, 30, tzinfo=UTC)))

    def seen(self) -> list[bool]:
        return ["\\Seen" in m.flags for m in self.messages]


def _internaldate(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%d-%b-%Y %H:%M:%S +0000")


def _words(line: str) -> list[str]:
    return [a or b for a, b in re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', line)]


class _Handler(socketserver.StreamRequestHandler):
    server: "ImapServer"

    def send(self, line: str | bytes) -> None:
        self.wfile.write((line.encode() if isinstance(line, str) else line) + b"\r\n")

    def handle(self) -> None:
        box = self.server.mailstore
        self.send("* OK IMAP4rev1 test server ready")
        selected = False
        while line := self.rfile.readline():
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            tag, _, rest = text.partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            box.commands.append(f"{command} {args}".strip() if command != "LOGIN" else "LOGIN")
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1")
                self.send(f"{tag} OK CAPABILITY completed")
            elif command == "LOGIN":
                user, password = [*_words(args), "", ""][:2]
                ok = (user, password) == (box.user, box.password)
                self.send(f"{tag} OK LOGIN completed" if ok else f"{tag} NO [AUTHENTICATIONFAILED] bad login")
            elif command == "SELECT":
                selected = _words(args)[0].upper() == box.folder.upper()
                if not selected:
                    self.send(f"{tag} NO no such folder")
                    continue
                self.send(f"* {len(box.messages)} EXISTS")
                self.send("* FLAGS (\\Seen)")
                self.send(f"{tag} OK [READ-WRITE] SELECT completed")
            elif command == "SEARCH" and selected:
                with box.lock:
                    unseen = [str(i + 1) for i, m in enumerate(box.messages) if "\\Seen" not in m.flags]
                self.send("* SEARCH" + "".join(f" {n}" for n in unseen))
                self.send(f"{tag} OK SEARCH completed")
            elif command == "FETCH" and selected:
                self.fetch(tag, args)
            elif command == "STORE" and selected:
                number, _, change = args.partition(" ")
                with box.lock:
                    message = box.messages[int(number) - 1]
                    if change.upper().startswith("+FLAGS"):
                        message.flags |= set(re.findall(r"\\\w+", change))
                    flags = " ".join(sorted(message.flags))
                self.send(f"* {number} FETCH (FLAGS ({flags}))")
                self.send(f"{tag} OK STORE completed")
            elif command == "NOOP":
                self.send(f"{tag} OK NOOP completed")
            elif command == "LOGOUT":
                self.send("* BYE logging out")
                self.send(f"{tag} OK LOGOUT completed")
                return
            else:
                self.send(f"{tag} BAD unknown or unsupported command")

    def fetch(self, tag: str, args: str) -> None:
        box = self.server.mailstore
        number, _, items = args.partition(" ")
        items = items.upper()
        with box.lock:
            message = box.messages[int(number) - 1]
            if "RFC822" in items or ("BODY[]" in items and "PEEK" not in items):
                message.flags.add("\\Seen")  # as a real server does
            name = "RFC822" if "RFC822" in items else "BODY[]"
            head = f"* {number} FETCH ("
            if "INTERNALDATE" in items:
                head += f'INTERNALDATE "{_internaldate(message.arrived)}" '
            head += f"{name} {{{len(message.raw)}}}"
            self.send(head)
            self.wfile.write(message.raw)
            self.send(")")
        self.send(f"{tag} OK FETCH completed")


class ImapServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mailstore: Mailstore) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mailstore = mailstore
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def __enter__(self) -> "ImapServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)
