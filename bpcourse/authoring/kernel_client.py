"""The kernel client that runs notebooks (``notebooks run/check``) and submissions (the grader).

jupyter_client's asynchronous channel waits for a message with one ``poll(timeout)``.
When that poll misses the socket's wake-up (zmq's file descriptor is edge-triggered and
can fire while nothing listens), the message that is already there is only noticed when
the poll gives up: a 1-second cell then took its whole time limit (a lesson's run once
took 312 s for 11 s of kernel time). These channels poll in short slices, so a missed
wake-up costs at most one slice; the overall timeout is unchanged.
"""
import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import Type

POLL_SLICE = 0.5      # seconds: the longest a waiting message can go unnoticed


class SlicedChannel(AsyncZMQSocketChannel):
    """A channel whose ``get_msg(timeout)`` polls at most ``POLL_SLICE`` seconds at a time."""

    async def get_msg(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = POLL_SLICE if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await super().get_msg(timeout=min(POLL_SLICE, left))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise


class SlicedKernelClient(AsyncKernelClient):
    """An AsyncKernelClient whose shell, IOPub and control channels are ``SlicedChannel``s."""

    shell_channel_class = Type(SlicedChannel)
    iopub_channel_class = Type(SlicedChannel)
    control_channel_class = Type(SlicedChannel)
