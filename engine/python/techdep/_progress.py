"""Progress of long calls: a tqdm bar when tqdm is installed, nothing otherwise."""

from __future__ import annotations

try:
    from tqdm.auto import tqdm as _tqdm
except ImportError:  # tqdm is optional (python3-tqdm)
    _tqdm = None


class Progress:
    """The callable the engine's calls report `(done, total)` to; `close()` ends the bar."""

    def __init__(self, choice, description: str, unit: str):
        self._callback = None
        self._bar = None
        self._description = description
        self._unit = unit
        if callable(choice):
            self._callback = choice
        elif choice is None or choice is True:
            self._use_bar = _tqdm is not None
        elif choice is False:
            self._use_bar = False
        else:
            raise TypeError(f"progress must be None, True, False or a callable (done, total), "
                            f"not {type(choice).__name__}")
        if self._callback is not None:
            self._use_bar = False

    @property
    def active(self) -> bool:
        return self._callback is not None or self._use_bar

    def __call__(self, done: int, total: int) -> None:
        if self._callback is not None:
            self._callback(done, total)
            return
        if self._bar is None:
            self._bar = _tqdm(total=total, desc=self._description, unit=self._unit, leave=False)
        self._bar.total = total
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self):
        return self if self.active else None

    def __exit__(self, *exc):
        self.close()
        return False
