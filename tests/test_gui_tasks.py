"""The window's one task runner on its own: order, superseding, partial results, throttled progress, errors
reaching a handler, cancelling and shutting down."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import make_image

from dogbreed_desktop.gui.tasks import TaskRunner

pytestmark = pytest.mark.gui


@pytest.fixture
def runner(qtbot):
    r = TaskRunner("test")
    yield r
    assert r.shutdown(5000)


def errors_fail(task, message):
    raise AssertionError(f"task {task.id} failed: {message}")


def run_and_wait(qtbot, runner, fn, *args, **kwargs):
    """Submit and wait for the task's end; returns what reached its handlers."""
    got = {"partial": [], "progress": [], "done": [], "error": []}
    ended = []
    task = runner.submit(fn, *args, on_partial=lambda t, v: got["partial"].append(v),
                         on_progress=lambda t, *p: got["progress"].append(p),
                         on_done=lambda t, v: got["done"].append(v), on_error=lambda t, m: got["error"].append(m),
                         on_finished=ended.append, **kwargs)
    qtbot.waitUntil(lambda: ended == [task], timeout=10_000)
    return got


def drained(qtbot, runner):
    """Wait until everything the worker sent before now has been delivered: one more task, run after them."""
    run_and_wait(qtbot, runner, lambda control: None)


def test_tasks_run_in_order_and_urgent_ones_go_first(qtbot, runner):
    gate, ran = threading.Event(), []

    def job(name, control):
        if name == "blocker":
            gate.wait(10)
        ran.append(name)  # list.append is atomic; read after the worker is done
        return name

    done = []
    for name, urgent in (("blocker", False), ("a", False), ("b", False), ("load 1", True), ("load 2", True)):
        runner.submit(job, name, urgent=urgent, on_done=lambda t, v: done.append(v), on_error=errors_fail)
        qtbot.waitUntil(lambda: runner.running() is not None, timeout=10_000)  # the blocker has started
    gate.set()
    qtbot.waitUntil(lambda: len(done) == 5, timeout=10_000)
    assert ran == done == ["blocker", "load 1", "load 2", "a", "b"]
    assert not runner.busy


def test_generator_yields_arrive_as_partial_results_then_the_return_value(qtbot, runner):
    def count(n, control):
        for i in range(n):
            yield i
        return "counted"

    got = run_and_wait(qtbot, runner, count, 4)
    assert got["partial"] == [0, 1, 2, 3] and got["done"] == ["counted"] and got["error"] == []


def test_progress_is_throttled_but_the_last_step_always_arrives(qtbot, runner):
    def busy(control):
        end = time.monotonic() + 0.35
        calls = 0
        while time.monotonic() < end:
            calls += 1
            control.progress(calls, 10**9, "working")
        control.progress(10, 10, "working")
        return calls

    got = run_and_wait(qtbot, runner, busy)
    assert got["done"][0] > 1000  # it really did report that often
    assert 2 <= len(got["progress"]) <= 6  # ~10 a second over 0.35 s, plus the last step
    assert got["progress"][-1] == (10, 10, "working")


def test_errors_reach_the_handler_as_words_and_the_worker_lives_on(qtbot, runner):
    from dogbreed_desktop.core.datasets import DatasetError

    def fail(exc, control):
        raise exc

    def fail_in_generator(control):
        yield 1
        raise RuntimeError("CUDA out of memory")  # torch's errors are RuntimeErrors

    assert run_and_wait(qtbot, runner, fail, DatasetError("no labelled images in /x"))["error"] == [
        "no labelled images in /x"]  # written for a person: shown as it is
    assert run_and_wait(qtbot, runner, fail, KeyError("oops"))["error"] == ["KeyError: 'oops'"]
    got = run_and_wait(qtbot, runner, fail_in_generator)
    assert got["partial"] == [1] and got["error"] == ["RuntimeError: CUDA out of memory"] and got["done"] == []
    assert run_and_wait(qtbot, runner, lambda control: "still here")["done"] == ["still here"]


def test_a_task_that_stops_when_asked_reports_no_error(qtbot, runner):
    def stopped_at_once(control):
        control.stop()  # as the Stop button would, from any thread
        control.raise_if_stopped()  # how training and the preflight end early
        return "not reached"

    assert run_and_wait(qtbot, runner, stopped_at_once) == {"partial": [], "progress": [], "done": [], "error": []}


def test_a_newer_photo_request_supersedes_the_older_ones(qtbot, runner, tmp_path):
    from PySide6.QtCore import QSize

    from dogbreed_desktop.gui.images import preview

    paths = [str(make_image(tmp_path / f"{i}.jpg", color=(20 * i, 80, 80), size=(1200, 900))) for i in range(5)]
    served: list[str] = []
    for p in paths:  # clicking quickly down the list
        runner.submit(preview, p, QSize(300, 200), supersede=True, on_error=errors_fail,
                      on_done=lambda t, images, p=p: served.append((p, images[1].size().toTuple())))
    qtbot.waitUntil(lambda: not runner.busy, timeout=30_000)
    drained(qtbot, runner)
    assert served == [(paths[-1], (266, 200))]  # 1200x900 fitted into 300x200


def test_cancel_stops_the_running_task_and_drops_what_it_still_sends(qtbot, runner):
    started = threading.Event()

    def until_stopped(control):
        started.set()
        while not control.should_stop():
            control.publish("tick")
            time.sleep(0.01)
        control.publish("after the stop")
        return "stopped"

    got = []
    task = runner.submit(until_stopped, on_partial=lambda t, v: got.append(v), on_done=lambda t, v: got.append(v),
                         on_error=errors_fail, on_finished=lambda t: got.append("finished"))
    assert started.wait(10)
    qtbot.waitUntil(lambda: "tick" in got, timeout=10_000)
    runner.cancel([task])
    assert task.control.should_stop() and not runner.busy
    drained(qtbot, runner)
    assert set(got) == {"tick"}  # neither its last partial result, nor its result, nor its end came through


def test_shutdown_waits_with_a_timeout(qtbot):
    runner, release = TaskRunner("stubborn"), threading.Event()
    runner.submit(lambda control: release.wait(10), on_error=errors_fail)  # ignores its stop flag
    qtbot.waitUntil(lambda: runner.running() is not None, timeout=10_000)
    start = time.monotonic()
    assert runner.shutdown(timeout_ms=200) is False
    assert 0.15 < time.monotonic() - start < 2
    release.set()
    assert runner._thread.wait(10_000)  # let it end before the test does
    with pytest.raises(RuntimeError):
        runner.submit(lambda control: None, on_error=errors_fail)
