"""A decorator from another module than the kernels it wraps (tests of decorated kernels)."""
import functools


def logged(fn):
    """An ordinary functools.wraps decorator, as a profiling or logging helper would be written."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper
