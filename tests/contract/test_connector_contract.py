"""The platform connector contract, run over every implementation in `FACTORIES`.

Only protocol calls and `ContractWorld` appear here: what passes for the reference platform must pass for
any connector.
"""

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.contract.conftest import MEDIA, MEDIA_MD5, ContractWorld, Seeded
from trustdesk.platform.protocol import (
    CHAT_TYPES,
    CONTENT_EVENT_DETAILS,
    FETCH_MEDIA_LIMIT,
    INLINE_MEDIA_LIMIT,
    MEDIA_KINDS,
    Account,
    AccountAction,
    AccountNotFound,
    AccountStatus,
    ContentEvent,
    ContentNotFound,
    ContentState,
    Export,
    ExportRecord,
    Hold,
    HoldConflict,
    HoldExpired,
    HoldNotFound,
    Period,
    PlatformConnector,
    PlatformError,
    RemovalAction,
    RestoreMethod,
    canonical_export,
    sha256_hex,
)
from trustdesk.vocabulary import DataCategory, TargetType

ALL = frozenset(DataCategory)
UNKNOWN_ACCOUNT = "987654321"


def texts(export: Export) -> list[str | int | None]:
    return [record.fields.get("text") for record in export.of(DataCategory.CONTENT)]


def locators(export: Export) -> set[str | int | None]:
    return {record.fields.get("locator") for record in export.of(DataCategory.CONTENT)}


def all_events(connector: PlatformConnector, page: int = 1000) -> list[ContentEvent]:
    """The whole stream, page by page; a cursor that does not move on fails instead of looping."""
    events: list[ContentEvent] = []
    cursor: str | None = None
    for _ in range(10_000):
        batch = connector.content_events(after=cursor, limit=page)
        if not batch:
            return events
        assert batch[-1].cursor != cursor, f"the stream does not move on after cursor {cursor!r}"
        events.extend(batch)
        cursor = batch[-1].cursor
    raise AssertionError("the event stream does not end")


def has_capability(connector: PlatformConnector, flag: str) -> bool:
    """Whether the connector has an optional capability: only ``flag = False`` declares it absent, so a
    connector without the flag has it. Where it is absent the contract is the refusal: the call raises
    `PlatformError` naming the flag and changes nothing (never a skip)."""
    return bool(getattr(connector, flag, True))


def event_at(connector: PlatformConnector, locator: str) -> ContentEvent:
    matches = [event for event in all_events(connector) if event.locator == locator]
    assert len(matches) == 1, matches
    return matches[0]


# ------------------------------------------------------------------------------------------ shape


def test_implements_the_protocol(connector: PlatformConnector) -> None:
    assert isinstance(connector, PlatformConnector)
    assert isinstance(connector.name, str)
    assert connector.name


# ------------------------------------------------------------------------------------------ lookup


def test_lookup_by_user_id_returns_the_account(connector: PlatformConnector, seeded: Seeded) -> None:
    account = connector.lookup_account(TargetType.USER_ID, seeded.account_id)

    assert isinstance(account, Account)
    assert account.platform_id == seeded.account_id
    assert account.phone == seeded.phone
    assert account.username == seeded.username
    assert account.status is AccountStatus.ACTIVE
    assert account.created_at.tzinfo is not None


@pytest.mark.parametrize(
    "value",
    ["+4915550000001", " +49 155 5000 0001 ", "+49 (155) 500-00001", "+49.155.500.00001", "004915550000001"],
)
def test_lookup_by_phone_normalises_e164(connector: PlatformConnector, seeded: Seeded, value: str) -> None:
    account = connector.lookup_account(TargetType.PHONE, value)

    assert account is not None
    assert account.platform_id == seeded.account_id


@pytest.mark.parametrize("value", ["Alice_Contract", "@Alice_Contract", "alice_contract", "@ALICE_CONTRACT"])
def test_lookup_by_username_ignores_at_sign_and_case(
    connector: PlatformConnector, seeded: Seeded, value: str
) -> None:
    account = connector.lookup_account(TargetType.USERNAME, value)

    assert account is not None
    assert account.platform_id == seeded.account_id


def test_lookup_by_content_url_returns_the_author(connector: PlatformConnector, seeded: Seeded) -> None:
    by_account, by_other = seeded.messages[0], seeded.messages[1]

    author = connector.lookup_account(TargetType.CONTENT_URL, by_account.locator)
    other = connector.lookup_account(TargetType.CONTENT_URL, by_other.locator)

    assert author is not None
    assert author.platform_id == seeded.account_id
    assert other is not None
    assert other.platform_id == seeded.other_id


