"""User-written templates rendered in worker processes, with limits on time, memory and output.

A NodeRole author controls these templates; rendering them in the operator's own process let one
role stall every host (nested loops run for minutes) or get the operator OOM-killed. Here each
render runs in a separate process (`render.worker`) with an address-space cap and an output cap,
and a render that takes too long kills its worker. Calls block: call them from a thread
(`asyncio.to_thread`), never on the event loop. Results, errors included, are cached by their
inputs so an unchanged role costs nothing on the next pass, and a hostile one costs its timeout once."""

from __future__ import annotations

import hashlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Limits:
    seconds: float = 5.0
    memory_bytes: int = 128 * 1024 * 1024  # address space; the worker itself needs ~25 MiB
    output_chars: int = 512 * 1024  # a desired state lives in a Secret (1 MiB at most)
    workers: int = 2
    cache_entries: int = 4096


class TemplateFailed(Exception):
    """Template `index` of the batch could not be rendered; the message says why."""

    def __init__(self, index: int, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.index = index
        self.transient = transient  # the worker timed out or died: the machine's load, perhaps


class _Worker:
    def __init__(self, limits: Limits) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "oci_operator.render.worker", str(limits.memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        self._buffer = b""

    def ask(self, request: bytes, timeout: float) -> dict[str, Any] | None:
        """The answer, or None when the worker took too long or died (it is then unusable)."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        try:
            self.process.stdin.write(request + b"\n")
            self.process.stdin.flush()
        except OSError:
            return None
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


class Renderer:
    """A small pool of workers; thread-safe."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(self.limits.workers)
        self._cache: OrderedDict[str, list[str] | TemplateFailed] = OrderedDict()

    def render(self, templates: list[str], context: dict[str, Any]) -> list[str]:
        """Each template rendered with `context`; TemplateFailed names the first that failed."""
        request = json.dumps(
            {"templates": templates, "context": context, "maxOutput": self.limits.output_chars}, sort_keys=True
        ).encode()
        key = hashlib.sha256(request).hexdigest()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is None:
            cached = self._render(request)
            # A timeout or a dead worker may be the machine's load, not the template: try again next time.
            if not (isinstance(cached, TemplateFailed) and cached.transient):
                with self._lock:
                    self._cache[key] = cached
                    while len(self._cache) > self.limits.cache_entries:
                        self._cache.popitem(last=False)
        if isinstance(cached, TemplateFailed):
            raise cached
        return list(cached)

    def _render(self, request: bytes) -> list[str] | TemplateFailed:
        with self._slots:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            worker = worker or _Worker(self.limits)
            answer = worker.ask(request, self.limits.seconds)
            if answer is None:
                died = worker.process.poll() is not None
                worker.kill()
                if died:
                    return TemplateFailed(-1, "the render worker died (out of memory?)", transient=True)
                return TemplateFailed(
                    -1, f"rendering took longer than {self.limits.seconds:g}s and was stopped", transient=True
                )
            with self._lock:
                self._idle.append(worker)
        if "error" in answer:
            return TemplateFailed(int(answer.get("index", -1)), str(answer["error"]))
        return [str(text) for text in answer["rendered"]]

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()
