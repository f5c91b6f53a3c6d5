"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

import email
import re
import socket
import time
from email import policy

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def wait_for(self, to: str, count: int = 1, timeout: float = 10.0):
        """The `count`-th message to `to`, waiting for the sending thread."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.messages if m["To"] == to]
            if len(found) >= count:
                return found[count - 1]
            time.sleep(0.02)
        raise AssertionError(f"no message #{count} to {to} within {timeout}s; got {len(self.messages)}")


    def wait_for_subject(self, to: str, words: str, timeout: float = 10.0):
        """The newest message to `to` whose subject holds `words`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.messages if m["To"] == to and words in m["Subject"]]
            if found:
                return found[-1]
            time.sleep(0.02)
        raise AssertionError(f"no message to {to} about {words!r} within {timeout}s")


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def code_in(message) -> str:
    return re.search(r"^(\d{6})\s*$", text_of(message), re.M).group(1)


def link_in(message) -> str:
    return re.search(r"(https?://\S+)", text_of(message)).group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start() -> tuple:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, inbox