@pytest.mark.parametrize(
    ("target_type", "value"),
    [
        (TargetType.PHONE, "+4915550009999"),
        (TargetType.PHONE, "not a phone"),
        (TargetType.PHONE, ""),
        (TargetType.USERNAME, "nobody_here"),
        (TargetType.USERNAME, "@"),
        (TargetType.USER_ID, UNKNOWN_ACCOUNT),
        (TargetType.USER_ID, "not-an-id"),
        (TargetType.CONTENT_URL, "https://elsewhere.example/post/1"),
        (TargetType.CONTENT_URL, "ref://chat/999999/message/999999"),
    ],
)
def test_lookup_of_nothing_is_none(
    connector: PlatformConnector, seeded: Seeded, target_type: TargetType, value: str
) -> None:
    assert connector.lookup_account(target_type, value) is None


# ------------------------------------------------------------------------------------------ export


def test_export_of_unknown_account_raises(connector: PlatformConnector, seeded: Seeded) -> None:
    with pytest.raises(AccountNotFound):
        connector.export(UNKNOWN_ACCOUNT, ALL, seeded.everything)


def test_export_needs_a_category(connector: PlatformConnector, seeded: Seeded) -> None:
    with pytest.raises(ValueError, match="category"):
        connector.export(seeded.account_id, [], seeded.everything)


@pytest.mark.parametrize("category", list(DataCategory))
def test_export_holds_only_the_requested_category(
    connector: PlatformConnector, seeded: Seeded, category: DataCategory
) -> None:
    export = connector.export(seeded.account_id, [category], seeded.everything)

    assert export.account_id == seeded.account_id
    assert export.categories == {category}
    assert export.period == seeded.everything
    assert export.records, f"the seeded account has {category} data"
    assert {record.category for record in export.records} == {category}


def test_subscriber_and_identification_carry_no_text_and_no_chats(
    connector: PlatformConnector, seeded: Seeded
) -> None:
    export = connector.export(
        seeded.account_id, [DataCategory.SUBSCRIBER, DataCategory.IDENTIFICATION], seeded.everything
    )

    keys = {key for record in export.records for key in record.fields}
    values = {str(value) for record in export.records for value in record.fields.values()}
    assert "text" not in keys
    assert not {key for key in keys if "chat" in key}
    assert not any(message.text and message.text in values for message in seeded.messages)
    # and what was asked for is there
    assert seeded.phone in values
    assert {session.ip for session in seeded.sessions} <= values


def test_traffic_names_chats_and_counterparts_but_no_text(
    connector: PlatformConnector, seeded: Seeded
) -> None:
    export = connector.export(seeded.account_id, [DataCategory.TRAFFIC], seeded.everything)

    keys = {key for record in export.records for key in record.fields}
    values = {str(value) for record in export.records for value in record.fields.values()}
    assert "text" not in keys
    assert "media_sha256" not in keys
    assert seeded.chat_id in values
    assert seeded.other_id in values
    assert seeded.phone not in values
    assert not any(message.text and message.text in values for message in seeded.messages)


def test_content_holds_the_accounts_own_messages(connector: PlatformConnector, seeded: Seeded) -> None:
    export = connector.export(seeded.account_id, [DataCategory.CONTENT], seeded.everything)

    assert locators(export) == {message.locator for message in seeded.own_messages}
    media = [record for record in export.records if record.fields.get("media_sha256")]
    assert [record.fields["media_sha256"] for record in media] == [seeded.messages[2].media_sha256]
    assert seeded.messages[1].text not in texts(export)  # the counterpart's words are not the account's


def test_export_keeps_to_the_period(connector: PlatformConnector, seeded: Seeded) -> None:
    export = connector.export(seeded.account_id, ALL, seeded.early)

    timed = [record for record in export.records if record.at is not None]
    assert timed
    assert all(seeded.early.contains(record.at) for record in timed if record.at is not None)
    untimed = {record.category for record in export.records if record.at is None}
    assert untimed <= {DataCategory.SUBSCRIBER, DataCategory.TRAFFIC}

    values = {str(value) for record in export.records for value in record.fields.values()}
    first, second = seeded.sessions
    assert first.ip in values
    assert second.ip not in values
    inside = {message.locator for message in seeded.own_messages if seeded.early.contains(message.at)}
    assert locators(export) == inside
    assert seeded.messages[3].text not in texts(export)


