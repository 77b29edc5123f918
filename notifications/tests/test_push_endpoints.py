"""The worker cannot be pointed at internal addresses (issue 9, item 3): which push endpoints are
accepted on registration, and which stored ones the worker refuses (and deletes) at send time."""

from __future__ import annotations

import ipaddress
import logging

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from notifications.endpoints import is_public_address
from notifications.models import PushSubscription
from notifications.tests.conftest import b64url, make_vapid_keys, public_point
from notifications.tests.test_push_delivery import jobs, notify, subscribe

URL = "/api/v1/notifications/push-subscription"
KEY_URL = "/api/v1/notifications/push-subscription/vapid-public-key"
REFUSED = "Must be the endpoint of a known browser push service."

_KEYS = make_vapid_keys()  # any valid P-256 point and auth secret will do for registration
KEYS = {"p256dh": b64url(public_point(_KEYS.private_key)), "auth": b64url(b"\x07" * 16)}


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    """Hundreds of generated requests per test: the general bucket would answer 429."""
    settings.RATE_LIMIT_GENERAL = 0


def register(api, endpoint):
    return api.post(URL, {"endpoint": endpoint, "expirationTime": None, "keys": KEYS}, format="json")


def assert_refused(response, message=None):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    [detail] = error["details"]
    assert detail["field"] == "endpoint"
    if message is not None:
        assert detail["message"] == message
    assert not PushSubscription.objects.exists()


# --- registration, with the production defaults --------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint",
    [
        # Chrome, Chromium Edge, Opera, Samsung Internet (FCM; the old and the current path)
        "https://fcm.googleapis.com/fcm/send/dX5wB8Lh0Wc:APA91bHqL3sBnZ8zY_k-Gq9rTtq1x2r3",
        "https://fcm.googleapis.com/wp/dX5wB8Lh0Wc:APA91bHqL3sBnZ8zY_k-Gq9rTtq1x2r3",
        # Firefox (autopush)
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk_7c9QvYb-x2Lq3hU",
        # Edge on Windows (WNS)
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAADvH%2bA8%3d%3d",
        # Safari on macOS and iOS
        "https://web.push.apple.com/QGuQyavXutnMH6u3kOBH4j1Z7sF5nQ",
    ],
)
def test_the_browsers_push_services_are_accepted(api, user, endpoint):
    response = register(api, endpoint)
    assert response.status_code == 201, response.content
    assert PushSubscription.objects.get().endpoint == endpoint


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        # the reproductions
        ("http://127.0.0.1:9999/push/x", "Must be an https URL."),
        ("http://169.254.169.254/latest/meta-data/", "Must be an https URL."),
        ("http://10.0.0.1/", "Must be an https URL."),
        ("http://[::1]:6379/", "Must be an https URL."),
        # https, but not a push service
        ("https://127.0.0.1:9999/push/x", REFUSED),
        ("https://169.254.169.254/latest/meta-data/", REFUSED),
        ("https://[::1]:6379/", REFUSED),
        ("https://localhost/push", REFUSED),
        ("https://push.example.com/x", REFUSED),
        # a push service's name, but another host
        ("http://fcm.googleapis.com/fcm/send/x", "Must be an https URL."),
        ("https://fcm.googleapis.com@127.0.0.1/", "Must be an https URL."),
        ("https://fcm.googleapis.com:443@10.0.0.1/", "Must be an https URL."),
        ("https://127.0.0.1\\@fcm.googleapis.com/", "Must be an https URL."),
        ("https://127.0.0.1#@fcm.googleapis.com/", "Must be an https URL."),
        ("https://fcm.googleapis.com.evil.example/", REFUSED),
        ("https://evilfcm.googleapis.com/", REFUSED),
        ("https://notify.windows.com/w/", REFUSED),  # `*.` needs a label below the dot
        ("https://push.apple.com.127.0.0.1.nip.io/", REFUSED),
        ("https://fcm.googleapis.com./fcm/send/x", REFUSED),
        ("https://FCM.GOOGLEAPIS.COM/fcm/send/x", "Must be an https URL."),
        ("HTTPS://fcm.googleapis.com/fcm/send/x", "Must be an https URL."),
        ("https://fcm.googleapis.com:0/", "Must be an https URL."),
        ("https://fcm.googleapis.com:99999/", "Must be an https URL."),
        ("https://%66cm.googleapis.com/", "Must be an https URL."),
        ("https://fcm.googleapis.com/ x", "Must be an https URL."),
        ("https://fcm.googleapis.com/\u00e4", "Must be an https URL."),
        ("ftp://fcm.googleapis.com/x", "Must be an https URL."),
        ("//fcm.googleapis.com/x", "Must be an https URL."),
    ],
)
def test_anything_else_is_a_400_on_endpoint(api, endpoint, message):
    assert_refused(register(api, endpoint), message)


