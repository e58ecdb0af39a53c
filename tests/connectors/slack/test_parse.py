"""Parsing Slack Events API deliveries: one test per recorded payload, then the edges."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import ConnectorError, HandshakeReply, InboxConfig, MalformedPayload, ParseResult, UnsupportedEvent
from connectors.slack.connector import SlackConnector, plain_text
from conversation.types import Attachment, ChannelKind, InboundMessage
from tests.connectors.conftest import make_raw_request
from tests.connectors.slack.conftest import INBOX_ID, WEBHOOK_URL, local_fixture, shared_fixture
from tests.fakes.slack import encode_body, message_envelope
from tests.paths import LOCAL_FIXTURES, SHARED_FIXTURES


def parse(connector: SlackConnector, account: InboxConfig, body: bytes, **headers: str) -> ParseResult:
    return connector.parse(make_raw_request(body, url=WEBHOOK_URL, headers=headers), account)


def only_message(result: ParseResult) -> InboundMessage:
    assert result.reply is None
    assert len(result.items) == 1
    item = result.items[0]
    assert isinstance(item, InboundMessage)
    assert item.channel_kind is ChannelKind.SLACK
    assert item.inbox_id == INBOX_ID
    return item


def envelope_with(event: dict[str, Any], **outer: Any) -> bytes:
    return encode_body(
        {
            "token": "t",
            "team_id": "T111",
            "api_app_id": "A111",
            "event": event,
            "type": "event_callback",
            "event_id": "Ev1",
            "event_time": 1,
            **outer,
        }
    )


# -- shared recorded payloads ------------------------------------------------------------------------------


def test_url_verification_answers_the_challenge(connector: SlackConnector, account: InboxConfig) -> None:
    result = parse(connector, account, shared_fixture("url_verification.json"))
    assert result.items == []
    assert result.reply == HandshakeReply(
        200, {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}, "application/json"
    )


def test_message(connector: SlackConnector, account: InboxConfig) -> None:
    body = shared_fixture("bolt_event_callback_message.json")
    msg = only_message(parse(connector, account, body))
    assert msg.external_message_id == "C111:1596183880.004200"
    assert msg.external_thread_ref == "C111:1596183880.004200"
    assert msg.in_reply_to_external_id is None
    assert msg.sender.address == "T111:W111"
    assert msg.sender.name is None
    assert msg.sender.email is None
    assert msg.sender.extra == {"slack_user_id": "W111", "slack_team_id": "T111"}
    assert msg.text == "Hello World!"
    assert msg.html is None
    assert msg.sent_at == datetime(2020, 7, 31, 8, 24, 40, 4200, tzinfo=UTC)
    assert msg.attachments == ()
    assert msg.is_edit is False
    assert msg.raw == json.loads(body)
    assert msg.meta["event_id"] == "Ev111"
    assert msg.meta["event_type"] == "message"
    assert msg.meta["channel"] == "C111"
    assert msg.meta["channel_type"] == "channel"
    assert msg.meta["retry_num"] is None


def test_message_changed_is_an_edit_of_the_original(connector: SlackConnector, account: InboxConfig) -> None:
    msg = only_message(parse(connector, account, shared_fixture("bolt_event_callback_message_changed.json")))
    assert msg.is_edit is True
    # This recording's `message` lacks `ts`; the edited message keeps the ts shown in `previous_message`.
    assert msg.external_message_id == "C111:1665102338.901939"
    assert msg.external_thread_ref == "C111:1665102338.901939"
    assert msg.text == "updated message"
    assert msg.sender.address == "T111:U111"
    assert msg.sent_at == datetime(2022, 10, 7, 0, 25, 38, 901939, tzinfo=UTC)
    assert msg.meta["edited_ts"] == "1665102362.000000"
    assert msg.meta["event_type"] == "message.message_changed"


def test_file_share(connector: SlackConnector, account: InboxConfig) -> None:
    msg = only_message(parse(connector, account, shared_fixture("bolt_event_callback_message_file_share.json")))
    assert msg.external_message_id == "C111:1652227646.593159"
    assert msg.sender.address == "T111:U111"
    assert msg.text == "Hi there!"
    assert msg.attachments == (
        Attachment(
            filename="file.png",
            content_type="image/png",
            size=92582,
            source_url="https://files.slack.com/files-pri/T111-F111/file.png",
            source_ref={
                "file_id": "F111",
                "download_url": "https://files.slack.com/files-pri/T111-F111/download/file.png",
            },
        ),
    )
    assert msg.meta["event_type"] == "message.file_share"
    assert msg.meta["event_id"] == "Ev03EGJQAVMM"


def test_bot_message_is_ignored(connector: SlackConnector, account: InboxConfig) -> None:
    assert parse(connector, account, shared_fixture("bolt_event_callback_bot_message.json")).items == []


def test_thread_broadcast_replies_into_its_thread(connector: SlackConnector, account: InboxConfig) -> None:
    msg = only_message(parse(connector, account, shared_fixture("bolt_event_callback_thread_broadcast.json")))
    assert msg.external_message_id == "C111:1633670813.007500"
    assert msg.external_thread_ref == "C111:1633663824.000500"
    assert msg.in_reply_to_external_id == "C111:1633663824.000500"
    assert msg.text == "Hi there!"
    assert msg.sender.address == "T111:U111"
    assert msg.meta["thread_ts"] == "1633663824.000500"


def test_app_mention(connector: SlackConnector, account: InboxConfig) -> None:
    msg = only_message(parse(connector, account, shared_fixture("bolt_event_callback_app_mention.json")))
    assert msg.external_message_id == "C111:1595926230.009600"
    assert msg.external_thread_ref == "C111:1595926230.009600"
    assert msg.sender.address == "T111:W222"
    assert msg.text == "@W111 Hi there!"
    assert msg.meta["event_type"] == "app_mention"


def test_app_mention_and_its_message_twin_share_one_key(connector: SlackConnector, account: InboxConfig) -> None:
    mention = json.loads(shared_fixture("bolt_event_callback_app_mention.json"))
    twin = dict(mention, event=dict(mention["event"], type="message"), event_id="Ev112")
    a = only_message(parse(connector, account, encode_body(mention)))
    b = only_message(parse(connector, account, encode_body(twin)))
    assert a.external_message_id == b.external_message_id
    assert (a.text, a.sender, a.external_thread_ref) == (b.text, b.sender, b.external_thread_ref)


def test_generic_wrapper_with_an_unknown_event_type(connector: SlackConnector, account: InboxConfig) -> None:
    with pytest.raises(UnsupportedEvent, match="name_of_event"):
        parse(connector, account, shared_fixture("official_event_wrapper.json"))


def test_form_encoded_body_is_malformed(connector: SlackConnector, account: InboxConfig) -> None:
    # The signing vector's body is a slash command (form-encoded), not an Events API delivery.
    with pytest.raises(MalformedPayload, match="not valid JSON"):
        parse(connector, account, shared_fixture("signing_vector_body.txt"))


# -- payloads transcribed into tests/fixtures/slack/ -------------------------------------------------------


def test_direct_message(connector: SlackConnector, account: InboxConfig) -> None:
    msg = only_message(parse(connector, account, local_fixture("message__im.json")))
    assert msg.external_message_id == "D0442US94JD:1664408649.009629"
    # A DM is one running conversation: replies go to the DM itself, not into a thread under this message.
    assert msg.external_thread_ref == "D0442US94JD"
    assert msg.in_reply_to_external_id is None
    assert msg.sender.address == "T043DB835ML:U043H11ES4V"
    assert msg.text == "test"
    assert msg.sent_at == datetime(2022, 9, 28, 23, 44, 9, 9629, tzinfo=UTC)
    assert msg.meta["channel_type"] == "im"
    assert msg.meta["is_ext_shared_channel"] is False


def test_me_message(connector: SlackConnector, account: InboxConfig) -> None:
    msg = only_message(parse(connector, account, local_fixture("me_message__docs.json")))
    assert msg.external_message_id == "C123ABC456:1355517523.000005"
    assert msg.sender.address == "T123ABC456:U123ABC456"
    assert msg.text == "is doing that thing"
    assert msg.sent_at == datetime(2012, 12, 14, 20, 38, 43, 5, tzinfo=UTC)
    assert msg.meta["event_type"] == "message.me_message"


def test_file_share_snippet_in_a_dm(connector: SlackConnector, account: InboxConfig) -> None:
    msg = only_message(parse(connector, account, local_fixture("file_share__im_snippet.json")))
    assert msg.external_message_id == "D0442US94JD:1670631527.874149"
    assert msg.external_thread_ref == "D0442US94JD"
    assert msg.text == "message message message"
    assert msg.attachments == (
        Attachment(
            filename="namenamename.txt",
            content_type="text/plain",
            size=12,
            source_url="https://files.slack.com/files-pri/T043DB835ML-F04EEHX1EES/namenamename.txt",
            source_ref={
                "file_id": "F04EEHX1EES",
                "download_url": "https://files.slack.com/files-pri/T043DB835ML-F04EEHX1EES/download/namenamename.txt",
            },
        ),
    )


def test_slack_connect_file_stub_is_resolved_later(connector: SlackConnector, account: InboxConfig) -> None:
    msg = only_message(parse(connector, account, local_fixture("file_share__slack_connect_stub.json")))
    assert msg.text == "message message message"
    assert msg.attachments == (
        Attachment(
            filename="F12345678",
            content_type="application/octet-stream",
            size=None,
            source_url=None,
            source_ref={"file_id": "F12345678", "file_access": "check_file_info"},
        ),
    )


def test_link_unfurl_is_not_an_edit(connector: SlackConnector, account: InboxConfig) -> None:
    # Slack sends message_changed when it attaches a link preview; the customer changed nothing.
    assert parse(connector, account, local_fixture("message_changed__unfurl_only.json")).items == []


@pytest.mark.parametrize(
    "name",
    [
        "message_deleted__channel.json",
        "bot_message__reacji.json",
        "message__slackbot_im.json",
        "channel_join__bot_joined.json",
        "channel_left__bot_removed.json",
    ],
)
def test_non_customer_events_are_ignored(connector: SlackConnector, account: InboxConfig, name: str) -> None:
    result = parse(connector, account, local_fixture(name))
    assert result.items == []
    assert result.reply is None


# -- edges -------------------------------------------------------------------------------------------------


def test_thread_reply(connector: SlackConnector, account: InboxConfig) -> None:
    body = encode_body(
        message_envelope(
            text="any news?",
            ts="1700000100.000200",
            thread_ts="1700000000.000100",
            team_id="T111",
            user="U222",
            channel="C999",
        )
    )
    msg = only_message(parse(connector, account, body))
    assert msg.external_message_id == "C999:1700000100.000200"
    assert msg.external_thread_ref == "C999:1700000000.000100"
    assert msg.in_reply_to_external_id == "C999:1700000000.000100"


def test_thread_reply_inside_a_dm_stays_in_that_thread(connector: SlackConnector, account: InboxConfig) -> None:
    body = encode_body(
        message_envelope(ts="1700000100.000200", thread_ts="1700000000.000100", channel="D42", channel_type="im")
    )
    msg = only_message(parse(connector, account, body))
    assert msg.external_thread_ref == "D42:1700000000.000100"


def test_retry_delivery_keeps_the_same_key(connector: SlackConnector, account: InboxConfig) -> None:
    body = shared_fixture("bolt_event_callback_message.json")
    first = only_message(parse(connector, account, body))
    retry = only_message(
        parse(connector, account, body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    )
    assert retry.external_message_id == first.external_message_id
    assert retry.meta["retry_num"] == "1"


def test_edit_of_a_message_maps_to_the_original_key(connector: SlackConnector, account: InboxConfig) -> None:
    original = only_message(
        parse(
            connector,
            account,
            encode_body(
                message_envelope(text="order 1001", ts="1700000000.000100", team_id="T111", user="U222", channel="C999")
            ),
        )
    )
    edit = only_message(
        parse(
            connector,
            account,
            envelope_with(
                {
                    "type": "message",
                    "subtype": "message_changed",
                    "channel": "C999",
                    "hidden": True,
                    "ts": "1700000050.000300",
                    "event_ts": "1700000050.000300",
                    "channel_type": "channel",
                    "message": {
                        "type": "message",
                        "text": "order 1002",
                        "user": "U222",
                        "ts": "1700000000.000100",
                        "edited": {"user": "U222", "ts": "1700000050.000000"},
                    },
                    "previous_message": {
                        "type": "message",
                        "text": "order 1001",
                        "user": "U222",
                        "ts": "1700000000.000100",
                    },
                }
            ),
        )
    )
    assert edit.is_edit is True
    assert edit.external_message_id == original.external_message_id == "C999:1700000000.000100"
    assert edit.text == "order 1002"
    assert edit.sent_at == original.sent_at
    assert edit.meta["edited_ts"] == "1700000050.000000"


@pytest.mark.parametrize(
    "inner",
    [
        {
            "type": "message",
            "text": "our reply",
            "bot_id": "B0BOT",
            "ts": "1700000000.000100",
            "edited": {"ts": "1700000001.000000"},
        },
        {
            "type": "message",
            "subtype": "tombstone",
            "text": "This message was deleted.",
            "user": "USLACKBOT",
            "ts": "1700000000.000100",
            "edited": {"ts": "1700000001.000000"},
        },
    ],
    ids=["our-own-reply-unfurled", "deleted-thread-parent"],
)
def test_message_changed_without_a_customer_edit(
    connector: SlackConnector, account: InboxConfig, inner: dict[str, Any]
) -> None:
    body = envelope_with(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": "C1",
            "hidden": True,
            "ts": "1700000001.000200",
            "message": inner,
        }
    )
    assert parse(connector, account, body).items == []


def test_bot_id_without_subtype_is_ignored(connector: SlackConnector, account: InboxConfig) -> None:
    # Our own chat.postMessage replies come back this way (bot_id, our bot user, no subtype).
    body = encode_body(message_envelope(text="Your order shipped", bot_id="B0BOT", user="U0BOT"))
    assert parse(connector, account, body).items == []


def test_user_profile_inline_gives_a_name(connector: SlackConnector, account: InboxConfig) -> None:
    body = envelope_with(
        {
            "type": "message",
            "text": "hi",
            "user": "U9",
            "ts": "1700000000.000100",
            "channel": "C1",
            "user_team": "T999",
            "user_profile": {"real_name": "Grace Hopper", "display_name": "grace"},
        },
        is_ext_shared_channel=True,
    )
    msg = only_message(parse(connector, account, body))
    assert msg.sender.address == "T111:U9"
    assert msg.sender.name == "Grace Hopper"
    assert msg.sender.extra["slack_team_id"] == "T999"
    assert msg.meta["is_ext_shared_channel"] is True


@pytest.mark.parametrize(
    ("mrkdwn", "plain"),
    [
        ("a &lt; b &amp;&amp; c &gt; d", "a < b && c > d"),
        ("hi <@U123> and <@U456|ada>", "hi @U123 and @ada"),
        ("see <#C123|general> or <#C456>", "see #general or #C456"),
        ("<!here> <!channel> <!subteam^S1|@support>", "@here @channel @support"),
        ("<!date^1392734382^{date_num}|2014-02-18>", "2014-02-18"),
        ("<https://example.com/a?b=1&amp;c=2>", "https://example.com/a?b=1&c=2"),
        ("<https://example.com|Example>", "Example (https://example.com)"),
        ("<https://example.com|https://example.com>", "https://example.com"),
        ("<mailto:ada@example.com|ada@example.com>", "ada@example.com"),
        ("&amp;lt;", "&lt;"),
        ("a <b", "a <b"),
    ],
)
def test_plain_text(mrkdwn: str, plain: str) -> None:
    assert plain_text(mrkdwn) == plain


# -- contract: supported events have fixtures, ignored events parse to [] ------------------------------------

SUPPORTED_FIXTURES = {
    "url_verification": shared_fixture("url_verification.json"),
    "message": shared_fixture("bolt_event_callback_message.json"),
    "message.message_changed": shared_fixture("bolt_event_callback_message_changed.json"),
    "message.file_share": shared_fixture("bolt_event_callback_message_file_share.json"),
    "message.thread_broadcast": shared_fixture("bolt_event_callback_thread_broadcast.json"),
    "message.me_message": local_fixture("me_message__docs.json"),
    "app_mention": shared_fixture("bolt_event_callback_app_mention.json"),
}


def test_every_supported_event_has_a_fixture() -> None:
    assert set(SUPPORTED_FIXTURES) == SlackConnector.supported_events


@pytest.mark.parametrize("name", sorted(SUPPORTED_FIXTURES))
def test_supported_fixture_produces_output(connector: SlackConnector, account: InboxConfig, name: str) -> None:
    result = parse(connector, account, SUPPORTED_FIXTURES[name])
    assert result.items or result.reply


def _ignored_body(name: str) -> bytes:
    if name == "app_rate_limited":
        return encode_body(
            {
                "token": "t",
                "team_id": "T111",
                "minute_rate_limited": 1518467820,
                "api_app_id": "A111",
                "type": "app_rate_limited",
            }
        )
    event_type, _, subtype = name.partition(".")
    event: dict[str, Any] = {
        "type": event_type,
        "user": "U1",
        "channel": "C1",
        "ts": "1700000000.000100",
        "text": "x",
        "event_ts": "1700000000.000100",
    }
    if subtype:
        event["subtype"] = subtype
    return envelope_with(event)


@pytest.mark.parametrize("name", sorted(SlackConnector.ignored_events))
def test_every_ignored_event_parses_to_nothing(connector: SlackConnector, account: InboxConfig, name: str) -> None:
    result = parse(connector, account, _ignored_body(name))
    assert result.items == []
    assert result.reply is None


def test_supported_and_ignored_do_not_overlap() -> None:
    assert not SlackConnector.supported_events & SlackConnector.ignored_events


# -- unknown and malformed ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "name"),
    [
        (
            envelope_with({"type": "message", "subtype": "brand_new_subtype", "channel": "C1"}),
            "message.brand_new_subtype",
        ),
        (envelope_with({"type": "workflow_step_execute"}), "workflow_step_execute"),
        (encode_body({"type": "block_actions", "team": {"id": "T1"}}), "block_actions"),
    ],
)
def test_unknown_events(connector: SlackConnector, account: InboxConfig, body: bytes, name: str) -> None:
    with pytest.raises(UnsupportedEvent) as caught:
        parse(connector, account, body)
    assert str(caught.value) == name


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not valid JSON"),
        (b"[" * 100_000, "invalid Events API body"),
        (b'{"type": "event_callback", "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "invalid Events API body"),
        (b'{"token": "x"}', "invalid Events API body"),
        (b'{"type": 5}', "invalid Events API body"),
        (b'{"type": "url_verification", "token": "x"}', "without a challenge"),
        (b'{"type": "event_callback", "team_id": "T1"}', "without an event"),
        (b'{"type": "event_callback", "team_id": "T1", "event": "message"}', "invalid event"),
        (b'{"type": "event_callback", "team_id": "T1", "event": {"subtype": "x"}}', "invalid event"),
        (envelope_with({"type": "message", "text": "hi", "user": "U1", "channel": "C1"}), "message ts"),
        (envelope_with({"type": "message", "text": "hi", "user": "U1", "channel": "C1", "ts": "nan"}), "message ts"),
        (
            envelope_with({"type": "message", "text": "hi", "user": "U1", "channel": "C1", "ts": "99999999999.1"}),
            "message ts",
        ),
        (envelope_with({"type": "message", "text": "hi", "user": "U1", "ts": "1.2"}), "message channel"),
        (
            envelope_with({"type": "message", "text": "hi", "user": "U1", "channel": "C1:x", "ts": "1.2"}),
            "message channel",
        ),
        (envelope_with({"type": "message", "text": "hi", "channel": "C1", "ts": "1.2"}), "message user"),
        (
            envelope_with({"type": "message", "text": 5, "user": "U1", "channel": "C1", "ts": "1.2"}),
            "invalid message event",
        ),
        (
            envelope_with(
                {
                    "type": "message",
                    "text": "hi",
                    "user": "U1",
                    "channel": "C1",
                    "ts": "1.2",
                    "files": [{"id": "F1", "size": "big"}],
                }
            ),
            "invalid message event",
        ),
        (envelope_with({"type": "message", "subtype": "message_changed", "channel": "C1"}), "without `message`"),
        (
            envelope_with(
                {
                    "type": "message",
                    "subtype": "message_changed",
                    "channel": "C1",
                    "message": {"text": "x", "user": "U1", "edited": {"ts": "1.1"}},
                }
            ),
            "message ts",
        ),
        (
            envelope_with({"type": "message", "text": "hi", "user": "U1", "channel": "C1", "ts": "1.2"}, team_id=None),
            "team_id",
        ),
    ],
)
def test_malformed(connector: SlackConnector, account: InboxConfig, body: bytes, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        parse(connector, account, body)


# -- fuzz: whatever arrives, parse raises only our own errors ------------------------------------------------


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
_ts = st.one_of(st.from_regex(r"\A\d{1,12}\.\d{1,9}\Z"), st.text(max_size=12), st.integers())
_event = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "app_mention", "reaction_added", "nope", ""])},
    optional={
        "subtype": st.sampled_from(
            [
                None,
                "thread_broadcast",
                "file_share",
                "me_message",
                "message_changed",
                "bot_message",
                "channel_join",
                "weird",
            ]
        ),
        "text": st.one_of(st.text(max_size=30), st.none(), st.integers()),
        "user": st.one_of(st.sampled_from(["U1", "USLACKBOT", "", "U:1"]), st.none()),
        "bot_id": st.one_of(st.none(), st.just("B1")),
        "channel": st.one_of(st.sampled_from(["C1", "D1", ""]), st.none(), st.integers()),
        "ts": _ts,
        "thread_ts": _ts,
        "files": st.lists(
            st.dictionaries(st.sampled_from(["id", "name", "size", "url_private", "mode"]), _json_values, max_size=5),
            max_size=2,
        )
        | _json_values,
        "message": _json_values
        | st.fixed_dictionaries(
            {"text": st.text(max_size=10)}, optional={"ts": _ts, "user": st.just("U1"), "edited": _json_values}
        ),
        "previous_message": _json_values,
        "user_profile": _json_values,
    },
)
_envelope = st.fixed_dictionaries(
    {"type": st.sampled_from(["event_callback", "url_verification", "app_rate_limited", "other"])},
    optional={
        "team_id": st.one_of(st.just("T1"), _json_values),
        "event": _event | _json_values,
        "challenge": _json_values,
        "event_id": _json_values,
        "authorizations": _json_values,
    },
)

_fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _parse_only_raises_our_errors(connector: SlackConnector, account: InboxConfig, body: bytes) -> None:
    try:
        result = parse(connector, account, body)
    except ConnectorError:
        return
    assert isinstance(result, ParseResult)
    for item in result.items:
        assert isinstance(item, InboundMessage)
        assert item.sent_at.tzinfo is not None


@_fuzz
@given(body=st.binary(max_size=300))
def test_fuzz_bytes(connector: SlackConnector, account: InboxConfig, body: bytes) -> None:
    _parse_only_raises_our_errors(connector, account, body)


@_fuzz
@given(value=_json_values)
def test_fuzz_any_json(connector: SlackConnector, account: InboxConfig, value: Any) -> None:
    _parse_only_raises_our_errors(connector, account, json.dumps(value).encode())


@_fuzz
@given(value=_envelope)
def test_fuzz_slack_shaped_json(connector: SlackConnector, account: InboxConfig, value: Any) -> None:
    _parse_only_raises_our_errors(connector, account, json.dumps(value).encode())


def test_every_slack_fixture_file_is_used_by_a_test() -> None:
    sources = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    files = [*(SHARED_FIXTURES / "payloads" / "slack").iterdir(), *(LOCAL_FIXTURES / "slack").iterdir()]
    unused = [f.name for f in files if f.suffix in (".json", ".txt") and f'"{f.name}"' not in sources]
    assert unused == []