def test_subscriber_facts_are_timeless(connector: PlatformConnector, seeded: Seeded) -> None:
    after_everything = Period(seeded.everything.end, seeded.everything.end + timedelta(days=1))

    export = connector.export(seeded.account_id, [DataCategory.SUBSCRIBER], after_everything)

    assert export.records
    assert all(record.at is None for record in export.records)
    assert seeded.phone in {str(value) for record in export.records for value in record.fields.values()}


def test_export_is_repeatable(connector: PlatformConnector, seeded: Seeded) -> None:
    first = connector.export(seeded.account_id, ALL, seeded.everything)
    second = connector.export(seeded.account_id, ALL, seeded.everything)

    assert canonical_export(first) == canonical_export(second)


# ------------------------------------------------------------------------------------------ holds


def place(
    connector: PlatformConnector, world: ContractWorld, seeded: Seeded, hold_id: str = "hold-1"
) -> Hold:
    return connector.place_hold(
        hold_id,
        seeded.account_id,
        [DataCategory.IDENTIFICATION, DataCategory.CONTENT],
        seeded.early,
        world.now() + timedelta(days=60),
    )


def test_place_hold_seals_a_snapshot_of_the_export(
    connector: PlatformConnector, world: ContractWorld, seeded: Seeded
) -> None:
    expected = connector.export(
        seeded.account_id, [DataCategory.IDENTIFICATION, DataCategory.CONTENT], seeded.early
    )

    hold = place(connector, world, seeded)

    assert hold.hold_id == "hold-1"
    assert hold.account_id == seeded.account_id
    assert hold.categories == {DataCategory.IDENTIFICATION, DataCategory.CONTENT}
    assert hold.period == seeded.early
    assert hold.placed_at == world.now()
    assert hold.expires_at == world.now() + timedelta(days=60)
    assert hold.snapshot == canonical_export(expected)
    assert hold.snapshot_sha256 == sha256_hex(hold.snapshot)
    assert hold.snapshot_intact()
    document = json.loads(hold.snapshot)
    assert document["account_id"] == seeded.account_id
    assert {record["category"] for record in document["records"]} == {"identification", "content"}


def test_place_hold_is_idempotent(connector: PlatformConnector, world: ContractWorld, seeded: Seeded) -> None:
    first = place(connector, world, seeded)
    world.advance(timedelta(minutes=5))
    world.post(seeded.chat_id, seeded.account_id, "posted between the two calls")  # data moved on

    again = place(connector, world, seeded)

    assert again == first


def test_place_hold_refuses_a_reused_id(
    connector: PlatformConnector, world: ContractWorld, seeded: Seeded
) -> None:
    place(connector, world, seeded)

    with pytest.raises(HoldConflict):
        connector.place_hold(
            "hold-1", seeded.other_id, [DataCategory.CONTENT], seeded.early, world.now() + timedelta(days=1)
        )
    with pytest.raises(HoldConflict):
        connector.place_hold(
            "hold-1", seeded.account_id, [DataCategory.CONTENT], seeded.early, world.now() + timedelta(days=1)
        )


def test_place_hold_checks_its_arguments(
    connector: PlatformConnector, world: ContractWorld, seeded: Seeded
) -> None:
    with pytest.raises(AccountNotFound):
        connector.place_hold("h", UNKNOWN_ACCOUNT, ALL, seeded.early, world.now() + timedelta(days=1))
    with pytest.raises(ValueError, match="expires_at"):
        connector.place_hold("h", seeded.account_id, ALL, seeded.early, world.now())
    with pytest.raises(ValueError, match="category"):
        connector.place_hold("h", seeded.account_id, [], seeded.early, world.now() + timedelta(days=1))


def test_snapshot_stays_sealed_while_the_data_changes(
    connector: PlatformConnector, world: ContractWorld, seeded: Seeded
) -> None:
    hold = place(connector, world, seeded)
    connector.remove_content(seeded.messages[0].locator, RemovalAction.REMOVE)

    extended = connector.extend_hold(hold.hold_id, hold.expires_at + timedelta(days=30))

    assert extended.snapshot == hold.snapshot
    assert extended.snapshot_sha256 == hold.snapshot_sha256
    sealed = json.loads(hold.snapshot)["records"]
    assert any(record["fields"].get("text") == seeded.messages[0].text for record in sealed)


