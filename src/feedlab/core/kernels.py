"""Compiled row kernels of the per-tick hot path, each beside the NumPy code that defines it.

Every kernel here computes, bit for bit, what a plain NumPy function computes: that function is
kept as ``<name>_reference`` (or, for the counter-based uniforms, as the general path of
:meth:`feedlab.core.random.Streams.uniform`) and ``tests/unit/core/test_kernels.py`` checks the
two agree on random inputs, ties, ``-inf`` padding and empty batches. The simulation's
determinism rests on that equality, so the kernels break ties exactly as the stable argsorts of
the references do: among equal scores the lower column comes first, and NaN sorts last.

The kernels work one row (one session) at a time, in place of the references' row-wise
argsorts, gathers and scatters: branch-free rank counting for rows of up to 128 scores (a merge
sort beyond), and small hash tables of keys. Compiled code is cached on disk (``cache=True``), so
only the first run on a machine pays for compilation (some 13 s of one core for every kernel a
cell uses; each process of a pool compiles its own).

Threads. The kernels run on one thread unless :func:`set_kernel_threads` allows more, which the
experiment runner does for a run of one cell (it runs in the runner's own process, on the cores
``--workers`` allows) and for a pool's last cells (on the cores that finished). The heaviest row
kernels of the hot path then have a threaded twin (``*_threaded``): the same compiled kernel,
which releases the GIL (``nogil=True``), called on contiguous blocks of rows at once by
:func:`run_on_threads`, one block per thread. Each row is computed exactly as on one thread, so
results do not depend on the thread count, and a twin adds no compiled code: it reuses the
kernel's single compiled version (twins compiled as ``parallel=True`` loops cost each process
some 16 s more compilation, a run's whole tail on a machine's first run). :func:`threaded` picks
the twin only for batches of at least :data:`THREADED_MIN_ITEMS` items: on the 2-vCPU machines of
this project a parallel call waits 4-16 ms (whole scheduler ticks) whenever the other vCPU is
busy or asleep, which a small batch never wins back, and which is the normal case under
``pytest -n 2`` or with one simulation per core.

The same holds for BLAS: a tick's matrix products have an inner dimension of a few features, and
OpenBLAS's worker threads spin while they wait, so with one simulation per core they burn the
core another simulation needs. :func:`single_threaded_blas` keeps them to one thread.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import os
import platform
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar, cast

import llvmlite.ir as llvm_ir
import numba
import numpy as np
import numpy.typing as npt
from numba.core import cgutils, types
from numba.extending import intrinsic
from threadpoolctl import threadpool_limits

from feedlab.core.arrays import AnyArray, BoolArray, F64Array, IntArray

U64Array = npt.NDArray[np.uint64]


def single_threaded_blas() -> None:
    """Limit BLAS in this process to one thread (cells run one per core; see the module notes)."""
    threadpool_limits(limits=1, user_api="blas")


_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
_M_MMAP_MAX = -4
_reusing = False


def reuse_freed_memory() -> bool:
    """Let this process reuse the memory of freed arrays; whether it now does.

    glibc serves every allocation above 32 MB with a fresh ``mmap`` and returns it to the system
    when it is freed, so a tick that builds arrays of that size (the features of millions of
    candidates at 10^6 people) pays, every tick, for the kernel to fault in and zero them anew.
    Turning ``mmap`` off for ``malloc`` and keeping freed memory (``mallopt``) serves them from
    the process's heap instead, where a tick's arrays reuse the last tick's: a 10^6-person cell
    ran 2 days in 222 s instead of 254 s (system time 12 s instead of 71), its peak memory 6.6
    GiB instead of 5.6 (the heap keeps what it once held). Smaller societies gain too, as glibc
    trims the top of the heap and maps mid-sized arrays afresh: with this and
    :func:`freeze_imported_objects`, the default scenario (10^4 people) took 0.96x the wall time
    in four paired runs, its system time 6.9 s instead of 11.5, its peak 423 MiB against 430.
    Elsewhere than glibc (or if ``mallopt`` refuses), nothing changes. Results never depend on
    it.
    """
    global _reusing
    if _reusing:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _reusing = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    return _reusing


_frozen = False


def freeze_imported_objects() -> bool:
    """Keep the objects alive now out of the cyclic garbage collector's scans; once a process.

    A cell's process holds some 190,000 objects from its imports (Numba's above all) that never
    become garbage, and every full collection during the run walks them all. Collected first,
    then frozen (``gc.freeze``), they are skipped: the collector's share of a default-scenario
    cell fell from 1.2% to 0.1%. Later calls do nothing, so garbage of a process's later cells
    is never frozen. Returns whether this call froze them. Results never depend on it.
    """
    global _frozen
    if _frozen:
        return False
    gc.collect()
    gc.freeze()
    _frozen = True
    return True


THREADED_MIN_ITEMS = 50_000
"""Items (candidates, feed slots) below which a kernel with a threaded twin runs on one thread."""

IDLE_CORES_MIN_ITEMS = 8_000
"""The same threshold for threads known to run on idle cores (a pool's last cells, see
:func:`set_kernel_threads`): no other simulation then wakes or holds the cores, so smaller
batches gain too. A default-scenario cell (10^4 people) alone on two threads took 0.78x its
one-thread time from 8,000 items, 0.88x from 50,000; with the other core busy, 1.71x and 1.37x."""

_threads = 1  # the process's kernel threads (see the module notes)
_idle_cores = False  # whether those threads run on cores nothing else is using


def set_kernel_threads(n: int, idle_cores: bool = False) -> int:
    """Let this process's row kernels use up to ``n`` threads (at least 1); returns the count.

    The count is capped at the cores Numba sees (``NUMBA_NUM_THREADS``). The threads are
    started only when more than one is allowed, so a process that never asks for threads has
    none. ``idle_cores`` says the threads' cores are otherwise idle (a pool's workers that ran
    out of cells), which lowers the batch size from which kernels split to
    :data:`IDLE_CORES_MIN_ITEMS`.
    """
    global _threads, _idle_cores
    n = max(1, min(int(n), int(numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
    _threads = n
    _idle_cores = idle_cores and n > 1
    return n


def kernel_threads() -> int:
    """The threads this process's row kernels may use."""
    return _threads


