"""Progress lines for long work (csim compiles and runs, simulations, design-space exploration, model runs).

    from dsl.progress import Progress, track

    with Progress("csim: compiling gemm") as bar:        # unknown length: shows the elapsed time
        subprocess.run(...)
    with Progress("sim gemm", total=n_tokens, unit="tok") as bar:
        while running:
            bar.set(tokens_so_far())                     # or bar.update(k)
    for point in track(points, "dse"):                   # a loop over a sized iterable
        ...

A line appears on stderr only when the work lasts longer than ``DELAY_S`` seconds and stderr is a terminal,
drawn by tqdm from a helper thread (so a blocking call still shows its elapsed time) and erased when the
work ends: a short call, a pipe, a log file or a test prints nothing extra. ``DSL_PROGRESS=0`` turns it off,
``DSL_PROGRESS=1`` shows it even where stderr is not a terminal (a notebook); ``DSL_PROGRESS_DELAY=<seconds>``
changes the delay. ``show=True/False`` on one ``Progress`` overrides both.
"""
from __future__ import annotations

import os
import sys
import threading
import time

from .errors import DSLError

ENV = "DSL_PROGRESS"
ENV_DELAY = "DSL_PROGRESS_DELAY"
DELAY_S = 2.0
REFRESH_S = 0.2
_ON, _OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def enabled(show: bool | None = None, stream=None) -> bool:
    """Whether progress is drawn: ``show`` if given, else ``DSL_PROGRESS``, else whether ``stream``
    (default stderr) is a terminal."""
    if show is not None:
        return bool(show)
    value = os.environ.get(ENV, "").strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    if value:
        raise DSLError(f"{ENV}={os.environ[ENV]!r}: write {ENV}=0 (no progress) or {ENV}=1 (always), or leave "
                       "it unset (progress when stderr is a terminal)")
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # a closed stream
        return False


def delay() -> float:
    value = os.environ.get(ENV_DELAY, "").strip()
    if not value:
        return DELAY_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise DSLError(f"{ENV_DELAY}={value!r}: give the seconds to wait before a progress line appears (>= 0)")
    return seconds


class Progress:
    """A progress line for work of ``total`` steps (None: unknown length, the line shows the elapsed time).

    Use it as a context manager. ``update(n)`` adds steps, ``set(n)`` sets the count, ``note(text)`` shows a
    short status after the bar. Cheap when hidden: counting only, no thread.
    """

    def __init__(self, desc: str, total: int | None = None, unit: str = "it", show: bool | None = None,
                 file=None, delay_s: float | None = None):
        self.desc, self.total, self.unit = desc, total, unit
        self.count, self.status = 0, ""
        self.file = file if file is not None else sys.stderr
        self.visible = enabled(show, self.file)
        self.delay_s = delay() if delay_s is None else delay_s
        self.shown = False  # whether a line was drawn (for tests and callers that poll only then)
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self) -> "Progress":
        self._started = time.time()  # tqdm's clock
        if self.visible:
            self._thread = threading.Thread(target=self._draw, name=f"dsl-progress-{self.desc}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.count += n

    def set(self, n: int) -> None:
        self.count = n

    def note(self, text: str) -> None:
        self.status = text

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _draw(self) -> None:
        if self._stop.wait(self.delay_s):
            return
        from tqdm import tqdm

        start = min(self.count, self.total) if self.total is not None else self.count
        # unknown length: the description and the elapsed time (no meaningless count or rate)
        fmt = {"bar_format": "{desc}: {elapsed}{postfix}"} if self.total is None else {}
        bar = tqdm(total=self.total, initial=start, desc=self.desc, unit=self.unit, file=self.file, leave=False,
                   ncols=_size(self.file)[0], nrows=_size(self.file)[1], mininterval=0,
                   unit_scale=self.total is None or self.total >= 10_000, **fmt)
        bar.start_t = self._started  # the elapsed time counts from the start of the work, not of the line
        self.shown = True
        try:
            while True:
                bar.n = min(self.count, self.total) if self.total is not None else self.count
                bar.set_postfix_str(self.status, refresh=False)
                bar.refresh()
                if self._stop.wait(REFRESH_S):
                    break
        finally:
            bar.close()


def _size(stream) -> tuple:
    """The terminal's (columns, lines); 80 x 24 where it reports none (a pseudo-terminal whose size was never
    set: tqdm would draw nothing in zero columns or rows)."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, ValueError, OSError):
        return 80, 24
    return size.columns or 80, size.lines or 24


def track(iterable, desc: str, total: int | None = None, unit: str = "it", show: bool | None = None):
    """Iterate over ``iterable`` with a progress line (``total`` defaults to ``len(iterable)``)."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    with Progress(desc, total=total, unit=unit, show=show) as bar:
        for item in iterable:
            yield item
            bar.update()