def test_extend_hold_moves_the_expiry(
    connector: PlatformConnector, world: ContractWorld, seeded: Seeded
) -> None:
    hold = place(connector, world, seeded)
    later = hold.expires_at + timedelta(days=30)

    extended = connector.extend_hold(hold.hold_id, later)

    assert extended.expires_at == later
    assert extended.placed_at == hold.placed_at
    assert extended.period == hold.period
    assert (
        connector.place_hold(
            hold.hold_id, hold.account_id, hold.categories, hold.period, hold.expires_at
        ).expires_at
        == later
    )
    with pytest.raises(ValueError, match="later"):
        connector.extend_hold(hold.hold_id, hold.expires_at)


def test_extend_of_unknown_or_lapsed_hold_raises(
    connector: PlatformConnector, world: ContractWorld, seeded: Seeded
) -> None:
    with pytest.raises(HoldNotFound):
        connector.extend_hold("no-such-hold", world.now() + timedelta(days=1))
    hold = place(connector, world, seeded)
    world.advance(timedelta(days=61))

    with pytest.raises(HoldExpired):
        connector.extend_hold(hold.hold_id, world.now() + timedelta(days=30))


def test_release_hold(connector: PlatformConnector, world: ContractWorld, seeded: Seeded) -> None:
    hold = place(connector, world, seeded)

    connector.release_hold(hold.hold_id)

    with pytest.raises(HoldNotFound):
        connector.extend_hold(hold.hold_id, hold.expires_at + timedelta(days=1))
    with pytest.raises(HoldNotFound):
        connector.release_hold(hold.hold_id)
    replaced = place(connector, world, seeded)  # the id is free again
    assert replaced.snapshot_intact()


def test_release_of_unknown_hold_raises(connector: PlatformConnector) -> None:
    with pytest.raises(HoldNotFound):
        connector.release_hold("no-such-hold")


# ------------------------------------------------------------------------------------------ removal


def test_remove_then_restore(connector: PlatformConnector, world: ContractWorld, seeded: Seeded) -> None:
    target = seeded.messages[0]
    traffic_before = connector.export(seeded.account_id, [DataCategory.TRAFFIC], seeded.everything)

    removed = connector.remove_content(target.locator, RemovalAction.REMOVE)

    assert removed.locator == target.locator
    assert removed.action is RemovalAction.REMOVE
    assert removed.scope is None
    assert removed.effective_at == world.now()
    content = connector.export(seeded.account_id, [DataCategory.CONTENT], seeded.everything)
    assert target.locator not in locators(content)
    assert target.text not in texts(content)
    event = event_at(connector, target.locator)
    assert event.state is ContentState.REMOVED
    assert event.text == target.text  # preserved, so it can come back
    # that the message was sent stays on record
    traffic_after = connector.export(seeded.account_id, [DataCategory.TRAFFIC], seeded.everything)
    assert canonical_export(traffic_after) == canonical_export(traffic_before)
    assert connector.lookup_account(TargetType.CONTENT_URL, target.locator) is not None
    assert world.seen_by(seeded.other_id, target.locator) is None  # gone for the other member

    restored = connector.remove_content(target.locator, RemovalAction.RESTORE)

    assert restored.locator == target.locator
    assert restored.action is RemovalAction.RESTORE
    assert restored.scope is None
    assert restored.effective_at == world.now()
    assert restored.restored_by in set(RestoreMethod)
    assert restored.visible_at is not None
    content = connector.export(seeded.account_id, [DataCategory.CONTENT], seeded.everything)
    assert restored.visible_at in locators(content)
    assert event_at(connector, restored.visible_at).state is ContentState.VISIBLE
    seen = world.seen_by(seeded.other_id, restored.visible_at)
    assert seen is not None
    assert target.text is not None
    assert target.text in seen  # visible to the other member again
    if restored.restored_by is RestoreMethod.UNDONE:
        assert restored.visible_at == target.locator
        assert seen == target.text
    else:  # republished: a new message marked as restored; the original stays removed
        assert restored.visible_at != target.locator
        assert seen != target.text
        assert event_at(connector, target.locator).state is ContentState.REMOVED
        assert connector.lookup_account(TargetType.CONTENT_URL, restored.visible_at) == (
            connector.lookup_account(TargetType.USER_ID, seeded.account_id)
        )
    # a repeat changes nothing and publishes nothing
    stream = len(all_events(connector))
    again = connector.remove_content(target.locator, RemovalAction.RESTORE)
    assert (again.restored_by, again.visible_at) == (restored.restored_by, restored.visible_at)
    assert len(all_events(connector)) == stream


