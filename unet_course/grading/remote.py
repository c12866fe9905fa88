"""The grader's side of a student's function that lives in another process: :class:`Remote`.

While ``unet-course autograde`` grades, a check gets a :class:`Remote`
instead of the student's function. Every call a check makes through
:meth:`unet_course.grading.common.Item.call` becomes a request to the
student's kernel: the procedure's name, the notebook's name of the
function, the inputs (plain data, :mod:`unet_course.grading.codec`). The
:class:`Channel` writes the request to a file with a fresh random name, has
the kernel run :func:`unet_course.grading.harness.serve` on it, and reads
the answer back with a size cap. An answer that is missing, late, too large
or malformed is not an answer: the check fails on it (:class:`NoAnswer`).
"""
from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass, field

from unet_course.grading import codec

__all__ = ["Remote", "Channel", "NoAnswer", "read_capped"]


class NoAnswer(Exception):
    """The kernel gave no usable answer to a request (it earns nothing)."""


def read_capped(path, limit):
    """At most ``limit + 1`` bytes of the regular file ``path`` (never a link, a pipe or a device), or ``None``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return file.read(limit + 1)


@dataclass
class Channel:
    """How requests reach the kernel: ``run(source, seconds)`` runs one line there and waits.

    ``run`` returns ``None`` when the line ran, or a short reason when it did
    not finish (the time limit, a dead kernel).
    """

    folder: object
    run: object
    seconds: object            # () -> seconds left for this test cell
    limit: int = codec.MAX_BYTES
    stopped: str | None = None  # why the kernel stopped answering, once it did

    def request(self, payload):
        """Send ``payload`` (plain data); return the decoded answer or raise :class:`NoAnswer`."""
        if self.stopped:
            raise NoAnswer(self.stopped)
        nonce = secrets.token_hex(16)
        request = os.path.join(str(self.folder), f"request-{nonce}")
        answer = os.path.join(str(self.folder), f"answer-{nonce}")
        with open(request, "wb") as file:
            file.write(codec.dumps({"nonce": nonce, **payload}))
        try:
            seconds = self.seconds()
            if seconds < 1:
                raise NoAnswer("no time was left for this test cell")
            why = self.run(f"__import__('unet_course.grading.harness', fromlist=['serve'])"
                           f".serve({request!r}, {answer!r})", seconds)
            if why:
                raise NoAnswer(why)
            return self._read(answer, nonce)
        finally:
            for path in (request, answer, answer + ".partial"):
                try:
                    os.unlink(path)
                except OSError:
                    pass

    def _read(self, path, nonce):
        data = read_capped(path, self.limit)
        if data is None:
            raise NoAnswer("the kernel wrote no answer")
        try:
            message = codec.loads(data, self.limit)
        except codec.MalformedData as error:
            raise NoAnswer(f"the kernel's answer was not plain data ({error})") from None
        if type(message) is not dict or message.get("nonce") != nonce or "answer" not in message:
            raise NoAnswer("the kernel's answer was not an answer to this request")
        return message["answer"]


@dataclass(eq=False)
class Remote:
    """The student's function ``name`` in the kernel behind ``channel``."""

    name: str
    channel: Channel = field(repr=False)
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.info = self.ask("describe")
        if type(self.info) is not dict or type(self.info.get("defined")) is not bool:
            raise NoAnswer("the kernel did not say what the notebook defines")

    def ask(self, procedure, args=(), kwargs=None, stand_ins=None):
        """The plain-data answer of ``procedure`` on this function."""
        return self.channel.request({"procedure": procedure, "name": self.name, "args": tuple(args),
                                     "kwargs": dict(kwargs or {}), "stand_ins": stand_ins or {}})

    def __eq__(self, other):
        return isinstance(other, Remote) and other.name == self.name and other.channel is self.channel

    __hash__ = object.__hash__

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.name} lives in the student's kernel: a check calls it through Item.call")