@pytest.mark.django_db
def test_the_allow_list_comes_from_the_setting(api, settings):
    settings.PUSH_ALLOWED_HOSTS = ["push.example.com", "*.relay.example.org"]
    assert register(api, "https://push.example.com/a").status_code == 201
    assert register(api, "https://eu.relay.example.org/b").status_code == 201
    assert register(api, "https://fcm.googleapis.com/fcm/send/c").status_code == 400
    assert set(PushSubscription.objects.values_list("endpoint", flat=True)) == {
        "https://push.example.com/a",
        "https://eu.relay.example.org/b",
    }


# --- the whole class, generated -------------------------------------------------------------------

NON_GLOBAL_V4 = [
    ipaddress.ip_network(net)
    for net in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "0.0.0.0/8",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "255.255.255.255/32",
    )
]
NON_GLOBAL_V6 = [
    ipaddress.ip_network(net)
    for net in ("::1/128", "::/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "2001:db8::/32", "100::/64")
]


def _in(networks):
    return st.sampled_from(networks).flatmap(
        lambda net: st.integers(0, net.num_addresses - 1).map(lambda i: net.network_address + i)
    )


v4_addresses = _in(NON_GLOBAL_V4)


@st.composite
def v6_addresses(draw):
    """Non-global IPv6, and IPv6 forms that carry a non-global IPv4 (mapped, compatible, NAT64, 6to4)."""
    kind = draw(st.sampled_from(["plain", "mapped", "compatible", "nat64", "6to4"]))
    if kind == "plain":
        return draw(_in(NON_GLOBAL_V6))
    v4 = int(draw(v4_addresses))
    prefix = {"mapped": 0xFFFF << 32, "compatible": 0, "nat64": 0x64FF9B << 96, "6to4": 0x2002 << 112}[kind]
    return ipaddress.IPv6Address(prefix | (v4 << 80 if kind == "6to4" else v4))


@st.composite
def v4_hosts(draw):
    """One IPv4 address written as the URL parsers of libc, browsers and urllib3 read it."""
    address = draw(v4_addresses)
    value, octets = int(address), address.packed
    form = draw(st.sampled_from(["dotted", "decimal", "hex", "HEX", "octal", "hex-dotted", "short2", "short3"]))
    host = {
        "dotted": str(address),
        "decimal": str(value),  # http://2130706433/
        "hex": f"0x{value:x}",
        "HEX": f"0X{value:X}",
        "octal": ".".join(f"0{o:o}" for o in octets),  # 0177.0.0.1
        "hex-dotted": ".".join(f"0x{o:x}" for o in octets),
        "short2": f"0x{octets[0]:x}.{value & 0xFFFFFF}",  # 0x7f.1
        "short3": f"{octets[0]}.{octets[1]}.{value & 0xFFFF}",  # 127.0.1
    }[form]
    return address, host + ("." if draw(st.booleans()) else "")  # trailing dot


@st.composite
def v6_hosts(draw):
    address = draw(v6_addresses())
    form = draw(st.sampled_from(["compressed", "exploded", "upper", "dotted-tail", "zone"]))
    inner = {
        "compressed": address.compressed,
        "exploded": address.exploded,
        "upper": address.compressed.upper(),
        "dotted-tail": f"{address.exploded[:30]}{ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)}",
        "zone": f"{address.compressed}%25eth0",
    }[form]
    return address, f"[{inner}]"


@st.composite
def internal_urls(draw):
    """A URL whose host is a non-global address, dressed in every way a parser might read differently."""
    address, host = draw(st.one_of(v4_hosts(), v6_hosts()))
    scheme = draw(st.sampled_from(["https", "http", "HTTPS", "hTTps"]))
    userinfo = draw(st.sampled_from(["", "fcm.googleapis.com@", "user:secret@", "web.push.apple.com:443@"]))
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")))
    tail = draw(st.sampled_from(["/", "/push/abc", "/?token=x", "", "#@fcm.googleapis.com/", "\\@fcm.googleapis.com/"]))
    canonical = (
        host == str(address) and not userinfo and scheme in ("http", "https") and "@" not in tail and "\\" not in tail
    )
    return address, f"{scheme}://{userinfo}{host}{port}{tail}", canonical


_HYPOTHESIS = hypothesis_settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.django_db
@_HYPOTHESIS
@given(case=internal_urls())
def test_no_url_naming_an_internal_address_is_accepted(api, case):
    _, url, _ = case
    assert_refused(register(api, url))


@pytest.fixture
def tests_allow_list(settings):
    """What the delivery tests configure for the fake push service."""
    settings.PUSH_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.PUSH_REQUIRE_HTTPS = False


@pytest.mark.django_db
@_HYPOTHESIS
@given(case=internal_urls())
def test_an_allow_listed_ip_literal_matches_only_itself_in_its_plain_form(api, tests_allow_list, case):
    """The tests' own allow-list (127.0.0.1 over http): every other spelling, and every other
    internal address, is still refused."""
    address, url, canonical = case
    assume(not (canonical and address == ipaddress.IPv4Address("127.0.0.1")))
    assert_refused(register(api, url))


@given(address=st.one_of(v4_addresses, v6_addresses()))
def test_no_internal_address_counts_as_public(address):
    """The send-time check over DNS answers: `is_global` alone would pass multicast, `::7f00:1`,
    NAT64 `64:ff9b::a00:1` and 6to4 `2002:7f00:1::`."""
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "142.250.74.10", "17.253.144.10", "2a00:1450:4001:80b::200a"])
def test_public_addresses_count_as_public(address):
    assert is_public_address(ipaddress.ip_address(address))