@contextmanager
def kernel_threads_for(n: int) -> Iterator[int]:
    """Allow ``n`` kernel threads inside the block, then restore the previous count."""
    previous = _threads, _idle_cores
    try:
        yield set_kernel_threads(n)
    finally:
        set_kernel_threads(*previous)


def threaded(items: int) -> bool:
    """Whether a batch of ``items`` goes to a kernel's threaded twin."""
    if _idle_cores:
        return items >= min(THREADED_MIN_ITEMS, IDLE_CORES_MIN_ITEMS)
    return _threads > 1 and items >= THREADED_MIN_ITEMS


_pool: tuple[ThreadPoolExecutor, int] | None = None  # the kernel threads, and how many
_pool_lock = threading.Lock()  # taken to start or grow the pool
_pool_thread = threading.local()  # ``inside`` is set on the pool's own threads


def _forget_pool() -> None:
    """Drop the thread pool in a forked child: the parent's threads do not exist there."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()  # another thread of the parent may have held it


os.register_at_fork(after_in_child=_forget_pool)


def _mark_pool_thread() -> None:
    _pool_thread.inside = True


def _kernel_pool(size: int) -> ThreadPoolExecutor:
    """The pool of kernel threads, with at least ``size`` threads (started or grown here)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[1] < size:
            previous = _pool
            pool = ThreadPoolExecutor(
                size, thread_name_prefix="feedlab-kernels", initializer=_mark_pool_thread
            )
            _pool = (pool, size)
            if previous is not None:
                previous[0].shutdown(wait=False)  # what it was given still runs
        return _pool[0]


T = TypeVar("T")


