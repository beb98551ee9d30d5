"""The Redis transport the workers consume with: kombu's, except that a queue item which is not a message
(``redis-cli lpush celery 'not json at all'``) is set aside instead of stopping the worker.

Kombu decodes each item it pops as JSON and hands it on; text that is not JSON, or JSON that is not a message
envelope, raises inside the worker's event loop ("Unrecoverable error"). Here such an item goes to the Redis
list ``GARBAGE_KEY`` (the newest ``GARBAGE_KEEP``), a warning names its queue and length (never its text),
and the worker reads on. A well-formed message with a bad event inside is the task's to dead-letter.
"""

from __future__ import annotations

import binascii
import json
import logging
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import bytes_to_str

log = logging.getLogger("lab.production")
GARBAGE_KEY = "highlight_lab:garbage"
GARBAGE_KEEP = 1000


def message_or_none(item: bytes | str) -> dict[str, Any] | None:
    """The decoded envelope of a queue item, or None when it is not one a consumer can take."""
    try:
        message = json.loads(bytes_to_str(item))
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    if not isinstance(message, dict):
        return None
    props = message.get("properties")
    if not isinstance(props, dict) or "delivery_tag" not in props or not isinstance(props.get("delivery_info"), dict):
        return None
    body = message.get("body")
    if props.get("body_encoding") == "base64":
        if not isinstance(body, str):
            return None
        try:
            binascii.a2b_base64(body)
        except (binascii.Error, ValueError):
            return None
    return message


class Channel(kombu_redis.Channel):
    def _brpop_read(self, **options: Any) -> bool:
        # kombu's own, with the item checked before it is delivered
        try:
            try:
                dest__item = self.client.parse_response(self.client.connection, "BRPOP", **options)
            except self.connection_errors:
                self.client.connection.disconnect()
                raise
            if not dest__item:
                raise kombu_redis.Empty()
            dest, item = dest__item
            dest = bytes_to_str(dest).rsplit(self.sep, 1)[0]
            self._queue_cycle.rotate(dest)
            message = message_or_none(item)
            if message is None:
                self._set_aside(dest, item)
            else:
                self.connection._deliver(message, dest)
            return True
        finally:
            self._in_poll = None
            flush = getattr(self, "_flush_brpop_reauth", None)
            if flush is not None:
                flush()

    def _get(self, queue: str) -> Any:
        while True:  # the polling path: skip what is not a message the same way
            with self.conn_or_acquire() as client:
                for pri in self.priority_steps:
                    item = client.rpop(self._q_for_pri(queue, pri))
                    if item:
                        message = message_or_none(item)
                        if message is not None:
                            return message
                        self._set_aside(queue, item)
                        break
                else:
                    raise kombu_redis.Empty()

    def _set_aside(self, queue: str, item: bytes) -> None:
        log.warning("set aside an item of queue %s that is not a task message (%d bytes) in Redis list %s",
                    queue, len(item), GARBAGE_KEY)
        with self.conn_or_acquire() as client:
            client.lpush(GARBAGE_KEY, item)
            client.ltrim(GARBAGE_KEY, 0, GARBAGE_KEEP - 1)


class Transport(kombu_redis.Transport):
    Channel = Channel
