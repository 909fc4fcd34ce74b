"""The proxy-to-analysis pipe: order, back-pressure without blocking, end-of-file, a dead reader."""

from __future__ import annotations

import asyncio
import os
import signal
import threading

import pytest

from scanner.traffic.channel import ChannelClosed, Receiver, Sender


def _drain(fd: int) -> list[object]:
    receiver = Receiver(fd)
    got: list[object] = []
    while True:
        try:
            got += receiver.messages()
        except EOFError:
            return got


def test_messages_arrive_in_order_and_the_event_loop_never_blocks() -> None:
    """Far more than the pipe holds is sent from inside a running event loop while the reader is
    stalled: every send returns at once, the loop drains the backlog, and the reader gets all."""
    read_fd, write_fd = os.pipe()
    sender = Sender(write_fd)
    payloads = [{"seq": i, "body": os.urandom(3000)} for i in range(2000)]  # ~6 MB

    async def produce() -> None:
        for item in payloads:
            sender.send([item])
        assert sender.backlog > 0  # nobody has read yet: the rest waits in the buffer

    # there is no reader yet, so a send that blocked would never return: the alarm ends the test
    signal.signal(signal.SIGALRM, _blocked)
    signal.alarm(30)
    try:
        asyncio.run(produce())
    finally:
        signal.alarm(0)
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.extend(_drain(read_fd)))
    reader.start()
    sender.close()  # delivers the backlog, then end-of-file
    reader.join(timeout=60)
    os.close(read_fd)
    assert [batch[0]["seq"] for batch in got] == list(range(2000))
    assert got[-1][0]["body"] == payloads[-1]["body"]


def _blocked(_signum: int, _frame: object) -> None:
    raise AssertionError("Sender.send blocked the event loop on a full pipe")


def test_receiver_times_out_empty_and_sees_end_of_file() -> None:
    read_fd, write_fd = os.pipe()
    sender = Sender(write_fd)
    receiver = Receiver(read_fd)
    assert receiver.messages(timeout=0.01) == []
    sender.send("one")
    sender.send("two")
    assert receiver.messages(timeout=5) == ["one", "two"]
    sender.close()
    with pytest.raises(EOFError):
        receiver.messages(timeout=5)
    os.close(read_fd)


def test_a_torn_last_message_is_dropped_at_end_of_file() -> None:
    read_fd, write_fd = os.pipe()
    sender = Sender(write_fd)
    sender.send("whole")
    os.write(write_fd, b"\x00\x00\x00\x00\x00\x00\x01\x00partial")  # a sender killed mid-write
    os.close(write_fd)
    assert _drain(read_fd) == ["whole"]
    os.close(read_fd)


def test_a_gone_reader_raises_channel_closed() -> None:
    read_fd, write_fd = os.pipe()
    sender = Sender(write_fd)
    os.close(read_fd)
    with pytest.raises(ChannelClosed):
        sender.send("lost")
    sender.close()  # closing after the loss is quiet
