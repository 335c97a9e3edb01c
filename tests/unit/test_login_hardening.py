"""Login hardening, the pure parts: client addresses behind proxies, login delays, TOTP secrets and codes."""

import stat
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network
from pathlib import Path

import pyotp
import pytest

from trustdesk.auth.addresses import client_address
from trustdesk.auth.service import MAX_DELAY, delay_after
from trustdesk.auth.totp import TotpKey, TotpKeyError, load_or_create_key, matching_step
from trustdesk.config import Settings

PROXIES = [ip_network("10.0.0.0/8"), ip_network("2001:db8::/32")]
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


# --- client addresses ----------------------------------------------------------------------------


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() -> None:
    assert client_address("198.51.100.7", ["203.0.113.1"], PROXIES) == "198.51.100.7"
    assert client_address("198.51.100.7", ["203.0.113.1"], []) == "198.51.100.7"


def test_the_client_is_the_right_most_address_that_is_not_a_trusted_proxy() -> None:
    # the client forged the first entry; our two proxies appended what they saw
    header = ["6.6.6.6, 203.0.113.1, 10.1.1.1"]
    assert client_address("10.2.2.2", header, PROXIES) == "203.0.113.1"
    assert client_address("10.2.2.2", ["6.6.6.6", "203.0.113.1, 10.1.1.1"], PROXIES) == "203.0.113.1"


def test_every_hop_trusted_gives_the_left_most_and_no_header_gives_the_proxy() -> None:
    assert client_address("10.2.2.2", ["10.3.3.3, 10.1.1.1"], PROXIES) == "10.3.3.3"
    assert client_address("10.2.2.2", [], PROXIES) == "10.2.2.2"


def test_addresses_with_ports_and_ipv6_are_read() -> None:
    assert client_address("10.2.2.2", ["203.0.113.1:4711"], PROXIES) == "203.0.113.1"
    assert client_address("2001:db8::1", ["[2001:db9::5]:443"], PROXIES) == "2001:db9::5"
    assert client_address("::ffff:10.2.2.2", ["203.0.113.9"], PROXIES) == "203.0.113.9"


def test_a_hop_that_is_not_an_address_stops_at_the_last_proxy() -> None:
    assert client_address("10.2.2.2", ["203.0.113.1, garbage"], PROXIES) == "10.2.2.2"


def test_no_peer_is_unknown_and_a_non_address_peer_is_kept() -> None:
    assert client_address(None, ["203.0.113.1"], PROXIES) == "unknown"
    assert client_address("testclient", ["203.0.113.1"], PROXIES) == "testclient"


def test_trusted_proxies_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTDESK_TRUSTED_PROXIES", '["10.0.0.0/8", "192.0.2.1"]')
    settings = Settings(environment="development")  # type: ignore[arg-type]
    assert settings.trusted_proxies == [ip_network("10.0.0.0/8"), ip_network("192.0.2.1/32")]
    assert Settings(environment="development").totp_key_path == Path("var/totp-key")  # type: ignore[arg-type]


# --- delays ----------------------------------------------------------------------------------------


def test_an_address_waits_only_after_five_failures_and_then_twice_as_long_each_time() -> None:
    assert [delay_after(n) for n in range(5)] == [timedelta(0)] * 5
    assert [delay_after(n).total_seconds() for n in range(5, 10)] == [2, 4, 8, 16, 32]
    assert delay_after(14) == MAX_DELAY == timedelta(minutes=15)
    assert delay_after(10_000) == MAX_DELAY


# --- TOTP secrets at rest ------------------------------------------------------------------------


def test_a_sealed_secret_opens_only_for_its_account_and_untampered() -> None:
    key = TotpKey.generate()
    stored = key.seal("account-1", "JBSWY3DPEHPK3PXP")
    assert stored.startswith("v1:")
    assert "JBSWY3DPEHPK3PXP" not in stored
    assert len(stored) <= 200
    opened = key.open("account-1", stored)
    assert (opened.secret, opened.legacy) == ("JBSWY3DPEHPK3PXP", False)
    with pytest.raises(TotpKeyError):
        key.open("account-2", stored)  # copied onto another account
    with pytest.raises(TotpKeyError):
        key.open("account-1", stored[:-2] + ("AA" if stored[-2:] != "AA" else "BB"))
    with pytest.raises(TotpKeyError):
        TotpKey.generate().open("account-1", stored)


def test_a_value_without_the_prefix_is_a_legacy_plaintext_secret() -> None:
    opened = TotpKey.generate().open("account-1", "JBSWY3DPEHPK3PXP")
    assert (opened.secret, opened.legacy) == ("JBSWY3DPEHPK3PXP", True)


def test_the_key_file_is_created_0600_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "var" / "totp-key"
    first = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_or_create_key(path)
    assert second.open("a", first.seal("a", "SECRET")).secret == "SECRET"


def test_a_key_file_others_may_read_or_that_is_not_a_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "totp-key"
    load_or_create_key(path)
    path.chmod(0o644)
    with pytest.raises(TotpKeyError, match="chmod 600"):
        load_or_create_key(path)
    path.write_text("too short\n")
    path.chmod(0o600)
    with pytest.raises(TotpKeyError):
        load_or_create_key(path)


# --- codes ------------------------------------------------------------------------------------------


def test_a_code_matches_its_step_and_one_step_either_side_only() -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    now = totp.timecode(T0)
    for offset in (-1, 0, 1):
        assert matching_step(secret, totp.generate_otp(now + offset), T0) == now + offset
    assert matching_step(secret, totp.generate_otp(now + 2), T0) is None
    assert matching_step(secret, f" {totp.generate_otp(now)} ", T0) == now
