"""Due process against a real Synapse: notice → review → removal → statement of reasons → appeal →
reversal. The other member of the room sees the message redacted, then the restored copy; the author
receives the statement as a server notice with its appeal link (DSA Arts 16, 17, 20)."""

import secrets
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.synapse import MODULE_SECRET, Homeserver, shared_homeserver
from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.clock import FrozenClock, system_clock
from trustdesk.db import unit_of_work
from trustdesk.platform.matrix.connector import MatrixConnector, message_locator
from trustdesk.safety import appeals, cases, enforcement, notices
from trustdesk.safety.restrictions import DecisionGround, Restriction
from trustdesk.safety.vocabulary import DsaCategory, DsaKeyword
from trustdesk.staff import service as staff
from trustdesk.staff.models import StaffUser

pytestmark = pytest.mark.slow
TEXT = "everyone who follows that faith should be driven out of this town"


def test_a_notice_removes_the_message_for_the_other_member_and_an_appeal_brings_it_back(
    container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    server = shared_homeserver()
    suffix = secrets.token_hex(3)
    author, reader = f"dp_author_{suffix}", f"dp_reader_{suffix}"
    server.register(author)
    server.register(reader)
    author_id, reader_id = server.user_id(author), server.user_id(reader)
    reader_token = server.login(reader)
    room = server.create_private_room(author_id, reader_id)
    event = server.send(room, author_id, {"msgtype": "m.text", "body": TEXT})
    connector = MatrixConnector(
        server.base_url, server.admin_token, clock=system_clock, module_secret=MODULE_SECRET
    )
    container.__dict__["connector"] = connector
    locator = message_locator(room, event)
    clock.now = datetime.now(UTC)  # the homeserver's messages are in real time

    with unit_of_work(sessions) as session:
        mia = staff.add_user(
            session, clock, Actor.operator(), email="mia@platform.example", roles=["moderator"]
        ).user.id
        ola = staff.add_user(
            session, clock, Actor.operator(), email="ola@platform.example", roles=["moderator"]
        ).user.id
    body = notices.NoticeIn(
        location=locator, reason="It calls for people of one religion to be expelled.",
        category=DsaCategory.ILLEGAL_OR_HARMFUL_SPEECH, keyword=DsaKeyword.HATE_SPEECH,
        notifier_name="Jo Doe", notifier_email="jo@example.org", good_faith=True,
    )  # fmt: skip
    with unit_of_work(sessions) as session:
        receipt = notices.submit_notice(session, clock, connector, body)
        case_id = receipt.case.id
        assert receipt.case.account_id == author_id
        assert receipt.case.text == TEXT  # the reviewer sees what was notified
    decision = cases.DecisionIn(
        restrictions=frozenset({Restriction.REMOVE}),
        explanation="The message incites hatred against people for their religion.",
        ground=DecisionGround.ILLEGAL_CONTENT,
        legal_ground="Council Framework Decision 2008/913/JHA Art. 1",
        category=DsaCategory.ILLEGAL_OR_HARMFUL_SPEECH,
        keyword=DsaKeyword.HATE_SPEECH,
    )
    rules = cases.DecisionRules(public_url="https://trust.example.org")
    with unit_of_work(sessions) as session:
        moderator = session.get_one(StaffUser, mia)
        cases.claim(session, clock, moderator, case_id)
        cases.decide(session, clock, moderator, case_id, decision, rules=rules)
    with unit_of_work(sessions) as session:
        done = {a.kind: a.status for a in enforcement.run_due(session, clock, connector)}
    assert done["remove_content:remove"] == "done"
    assert done["send_notice:statement"] == "done"

    seen = server.call(
        "GET", f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/event/{urllib.parse.quote(event)}",
        token=reader_token,
    )  # fmt: skip
    assert seen["content"] == {}  # removed for the other member
    key = statement_key(server, author_id, room)
    clock.advance(timedelta(days=2))
    with unit_of_work(sessions) as session:
        appeal_id = appeals.file_appeal(session, clock, key, "I quoted a speech in order to report it.").id
    with unit_of_work(sessions) as session:
        appeals.decide_appeal(
            session, clock, session.get_one(StaffUser, ola), appeal_id, grant=True, answer="It reports."
        )
    with unit_of_work(sessions) as session:
        done = {a.kind: a.status for a in enforcement.run_due(session, clock, connector)}
    assert done["remove_content:restore"] == "done"
    restored = [
        m for m in server.room_messages(room, sender=author_id) if m["content"].get("org.trustdesk.restored")
    ]
    assert restored, "the restored copy is in the room"
    copy = restored[-1]
    assert copy["content"]["org.trustdesk.restored"]["event_id"] == event
    assert TEXT in copy["content"]["body"]
    again = server.call(
        "GET",
        f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/event/{urllib.parse.quote(copy['event_id'])}",
        token=reader_token,
    )
    assert TEXT in again["content"]["body"]  # visible to the other member again


def statement_key(server: Homeserver, user_id: str, chat: str) -> str:
    """The appeal key in the statement of reasons the author received as a server notice."""
    for room in server.memberships(user_id):
        if room == chat:
            continue
        for message in server.room_messages(room):
            body = str(message["content"].get("body", ""))
            if "Statement of reasons" in body and "/appeal?key=" in body:
                return body.split("/appeal?key=", 1)[1].split(maxsplit=1)[0]
    raise AssertionError(f"no statement of reasons reached {user_id}")
