"""The bus on NATS JetStream, behind the same synchronous API as the in-process bus.

nats-py is asyncio; the rest of Trustdesk is synchronous. Each bus owns one event loop in a daemon thread
(started on first use: nothing connects at construction) and every blocking call hands a coroutine to it.

- ``publish`` waits for the PubAck, so "published" means stored in the stream. ``msg_id`` becomes the
  ``Nats-Msg-Id`` header: the stream stores one message per id within its ``duplicate_window``.
- ``subscribe(subject, handler)`` (fan-out) is an ordered, ephemeral consumer from the next new message;
  handlers run one at a time, in order, on a dispatcher thread of the bus.
- ``subscribe(..., group=g)`` / ``subscribe_batch`` bind a durable pull consumer named after the group and
  the subject: ``ack_policy=explicit``, ``max_ack_pending`` for the whole group, batches of at most
  ``max_in_flight`` per member. `run` fetches in the loop thread and calls the handlers in the thread that
  called `run`; while a batch is being handled its messages are kept alive (``in_progress``) so only a dead
  worker's messages come back after ``ack_wait``. A failure is nak'ed with ``backoff[attempt-1]`` (the last
  value repeats); the failure of attempt ``max_deliver`` publishes the message to ``deadletter.<subject>``
  and terminates it. The consumer allows one delivery more than ``max_deliver``: a message whose last
  attempt never ended (the worker died) is dead-lettered on that extra delivery, unhandled.
- ``prefix`` (test isolation) prefixes stream names (``P_CONTENT``) and subjects on the wire
  (``P.content.x``); handlers see the subjects without it.
"""

import asyncio
import concurrent.futures
import logging
import queue
import re
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit, urlunsplit

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from trustdesk.bus import codec
from trustdesk.bus.memory import single
from trustdesk.bus.protocol import (
    BatchHandler,
    BusError,
    BusUnavailable,
    Delivery,
    Event,
    Handler,
    Payload,
    dead_letter_subject,
)
from trustdesk.bus.stopping import stop_on_signals
from trustdesk.bus.streams import STREAMS, StreamSpec, stream_for

log = logging.getLogger(__name__)

T = TypeVar("T")
NAME: Final = re.compile(r"[A-Za-z0-9_-]+")
PUBLISH_CHUNK: Final = 1000  # publish_many awaits the PubAcks of this many at a time
STREAM_CONFIG_CHANGED: Final = 10058  # JetStream: "stream name already in use with a different configuration"


class _Returned:
    """Outcome of a message left unhandled because the worker is stopping: nak'ed for another member."""


RETURNED: Final = _Returned()
Outcome = None | BaseException | _Returned


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A queue group's consumer as the server sees it."""

    pending: int  # in the stream, not yet delivered to the group
    ack_pending: int  # delivered, not yet acknowledged
    redelivered: int


@dataclass(eq=False)
class _Group:
    subject: str
    group: str
    stream: str
    durable: str
    batch: BatchHandler
    one: Handler | None  # a per-message handler: lets `stop` return the rest of a batch
    pull: JetStreamContext.PullSubscription


@dataclass(eq=False)
class _Work:
    group: _Group
    deliveries: list[Delivery]
    done: "asyncio.Future[list[Outcome]]"


