"""A private Dovecot IMAP server for the inbound tests: its own configuration in a temporary
folder, listening on 127.0.0.1 on a free port, any user name with the password "secret",
one maildir per user (so each test has its own mailbox), started once per session with
`dovecot -c CONF -F` and stopped at the end. The system's Dovecot service is never used.

Without Dovecot (`apt-get install dovecot-imapd`) these tests skip, or fail when
NURTURE_REQUIRE_SERVICES is set (`.ci/run`).
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import free_port

PASSWORD = "secret"


@dataclass(frozen=True)
class Dovecot:
    port: int
    root: Path

    def url(self, user: str) -> str:
        return f"imap://{user}:{PASSWORD}@127.0.0.1:{self.port}/INBOX"

    def connect(self, user: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(user, PASSWORD)
        conn.select("INBOX")
        return conn

    def deliver(self, user: str, message: bytes) -> None:
        """A message arrives in the user's inbox, unseen (IMAP APPEND)."""
        conn = self.connect(user)
        try:
            status, _ = conn.append("INBOX", None, None, message)
            assert status == "OK"
        finally:
            conn.logout()

    def inbox(self, user: str) -> list[tuple[bytes, bytes]]:
        """(flags, message) of each message in the user's inbox."""
        conn = self.connect(user)
        try:
            _, found = conn.uid("SEARCH", "ALL")
            messages = []
            for uid in found[0].split():
                _, parts = conn.uid("FETCH", uid.decode(), "(FLAGS BODY.PEEK[])")
                head, body = parts[0]
                messages.append((head, body))
            return messages
        finally:
            conn.logout()


def _users() -> tuple[str, str, int, int]:
    """Dovecot's login and internal users, and the uid and gid mail is kept under. As root
    they are the package's unprivileged users (its login process refuses to run as root)."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid()).pw_name
        return me, me, os.geteuid(), os.getegid()
    internal = pwd.getpwnam("dovecot")
    return "dovenull", "dovecot", internal.pw_uid, internal.pw_gid


def _config(root: Path, port: int) -> str:
    login, internal, uid, gid = _users()
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = nurture-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
auth_failure_delay = 0
default_login_user = {login}
default_internal_user = {internal}
default_internal_group = {internal}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot"
                                         if os.path.exists("/usr/sbin/dovecot") else None)
    if binary is None:
        message = "Dovecot is not installed (apt-get install dovecot-imapd)."
        if os.environ.get("NURTURE_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    # Not under pytest's own temporary folder: Dovecot's users must reach the maildirs.
    root = Path(tempfile.mkdtemp(prefix="nurture-dovecot-"))
    root.chmod(0o755)
    _, _, uid, gid = _users()
    for folder in ("mail", "home"):
        (root / folder).mkdir()
        os.chown(root / folder, uid, gid)
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(_config(root, port))
    log = open(root / "stdout.log", "w")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen([binary, "-c", str(conf), "-F"], stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        _wait_for(port, server, root)
        yield Dovecot(port, root)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def _wait_for(port: int, server: subprocess.Popen, root: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            conn = imaplib.IMAP4("127.0.0.1", port, timeout=2)
            conn.login("probe", PASSWORD)
            conn.logout()
            return
        except (OSError, imaplib.IMAP4.error):
            time.sleep(0.1)
    logged = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
    pytest.fail(f"Dovecot did not answer on 127.0.0.1:{port}:\n{logged[-2000:]}")


@pytest.fixture
def mailbox_user() -> str:
    """A user of its own for one test: an empty mailbox."""
    return f"u{uuid.uuid4().hex[:12]}"


