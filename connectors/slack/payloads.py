"""Typed shapes of the Slack Events API bodies we read (only the fields we use).

References: https://docs.slack.dev/apis/events-api/ (envelope),
https://docs.slack.dev/reference/events/message/ (message and its subtypes),
https://docs.slack.dev/reference/objects/file-object/ (files).
"""

from __future__ import annotations

import msgspec


class SlackAuthorization(msgspec.Struct, forbid_unknown_fields=False):
    """One entry of the envelope's `authorizations`: who the event was delivered for (our bot user)."""

    team_id: str | None = None
    user_id: str | None = None
    is_bot: bool = False


class SlackEnvelope(msgspec.Struct, forbid_unknown_fields=False):
    """The outer body of every Events API request (`url_verification`, `event_callback`, ...).

    `event` stays raw (empty when absent): it is decoded into the shape its handler needs once we know
    its type.
    """

    type: str
    token: str | None = None
    challenge: str | None = None
    team_id: str | None = None
    api_app_id: str | None = None
    event: msgspec.Raw = msgspec.Raw()
    event_id: str | None = None
    event_time: int | None = None
    authorizations: list[SlackAuthorization] = []
    is_ext_shared_channel: bool | None = None


class SlackEventHead(msgspec.Struct, forbid_unknown_fields=False):
    """Just enough of an inner event to pick its handler."""

    type: str
    subtype: str | None = None


class SlackFile(msgspec.Struct, forbid_unknown_fields=False):
    """A file shared in a message.

    Slack Connect files from another organisation arrive as a stub (`file_access: "check_file_info"`,
    no URL): `files.info` must be called to get `url_private`.
    """

    id: str = ""
    name: str | None = None
    title: str | None = None
    mimetype: str | None = None
    size: int | None = None
    mode: str | None = None
    file_access: str | None = None
    is_external: bool = False
    url_private: str | None = None
    url_private_download: str | None = None


class SlackEdited(msgspec.Struct, forbid_unknown_fields=False):
    """`edited` marker on a message the author changed."""

    user: str | None = None
    ts: str | None = None


class SlackUserProfile(msgspec.Struct, forbid_unknown_fields=False):
    """`user_profile` that some message events (Slack Connect, older payloads) carry inline."""

    real_name: str | None = None
    display_name: str | None = None


class SlackMessage(msgspec.Struct, forbid_unknown_fields=False):
    """A `message` (or `app_mention`) event, or the `message` nested in a `message_changed` event."""

    type: str = "message"
    subtype: str | None = None
    text: str | None = ""
    user: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    ts: str | None = None
    thread_ts: str | None = None
    channel: str | None = None
    channel_type: str | None = None
    team: str | None = None
    user_team: str | None = None
    client_msg_id: str | None = None
    files: list[SlackFile] | None = None
    edited: SlackEdited | None = None
    user_profile: SlackUserProfile | None = None


class SlackMessageChanged(msgspec.Struct, forbid_unknown_fields=False):
    """`message` event with `subtype: message_changed`: the new version is in `message`."""

    channel: str | None = None
    ts: str | None = None
    channel_type: str | None = None
    message: SlackMessage | None = None
    previous_message: SlackMessage | None = None