def redact(url: str) -> str:
    """``url`` without its credentials, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class JetStreamBus:
    def __init__(
        self,
        url: str = "nats://127.0.0.1:4222",
        *,
        prefix: str = "",
        max_deliver: int = 5,
        ack_wait: float = 30.0,
        backoff: Sequence[float] = (1.0, 5.0, 30.0, 120.0),
        max_in_flight: int = 256,
        max_ack_pending: int | None = None,
        replicas: int = 1,
        connect_timeout: float = 5.0,
        publish_timeout: float = 5.0,
        fetch_wait: float = 0.5,
        streams: tuple[StreamSpec, ...] = STREAMS,
        name: str = "trustdesk",
    ) -> None:
        """``max_ack_pending`` bounds a whole group (default ``16 * max_in_flight``: room for 16 members)."""
        if prefix and not NAME.fullmatch(prefix):
            raise ValueError(f"invalid stream prefix {prefix!r}: letters, digits, _ and - only")
        if max_deliver < 1 or max_in_flight < 1 or ack_wait <= 0 or not backoff:
            raise ValueError("need max_deliver >= 1, max_in_flight >= 1, ack_wait > 0 and some backoff")
        self.url = url
        self.prefix = prefix
        self.max_deliver = max_deliver
        self.ack_wait = ack_wait
        self.backoff = tuple(backoff)
        self.max_in_flight = max_in_flight
        self.max_ack_pending = max_ack_pending or 16 * max_in_flight
        self.replicas = replicas
        self.connect_timeout = connect_timeout
        self.publish_timeout = publish_timeout
        self.fetch_wait = fetch_wait
        self.streams = streams
        self.name = name

        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._dispatch: concurrent.futures.ThreadPoolExecutor | None = None
        self._fanout: list[JetStreamContext.PushSubscription] = []
        self._groups: list[_Group] = []
        self._work: queue.Queue[_Work] = queue.Queue()
        self._stop_requested = False
        self._running = False
        self._closed = False

    # -- naming -----------------------------------------------------------------------------------------

    def _stream_name(self, spec: StreamSpec) -> str:
        return f"{self.prefix}_{spec.name}" if self.prefix else spec.name

    def _wire(self, subject: str) -> str:
        return f"{self.prefix}.{subject}" if self.prefix else subject

    def _unwire(self, subject: str) -> str:
        return subject[len(self.prefix) + 1 :] if self.prefix else subject

    # -- the loop thread and the connection -------------------------------------------------------------

    def _call(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float, what: str = "answer") -> T:
        """Run ``make()`` on the bus's loop and wait for it; `BusUnavailable` when it takes too long."""
        loop = self._loop
        if loop is None or loop.is_closed():
            raise BusError("the bus is not connected")
        if threading.current_thread() is self._thread:
            raise RuntimeError("blocking bus call from the bus's own event loop")
        coro = make()
        try:
            future = asyncio.run_coroutine_threadsafe(coro, loop)
        except RuntimeError:
            coro.close()
            raise
        try:
            return future.result(timeout)
        except TimeoutError as exc:  # ours, or nats-py's (a subclass)
            future.cancel()
            raise BusUnavailable(
                f"NATS at {redact(self.url)} did not answer within {timeout:g}s, could not {what}"
                " (the outcome is unknown; repeating with the same msg_id is safe)"
            ) from exc
        except nats.errors.OutboundBufferLimitError as exc:  # nothing is buffered while disconnected
            raise BusUnavailable(
                f"not connected to NATS at {redact(self.url)} (reconnecting): {what} failed"
            ) from exc
        except (
            nats.errors.ConnectionClosedError,
            nats.errors.NoRespondersError,
            nats.js.errors.NoStreamResponseError,
            nats.js.errors.TooManyStalledMsgsError,
        ) as exc:
            raise BusUnavailable(f"NATS at {redact(self.url)}: could not {what}: {exc}") from exc

    def _start_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=serve, name=f"{self.name}-bus-loop", daemon=True)
        self._thread.start()
        ready.wait()
        self._loop = loop
        return loop

    def _stop_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()

    def _connected(self) -> JetStreamContext:
        """The JetStream context, connecting (and creating the streams) on first use."""
        with self._lock:
            if self._closed:
                raise BusError("the bus is closed")
            if self._js is not None:
                return self._js
            self._start_loop()
            try:
                self._js = self._call(self._connect, self.connect_timeout + 5, "connect")
            except BaseException:
                self._stop_loop()
                raise
            return self._js

    async def _connect(self) -> JetStreamContext:
        nc = Client()
        connected = False

        async def on_error(exc: Exception) -> None:
            if connected:
                log.warning("NATS at %s: %s", redact(self.url), exc)

        async def on_disconnected() -> None:
            if not nc.is_closed:
                log.warning("lost NATS at %s; reconnecting", redact(self.url))

        async def on_reconnected() -> None:
            log.warning("reconnected to NATS at %s", redact(self.url))

        try:
            await asyncio.wait_for(
                nc.connect(
                    servers=[self.url],
                    name=self.name,
                    connect_timeout=max(1, int(self.connect_timeout)),
                    reconnect_time_wait=1,
                    max_reconnect_attempts=-1,  # ride out server restarts
                    pending_size=0,  # while disconnected, a publish fails at once: never sent late
                    error_cb=on_error,
                    disconnected_cb=on_disconnected,
                    reconnected_cb=on_reconnected,
                ),
                self.connect_timeout,
            )
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            await nc.close()
            why = f": {exc}" if str(exc) else ""
            raise BusUnavailable(
                f"cannot reach NATS at {redact(self.url)} within {self.connect_timeout:g}s{why}"
                " (is nats-server running, with JetStream (-js)? see TRUSTDESK_NATS_URL)"
            ) from exc
        connected = True
        js = nc.jetstream(timeout=self.publish_timeout)
        try:
            for spec in self.streams:
                await self._ensure_stream(js, spec)
        except BaseException:
            await nc.close()
            raise
        self._nc = nc
        return js

    async def _ensure_stream(self, js: JetStreamContext, spec: StreamSpec) -> None:
        config = api.StreamConfig(
            name=self._stream_name(spec),
            description=spec.description,
            subjects=[self._wire(s) for s in spec.subjects],
            retention=api.RetentionPolicy.LIMITS,
            discard=api.DiscardPolicy.OLD,
            storage=api.StorageType.FILE,
            num_replicas=self.replicas,
            max_age=spec.max_age.total_seconds(),
            max_bytes=spec.max_bytes,
            max_msg_size=spec.max_msg_size,
            duplicate_window=spec.duplicate_window.total_seconds(),
        )
        try:
            try:
                await js.add_stream(config)
            except nats.js.errors.BadRequestError as exc:
                if exc.err_code != STREAM_CONFIG_CHANGED:
                    raise
                await js.update_stream(config)
        except nats.js.errors.ServiceUnavailableError as exc:
            raise BusUnavailable(f"NATS at {redact(self.url)} has no JetStream (start it with -js)") from exc
        except nats.js.errors.APIError as exc:
            raise BusError(f"cannot create or update stream {config.name}: {exc.description}") from exc
        except nats.errors.TimeoutError as exc:
            raise BusUnavailable(f"NATS at {redact(self.url)} did not create stream {config.name}") from exc

    @property
    def connected(self) -> bool:
        """Whether the connection is up now (for health checks; never connects)."""
        nc = self._nc
        return nc is not None and nc.is_connected

    # -- publishing -------------------------------------------------------------------------------------

    def _prepare(
        self, subject: str, payload: Payload, msg_id: str | None
    ) -> tuple[str, bytes, dict[str, str]]:
        stream_for(subject, self.streams)
        headers = {"Nats-Msg-Id": msg_id} if msg_id else {}
        return self._wire(subject), codec.encode(payload), headers

    def publish(self, subject: str, payload: Payload, *, msg_id: str | None = None) -> None:
        wire, data, headers = self._prepare(subject, payload, msg_id)
        js = self._connected()

        async def send() -> None:
            await js.publish(wire, data, timeout=self.publish_timeout, headers=headers or None)

        what = f"publish to {subject}"
        self._publishing(subject, lambda: self._call(send, self.publish_timeout + 1, what))

    def publish_many(self, events: Iterable[Event]) -> None:
        """Publish all, pipelined a chunk at a time; on failure some may be stored (repeat with the same
        ``msg_id``s: the stream keeps one of each)."""
        prepared = [self._prepare(e.subject, e.payload, e.msg_id) for e in events]
        if not prepared:
            return
        js = self._connected()

        async def send(chunk: list[tuple[str, bytes, dict[str, str]]]) -> None:
            futures: list[asyncio.Future[api.PubAck]] = [
                # no wait_stall: the chunk stays below the client's limit of pending acks, and a
                # wait_for per message would yield to the flusher after each (one write per message)
                await js.publish_async(wire, data, headers=headers or None)
                for wire, data, headers in chunk
            ]
            results = await asyncio.wait_for(
                asyncio.gather(*futures, return_exceptions=True), self.publish_timeout
            )
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                raise failed[0]

        for start in range(0, len(prepared), PUBLISH_CHUNK):
            chunk = prepared[start : start + PUBLISH_CHUNK]
            subject = self._unwire(chunk[0][0])
            what = f"publish {len(chunk)} messages (to {subject}, ...)"

            def publish_chunk(
                chunk: list[tuple[str, bytes, dict[str, str]]] = chunk, what: str = what
            ) -> None:
                self._call(lambda: send(chunk), self.publish_timeout + 1, what)

            self._publishing(subject, publish_chunk)

    def _publishing(self, subject: str, send: Callable[[], None]) -> None:
        try:
            send()
        except nats.js.errors.APIError as exc:
            raise BusError(f"JetStream refused the publish to {subject}: {exc.description}") from exc

    # -- subscribing ------------------------------------------------------------------------------------

    def subscribe(self, subject: str, handler: Handler, *, group: str | None = None) -> None:
        if group is not None:
            self._subscribe_group(subject, group, single(handler), handler)
            return
        spec = stream_for(subject, self.streams)
        js = self._connected()
        loop = self._loop
        assert loop is not None
        if self._dispatch is None:
            self._dispatch = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"{self.name}-bus")
        dispatch = self._dispatch

        def call(msg_subject: str, data: bytes) -> None:
            try:
                handler(msg_subject, codec.decode(data))
            except Exception:
                log.exception("handler %r failed on %s", handler, msg_subject)

        async def on_message(msg: Msg) -> None:
            await loop.run_in_executor(dispatch, call, self._unwire(msg.subject), msg.data)

        async def start() -> JetStreamContext.PushSubscription:
            return await js.subscribe(
                self._wire(subject),
                stream=self._stream_name(spec),
                cb=on_message,
                ordered_consumer=True,
                deliver_policy=api.DeliverPolicy.NEW,
            )

        self._fanout.append(self._call(start, self.publish_timeout + 1, f"subscribe to {subject}"))

    def subscribe_batch(self, subject: str, group: str, handler: BatchHandler) -> None:
        self._subscribe_group(subject, group, handler, None)

    def _subscribe_group(self, subject: str, group: str, batch: BatchHandler, one: Handler | None) -> None:
        if not NAME.fullmatch(group):
            raise ValueError(f"invalid group name {group!r}: letters, digits, _ and - only")
        if self._running:
            raise RuntimeError("subscribe before run()")
        spec = stream_for(subject, self.streams)
        js = self._connected()
        stream = self._stream_name(spec)
        durable = group + "--" + subject.replace(".", "_").replace("*", "STAR").replace(">", "ALL")
        config = api.ConsumerConfig(
            durable_name=durable,
            description=f"queue group {group} on {subject}",
            deliver_policy=api.DeliverPolicy.ALL,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            max_deliver=self.max_deliver + 1,  # the extra one dead-letters a message whose worker died
            max_ack_pending=self.max_ack_pending,
            filter_subject=self._wire(subject),
        )

        async def bind() -> JetStreamContext.PullSubscription:
            try:
                await js.add_consumer(stream, config)  # creates, or updates the editable settings
            except nats.js.errors.APIError as exc:
                raise BusError(f"cannot create or update consumer {durable} on {stream}: {exc}") from exc
            return await js.pull_subscribe_bind(durable=durable, stream=stream)

        pull = self._call(bind, self.publish_timeout + 1, f"bind group {group} on {subject}")
        self._groups.append(_Group(subject, group, stream, durable, batch, one, pull))

    def group_info(self, subject: str, group: str) -> GroupInfo:
        """How far behind the queue group ``group`` on ``subject`` is."""
        for g in self._groups:
            if g.subject == subject and g.group == group:
                info = self._call(g.pull.consumer_info, self.publish_timeout + 1)
                return GroupInfo(info.num_pending or 0, info.num_ack_pending or 0, info.num_redelivered or 0)
        raise KeyError(f"this bus has no group {group} on {subject}")

    # -- the consumer loop ------------------------------------------------------------------------------

    def run(self, *, signals: Sequence[int] = ()) -> None:
        self._connected()
        loop = self._loop
        assert loop is not None
        if self._running:
            raise RuntimeError("the bus is already running")
        self._running = True
        pumps = [asyncio.run_coroutine_threadsafe(self._pump(g), loop) for g in self._groups]
        try:
            with stop_on_signals(signals, self.stop):
                while True:
                    try:
                        work = self._work.get(timeout=0.05)
                    except queue.Empty:
                        if self._stop_requested and all(p.done() for p in pumps):
                            break
                        continue
                    self._handle(work)
        finally:
            self._stop_requested = True
            for pump in pumps:
                while not pump.done():
                    self._return_waiting_work()
                    concurrent.futures.wait([pump], timeout=0.05)
            self._return_waiting_work()
            for pump in pumps:
                if not pump.cancelled() and pump.exception() is not None:
                    log.error("consumer loop failed", exc_info=pump.exception())
            self._stop_requested = self._running = False

    def stop(self) -> None:
        self._stop_requested = True  # one assignment: safe in a signal handler

    def _stopping(self) -> bool:
        return self._stop_requested

    def _return_waiting_work(self) -> None:
        while True:
            try:
                work = self._work.get_nowait()
            except queue.Empty:
                return
            self._resolve(work, [RETURNED] * len(work.deliveries))

    def _resolve(self, work: _Work, outcome: list[Outcome]) -> None:
        def settle() -> None:
            if not work.done.done():
                work.done.set_result(outcome)

        if self._loop is not None:
            self._loop.call_soon_threadsafe(settle)

    def _handle(self, work: _Work) -> None:
        """Call the handler (in the thread of `run`) and pass the outcome back to the pump."""
        outcome: list[Outcome] = [RETURNED] * len(work.deliveries)
        try:
            outcome = self._outcome(work.group, work.deliveries)
        finally:
            self._resolve(work, outcome)

    def _outcome(self, group: _Group, deliveries: list[Delivery]) -> list[Outcome]:
        if group.one is not None:
            outcome: list[Outcome] = []
            for d in deliveries:
                if self._stop_requested and d.attempt < self.max_deliver:
                    outcome.append(RETURNED)
                    continue
                try:
                    group.one(d.subject, d.payload)
                    outcome.append(None)
                except Exception as exc:  # noqa: BLE001 - the handler's failure is the message's outcome
                    outcome.append(exc)
            return outcome
        try:
            failed = group.batch(deliveries) or {}
        except Exception as exc:  # noqa: BLE001 - a raising batch handler fails the whole batch
            return [exc] * len(deliveries)
        return [failed.get(i) for i in range(len(deliveries))]

    async def _pump(self, group: _Group) -> None:
        """Fetch a batch, hand it to `run`'s thread, settle each message; until stopped."""
        failing = False
        while not self._stop_requested:
            try:
                msgs = await group.pull.fetch(self.max_in_flight, timeout=self.fetch_wait)
            except nats.errors.TimeoutError:
                failing = False
                continue
            except (nats.errors.Error, OSError) as exc:
                if self._stopping():
                    break
                level = logging.DEBUG if failing else logging.WARNING
                log.log(level, "fetching for group %s on %s failed: %s", group.group, group.subject, exc)
                failing = True
                await asyncio.sleep(self.fetch_wait)
                continue
            failing = False
            await self._process(group, msgs)

    async def _process(self, group: _Group, msgs: list[Msg]) -> None:
        kept: list[Msg] = []
        deliveries: list[Delivery] = []
        for msg in msgs:
            attempt = msg.metadata.num_delivered
            if attempt > self.max_deliver:
                why = f"no outcome after {self.max_deliver} deliveries (the worker died or overran ack_wait)"
                await self._dead_letter(group, msg, attempt - 1, why)
                continue
            try:
                payload = codec.decode(msg.data)
            except ValueError as exc:
                await self._dead_letter(group, msg, attempt, str(exc))
                continue
            kept.append(msg)
            deliveries.append(Delivery(self._unwire(msg.subject), payload, attempt))
        if not kept:
            return
        loop = asyncio.get_running_loop()
        work = _Work(group, deliveries, loop.create_future())
        self._work.put(work)
        outcome = await self._keep_alive(work.done, kept)
        for msg, result in zip(kept, outcome, strict=True):
            await self._settle(group, msg, result)

    async def _keep_alive(self, done: Awaitable[list[Outcome]], msgs: list[Msg]) -> list[Outcome]:
        """Wait for the outcome, telling the server every ack_wait/2 that the batch is still in hand."""
        shielded = asyncio.ensure_future(done)
        while True:
            try:
                return await asyncio.wait_for(asyncio.shield(shielded), self.ack_wait / 2)
            except TimeoutError:
                for msg in msgs:
                    await self._quietly(msg.in_progress())

    async def _settle(self, group: _Group, msg: Msg, result: Outcome) -> None:
        attempt = msg.metadata.num_delivered
        if result is None:
            await self._quietly(msg.ack())
        elif isinstance(result, _Returned):
            await self._quietly(msg.nak())
        elif attempt >= self.max_deliver:
            await self._dead_letter(group, msg, attempt, codec.describe(result))
        else:
            delay = self.backoff[min(attempt, len(self.backoff)) - 1]
            log.warning(
                "group %s failed on %s (attempt %d of %d, again in %gs): %s",
                group.group,
                self._unwire(msg.subject),
                attempt,
                self.max_deliver,
                delay,
                codec.describe(result),
            )
            await self._quietly(msg.nak(delay=delay))

    async def _dead_letter(self, group: _Group, msg: Msg, attempts: int, error: str) -> None:
        subject = self._unwire(msg.subject)
        sequence = msg.metadata.sequence.stream
        letter = codec.dead_letter_payload(
            subject=subject,
            group=group.group,
            error=error,
            attempts=attempts,
            data=msg.data,
            where=f"{group.stream}#{sequence}",
        )
        js = self._js
        assert js is not None
        try:
            await js.publish(
                self._wire(dead_letter_subject(subject)),
                codec.encode(letter),
                timeout=self.publish_timeout,
                headers={"Nats-Msg-Id": f"dead:{group.stream}:{sequence}:{group.durable}"},
            )
        except (nats.errors.Error, OSError) as exc:
            log.error("could not dead-letter %s#%d (%s); it comes back", group.stream, sequence, exc)
            await self._quietly(msg.nak(delay=self.backoff[-1]))
            return
        log.error("group %s gave up on %s after %d attempts: %s", group.group, subject, attempts, error)
        await self._quietly(msg.term())

    @staticmethod
    async def _quietly(action: Awaitable[None]) -> None:
        """Ack, nak, term: a lost one only means the message comes back after ack_wait."""
        try:
            await action
        except (nats.errors.Error, OSError) as exc:
            log.warning("could not settle a message (it comes back after ack_wait): %s", exc)

    # -- closing ----------------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop_requested = True
            if self._loop is None:
                return
            try:
                self._call(self._disconnect, self.publish_timeout + 1)
            except BusError as exc:
                log.warning("closing the NATS connection: %s", exc)
            finally:
                if self._dispatch is not None:
                    self._dispatch.shutdown(wait=True)
                self._stop_loop()

    async def _disconnect(self) -> None:
        nc = self._nc
        self._nc = self._js = None
        self._groups.clear()
        self._fanout.clear()
        if nc is not None and not nc.is_closed:
            try:
                if nc.is_connected:
                    await nc.flush(timeout=1)  # the last acks
                await nc.close()
            except (nats.errors.Error, OSError) as exc:
                log.warning("closing the NATS connection: %s", exc)
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> "JetStreamBus":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


__all__ = ["BusUnavailable", "GroupInfo", "JetStreamBus"]