def test_restore_brings_media_back(
    connector: PlatformConnector, world: ContractWorld, seeded: Seeded
) -> None:
    target = seeded.messages[2]  # the image
    connector.remove_content(target.locator, RemovalAction.REMOVE)

    restored = connector.remove_content(target.locator, RemovalAction.RESTORE)

    assert restored.visible_at is not None
    event = event_at(connector, restored.visible_at)
    assert event.state is ContentState.VISIBLE
    assert event.kind == "media"
    assert event.media_sha256 == target.media_sha256
    assert world.seen_by(seeded.other_id, restored.visible_at) is not None


def test_restore_of_content_never_removed_changes_nothing(
    connector: PlatformConnector, seeded: Seeded
) -> None:
    target = seeded.messages[1]
    stream = len(all_events(connector))

    result = connector.remove_content(target.locator, RemovalAction.RESTORE)

    assert result.restored_by is RestoreMethod.UNDONE
    assert result.visible_at == target.locator
    assert event_at(connector, target.locator).state is ContentState.VISIBLE
    assert len(all_events(connector)) == stream


def test_geo_restrict_keeps_its_scope(connector: PlatformConnector, seeded: Seeded) -> None:
    target = seeded.messages[2]
    if not has_capability(connector, "supports_geo_restriction"):
        with pytest.raises(PlatformError, match="supports_geo_restriction"):
            connector.remove_content(target.locator, RemovalAction.GEO_RESTRICT, ["DE"])
        assert event_at(connector, target.locator).state is ContentState.VISIBLE  # refused: nothing changed
        assert target.locator in locators(
            connector.export(seeded.account_id, [DataCategory.CONTENT], seeded.everything)
        )
        return

    result = connector.remove_content(target.locator, RemovalAction.GEO_RESTRICT, ["de", "FR"])

    assert result.action is RemovalAction.GEO_RESTRICT
    assert result.scope == frozenset({"DE", "FR"})
    assert event_at(connector, target.locator).state is ContentState.RESTRICTED
    # still there elsewhere, so still exported
    assert target.locator in locators(
        connector.export(seeded.account_id, [DataCategory.CONTENT], seeded.everything)
    )

    widened = connector.remove_content(target.locator, RemovalAction.GEO_RESTRICT, ["AT"])

    assert widened.scope == frozenset({"AT", "DE", "FR"})


def test_removing_a_whole_chat_hides_its_messages(
    connector: PlatformConnector, world: ContractWorld, seeded: Seeded
) -> None:
    chat_locator = seeded.messages[0].locator.rsplit("/message/", 1)[0]

    result = connector.remove_content(chat_locator, RemovalAction.REMOVE)

    assert result.scope is None
    assert not locators(connector.export(seeded.account_id, [DataCategory.CONTENT], seeded.everything))
    assert {event_at(connector, message.locator).state for message in seeded.messages} == {
        ContentState.REMOVED
    }

    restored = connector.remove_content(chat_locator, RemovalAction.RESTORE)

    assert restored.locator == chat_locator
    assert restored.restored_by in set(RestoreMethod)
    assert restored.visible_at is not None
    content = connector.export(seeded.account_id, [DataCategory.CONTENT], seeded.everything)
    own = [message for message in seeded.own_messages if message.text is not None]
    assert len(texts(content)) == len(seeded.own_messages)
    for message in own:
        assert message.text is not None
        assert any(message.text in str(text) for text in texts(content))
    for locator in locators(content):
        assert isinstance(locator, str)
        assert locator.startswith(restored.visible_at)
        assert event_at(connector, locator).state is ContentState.VISIBLE
        assert world.seen_by(seeded.other_id, locator) is not None  # the other member sees them again


@pytest.mark.parametrize(
    "locator", ["ref://chat/999999/message/999999", "https://elsewhere.example/post/1", "", "ref://chat/x"]
)
def test_remove_of_unknown_content_raises(connector: PlatformConnector, seeded: Seeded, locator: str) -> None:
    with pytest.raises(ContentNotFound):
        connector.remove_content(locator, RemovalAction.REMOVE)


