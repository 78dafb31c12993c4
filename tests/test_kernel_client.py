"""The kernel client's channels poll in slices: a missed wake-up costs a slice, not the time limit."""
import asyncio
import time
from queue import Empty

import pytest

from bpcourse.authoring import kernel_client
from bpcourse.authoring.kernel_client import SlicedChannel, SlicedKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel


def _channel(monkeypatch, poll):
    """A SlicedChannel (without a socket) whose underlying one-poll get_msg is ``poll``."""
    monkeypatch.setattr(kernel_client, "POLL_SLICE", 0.05)
    monkeypatch.setattr(AsyncZMQSocketChannel, "get_msg", poll)
    return object.__new__(SlicedChannel)


def test_a_message_whose_wake_up_was_missed_is_seen_after_one_slice(monkeypatch):
    asked = []

    async def missed_wake_up(self, timeout=None):
        # pyzmq's poll, when the wake-up is lost, finds the waiting message only at its timeout
        asked.append(timeout)
        await asyncio.sleep(timeout)
        return {"msg_type": "execute_reply"}

    channel = _channel(monkeypatch, missed_wake_up)
    t0 = time.monotonic()
    msg = asyncio.run(channel.get_msg(timeout=30))
    assert msg == {"msg_type": "execute_reply"}
    assert time.monotonic() - t0 < 5, "waited for the whole timeout"
    assert asked == [0.05]


def test_the_overall_timeout_still_holds(monkeypatch):
    asked = []

    async def nothing(self, timeout=None):
        asked.append(timeout)
        await asyncio.sleep(timeout)
        raise Empty

    channel = _channel(monkeypatch, nothing)
    t0 = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(channel.get_msg(timeout=0.3))
    elapsed = time.monotonic() - t0
    assert 0.3 <= elapsed < 3, elapsed
    assert len(asked) >= 6 and max(asked) <= 0.05
    asked.clear()
    with pytest.raises(Empty):                     # timeout 0: one immediate poll
        asyncio.run(channel.get_msg(timeout=0))
    assert asked == [0]


def test_without_a_timeout_it_waits_in_slices_until_a_message_comes(monkeypatch):
    calls = []

    async def third_time(self, timeout=None):
        calls.append(timeout)
        await asyncio.sleep(timeout)
        if len(calls) < 3:
            raise Empty
        return "msg"

    channel = _channel(monkeypatch, third_time)
    assert asyncio.run(channel.get_msg()) == "msg"
    assert calls == [0.05, 0.05, 0.05]


def test_notebooks_and_the_grader_use_the_sliced_client():
    from bpcourse.authoring.notebooks import _kernel_config
    from bpcourse.grading.worker import _ready_client_class
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(config=_kernel_config("/tmp/unused"))
    assert km.client_factory is SlicedKernelClient
    assert issubclass(_ready_client_class(), SlicedKernelClient)
    for name in ("shell_channel_class", "iopub_channel_class", "control_channel_class"):
        assert getattr(SlicedKernelClient(), name) is SlicedChannel
