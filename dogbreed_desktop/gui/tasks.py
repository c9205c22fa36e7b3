"""One runner for all of the window's background work in threads: model loads, classification, the large photo,
the Train tab's preflight, evaluation and exports. (Training is not one of them: it runs as a child process,
`gui/train/child.py`.)

A `TaskRunner` owns one worker thread and runs its tasks there one at a time, in the order they were submitted
(an `urgent` task goes ahead of the waiting ones). A task is a plain function, called on that thread as
`fn(*args, control=control, **kwargs)`. `control` (a `TaskControl`) answers `should_stop()` from a
`threading.Event` that the GUI thread sets by a direct call, throttles `progress()` to ~10 calls a second, and
sends partial results with `publish()`; a generator function's yields are published too.

What comes back (partial results, progress, the return value, an error, the end) reaches the task's handlers
on the GUI thread, and only while the task is live. Cancelling a task, or submitting a newer one of its group
with `supersede=True`, retires it at once: what it still has in flight is dropped in `_deliver`, the one place
that checks. Errors become words in `user_message`, the one place that decides how an exception reads, and
go to the task's `on_error`, which every task must have: no background error is silent.

The thread is wired as superqt's `new_worker_qthread` does it (a QObject worker moved to a QThread,
started -> work, finished -> quit, both deleteLater). superqt itself is not imported: its package import adds
~0.2 s to the window's start-up (measured, pyqtgraph already loaded); its `WorkerBase.run` swaps
`warnings.showwarning` process-wide (racy with several workers); and its `GeneratorWorker` turns a
RuntimeError raised in the generator (torch raises those) into a warning, with neither `errored` nor
`finished` emitted.
"""

from __future__ import annotations

import inspect
import itertools
import sys
import threading
import traceback
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Iterable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..core.control import Control, Stopped, Throttle
from ..core.errors import UserError, describe

_ids = itertools.count(1)  # task ids, unique across runners


class TaskControl(Control):
    """The control object a task receives. `emit(kind, payload)` is the worker's signal, bound to the task."""

    def __init__(self, emit: Callable[[str, Any], None]):
        super().__init__()
        self._emit, self._throttle, self._message = emit, Throttle(), None

    def progress(self, done: int, total: int, message: str = "") -> None:
        # A new phase and the last step always get through: the window never shows a stale phase or 99%.
        if self._throttle.ready(force=message != self._message or done >= total):
            self._message = message
            self._emit("progress", (done, total, message))

    def publish(self, value: Any) -> None:
        """A partial result, passed to the task's `on_partial` on the GUI thread (not throttled)."""
        self._emit("partial", value)


@dataclass(eq=False)
class Task:
    """A submitted job as the GUI thread sees it. Handlers are called on the GUI thread as
    `on_partial(task, value)`, `on_progress(task, done, total, message)`, `on_done(task, result)`,
    `on_error(task, message)` and `on_finished(task)` (always last, after on_done or on_error)."""

    fn: Callable
    args: tuple
    kwargs: dict
    on_error: Callable
    group: str | None = None
    urgent: bool = False
    on_partial: Callable | None = None
    on_progress: Callable | None = None
    on_done: Callable | None = None
    on_finished: Callable | None = None
    id: int = field(default_factory=lambda: next(_ids))
    control: TaskControl | None = None

    def stop(self) -> None:
        """Ask the work to end early (thread-safe); unlike cancelling, its result still arrives."""
        self.control.stop()


def user_message(exc: BaseException) -> str:
    """How a background error reads in the window. Errors the project raises for people (core.errors.UserError:
    a bad photo, folder or model file) are shown as they are; anything else is shown with its type, its
    traceback on stderr."""
    if not isinstance(exc, (UserError, OSError)):
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    return describe(exc)