def test_remove_checks_the_scope(connector: PlatformConnector, seeded: Seeded) -> None:
    locator = seeded.messages[0].locator
    with pytest.raises(ValueError, match="scope"):
        connector.remove_content(locator, RemovalAction.GEO_RESTRICT)
    with pytest.raises(ValueError, match="country"):
        connector.remove_content(locator, RemovalAction.GEO_RESTRICT, [])
    with pytest.raises(ValueError, match="country"):
        connector.remove_content(locator, RemovalAction.GEO_RESTRICT, ["Germany"])
    with pytest.raises(ValueError, match="scope"):
        connector.remove_content(locator, RemovalAction.REMOVE, ["DE"])
    assert event_at(connector, locator).state is ContentState.VISIBLE  # nothing changed


# ------------------------------------------------------------------------------------------ accounts


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (AccountAction.RESTRICT, AccountStatus.RESTRICTED),
        (AccountAction.SUSPEND, AccountStatus.SUSPENDED),
        (AccountAction.TERMINATE, AccountStatus.TERMINATED),
    ],
)
def test_act_on_account_changes_status(
    connector: PlatformConnector, seeded: Seeded, action: AccountAction, status: AccountStatus
) -> None:
    account = connector.act_on_account(seeded.account_id, action, "repeated violations, case 42")

    assert account.platform_id == seeded.account_id
    assert account.status is status
    looked_up = connector.lookup_account(TargetType.USER_ID, seeded.account_id)
    assert looked_up is not None
    assert looked_up.status is status

    reinstated = connector.act_on_account(seeded.account_id, AccountAction.REINSTATE, "appeal granted")

    assert reinstated.status is AccountStatus.ACTIVE


def test_act_on_account_checks_its_arguments(connector: PlatformConnector, seeded: Seeded) -> None:
    with pytest.raises(AccountNotFound):
        connector.act_on_account(UNKNOWN_ACCOUNT, AccountAction.SUSPEND, "reason")
    with pytest.raises(ValueError, match="reason"):
        connector.act_on_account(seeded.account_id, AccountAction.SUSPEND, "  ")
    account = connector.lookup_account(TargetType.USER_ID, seeded.account_id)
    assert account is not None
    assert account.status is AccountStatus.ACTIVE


# ------------------------------------------------------------------------------------------ notices


def test_send_notice_returns_an_id(
    connector: PlatformConnector, world: ContractWorld, seeded: Seeded
) -> None:
    first = connector.send_notice(seeded.account_id, "Your message was removed: statement of reasons 1.")
    second = connector.send_notice(seeded.account_id, "Your appeal was granted.")

    assert isinstance(first, str)
    assert first
    assert first != second
    assert world.notice_texts(seeded.account_id) == [
        "Your message was removed: statement of reasons 1.",
        "Your appeal was granted.",
    ]
    assert world.notice_texts(seeded.other_id) == []


def test_send_notice_checks_its_arguments(connector: PlatformConnector, seeded: Seeded) -> None:
    with pytest.raises(AccountNotFound):
        connector.send_notice(UNKNOWN_ACCOUNT, "hello")
    with pytest.raises(ValueError, match="text"):
        connector.send_notice(seeded.account_id, "")


# ------------------------------------------------------------------------------------------ events


def test_content_events_cover_the_seeded_messages(connector: PlatformConnector, seeded: Seeded) -> None:
    events = all_events(connector)

    by_locator = {event.locator: event for event in events}
    assert set(by_locator) >= {message.locator for message in seeded.messages}
    for message in seeded.messages:
        event = by_locator[message.locator]
        assert event.account_id == message.sender_id
        assert event.chat_id == seeded.chat_id
        assert event.at == message.at
        assert event.text == message.text
        assert event.media_sha256 == message.media_sha256
        assert event.kind == ("media" if message.media_sha256 else "message")
        assert event.state is ContentState.VISIBLE


@pytest.mark.parametrize("page", [1, 2, 3])
def test_content_events_resume_without_loss_or_duplicates(
    connector: PlatformConnector, world: ContractWorld, seeded: Seeded, page: int
) -> None:
    whole = connector.content_events(limit=1000)

    paged = all_events(connector, page)

    assert [event.event_id for event in paged] == [event.event_id for event in whole]
    assert len({event.event_id for event in paged}) == len(paged)

    cursor = whole[-1].cursor
    assert not connector.content_events(after=cursor)
    fresh = world.post(seeded.chat_id, seeded.other_id, "posted after the consumer's cursor")
    world.post(seeded.chat_id, seeded.account_id, "and another one")

    resumed = connector.content_events(after=cursor, limit=1)

    assert [event.locator for event in resumed] == [fresh]
    rest = connector.content_events(after=resumed[-1].cursor)
    assert [event.text for event in rest] == ["and another one"]


