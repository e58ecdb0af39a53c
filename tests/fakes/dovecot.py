"""A real IMAP server for tests: Debian's Dovecot, configured under a temporary directory.

The configuration is the one verified in ../shared/notes/LIBRARIES.md (5.5), with one change: static
passdb/userdb (every user has the password "secret" and a Maildir home under `mail/`, owned by
`nobody`) instead of a passwd-file, whose changes Dovecot notices only after a delay, so tests can
add users at any moment. Mail is delivered with `doveadm save`, as an MTA would. When Dovecot is
missing the helper installs it (root only, scripts/system-deps.sh); when it still cannot run,
`DovecotUnavailable` says why.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

from tests.fakes.base import free_port
from tests.paths import REPO

MAIL_UID = 65534  # nobody: Dovecot refuses root as a mail user
PASSWORD = "secret"

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = omnihub-test-{instance}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
mail_location = maildir:~/Maildir
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={uid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
protocol imap {{
  mail_max_userip_connections = 50
  # Dovecot's own safety net for a delivery landing between a command and the start of IDLE (its
  # change watch can miss it): it re-checks the mailbox this often while idling (default 30 secs).
  mailbox_idle_check_interval = 1 secs
}}
"""


#: Dovecot's capabilities after login, without IDLE: for the polling path.
NO_IDLE = (
    "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ SORT THREAD=REFERENCES MULTIAPPEND "
    "UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES "
    "WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE\n"
)


class DovecotUnavailable(RuntimeError):
    """Dovecot cannot be installed or started here (the reason is the message)."""


def _ensure_installed() -> str:
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if binary:
        return binary
    if os.geteuid() != 0:
        raise DovecotUnavailable("dovecot is not installed and installing it needs root")
    subprocess.run([str(REPO / "scripts" / "system-deps.sh")], check=False, capture_output=True, timeout=600)
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if not binary:
        raise DovecotUnavailable("dovecot-imapd could not be installed (see /tmp/omnihub-apt.log)")
    return binary


class Dovecot:
    """One Dovecot instance on a free port; `add_user()` gives each test its own mailbox."""

    def __init__(self, root: Path, extra_config: str = "") -> None:
        self.root = root
        self.extra_config = extra_config
        self.port = free_port()
        self.host = "127.0.0.1"
        self.config = root / "dovecot.conf"
        self.process: subprocess.Popen[bytes] | None = None
        self.binary = ""

    def start(self) -> Dovecot:
        if os.geteuid() != 0:
            raise DovecotUnavailable("the test Dovecot switches to the mail user, which needs root")
        self.binary = _ensure_installed()
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        os.chown(self.root / "mail", MAIL_UID, MAIL_UID)
        config = _CONFIG.format(
            root=self.root, port=self.port, instance=uuid.uuid4().hex[:8], password=PASSWORD, uid=MAIL_UID
        )
        self.config.write_text(config + self.extra_config)
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = (self.process.stderr.read() if self.process.stderr else b"").decode(errors="replace")
                raise DovecotUnavailable(f"dovecot exited: {error.strip()[:300]}")
            with socket.socket() as probe:
                if probe.connect_ex((self.host, self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.stop()
        raise DovecotUnavailable("dovecot did not listen within 15 s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def add_user(self) -> str:
        """A new mail user with its own Maildir; returns the login, which is also its address.

        The mailbox is created here, as it exists on any real server: when a first delivery and a
        first login create it at the same instant, Dovecot's IDLE can miss that delivery.
        """
        user = f"u{uuid.uuid4().hex[:10]}@example.test"
        home = self.root / "mail" / user
        home.mkdir()
        os.chown(home, MAIL_UID, MAIL_UID)
        self._doveadm("mailbox", "status", "-u", user, "messages", "INBOX")
        return user

    def _doveadm(self, *args: str, data: bytes = b"") -> None:
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        result = subprocess.run(
            [doveadm, "-c", str(self.config), *args], input=data, capture_output=True, timeout=30, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"doveadm {args[0]} failed: {result.stderr.decode(errors='replace').strip()}")

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message into a mailbox as the MTA would (`doveadm save`)."""
        self._doveadm("save", "-u", user, "-m", folder, data=raw)

    def settings(self, user: str, password: str = PASSWORD, **extra: object) -> dict[str, object]:
        """Email inbox settings for this server (SMTP pointing nowhere unless given in `extra`)."""
        return {
            "address": user,
            "imap_host": self.host,
            "imap_port": self.port,
            "imap_username": user,
            "imap_password": password,
            "imap_starttls": False,
            "smtp_host": "127.0.0.1",
            "smtp_port": 25,
            "smtp_username": user,
            "smtp_password": password,
            "smtp_starttls": False,
            **extra,
        }
