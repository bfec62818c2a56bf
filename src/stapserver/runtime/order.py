"""The order SystemTap runs begin, end and error probes in.

stap puts every one of them (the global-display end probes included) in one vector, in
script order, and sorts it once by sequence number with C++ ``std::sort``, which is not
stable: with more than 16 such probes, probes of equal sequence number come out in an
order of libstdc++'s introsort.  This is that algorithm, so scripts run as they do
under SystemTap.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # the engine imports this module on every run: nothing more at run time
    from collections.abc import Callable
    from typing import TypeVar

    T = TypeVar("T")
    Less = Callable[[T, T], bool]
_THRESHOLD = 16


def _median_to_first(a: list[T], result: int, x: int, y: int, z: int, less: Less[T]) -> None:
    if less(a[x], a[y]):
        if less(a[y], a[z]):
            a[result], a[y] = a[y], a[result]
        elif less(a[x], a[z]):
            a[result], a[z] = a[z], a[result]
        else:
            a[result], a[x] = a[x], a[result]
    elif less(a[x], a[z]):
        a[result], a[x] = a[x], a[result]
    elif less(a[y], a[z]):
        a[result], a[z] = a[z], a[result]
    else:
        a[result], a[y] = a[y], a[result]


def _partition(a: list[T], first: int, last: int, pivot: int, less: Less[T]) -> int:
    while True:
        while less(a[first], a[pivot]):
            first += 1
        last -= 1
        while less(a[pivot], a[last]):
            last -= 1
        if not first < last:
            return first
        a[first], a[last] = a[last], a[first]
        first += 1


def _adjust_heap(a: list[T], first: int, hole: int, length: int, value: T, less: Less[T]) -> None:
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if less(a[first + child], a[first + child - 1]):
            child -= 1
        a[first + hole] = a[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        a[first + hole] = a[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and less(a[first + parent], value):
        a[first + hole] = a[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[first + hole] = value


def _heap_sort(a: list[T], first: int, last: int, less: Less[T]) -> None:
    length = last - first
    if length < 2:
        return
    parent = (length - 2) // 2
    while True:
        _adjust_heap(a, first, parent, length, a[first + parent], less)
        if parent == 0:
            break
        parent -= 1
    while last - first > 1:
        last -= 1
        value = a[last]
        a[last] = a[first]
        _adjust_heap(a, first, 0, last - first, value, less)


def _introsort(a: list[T], first: int, last: int, depth: int, less: Less[T]) -> None:
    while last - first > _THRESHOLD:
        if depth == 0:
            _heap_sort(a, first, last, less)
            return
        depth -= 1
        mid = first + (last - first) // 2
        _median_to_first(a, first, first + 1, mid, last - 1, less)
        cut = _partition(a, first + 1, last, first, less)
        _introsort(a, cut, last, depth, less)
        last = cut


def _insertion_sort(a: list[T], first: int, last: int, less: Less[T]) -> None:
    for i in range(first + 1, last):
        value = a[i]
        if less(value, a[first]):
            a[first + 1 : i + 1] = a[first:i]
            a[first] = value
        else:
            _unguarded_insert(a, i, less)


def _unguarded_insert(a: list[T], i: int, less: Less[T]) -> None:
    """Move ``a[i]`` down to its place; an element not greater than it is ahead."""
    value = a[i]
    j = i
    while less(value, a[j - 1]):
        a[j] = a[j - 1]
        j -= 1
    a[j] = value


def std_sort(items: list[T], less: Less[T]) -> list[T]:
    """``items`` sorted in place as libstdc++'s ``std::sort`` sorts them."""
    n = len(items)
    if n <= 1:
        return items
    _introsort(items, 0, n, 2 * (n.bit_length() - 1), less)
    if n > _THRESHOLD:
        _insertion_sort(items, 0, _THRESHOLD, less)
        for i in range(_THRESHOLD, n):  # unguarded: a smaller element is ahead
            _unguarded_insert(items, i, less)
    else:
        _insertion_sort(items, 0, n, less)
    return items