def declared_details(connector: PlatformConnector) -> frozenset[str]:
    """The `ContentEvent` details the connector says it fills (none is a valid answer: the values it does
    give are still checked, never skipped)."""
    declared = frozenset(getattr(connector, "content_event_details", frozenset()))
    assert declared <= CONTENT_EVENT_DETAILS, f"unknown details declared: {declared - CONTENT_EVENT_DETAILS}"
    return declared


def test_content_events_carry_the_declared_details(connector: PlatformConnector, seeded: Seeded) -> None:
    declared = declared_details(connector)
    by_locator = {event.locator: event for event in all_events(connector)}

    for message in seeded.messages:
        event = by_locator[message.locator]
        is_media = message.media_sha256 is not None
        # values, when present, are always well-formed
        assert event.chat_type is None or event.chat_type in CHAT_TYPES
        assert event.media_kind is None or event.media_kind in MEDIA_KINDS
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) and 0 <= q <= 100 for h, q in event.media_pdq)
        assert event.media_data is None or len(event.media_data) <= INLINE_MEDIA_LIMIT
        if not is_media:
            assert (event.media_kind, event.media_md5, event.media_pdq, event.media_data) == (
                None,
                None,
                (),
                None,
            )
        if "chat_type" in declared:
            assert event.chat_type == "private"  # the seeded chat is a one-to-one chat
        if "audience" in declared:
            assert event.audience == 2
        if "account_created_at" in declared:
            author = connector.lookup_account(TargetType.USER_ID, message.sender_id)
            assert author is not None
            assert event.account_created_at is not None
            assert abs(event.account_created_at - author.created_at) < timedelta(seconds=1)
        if is_media and "media_kind" in declared:
            assert event.media_kind == "image"
        if is_media and "media_md5" in declared:
            assert event.media_md5 == MEDIA_MD5
        if is_media and "media_pdq" in declared:
            assert event.media_pdq, "an image carries its PDQ hash"
        if is_media and "media_data" in declared:
            assert event.media_data == MEDIA


def test_content_events_check_their_arguments(connector: PlatformConnector, seeded: Seeded) -> None:
    for limit in (0, -1, 1001):
        with pytest.raises(ValueError, match="limit"):
            connector.content_events(limit=limit)
    with pytest.raises(ValueError, match="cursor"):
        connector.content_events(after="not a cursor")


# ------------------------------------------------------------------------------------------ fetch


def assert_like_the_stream(connector: PlatformConnector, fetched: ContentEvent) -> None:
    """The fetched event says what the stream says of the same content (bytes aside: their limits differ)."""
    streamed = event_at(connector, fetched.locator)
    declared = frozenset(getattr(connector, "content_event_details", frozenset())) - {"media_data"}
    fields = ["event_id", "kind", "account_id", "chat_id", "at", "text", "media_sha256", "state", *declared]
    assert {name: getattr(fetched, name) for name in fields} == {
        name: getattr(streamed, name) for name in fields
    }


def test_fetch_content_of_a_text_message(connector: PlatformConnector, seeded: Seeded) -> None:
    message = seeded.messages[0]

    event = connector.fetch_content(message.locator)

    assert event.locator == message.locator
    assert (event.kind, event.text, event.account_id) == ("message", message.text, message.sender_id)
    assert event.chat_id == seeded.chat_id
    assert event.state is ContentState.VISIBLE
    assert abs(event.at - message.at) < timedelta(seconds=1)
    assert (event.media_sha256, event.media_kind, event.media_md5, event.media_data) == (
        None,
        None,
        None,
        None,
    )
    assert_like_the_stream(connector, event)


def test_fetch_content_of_an_image_carries_its_bytes(connector: PlatformConnector, seeded: Seeded) -> None:
    message = seeded.messages[2]  # the image, without caption

    event = connector.fetch_content(message.locator)

    assert event.kind == "media"
    assert event.media_data == MEDIA
    assert event.media_sha256 == message.media_sha256 == hashlib.sha256(event.media_data).hexdigest()
    assert event.media_kind == "image"
    assert event.media_md5 in {None, MEDIA_MD5}
    assert len(event.media_data) <= FETCH_MEDIA_LIMIT
    assert_like_the_stream(connector, event)