class _Queue:
    """The waiting tasks, shared by the GUI thread (put, discard, close) and the worker thread (take)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._tasks: deque[Task] = deque()
        self._closed = False
        self.running: Task | None = None

    def put(self, task: Task) -> None:
        with self._cond:
            # Urgent tasks keep their own order, ahead of the others.
            at = sum(t.urgent for t in self._tasks) if task.urgent else len(self._tasks)
            self._tasks.insert(at, task)
            self._cond.notify()

    def discard(self, tasks: Iterable[Task]) -> None:
        gone = set(map(id, tasks))
        with self._cond:
            self._tasks = deque(t for t in self._tasks if id(t) not in gone)

    def take(self) -> Task | None:
        """The next task (blocking), or None once closed."""
        with self._cond:
            self.running = None
            while not self._tasks and not self._closed:
                self._cond.wait()
            self.running = None if self._closed else self._tasks.popleft()
            return self.running

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._tasks.clear()
            self._cond.notify_all()


class _Worker(QObject):
    """Lives on the runner's thread: takes tasks off the queue and runs them until the queue is closed."""

    event = Signal(int, str, object)  # task id, kind (partial, progress, done, error, finished), payload
    finished = Signal()

    def __init__(self, queue: _Queue):
        super().__init__()
        self._queue = queue

    @Slot()
    def work(self) -> None:
        while (task := self._queue.take()) is not None:
            if task.control.should_stop():  # cancelled as it was taken off the queue
                self.event.emit(task.id, "finished", None)
                continue
            try:
                result = task.fn(*task.args, control=task.control, **task.kwargs)
                if inspect.isgenerator(result):
                    result = yield_all(result, task.control.publish)
                self.event.emit(task.id, "done", result)
            except Stopped:  # it was asked to stop and did: nothing to report, its end follows
                pass
            except Exception as e:  # whatever it is, the user hears of it and the thread lives on
                try:
                    message = user_message(e)
                except Exception:  # wording the error must never end this thread: every later task would hang
                    message = f"{type(e).__name__}: {e}"
                self.event.emit(task.id, "error", message)
            self.event.emit(task.id, "finished", None)
        self.finished.emit()


def yield_all(generator, publish: Callable[[Any], None]) -> Any:
    """Publish each value a generator yields; return what it returns."""
    while True:
        try:
            publish(next(generator))
        except StopIteration as stop:
            return stop.value


class TaskRunner(QObject):
    """Runs tasks one at a time on its own thread. Create it on the GUI thread; call `shutdown()` before the
    owning widget goes (closing the window does)."""

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self._queue = _Queue()
        self._live: dict[int, Task] = {}
        self._closed = self._started = False
        self._stopped_in_time = True
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._worker = _Worker(self._queue)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.work)
        self._worker.finished.connect(self._thread.quit)
        self._worker.finished.connect(self._worker.deleteLater)
        self._thread.finished.connect(self._thread.deleteLater)
        self._worker.event.connect(self._deliver)  # emitted on the worker thread: queued to this (GUI) thread

    def submit(self, fn: Callable, *args, on_error: Callable, group: str | None = None, supersede: bool = False,
               urgent: bool = False, on_partial=None, on_progress=None, on_done=None, on_finished=None,
               **kwargs) -> Task:
        """Queue `fn(*args, control=..., **kwargs)`. `supersede` first cancels the live tasks of `group`."""
        if self._closed:
            raise RuntimeError(f"the {self.name} runner is shut down")
        if supersede:
            self.cancel(self.tasks(group))
        task = Task(fn, args, kwargs, on_error, group, urgent, on_partial, on_progress, on_done, on_finished)
        task.control = TaskControl(partial(self._worker.event.emit, task.id))
        self._live[task.id] = task
        self._queue.put(task)
        if not self._started:  # the thread starts with the first task: an unused runner costs nothing
            self._started = True
            self._thread.start()
        return task

    def tasks(self, group: str | None = None) -> list[Task]:
        """The live tasks (waiting or running) of `group`, or all of them."""
        return [t for t in self._live.values() if group is None or t.group == group]

    def running(self) -> Task | None:
        """The live task the worker is running now, if any."""
        task = self._queue.running
        return task if task is not None and task.id in self._live else None

    @property
    def busy(self) -> bool:
        return bool(self._live)

    def cancel(self, tasks: Iterable[Task] | None = None) -> None:
        """Retire tasks (default: all): waiting ones never start, a running one is asked to stop, and nothing
        more of theirs reaches a handler."""
        tasks = list(self._live.values() if tasks is None else tasks)
        for task in tasks:
            task.control.stop()
            self._live.pop(task.id, None)
        self._queue.discard(tasks)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel everything and end the thread, waiting at most `timeout_ms` for the task in progress to
        notice. False if it was still running then. Safe to call twice."""
        if not self._closed:
            self._closed = True
            self.cancel()
            self._queue.close()
            if self._started:
                self._thread.quit()  # direct: the queued finished -> quit would wait for this thread's loop
                self._stopped_in_time = self._thread.wait(timeout_ms)
        return self._stopped_in_time

    @Slot(int, str, object)
    def _deliver(self, task_id: int, kind: str, payload) -> None:
        task = self._live.get(task_id)
        if task is None:  # cancelled or superseded: whatever it still sends is stale, dropped here
            return
        if kind == "partial" and task.on_partial:
            task.on_partial(task, payload)
        elif kind == "progress" and task.on_progress:
            task.on_progress(task, *payload)
        elif kind == "done" and task.on_done:
            task.on_done(task, payload)
        elif kind == "error":
            task.on_error(task, payload)
        elif kind == "finished":
            del self._live[task_id]
            if task.on_finished:
                task.on_finished(task)