# --- at send time: stored endpoints that fail the check are deleted, never contacted --------------

delivery = pytest.mark.django_db(transaction=True)


def _refused_send(caplog):
    [send] = jobs("push_send")
    assert send.return_value == "refused"
    assert not PushSubscription.objects.exists()
    [record] = [r for r in caplog.records if r.name == "notifications.push" and r.levelno == logging.WARNING]
    assert "never contacted" in record.getMessage()
    return record.getMessage()


@delivery
def test_a_stored_endpoint_off_the_allow_list_is_deleted_and_never_contacted(
    api, user, vapid, push_service, run_worker, settings, caplog
):
    browser = subscribe(api, push_service)  # accepted under the tests' allow-list
    settings.PUSH_ALLOWED_HOSTS = ["fcm.googleapis.com"]  # the list changed since
    notify(user)
    run_worker()
    assert push_service.to(browser) == []
    message = _refused_send(caplog)
    assert push_service.origin in message and browser.token not in message  # the path is a secret


@delivery
def test_a_stored_plain_http_endpoint_is_refused_once_https_is_required(
    api, user, vapid, push_service, run_worker, settings, caplog
):
    browser = subscribe(api, push_service)
    settings.PUSH_REQUIRE_HTTPS = True
    notify(user)
    run_worker()
    assert push_service.to(browser) == []
    assert "https" in _refused_send(caplog)


@delivery
@pytest.mark.parametrize(
    "endpoint",
    ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]:6379/", "http://2130706433/"],
)
def test_endpoints_stored_before_the_rule_are_deleted_unsent(user, vapid, run_worker, caplog, endpoint):
    PushSubscription.objects.create(user=user, endpoint=endpoint, p256dh=KEYS["p256dh"], auth=KEYS["auth"])
    notify(user)
    run_worker()
    _refused_send(caplog)


@delivery
def test_an_allow_listed_name_that_resolves_inward_is_refused_after_dns(
    api, user, vapid, push_service, run_worker, settings, caplog
):
    """`localhost` passes the allow-list here, but resolves to 127.0.0.1 / ::1: not sent."""
    settings.PUSH_ALLOWED_HOSTS = ["localhost"]
    key = api.get(KEY_URL).json()["data"]["public_key"]
    browser = push_service.browser(application_server_key=key)
    body = browser.subscription_json()
    body["endpoint"] = body["endpoint"].replace("127.0.0.1", "localhost")
    assert api.post(URL, body, format="json").status_code == 201
    notify(user)
    run_worker()
    assert push_service.received == []  # it would have answered 201
    message = _refused_send(caplog)
    assert "127.0.0.1" in message and "not public" in message