def test_fetch_content_returns_removed_content_as_preserved(
    connector: PlatformConnector, seeded: Seeded
) -> None:
    text, image = seeded.messages[0], seeded.messages[2]
    connector.remove_content(text.locator, RemovalAction.REMOVE)
    connector.remove_content(image.locator, RemovalAction.REMOVE)

    removed_text = connector.fetch_content(text.locator)
    removed_image = connector.fetch_content(image.locator)

    assert removed_text.state is ContentState.REMOVED
    assert (removed_text.kind, removed_text.text, removed_text.account_id) == (
        "message",
        text.text,
        text.sender_id,
    )
    assert removed_image.state is ContentState.REMOVED
    assert removed_image.kind == "media"
    assert removed_image.media_sha256 == image.media_sha256
    assert removed_image.media_data == MEDIA  # a report to an authority uploads the file after the removal
    assert_like_the_stream(connector, removed_text)


def test_fetch_content_of_a_removed_chats_message(connector: PlatformConnector, seeded: Seeded) -> None:
    message = seeded.messages[1]
    connector.remove_content(message.locator.rsplit("/message/", 1)[0], RemovalAction.REMOVE)

    event = connector.fetch_content(message.locator)

    assert event.state is ContentState.REMOVED
    assert event.text == message.text


@pytest.mark.parametrize(
    "locator", ["ref://chat/999999/message/999999", "https://elsewhere.example/post/1", "", "ref://chat/x"]
)
def test_fetch_content_of_unknown_content_raises(
    connector: PlatformConnector, seeded: Seeded, locator: str
) -> None:
    with pytest.raises(ContentNotFound):
        connector.fetch_content(locator)


def test_fetch_content_of_an_unknown_message_of_a_known_chat_raises(
    connector: PlatformConnector, seeded: Seeded
) -> None:
    unknown = seeded.messages[0].locator + "9999"  # a well-formed message id nobody sent

    with pytest.raises(ContentNotFound):
        connector.fetch_content(unknown)


def test_fetch_content_of_a_chat_raises(connector: PlatformConnector, seeded: Seeded) -> None:
    chat_locator = seeded.messages[0].locator.rsplit("/message/", 1)[0]

    with pytest.raises(ContentNotFound):
        connector.fetch_content(chat_locator)


# ------------------------------------------------------------------------------------------ values


def test_period_is_aware_and_ordered() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="before"):
        Period(start, start)
    with pytest.raises(ValueError, match="before"):
        Period(start, start - timedelta(seconds=1))
    with pytest.raises(ValueError, match="aware"):
        Period(start.replace(tzinfo=None), start + timedelta(days=1))
    period = Period(start, start + timedelta(days=1))
    assert period.contains(start)
    assert not period.contains(period.end)


def test_export_record_fields_are_read_only() -> None:
    fields = {"ip": "192.0.2.1"}
    record = ExportRecord(DataCategory.IDENTIFICATION, "session", fields)
    fields["ip"] = "changed"

    assert record.fields["ip"] == "192.0.2.1"
    with pytest.raises(TypeError):
        record.fields["ip"] = "x"  # type: ignore[index]


def test_content_event_details_default_to_unknown_and_are_checked() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    plain = ContentEvent("1", "1", "message", "a", "c", at, "hi", None, "ref://chat/1/message/1")

    assert (plain.chat_type, plain.audience, plain.account_created_at) == (None, None, None)
    assert (plain.media_kind, plain.media_md5, plain.media_pdq, plain.media_data) == (None, None, (), None)
    detailed = ContentEvent(
        "1", "1", "media", "a", "c", at, None, "0" * 64, "ref://chat/1/message/1",
        chat_type="public", audience=120, account_created_at=at, media_kind="image",
        media_md5="0" * 32, media_pdq=[("f" * 64, 90)], media_data=b"png",
    )  # fmt: skip
    assert detailed.media_pdq == (("f" * 64, 90),)
    with pytest.raises(ValueError, match="chat_type"):
        ContentEvent("1", "1", "message", "a", "c", at, "hi", None, "x", chat_type="channel")
    with pytest.raises(ValueError, match="media_kind"):
        ContentEvent("1", "1", "media", "a", "c", at, None, None, "x", media_kind="audio")
    with pytest.raises(ValueError, match="audience"):
        ContentEvent("1", "1", "message", "a", "c", at, "hi", None, "x", audience=-1)
    with pytest.raises(ValueError, match="aware"):
        ContentEvent(
            "1", "1", "message", "a", "c", at, "hi", None, "x", account_created_at=at.replace(tzinfo=None)
        )


def test_account_status_follows_each_action() -> None:
    assert {AccountStatus.after(action) for action in AccountAction} == set(AccountStatus)