def thread_blocks(n: int, parts: int | None = None) -> list[tuple[int, int]]:
    """Bounds ``[lo, hi)`` splitting ``n`` rows into contiguous blocks, in order.

    ``parts`` blocks (default: one per kernel thread), of sizes differing by at most one, none
    empty (fewer blocks when ``n`` is smaller; none when it is 0).
    """
    parts = min(_threads if parts is None else max(1, parts), n)
    return [(n * t // parts, n * (t + 1) // parts) for t in range(parts)]


def run_on_threads(tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Run ``tasks`` at once on the kernel threads and return their results, in order.

    The first task runs on the calling thread, the others on a pool of the process's kernel
    threads (started on first use, at most :func:`kernel_threads` - 1 more). For work that
    releases the GIL: compiled kernels declared ``nogil=True`` and NumPy's ufunc loops. The
    tasks must not write the same memory; each then computes what it would alone, so results
    never depend on the thread count or the order the tasks finish. Every task has finished
    when this returns or raises (the first error, in task order, is raised). Threads of a
    process may call it at once (live runs do); a task that calls it runs its tasks in turn,
    where waiting on the pool it runs on could wait forever.
    """
    if len(tasks) <= 1 or _threads == 1 or getattr(_pool_thread, "inside", False):
        return [task() for task in tasks]  # a task that asks for threads runs its own in turn
    pool = _kernel_pool(_threads - 1)
    futures = [pool.submit(task) for task in tasks[1:]]
    outcomes: list[tuple[T | None, BaseException | None]] = []
    try:
        outcomes.append((tasks[0](), None))
    except BaseException as raised:  # every task must finish before anything is raised
        outcomes.append((None, raised))
    for future in futures:
        failure = future.exception()
        outcomes.append((None, failure) if failure is not None else (future.result(), None))
    for _, failure in outcomes:
        if failure is not None:
            raise failure
    return [cast(T, result) for result, _ in outcomes]


def in_place_on_threads(function: Callable[[AnyArray], object], array: AnyArray) -> AnyArray:
    """Apply the in-place NumPy pass ``function`` to ``array``, in row blocks on the kernel threads.

    For elementwise passes only (each value's result depends on that value alone), which then
    give exactly the values of one call on the whole array. NumPy's ufunc loops release the GIL,
    so the blocks run at once; a batch that :func:`threaded` would not split runs in one call.
    Returns ``array``.
    """
    n = array.shape[0] if array.ndim else 0
    if not threaded(array.size) or n < _threads:
        function(array)
        return array
    run_on_threads([functools.partial(function, array[lo:hi]) for lo, hi in thread_blocks(n)])
    return array


PREFETCH_AHEAD = 12
"""How many items ahead a gather kernel asks for the memory it will read (see :func:`prefetch`).

Measured on a captured 100k-person tick (711,000 candidates): 6 and 12 ahead cut the candidate
pass by a quarter or more, 24 and 48 by less."""

SLOTS_AHEAD = 4
"""How far along one feed row (of at most a few dozen slots) a pass over the row's slots asks
for the ring columns it will read (drift, learning's counters and cascades)."""


@intrinsic
def _prefetch(typingctx: object, array: types.Array, index: types.Integer) -> object:
    """Ask the CPU to load the cache line of ``array[index]`` (of row ``index`` if 2-D) early.

    A hint with no effect on any value: it compiles to LLVM's ``prefetch`` (read, keep in every
    cache level), which the CPU may drop. Some gathers of the hot path read a few words of rows
    picked at random from tables larger than the caches (ring slots): the candidate pass ran
    2.5x faster on the same candidates sorted by slot, so it waits on memory, not on arithmetic.
    Such a kernel names the rows it will read :data:`PREFETCH_AHEAD` items from now. Compiled
    code only (Numba ``@intrinsic``); the index is not checked, as a prefetch cannot fault.
    """
    signature = types.void(array, index)

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        array_type = sig.args[0]
        data = context.make_array(array_type)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        row = context.cast(builder, args[1], sig.args[1], types.intp)
        at = [row] + [zero] * (array_type.ndim - 1)
        pointer = cgutils.get_item_pointer(context, builder, array_type, data, at, wraparound=False)
        byte = llvm_ir.IntType(8).as_pointer()
        i32 = llvm_ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            llvm_ir.FunctionType(llvm_ir.VoidType(), [byte, i32, i32, i32]),
            "llvm.prefetch.p0i8",
        )
        read, keep, data_cache = (llvm_ir.Constant(i32, v) for v in (0, 3, 1))
        builder.call(function, [builder.bitcast(pointer, byte), read, keep, data_cache])
        return context.get_dummy_value()

    return signature, codegen


prefetch: Callable[[AnyArray, int | np.integer], None] = _prefetch  # type: ignore[assignment]
"""The compiled-code hint of :func:`_prefetch`, typed for callers."""


# SplitMix64 constants (Steele et al. 2014).
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_ONE = np.uint64(1)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TO_UNIT = 1.0 / float(1 << 53)
SPLITMIX = (_GOLDEN, _M1, _M2, _S30, _S27, _S31, _S11, _TO_UNIT)
"""The SplitMix64 constants, shared with the NumPy path of :mod:`feedlab.core.random`."""

_RANK_BY_COUNT = 128  # rows with up to this many scores are ranked by O(c^2) counting
_INSERTION_RUN = 16  # the merge sort starts from insertion-sorted runs of this length


# --- counter-based uniforms ------------------------------------------------------------------


@numba.njit(cache=True)
def _mix(x: np.uint64) -> np.uint64:
    """SplitMix64 finalizer of one 64-bit integer (wraps modulo 2^64)."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


@numba.njit(cache=True)
def _uniform_outer(key: np.uint64, first: U64Array, second: U64Array, third: U64Array) -> F64Array:
    """Fill ``(first.size, second.size, third.size)`` uniforms, hashing each prefix once."""
    out = np.empty((first.size, second.size, third.size), np.float64)
    step = np.empty(third.size, np.uint64)
    for m in range(third.size):
        step[m] = (third[m] + _ONE) * _GOLDEN
    for i in range(first.size):
        h_i = _mix(key + (first[i] + _ONE) * _GOLDEN)
        for j in range(second.size):
            h_ij = _mix(h_i + (second[j] + _ONE) * _GOLDEN)
            for m in range(third.size):
                out[i, j, m] = np.float64(_mix(h_ij + step[m]) >> _S11) * _TO_UNIT
    return out


@numba.njit(cache=True, inline="always")
def counter_step(h: np.uint64, counter: np.uint64) -> np.uint64:
    """One step of the counter hash: ``mix(h + (counter + 1) * golden)``, modulo 2^64.

    Compiled, for the row kernels of other layers: hashing a stream's key with each counter in
    turn, then :func:`counter_unit`, gives the uniform of :meth:`feedlab.core.random.Streams.uniform`.
    """
    return _mix(h + (counter + _ONE) * _GOLDEN)


@numba.njit(cache=True, inline="always")
def counter_unit(h: np.uint64) -> float:
    """The float64 uniform in [0, 1) of a hashed counter (its top 53 bits)."""
    return np.float64(h >> _S11) * _TO_UNIT


def outer_counters(counters: Sequence[npt.ArrayLike]) -> tuple[U64Array, U64Array, U64Array] | None:
    """The 1-D axes of three counters that broadcast as an outer product, if they do.

    Counters such as ``(persons[:, None, None], np.arange(k)[None, :, None], np.arange(c))``
    vary along one axis each: the first along axis 0, the second along axis 1, the third along
    axis 2 (shapes are right-aligned, as in broadcasting). Their uniforms can be computed by
    :func:`uniform_outer`.

    Args:
        counters: the counters passed to :meth:`feedlab.core.random.Streams.uniform`.

    Returns:
        The three counters as flat ``uint64`` arrays (converted as the NumPy path converts them),
        or ``None`` when there are not exactly three or they do not have that shape.
    """
    if len(counters) != 3:
        return None
    arrays = [np.asarray(counter) for counter in counters]
    if any(a.ndim > 3 for a in arrays):
        return None
    for axis, a in enumerate(arrays):
        shape = (1,) * (3 - a.ndim) + a.shape
        if any(size != 1 for d, size in enumerate(shape) if d != axis):
            return None
    first, second, third = (np.ascontiguousarray(a.astype(np.uint64).ravel()) for a in arrays)
    return first, second, third


def uniform_outer(key: int, first: U64Array, second: U64Array, third: U64Array) -> F64Array:
    """Counter-based uniforms of the outer product of three counter axes.

    Element ``[i, j, m]`` is the uniform that ``Streams.uniform`` gives for the counters
    ``(first[i], second[j], third[m])``: ``h = key``, then ``h = mix(h + (c + 1) * golden)`` for
    each counter (SplitMix64, modulo 2^64), then ``(h >> 11) * 2^-53``. The NumPy path of
    :meth:`feedlab.core.random.Streams.uniform` is the reference.

    Args:
        key: the stream's 64-bit counter key (``Streams.counter_key``).
        first: counters of axis 0, ``(a,)`` uint64.
        second: counters of axis 1, ``(b,)`` uint64.
        third: counters of axis 2, ``(c,)`` uint64.

    Returns:
        ``(a, b, c)`` float64 uniforms in [0, 1).
    """
    return _uniform_outer(np.uint64(key), first, second, third)


# --- ordering rows by score -----------------------------------------------------------------


@numba.njit(cache=True)
def _keep_numbers(row: AnyArray, kept: IntArray, value: F64Array) -> int:
    """Copy the columns of ``row`` scored above ``-inf`` (NaN is not) into ``kept`` and ``value``.

    A stable argsort of ``-row`` puts these first, in score order, then ``-inf``, then NaN.

    Returns:
        How many columns were kept.
    """
    m = 0
    for j in range(row.size):
        x = np.float64(row[j])
        kept[m] = j
        value[m] = x
        m += int(x > -np.inf)
    return m


@numba.njit(cache=True)
def order_descending(
    value: F64Array, m: int | np.int64, order: IntArray, above: IntArray, scratch: IntArray
) -> None:
    """Fill ``order[:m]`` with the indices of ``value[:m]`` (no NaN), largest first, ties lower first.

    Up to ``_RANK_BY_COUNT`` values, each one's rank is counted (values strictly above it, plus
    equal values at lower indices): branch-free loops that vectorize, where a sort mispredicts.
    Longer rows are merge sorted.
    """
    if m > _RANK_BY_COUNT:
        _merge_sort_descending(value, m, order, scratch)
        return
    for a in range(m):
        x = value[a]
        g = 0
        for b in range(m):
            g += value[b] > x
        above[a] = g
    # Equal values share their count of values above; hand out consecutive ranks in index order.
    scratch[:m] = 0
    for a in range(m):
        g = above[a]
        order[g + scratch[g]] = a
        scratch[g] += 1


@numba.njit(cache=True)
def _merge_sort_descending(
    value: F64Array, m: int | np.int64, order: IntArray, scratch: IntArray
) -> None:
    """Stable merge sort of the indices of ``value[:m]``, largest value first."""
    for start in range(0, m, _INSERTION_RUN):
        stop = min(start + _INSERTION_RUN, m)
        for a in range(start, stop):
            x = value[a]
            p = a
            while p > start and x > value[order[p - 1]]:
                order[p] = order[p - 1]
                p -= 1
            order[p] = a
    src, dst = order, scratch
    width = _INSERTION_RUN
    swapped = False
    while width < m:
        for lo in range(0, m, 2 * width):
            mid = min(lo + width, m)
            hi = min(lo + 2 * width, m)
            a, b, o = lo, mid, lo
            while a < mid and b < hi:
                # Take from the right run only when strictly larger: the merge stays stable.
                if value[src[b]] > value[src[a]]:
                    dst[o] = src[b]
                    b += 1
                else:
                    dst[o] = src[a]
                    a += 1
                o += 1
            while a < mid:
                dst[o] = src[a]
                a += 1
                o += 1
            while b < hi:
                dst[o] = src[b]
                b += 1
                o += 1
        src, dst = dst, src
        swapped = not swapped
        width *= 2
    if swapped:
        order[:m] = scratch[:m]


# --- Poisson inversion -----------------------------------------------------------------------


@numba.njit(cache=True)
def poisson_counts(u: F64Array, mean: F64Array, first: F64Array, max_count: int) -> IntArray:
    """Poisson(``mean``) counts at ``u`` by walking each CDF from ``first = exp(-mean)``.

    Element ``i`` counts the ``k`` in ``1..max_count`` with ``CDF(k - 1) <= u[i]``; the pmf steps
    as ``pmf * mean / k``, in float64, as in ``feedlab.behaviour.creation``'s NumPy reference.
    """
    out = np.zeros(u.size, np.int64)
    for i in range(u.size):
        pmf = first[i]
        cdf = pmf
        count = 0
        for k in range(1, max_count + 1):
            if cdf > u[i]:
                break
            count += 1
            pmf = pmf * mean[i] / k
            cdf = cdf + pmf
        out[i] = count
    return out


# --- top k per row ---------------------------------------------------------------------------


@numba.njit(cache=True)
def _top_k(scores: AnyArray, k: int) -> IntArray:
    """Order the scores above ``-inf`` of each row; the rest rank last and become ``-1``."""
    n, c = scores.shape
    width = min(k, c)
    out = np.full((n, k), -1, np.int64)
    if width <= 0:
        return out
    kept = np.empty(c, np.int64)
    value = np.empty(c, np.float64)
    order = np.empty(c, np.int64)
    above = np.empty(c, np.int64)
    scratch = np.empty(c, np.int64)
    for i in range(n):
        row = scores[i]
        m = _keep_numbers(row, kept, value)
        order_descending(value, m, order, above, scratch)
        for p in range(min(width, m)):
            j = kept[order[p]]
            if not np.isinf(row[j]):  # +inf ranks first but is not a usable score
                out[i, p] = j
    return out


def top_k_reference(scores: AnyArray, k: int) -> IntArray:
    """NumPy reference of :func:`top_k`: one stable argsort per row."""
    n, c = scores.shape
    width = min(k, c)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :width]
    best = np.take_along_axis(scores, order, axis=1)
    feeds = np.full((n, k), -1, np.int64)
    feeds[:, :width] = np.where(np.isfinite(best), order, -1)
    return feeds


def top_k(scores: AnyArray, k: int) -> IntArray:
    """Columns of the ``k`` highest scores per row, best first; ``-1`` for non-finite or none.

    Ties go to the lower column and NaN ranks last, exactly as a stable argsort of ``-scores``
    orders them (:func:`top_k_reference`). A column whose score is not finite (``-inf`` padding,
    NaN, ``+inf``) is reported as ``-1`` in its place.

    Args:
        scores: ``(n, c)`` scores, float32 or float64 (other dtypes take the NumPy path).
        k: number of columns wanted per row; rows with fewer than ``k`` columns pad with ``-1``.

    Returns:
        ``(n, k)`` int64 columns.
    """
    if scores.ndim != 2 or scores.dtype not in (np.float32, np.float64):
        return top_k_reference(scores, k)
    return _top_k(np.ascontiguousarray(scores), k)


# --- occurrence of a key in score order ------------------------------------------------------


@numba.njit(cache=True)
def table_bits(n_keys: int) -> int:
    """Bits of a power-of-two hash table with at least twice ``n_keys`` slots (at least 2).

    Compiled; shared with the row kernels of other layers (with :func:`probe`).
    """
    bits = 1
    while (1 << bits) < 2 * n_keys:
        bits += 1
    return bits


@numba.njit(cache=True, inline="always")
def _slot(key: np.int64, shift: np.uint64) -> np.int64:
    """Home slot of ``key`` in a table of ``2^(64 - shift)`` slots (Fibonacci hashing)."""
    return np.int64((np.uint64(key) * _GOLDEN) >> shift)


@numba.njit(cache=True)
def _score_occurrence(scores: AnyArray, keys: AnyArray) -> IntArray:
    """Per row: order the columns by score, then count each key along that order."""
    n, c = scores.shape
    out = np.empty((n, c), np.int64)
    bits = table_bits(c)
    size = 1 << bits
    mask = size - 1
    shift = np.uint64(64 - bits)
    kept = np.empty(c, np.int64)
    value = np.empty(c, np.float64)
    order = np.empty(c, np.int64)
    above = np.empty(c, np.int64)
    scratch = np.empty(c, np.int64)
    slot_key = np.empty(size, np.int64)
    slot_count = np.empty(size, np.int64)  # 0 marks an empty slot
    for i in range(n):
        row = scores[i]
        m = _keep_numbers(row, kept, value)
        order_descending(value, m, order, above, scratch)
        for p in range(m):
            order[p] = kept[order[p]]
        # The stable order ends with the -inf columns, then the NaN ones, each by column.
        p = m
        for j in range(c):
            if row[j] == -np.inf:
                order[p] = j
                p += 1
        for j in range(c):
            if np.isnan(row[j]):
                order[p] = j
                p += 1
        slot_count[:] = 0
        for p in range(c):
            j = order[p]
            key = np.int64(keys[i, j])
            s = _slot(key, shift)
            while slot_count[s] != 0 and slot_key[s] != key:
                s = (s + 1) & mask
            out[i, j] = slot_count[s]
            slot_key[s] = key
            slot_count[s] += 1
    return out


def score_occurrence_reference(scores: AnyArray, keys: AnyArray) -> IntArray:
    """NumPy reference of :func:`score_occurrence`: four row-wise argsorts and scatters."""
    n, c = scores.shape
    by_score = np.argsort(-scores, axis=1, kind="stable")
    ranked_keys = np.take_along_axis(keys, by_score, axis=1)
    by_key = np.argsort(ranked_keys, axis=1, kind="stable")
    grouped = np.take_along_axis(ranked_keys, by_key, axis=1)
    position = np.broadcast_to(np.arange(c), (n, c))
    new_run = np.ones((n, c), bool)
    new_run[:, 1:] = grouped[:, 1:] != grouped[:, :-1]
    run_start = np.maximum.accumulate(np.where(new_run, position, 0), axis=1)
    occurrence_sorted = position - run_start
    occurrence_ranked = np.empty((n, c), np.int64)
    np.put_along_axis(occurrence_ranked, by_key, occurrence_sorted, axis=1)
    occurrence = np.empty((n, c), np.int64)
    np.put_along_axis(occurrence, by_score, occurrence_ranked, axis=1)
    return occurrence


def score_occurrence(scores: AnyArray, keys: AnyArray) -> IntArray:
    """How many better-scored columns of the same row share each column's key.

    Columns are walked in descending score order (ties: lower column first; NaN last, as a
    stable argsort of ``-scores`` orders them); a column's occurrence is the number of columns
    before it in that order with an equal key. With authors as keys this is the "k-th post of
    the same author" of home-mixer's author-diversity rescoring.

    Args:
        scores: ``(n, c)`` scores, float32 or float64 (other dtypes take the NumPy path).
        keys: ``(n, c)`` integer keys, e.g. author ids.

    Returns:
        ``(n, c)`` int64 occurrence indices, 0 for the best column of each key.
    """
    if (
        scores.ndim != 2
        or scores.shape != keys.shape
        or scores.dtype not in (np.float32, np.float64)
        or keys.dtype.kind not in "iu"
    ):
        return score_occurrence_reference(scores, keys)
    return _score_occurrence(np.ascontiguousarray(scores), np.ascontiguousarray(keys))


# --- repeated keys per row -------------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def probe(table: IntArray, key: np.int64, shift: np.uint64, mask: int) -> np.int64:
    """Slot holding ``key`` in an open-addressed table (0 = empty), or the empty slot for it.

    Compiled: callable from other kernels only. The table has ``mask + 1`` slots, a power of two
    (:func:`table_bits`), and ``shift`` is 64 minus its bits.
    """
    s = _slot(key, shift)
    while table[s] != 0 and table[s] != key:
        s = (s + 1) & mask
    return s


@numba.njit(cache=True)
def _repeated_keys(seen: AnyArray, keys: AnyArray) -> BoolArray:
    """Per row: insert the seen keys, then flag each candidate key already in the hash set."""
    n, n_seen = seen.shape
    c = keys.shape[1]
    out = np.zeros((n, c), np.bool_)
    bits = table_bits(n_seen + c)
    size = 1 << bits
    mask = size - 1
    shift = np.uint64(64 - bits)
    table = np.empty(size, np.int64)  # key 0 is never stored, so 0 marks an empty slot
    for i in range(n):
        table[:] = 0
        for j in range(n_seen):
            key = np.int64(seen[i, j])
            if key != 0:
                table[probe(table, key, shift, mask)] = key
        for j in range(c):
            key = np.int64(keys[i, j])
            if key == 0:
                continue
            s = probe(table, key, shift, mask)
            if table[s] == key:
                out[i, j] = True
            else:
                table[s] = key
    return out


def repeated_keys_reference(seen: AnyArray, keys: AnyArray) -> BoolArray:
    """NumPy reference of :func:`repeated_keys`: one stable row-wise argsort of both parts."""
    both = np.concatenate([seen, keys], axis=1)
    order = np.argsort(both, axis=1, kind="stable")
    ranked = np.take_along_axis(both, order, axis=1)
    repeat = np.zeros(both.shape, bool)
    repeat[:, 1:] = (ranked[:, 1:] == ranked[:, :-1]) & (ranked[:, 1:] != 0)
    duplicate = np.zeros(both.shape, bool)
    np.put_along_axis(duplicate, order, repeat, axis=1)
    return duplicate[:, seen.shape[1] :]


def repeated_keys(seen: AnyArray, keys: AnyArray) -> BoolArray:
    """Which keys repeat a non-zero key met earlier in their row, the ``seen`` part first.

    Row ``i`` is read as ``seen[i]`` followed by ``keys[i]``; ``keys[i, j]`` is a repeat when it
    is not 0 and equals an entry of ``seen[i]`` or an earlier ``keys[i, :j]``. Zero means
    "no key" and never repeats.

    Args:
        seen: ``(n, s)`` integer keys met before, 0 = none.
        keys: ``(n, c)`` integer keys to test, 0 = none.

    Returns:
        ``(n, c)`` bool.
    """
    if (
        seen.ndim != 2
        or keys.ndim != 2
        or seen.shape[0] != keys.shape[0]
        or seen.dtype.kind not in "iu"
        or keys.dtype.kind not in "iu"
        or np.uint64 in (seen.dtype, keys.dtype)  # keys are stored as int64 in the table
    ):
        return repeated_keys_reference(seen, keys)
    return _repeated_keys(np.ascontiguousarray(seen), np.ascontiguousarray(keys))


# --- ring buffers ----------------------------------------------------------------------------


@numba.njit(cache=True)
def _ring_push(ring: AnyArray, head: IntArray, rows: AnyArray, values: AnyArray) -> None:
    """Append one value at a time; the newest overwrite the oldest."""
    n_rows, size = ring.shape
    for i in range(rows.size):  # compiled code does not check bounds; NumPy would raise
        if rows[i] < 0 or rows[i] >= n_rows:
            raise IndexError("ring_push: a row is outside the ring")
    for i in range(rows.size):
        r = rows[i]
        ring[r, head[r] % size] = values[i]
        head[r] += 1


def ring_push_reference(ring: AnyArray, head: IntArray, rows: AnyArray, values: AnyArray) -> None:
    """NumPy reference of :func:`ring_push`: a stable sort by row, then one scatter."""
    if rows.size == 0:
        return
    order = np.argsort(rows, kind="stable")
    p, v = rows[order], values[order]
    start = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    counts = np.diff(np.r_[start, p.size])
    rank = np.arange(p.size) - np.repeat(start, counts)
    size = ring.shape[1]
    ring[p, (head[p] + rank) % size] = v
    np.add.at(head, p[start], counts)


def ring_push(ring: AnyArray, head: IntArray, rows: AnyArray, values: AnyArray) -> None:
    """Append ``values[i]`` to ring row ``rows[i]``, in order, updating ``ring`` and ``head``.

    Each ring row is a circular buffer whose ``head`` counts the values ever pushed: the next
    value goes to column ``head % width``, so the newest overwrite the oldest.

    Args:
        ring: ``(n_rows, width)`` buffer, updated in place.
        head: ``(n_rows,)`` int64 push counts, updated in place.
        rows: ``(m,)`` non-negative row of each value.
        values: ``(m,)`` values, cast to ``ring``'s dtype.

    Raises:
        IndexError: if a row is negative or not below ``ring.shape[0]``; nothing is pushed then.
    """
    if rows.size == 0:
        return
    if (
        ring.ndim != 2
        or ring.shape[1] == 0
        or not (ring.flags.writeable and head.flags.writeable)
        or head.shape != ring.shape[:1]
        or head.dtype != np.int64
        or rows.dtype.kind not in "iu"
        or values.dtype.kind not in "iub"
        or rows.shape != values.shape
        or rows.ndim != 1
    ):
        ring_push_reference(ring, head, rows, values)
        return
    _ring_push(ring, head, rows, values.astype(ring.dtype, copy=False))


@numba.njit(cache=True)
def _ring_push_csr(
    ring: AnyArray,
    head: IntArray,
    indptr: AnyArray,
    members: AnyArray,
    sources: AnyArray,
    values: AnyArray,
    members_checked: bool,
) -> None:
    """Push each value to every member of its source's group, groups in order."""
    _check_csr_push(ring.shape[0], indptr, members, sources, members_checked)
    _push_csr_rows(ring, head, indptr, members, sources, values, 0, ring.shape[0])


@numba.njit(cache=True)
def _check_csr_push(
    n_rows: int, indptr: AnyArray, members: AnyArray, sources: AnyArray, members_checked: bool
) -> int:
    """Raise unless every source is a group and every member a ring row; the pushes to make.

    With ``members_checked`` the members are known to be ring rows: only the sources are read.
    """
    n_groups = indptr.size - 1
    total = 0
    for i in range(sources.size):  # check everything first, so nothing is pushed on error
        g = sources[i]
        if g < 0 or g >= n_groups:
            raise IndexError("ring_push_csr: a source is outside the groups")
        if not members_checked:
            for m in range(indptr[g], indptr[g + 1]):
                if members[m] < 0 or members[m] >= n_rows:
                    raise IndexError("ring_push_csr: a row is outside the ring")
        total += indptr[g + 1] - indptr[g]
    return total


@numba.njit(cache=True, nogil=True, inline="always")
def _push_csr_rows(
    ring: AnyArray,
    head: IntArray,
    indptr: AnyArray,
    members: AnyArray,
    sources: AnyArray,
    values: AnyArray,
    lo: int,
    hi: int,
) -> None:
    """The pushes of :func:`_ring_push_csr` whose ring row is in ``[lo, hi)``, in order."""
    size = ring.shape[1]
    for i in range(sources.size):
        g = sources[i]
        v = values[i]
        for m in range(indptr[g], indptr[g + 1]):
            r = members[m]
            if lo <= r < hi:
                ring[r, head[r] % size] = v
                head[r] += 1


def _ring_push_csr_threaded(
    ring: AnyArray,
    head: IntArray,
    indptr: AnyArray,
    members: AnyArray,
    sources: AnyArray,
    values: AnyArray,
    n_parts: int,
) -> None:
    """:func:`_ring_push_csr` in ``n_parts`` tasks on the kernel threads, each owning a band of rows.

    Every task reads all the groups but writes only its own rows, in the one-thread order, so
    every ring row ends as on one thread; the random writes, the slow part, are shared out.
    The groups must have been checked (:func:`_check_csr_push`).
    """
    run_on_threads(
        [
            functools.partial(_push_csr_rows, ring, head, indptr, members, sources, values, lo, hi)
            for lo, hi in thread_blocks(ring.shape[0], n_parts)
        ]
    )


def ring_push_csr_reference(
    ring: AnyArray,
    head: IntArray,
    indptr: IntArray,
    members: AnyArray,
    sources: AnyArray,
    values: AnyArray,
) -> None:
    """NumPy reference of :func:`ring_push_csr`: expand the groups, then :func:`ring_push`."""
    if sources.size == 0:
        return
    start = indptr[sources]
    counts = indptr[sources + 1] - start
    total = int(counts.sum())
    if total == 0:
        return
    offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = members[np.repeat(start, counts) + offset].astype(np.int64)
    ring_push_reference(ring, head, rows, np.repeat(values, counts))


def ring_push_csr(
    ring: AnyArray,
    head: IntArray,
    indptr: IntArray,
    members: AnyArray,
    sources: AnyArray,
    values: AnyArray,
    members_checked: bool = False,
) -> None:
    """Append ``values[i]`` to every ring row of group ``sources[i]``, in order.

    Group ``g`` is the rows ``members[indptr[g]:indptr[g + 1]]`` of a CSR list (a follower
    list, say). The pushes happen in the order :func:`ring_push` would make them from the
    expanded lists: value by value, and within a value, member by member. With kernel threads
    and at least :data:`THREADED_MIN_ITEMS` pushes, the threads share the rows out, each row
    receiving its values in that order (:func:`_ring_push_csr_threaded`): the same result.

    Args:
        ring: ``(n_rows, width)`` buffer, updated in place.
        head: ``(n_rows,)`` int64 push counts, updated in place.
        indptr: ``(n_groups + 1,)`` int64 group offsets into ``members``.
        members: ring rows of all groups, concatenated.
        sources: ``(m,)`` group of each value.
        values: ``(m,)`` values, cast to ``ring``'s dtype.
        members_checked: the caller knows every member to be a ring row (a follow graph
            checked once when it was built): the members are then not checked again.

    Raises:
        IndexError: if a source is not a group or a member is not a ring row (negative sources
            are refused, not counted from the end); nothing is pushed then.
    """
    if sources.size == 0:
        return
    if (
        ring.ndim != 2
        or ring.shape[1] == 0
        or not (ring.flags.writeable and head.flags.writeable)
        or head.shape != ring.shape[:1]
        or head.dtype != np.int64
        or indptr.ndim != 1
        or indptr.dtype.kind not in "iu"
        or members.dtype.kind not in "iu"
        or sources.dtype.kind not in "iu"
        or values.dtype.kind not in "iub"
        or sources.shape != values.shape
        or sources.ndim != 1
        or np.uint64 in (indptr.dtype, members.dtype, sources.dtype)  # no mixed-sign indexing
    ):
        ring_push_csr_reference(ring, head, indptr, members, sources, values)
        return
    values = values.astype(ring.dtype, copy=False)
    if _threads == 1:
        _ring_push_csr(ring, head, indptr, members, sources, values, members_checked)
        return
    if threaded(_check_csr_push(ring.shape[0], indptr, members, sources, members_checked)):
        _ring_push_csr_threaded(ring, head, indptr, members, sources, values, _threads)
    else:
        _push_csr_rows(ring, head, indptr, members, sources, values, 0, ring.shape[0])


# --- smallest keys per group -----------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def _before(key: AnyArray, tiebreak: AnyArray, a: int, b: int) -> bool:
    """Whether element ``a`` sorts before ``b``: smaller key (NaN last), then tie-break, then index."""
    ka = key[a]
    kb = key[b]
    if ka < kb or (kb != kb and ka == ka):
        return True
    if kb < ka or (ka != ka and kb == kb):
        return False
    if tiebreak[a] != tiebreak[b]:
        return tiebreak[a] < tiebreak[b]
    return a < b


@numba.njit(cache=True)
def _smallest_per_group(
    group: AnyArray, key: AnyArray, tiebreak: AnyArray, n_groups: int, k: int
) -> IntArray:
    """One pass keeping each group's best ``k`` in a small sorted buffer (insertion)."""
    out = np.full((n_groups, k), -1, np.int64)
    fill = np.zeros(n_groups, np.int64)
    if k == 0:
        return out
    for i in range(key.size):
        g = group[i]
        if g < 0 or g >= n_groups:
            continue
        m = fill[g]
        if m == k:
            # Elements come in index order, so an element tied with the last kept sorts after it.
            if not _before(key, tiebreak, i, out[g, k - 1]):
                continue
            m = k - 1
        else:
            fill[g] = m + 1
        while m > 0 and _before(key, tiebreak, i, out[g, m - 1]):
            out[g, m] = out[g, m - 1]
            m -= 1
        out[g, m] = i
    return out


def smallest_per_group_reference(
    group: IntArray, key: AnyArray, tiebreak: AnyArray, n_groups: int, k: int
) -> IntArray:
    """NumPy reference of :func:`smallest_per_group`: one lexsort, then a slice per group."""
    out = np.full((n_groups, k), -1, np.int64)
    order = np.lexsort((tiebreak, key, group))
    sorted_group = group[order]
    first = np.searchsorted(sorted_group, np.arange(n_groups))
    last = np.searchsorted(sorted_group, np.arange(n_groups), side="right")
    take = np.minimum(last - first, k)
    for g in range(n_groups):
        out[g, : take[g]] = order[first[g] : first[g] + take[g]]
    return out


def smallest_per_group(
    group: IntArray, key: AnyArray, tiebreak: AnyArray, n_groups: int, k: int
) -> IntArray:
    """Indices of the ``k`` smallest keys of each group, smallest first.

    Ties in ``key`` go to the smaller ``tiebreak``, then to the lower index, and NaN keys come
    last: the order of ``np.lexsort((tiebreak, key, group))``
    (:func:`smallest_per_group_reference`), found in one pass instead of a full sort. Elements
    whose group is outside ``[0, n_groups)`` are ignored.

    Args:
        group: ``(n,)`` integer group of each element.
        key: ``(n,)`` float or integer sort keys (negate scores to take the largest).
        tiebreak: ``(n,)`` integer second keys, e.g. post ids.
        n_groups: number of groups.
        k: elements wanted per group.

    Returns:
        ``(n_groups, k)`` int64 indices into the inputs, ``-1`` where a group has fewer.
    """
    if (
        group.ndim != 1
        or group.shape != key.shape
        or key.shape != tiebreak.shape
        or group.dtype.kind not in "iu"
        or key.dtype.kind not in "iuf"
        or tiebreak.dtype.kind not in "iu"
        or np.uint64 in (group.dtype, key.dtype, tiebreak.dtype)  # no mixed-sign comparisons
        or k < 0
    ):
        return smallest_per_group_reference(group, key, tiebreak, n_groups, k)
    return _smallest_per_group(group, key, tiebreak, n_groups, k)


# --- merging new entries into a CSR index ------------------------------------------------------


@numba.njit(cache=True)
def _merge_csr(
    indptr: IntArray, indices: AnyArray, rows: IntArray, cols: IntArray
) -> tuple[IntArray, AnyArray]:
    n = indptr.size - 1
    # New entries per row (rows ascending, cols ascending within a row, no repeats), then the
    # merged size of each row: old entries plus new ones not already there.
    new_start = np.zeros(n + 1, np.int64)
    for e in range(rows.size):
        new_start[rows[e] + 1] += 1
    for r in range(n):
        new_start[r + 1] += new_start[r]
    out_indptr = np.zeros(n + 1, np.int64)
    out = np.empty(indices.size + rows.size, indices.dtype)
    w = 0
    for r in range(n):
        a, a_end = indptr[r], indptr[r + 1]
        b, b_end = new_start[r], new_start[r + 1]
        while a < a_end or b < b_end:
            if b >= b_end or (a < a_end and indices[a] < cols[b]):
                out[w] = indices[a]
                a += 1
            elif a >= a_end or cols[b] < indices[a]:
                out[w] = cols[b]
                b += 1
            else:  # already there
                out[w] = indices[a]
                a += 1
                b += 1
            w += 1
        out_indptr[r + 1] = w
    return out_indptr, out[:w]


def merge_csr(
    indptr: IntArray, indices: AnyArray, rows: IntArray, cols: IntArray
) -> tuple[IntArray, AnyArray]:
    """A CSR index with the entries ``(rows[i], cols[i])`` added, each row sorted and unique.

    ``indices`` must be sorted and unique within each row (as SciPy's ``sum_duplicates``
    then ``sort_indices`` leave them); the new entries may come in any
    order and repeat. Returns ``(indptr, indices)``: int64 and the dtype of ``indices``. One pass
    over the old entries after sorting the new ones, where rebuilding the matrix sorts them all
    (:func:`feedlab.world.graph.add_follows_reference` is the reference).
    """
    order = np.lexsort((cols, rows))
    r = np.asarray(rows, np.int64)[order]
    c = np.asarray(cols, indices.dtype)[order]
    if r.size:
        first = np.ones(r.size, bool)
        first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
        r, c = r[first], c[first]
    return _merge_csr(np.asarray(indptr, np.int64), indices, r, c)
