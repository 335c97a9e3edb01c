"""The channel directory's loader: the packaged example loads; a bad file is refused with a message naming
the file and the key (``trustdesk.intake.channels``)."""

from importlib import resources
from pathlib import Path

import pytest

from trustdesk.intake.channels import (
    PACKAGED_FILE,
    ChannelError,
    Directory,
    EmailPurpose,
    load_directory,
)

VALID = """\
schema_version = 1

[portal]
path = "/portal"

[api]
path = "/api/v1"
docs = "/docs"

[[email]]
address = "Requests@Desk.example"
purpose = "requests"
languages = ["en", "fr"]
description = "Orders and requests."

[[email]]
address = "urgent@desk.example"
purpose = "emergency"
languages = ["en"]
description = "Emergencies only."

[postal]
name = "Desk Representative GmbH"
lines = ["Beispielstrasse 1", "10115 Berlin"]
country = "DE"
description = "Letters."

[emergency]
phone = "+49 30 5550 1000"
email = "urgent@desk.example"
description = "Answered day and night."
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "channels.toml"
    path.write_text(text, encoding="utf-8")
    return path


def changed(old: str, new: str) -> str:
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


def without(block: str) -> str:
    return changed(block, "")


POSTAL = VALID[VALID.index("[postal]") : VALID.index("[emergency]")]
EMAILS = VALID[VALID.index("[[email]]") : VALID.index("[postal]")]


# ------------------------------------------------------------------------------------------ accepted


def test_the_packaged_example_is_shipped_and_lists_every_channel() -> None:
    packaged = resources.files("trustdesk.intake").joinpath(PACKAGED_FILE)
    assert packaged.is_file()
    directory = load_directory(None)
    assert directory == load_directory(Path(str(packaged)))
    assert directory.portal.path == "/portal"
    assert (directory.api.path, directory.api.submit, directory.api.docs) == (
        "/api/v1", "/api/v1/requests", "/docs",
    )  # fmt: skip
    purposes = {entry.purpose for entry in directory.email}
    assert purposes == {EmailPurpose.REQUESTS, EmailPurpose.EMERGENCY}
    assert directory.postal.name
    assert directory.postal.lines
    assert directory.postal.country
    assert directory.is_emergency_address(directory.emergency.email)
    assert directory.emergency.phone.startswith("+")


def test_a_valid_file_loads_with_its_helpers(tmp_path: Path) -> None:
    directory = load_directory(write(tmp_path, VALID))

    assert isinstance(directory, Directory)
    assert directory.intake_addresses == ("requests@desk.example", "urgent@desk.example")
    assert directory.email[0].address == "Requests@Desk.example"  # published as written
    for address in (
        "urgent@desk.example",
        "URGENT@Desk.Example",
        "Desk <urgent@desk.example>",
        " urgent@desk.example ",
    ):
        assert directory.is_emergency_address(address), address
    for address in ("requests@desk.example", "nobody@desk.example", "urgent@desk.example.org", ""):
        assert not directory.is_emergency_address(address), address
    assert directory.postal.country_name == "Germany"
    assert directory.postal.fax is None
    assert directory.lines("https://desk.example/") == [
        ("Authority portal", "https://desk.example/portal"),
        ("REST API", "POST https://desk.example/api/v1/requests"),
        ("API documentation", "https://desk.example/docs"),
        ("E-mail for requests (English, French)", "Requests@Desk.example"),
        ("E-mail for emergencies (English)", "urgent@desk.example"),
        ("Post (legal representative)", "Desk Representative GmbH, Beispielstrasse 1, 10115 Berlin, Germany"),
        ("Emergency line, day and night", "+49 30 5550 1000"),
    ]
    assert directory.lines()[0] == ("Authority portal", "/portal")


def test_a_fax_number_is_optional_and_listed_when_given(tmp_path: Path) -> None:
    directory = load_directory(
        write(tmp_path, changed('country = "DE"', 'country = "DE"\nfax = "+49 30 5550 1009"'))
    )
    assert directory.postal.fax == "+49 30 5550 1009"
    assert ("Fax (legal representative)", "+49 30 5550 1009") in directory.lines()


# ------------------------------------------------------------------------------------------ refused

NOT_AN_ADDRESS = (
    "is not an e-mail address like 'lawful@trustdesk.example' (the address alone: no name, no <>, no spaces)"
)
NOT_A_NUMBER = (
    "is not an international number like '+32 2 555 01 00' (+, country code, groups of digits separated by "
    "single spaces, 7 to 15 digits)"
)
NOT_A_PATH = (
    "is not a path like '/portal' (it starts with '/', has no trailing '/', no '//', no query and no spaces)"
)
URGENT = "email #2 (urgent@desk.example)"
REQUESTS = "email #1 (Requests@Desk.example)"
NAMED = "Desk <requests@desk.example>"

REFUSED = {
    "unknown key": (
        changed('path = "/portal"', 'path = "/portal"\nurl = "https://desk.example/portal"'),
        "portal.url",
        "key 'portal.url': unknown key",
    ),
    "unknown table": (VALID + '\n[fax]\nnumber = "+49 30 5550 1009"\n', "fax", "key 'fax': unknown key"),
    "unknown key of an address": (
        changed('purpose = "emergency"', 'purpose = "emergency"\npriority = 1'),
        "email.2.priority",
        f"{URGENT}: key 'priority': unknown key",
    ),
    "invalid e-mail address": (
        changed('address = "Requests@Desk.example"', 'address = "requests@desk"'),
        "email.1.address",
        f"email #1 (requests@desk): key 'address': 'requests@desk' {NOT_AN_ADDRESS}",
    ),
    "an address with a name": (
        changed('address = "Requests@Desk.example"', f'address = "{NAMED}"'),
        "email.1.address",
        f"email #1 ({NAMED}): key 'address': '{NAMED}' {NOT_AN_ADDRESS}",
    ),
    "duplicate address": (
        changed('address = "urgent@desk.example"', 'address = "requests@desk.EXAMPLE"'),
        "email.2.address",
        (
            "email #2 (requests@desk.EXAMPLE): key 'address': 'requests@desk.EXAMPLE' is already listed "
            "as email #1 (addresses are compared without regard to case)"
        ),
    ),
    "missing postal channel": (
        without(POSTAL),
        "postal",
        (
            "key 'postal': missing: a directory needs its [postal] table (the legal representative's "
            "postal address)"
        ),
    ),
    "missing emergency channel": (
        VALID[: VALID.index("[emergency]")],
        "emergency",
        "key 'emergency': missing: a directory needs its [emergency] table (the emergency line)",
    ),
    "missing portal channel": (
        without('[portal]\npath = "/portal"\n'),
        "portal",
        "key 'portal': missing: a directory needs its [portal] table (the authority portal)",
    ),
    "no e-mail address": (
        without(EMAILS).replace("schema_version = 1\n", "schema_version = 1\nemail = []\n"),
        "email",
        "key 'email': must not be empty",
    ),
    "missing description": (
        changed('description = "Emergencies only."\n', ""),
        "email.2.description",
        f"{URGENT}: key 'description': missing",
    ),
    "emergency address not listed": (
        changed('email = "urgent@desk.example"', 'email = "other@desk.example"'),
        "emergency.email",
        (
            "key 'emergency.email': 'other@desk.example' is not one of the [[email]] addresses: list it "
            "there with purpose = 'emergency'"
        ),
    ),
    "emergency address whose purpose is requests": (
        changed('email = "urgent@desk.example"', 'email = "requests@desk.example"'),
        "emergency.email",
        (
            "key 'emergency.email': 'requests@desk.example' is email #1, whose purpose is 'requests': "
            "the emergency address needs purpose = 'emergency'"
        ),
    ),
    "unknown purpose": (
        changed('purpose = "emergency"', 'purpose = "urgent"'),
        "email.2.purpose",
        f"{URGENT}: key 'purpose': unknown EmailPurpose 'urgent'; allowed: 'requests', 'emergency'",
    ),
    "bad language": (
        changed('languages = ["en", "fr"]', 'languages = ["en", "french"]'),
        "email.1.languages",
        f"{REQUESTS}: key 'languages': 'french' is not an ISO 639-1 code (like 'fr')",
    ),
    "no language": (
        changed('languages = ["en"]', "languages = []"),
        "email.2.languages",
        f"{URGENT}: key 'languages': must list at least one language (ISO 639-1, like 'fr')",
    ),
    "a language twice": (
        changed('languages = ["en", "fr"]', 'languages = ["en", "fr", "en"]'),
        "email.1.languages",
        f"{REQUESTS}: key 'languages': lists 'en' twice",
    ),
    "languages not a list": (
        changed('languages = ["en"]', 'languages = "en"'),
        "email.2.languages",
        f"{URGENT}: key 'languages': must be a list, got 'en'",
    ),
    "bad country": (
        changed('country = "DE"', 'country = "UK"'),
        "postal.country",
        "key 'postal.country': 'UK' is not an assigned ISO 3166-1 alpha-2 code (like 'BE')",
    ),
    "a postal line of two lines": (
        changed('"10115 Berlin"', '"10115\\nBerlin"'),
        "postal.lines.2",
        "key 'postal.lines.2': must be one line",
    ),
    "no postal lines": (
        changed('lines = ["Beispielstrasse 1", "10115 Berlin"]', "lines = []"),
        "postal.lines",
        "key 'postal.lines': must not be empty",
    ),
    "bad emergency phone": (
        changed('phone = "+49 30 5550 1000"', 'phone = "030 5550 1000"'),
        "emergency.phone",
        f"key 'emergency.phone': '030 5550 1000' {NOT_A_NUMBER}",
    ),
    "bad fax": (
        changed('country = "DE"', 'country = "DE"\nfax = "+49-30-5550-1009"'),
        "postal.fax",
        f"key 'postal.fax': '+49-30-5550-1009' {NOT_A_NUMBER}",
    ),
    "a path without its slash": (
        changed('path = "/portal"', 'path = "portal"'),
        "portal.path",
        f"key 'portal.path': 'portal' {NOT_A_PATH}",
    ),
    "a path with a trailing slash": (
        changed('path = "/api/v1"', 'path = "/api/v1/"'),
        "api.path",
        f"key 'api.path': '/api/v1/' {NOT_A_PATH}",
    ),
    "missing docs": (changed('docs = "/docs"\n', ""), "api.docs", "key 'api.docs': missing"),
    "a path that is a number": (
        changed('path = "/portal"', "path = 1"),
        "portal.path",
        "key 'portal.path': must be a string, got 1",
    ),
    "another schema version": (
        changed("schema_version = 1", "schema_version = 2"),
        "schema_version",
        "key 'schema_version': must be 1, got 2",
    ),
    "no schema version": (
        changed("schema_version = 1\n", ""),
        "schema_version",
        "key 'schema_version': missing",
    ),
}


@pytest.mark.parametrize(("text", "key", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_file_is_refused_naming_the_file_and_the_key(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ChannelError) as refused:
        load_directory(path)
    assert str(refused.value) == f"{path}: {message}"
    assert refused.value.file == str(path)
    assert refused.value.key == key


def test_a_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('path = "/portal"', "path = /portal"))
    with pytest.raises(ChannelError, match=r"channels\.toml: not valid TOML: ") as refused:
        load_directory(path)
    assert refused.value.key is None


def test_a_file_that_cannot_be_read_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ChannelError) as refused:
        load_directory(missing)
    assert str(refused.value) == f"{missing}: cannot be read: No such file or directory"
    with pytest.raises(ChannelError, match="cannot be read: Is a directory"):
        load_directory(tmp_path)
