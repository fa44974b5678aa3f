"""Open-loop pacing: release each scheduled send time to the event loop when due, never early.

The event loop's own timers round to whole milliseconds. uvloop (libuv) keeps its clock and
timer deadlines in milliseconds and runs a ``call_later`` of less than 0.5 ms at once, so a
send timed by ``asyncio.sleep`` starts anywhere from about 0.5 ms early to 1 ms late; the
selector loop rounds epoll's timeout up to the next millisecond. At 1,000 req/s that
granularity alone is the size of the scheduler lag a load generator must stay under.

On Linux, :func:`make_pacer` returns a :class:`TimerFdPacer`: a ``timerfd`` (``CLOCK_MONOTONIC``,
armed at the absolute time of the next send, nanosecond resolution) that the loop watches like
a socket, so the loop's poll returns when it expires, whatever its own millisecond timeout.
Elsewhere a :class:`LoopTimerPacer` uses the loop's timers, rounded up to whole milliseconds,
and, when one fires early, waits again rather than releasing early. Both run on the loop's
thread and release every time already due in one callback, so a backlog costs one wake-up.

Measured on the 2-core benchmark VM at 1,000 req/s: the timerfd releases sends a median
~0.05 ms after their time (~0.5 ms with the loop's timers). Precision has a price: the loop
now sleeps until each send, where millisecond timers let sends due within 0.5 ms go out early
without sleeping, and arming a precise timer costs ~20 µs of kernel time on a VM; an engine
step cost ~85 µs of CPU per request instead of ~50 on a no-op target at 2,000 req/s. A thread
sleeping with ``threading.Event.wait`` and waking the loop with ``call_soon_threadsafe`` was
less precise (median ~0.16 ms) and dearer (two wake-ups and a GIL hand-off per send).
Busy-waiting for the last fraction of a millisecond kept a core busy, and a process that
never sleeps is descheduled more often on a shared machine, which made the tail worse.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import itertools
import math
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

#: the clock every pacer time is on (CLOCK_MONOTONIC on Linux, which the timerfd uses)
clock = time.perf_counter


class LoopTimerPacer(Generic[T]):
    """Releases ``(time, tag)`` items into :attr:`due` as their time comes, using the loop's
    timers (whole milliseconds, so up to about 1 ms late; a timer that fires early waits
    again).

    Args:
        loop: the running event loop; every callback runs on its thread.
        times: ``(send time, tag)`` in ascending time, times in :data:`clock` seconds, tags
            carried along untouched. After :meth:`stop`, :meth:`unreleased` gives what is left.
        on_due: called on the loop after items were appended to :attr:`due` (and once more
            when the schedule is exhausted or raised); it takes them with ``popleft``.

    Attributes:
        due: released items not yet taken by ``on_due``.
        exhausted: every item of the schedule was released.
        error: the exception the schedule raised, if it did (the pacer then stops).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, times: Iterator[tuple[float, T]],
                 on_due: Callable[[], None]) -> None:
        self._loop = loop
        self._times = times
        self._on_due = on_due
        self._next: list[tuple[float, T]] = []  # the next item, not yet due
        self._stopped = False
        self._handle: asyncio.TimerHandle | asyncio.Handle | None = None
        self.due: deque[tuple[float, T]] = deque()
        self.exhausted = False
        self.error: Exception | None = None

    def start(self) -> None:
        """Begin releasing (items already due go out on the loop's next iteration)."""
        self._loop.call_soon(self._wake)

    def stop(self) -> None:
        """Stop releasing. Items released and not taken stay in :attr:`due`."""
        self._stopped = True
        self._disarm()

    def unreleased(self) -> Iterator[tuple[float, T]]:
        """After :meth:`stop`: every item not taken by ``on_due`` (released and still in
        :attr:`due`, or never released), in schedule order. Consumes the schedule."""
        return itertools.chain(self.due, self._next, self._times)

    def _wake(self) -> None:
        """Release every item due now, then arm for the next one."""
        if self._stopped:
            return
        now = clock()
        released = False
        try:
            while True:
                item = self._next.pop() if self._next else next(self._times, None)
                if item is None:
                    self.exhausted = True
                    break
                if item[0] > now:
                    self._next.append(item)
                    self._arm(item[0])
                    break
                self.due.append(item)
                released = True
        except Exception as exc:  # a broken schedule: the engine re-raises it
            self.error = exc
        if released or self.exhausted or self.error is not None:
            self._on_due()

    def _arm(self, at: float) -> None:
        # whole milliseconds, rounded up: uvloop runs a call_later under 0.5 ms at once, so
        # a shorter delay would spin the loop until the time comes instead of sleeping
        self._handle = self._loop.call_later(math.ceil((at - clock()) * 1e3) / 1e3, self._wake)

    def _disarm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()


class _Timespec(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


class _Itimerspec(ctypes.Structure):
    _fields_ = (("it_interval", _Timespec), ("it_value", _Timespec))


_TFD_NONBLOCK, _TFD_CLOEXEC, _TFD_TIMER_ABSTIME = 0o4000, 0o2000000, 1


class TimerFdPacer(LoopTimerPacer[T]):
    """:class:`LoopTimerPacer` woken by a Linux ``timerfd`` instead of the loop's timers.

    The fd is armed at the next send's absolute ``CLOCK_MONOTONIC`` time and watched with
    ``loop.add_reader``; it expires within the kernel's timer slack (50 µs by default).

    Raises:
        OSError: the kernel refused a timerfd (the caller falls back to loop timers).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, times: Iterator[tuple[float, T]],
                 on_due: Callable[[], None]) -> None:
        super().__init__(loop, times, on_due)
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._settime = libc.timerfd_settime
        self._settime.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Itimerspec),
                                  ctypes.c_void_p)
        fd = libc.timerfd_create(time.CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"timerfd_create: {os.strerror(err)}")
        self._fd = fd
        self._spec = _Itimerspec()
        loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        with contextlib.suppress(BlockingIOError):  # re-armed since it fired: not expired
            os.read(self._fd, 8)
            self._wake()

    def _arm(self, at: float) -> None:
        value = self._spec.it_value
        value.tv_sec = int(at)
        value.tv_nsec = int((at - value.tv_sec) * 1e9)
        self._settime(self._fd, _TFD_TIMER_ABSTIME, ctypes.byref(self._spec), None)

    def _disarm(self) -> None:
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1


def make_pacer(loop: asyncio.AbstractEventLoop, times: Iterator[tuple[float, T]],
               on_due: Callable[[], None]) -> LoopTimerPacer[T]:
    """The most precise pacer available: a :class:`TimerFdPacer` on Linux (when
    :data:`clock` is ``CLOCK_MONOTONIC``, as CPython's ``perf_counter`` is there), else a
    :class:`LoopTimerPacer`. Arguments as for :class:`LoopTimerPacer`."""
    if sys.platform.startswith("linux") and time.get_clock_info(
            "perf_counter").implementation == "clock_gettime(CLOCK_MONOTONIC)":
        with contextlib.suppress(OSError, AttributeError):  # AttributeError: no such libc call
            return TimerFdPacer(loop, times, on_due)
    return LoopTimerPacer(loop, times, on_due)
