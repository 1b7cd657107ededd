"""Parallel and distributed enumeration: the depth-first tree shared out by subtrees, the serial order kept.

``mt.derive(f, n, workers=k)`` runs on ``k`` local processes,
``mt.derive(f, n, client=c)`` on a ``dask.distributed`` cluster (the
dask extra, ``pip install -e ".[dask]"``).  Both work the same way:

1. the walk (:mod:`mtsym.walk`) starts serially and pauses as soon as its
   stack holds a few subtrees per worker; the stack's entries are independent
   subtrees, and in depth-first order they are the serial order of the rest;
2. each task walks a group of consecutive entries for a bounded number of
   strata (``budget``; an eighth of it when fewer groups than workers wait)
   and returns its strata and, when the budget ran out, its own remaining
   stack: that is split again into tasks, put first in the queue (a large
   subtree is shared out as it goes, small ones finish in one task).  Local
   tasks also stop early, every :data:`STEAL_STEP` strata, when the
   coordinator raises a shared flag: no subtree waits and a worker is idle
   (work stealing: the idle worker gets a share of the running task's rest).
   With local workers the coordinating process walks tasks too, between two
   looks at what came back (``workers=k``: this process and ``k - 1``
   others, one per core; a coordinator that only waited would be one process
   more than cores, taking its time from them), and hands its own rest back
   when a worker's next task is missing;
3. the strata come back as a few flat blocks, packed as the worker walks
   (path keys as one bytes block, the constraint links they share and the
   interior points as bytes of the narrowest integer type, Python ints past
   int64; each distinct pair of forms once) and are placed in a tree of slots
   in depth-first order; the coordinator hands out the next tasks first, then
   unpacks, then emits a slot's strata (a bounded share per look) as soon as
   every slot before it is emitted, so the table (or the stream written to
   disk) is the serial one, stratum for stratum.  A table in memory takes each
   task's strata as soon as they are unpacked, in whatever order the tasks end
   (grouped into pieces then: :meth:`~mtsym.table.TableBuilder.add_block`),
   and numbers them when their turn comes; nothing is left to add after the
   last task.

Each worker keeps one walker for all the tasks of a run (what it interned and
memoized serves them all).

Programs with Python branches (each stratum re-runs the function) and graphs
the walk does not cover (products of traced values) are enumerated serially.
"""

__all__ = ["explore_parallel", "DEFAULT_BUDGET"]

import contextlib
import heapq
import multiprocessing
import sys
import threading
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

import numpy as np

from .errors import InputError
from .export.stream import sign_nodes, stratum_line
from .partition import (DEFAULT_MAX_EVENTS, DEFAULT_MAX_STRATA, drive_tests, explore, graph_plan, locate_path,
                        record_maker, walk_records, _form_check, _too_many)
from .polyhedra import Polyhedron
from .records import (CountedSetting, PackedForms, StratumRecord, chain_links, chain_list, gc_frozen, gc_paused,
                      interior_point)
from .walk import Paused, _Walk, root_entry

#: strata one task walks before it hands its remaining subtrees back
DEFAULT_BUDGET = 4000
#: strata a local task walks between two looks at the "a worker waits" flag
STEAL_STEP = 64
#: the interpreter's thread switch interval (seconds) while this process walks beside local
#: workers: the pool's threads that read the workers' results need the GIL once per pipe buffer
#: (64 KiB); at Python's default 5 ms a worker sending half a megabyte waited 40-60 ms, blocked
#: on the full pipe, before its next task (max over 16: the worker idle 0.39 s of 1.65 s; 0.17 s
#: at 0.5 ms)
SWITCH_INTERVAL = 0.0005
#: strata this process emits between two looks at what the workers sent (it hands out their next
#: tasks between them)
EMIT_STEP = 1024
#: tasks handed to each worker at a time: the next ones wait in its pipe, so a worker that ends a
#: tiny task (a subtree of a few strata) starts another at once instead of waiting for a round
#: trip through this process (5-9 ms); max of 14: the worker idle 63-107 -> 43-69 ms with 3
INFLIGHT = 3
#: the size asked for the local pool's result pipe (bytes; Linux allows up to 1 MiB unprivileged)
PIPE_SIZE = 1 << 20

_PLANS = {}  # token -> Plan, in each worker process
_WALKS = threading.local()  # .token, .walker: this thread's walker (dask may run tasks in threads)
_HUNGRY = [None]  # in a local worker: the shared flag the coordinator raises when a worker waits


class _GraphProgram:
    """What a plan needs of a traced program, picklable (the graph, not the user's function)."""

    def __init__(self, program):
        self.graph, self.n, self.conv = program.graph, program.n, program.conv
        self.symbols, self.output_shape = program.symbols, program.output_shape


def _plan(token, payload):
    plan = _PLANS.get(token)
    if plan is None:
        plan = _PLANS[token] = graph_plan(payload)
    return plan


def _walker(token, plan, keep):
    """This thread's walker for ``token``: one per run, kept between its tasks (the forms it
    interned, its memoized rows and output forms serve every task; a walker per task would derive
    them again).  Only the latest run's walker is kept; a walker is never shared between threads."""
    if getattr(_WALKS, "token", None) != token:
        _WALKS.token = token
        _WALKS.walker = _Walk(plan, drive_tests, lambda u: _form_check(u.prim, u.node, plan.program), None,
                              compact=plan.codec.narrow and keep)
    return _WALKS.walker


def _ping():
    return None


def _init(token, payload, hungry=None):
    _HUNGRY[0] = hungry
    if payload is not None:
        _plan(token, payload)


# ----------------------------------------------------------------------------- transport
def _pack_entries(entries):
    """Stack entries for another process (constraint chains as lists)."""
    return [e[:5] + (chain_list(e[5]),) if e[0] == "gen" else e for e in entries]


def _unpack_entries(entries):
    return [e[:5] + (chain_links(e[5]),) if e[0] == "gen" else e for e in entries]


def _ints(values):
    """A flat list of Python ints as ``(dtype, bytes)`` in the narrowest integer type that holds
    them all (one block, no object per number, no larger than pickle's own small ints), or the
    list itself when one does not fit int64."""
    try:
        a = np.array(values, dtype=np.int64)
    except OverflowError:
        return values
    if a.size:
        lo, hi = int(a.min()), int(a.max())
        for t in (np.int8, np.int16, np.int32):
            info = np.iinfo(t)
            if info.min <= lo and hi <= info.max:
                a = a.astype(t)
                break
    return a.dtype.str, a.tobytes()


def _array(block):
    return np.frombuffer(block[1], dtype=block[0])


def _int_list(block):
    return _array(block).tolist() if type(block) is tuple else block


def _tuples(block, w):
    """An integer block (:func:`_ints`) as tuples of ``w`` Python ints."""
    if type(block) is tuple:
        return map(tuple, _array(block).reshape(-1, w).tolist())
    return (tuple(block[i:i + w]) for i in range(0, len(block), w))


class _Packer:
    """Walk output packed as it comes, as a few flat blocks instead of one object graph per stratum
    (cheap to pickle): :meth:`feed` after each step of the walk, :meth:`blocks` at the end (only
    the conversion to bytes is left then: a task that hands its rest back, asked to by an idle
    process, answers within a step of the walk, not after packing all its strata).

    * ``keys``: the path keys (one ``bytes`` block when all have the same length, else a list);
    * ``links``: the constraint links ``(row, sign, parent link)`` the strata share, as flat
      integer blocks (rows of ``n + 1`` entries, signs, parents), each link sent once;
    * per stratum: its last link, its dimension, its interior point ``P / q`` (flat integers)
      and the index of its ``(forms, vals)`` pair in a list of the distinct pairs.

    Integer blocks are bytes of the narrowest integer type that holds them, else lists of Python
    ints (:func:`_ints`).  Keys of a wide codec are the paths themselves (interned codes are per
    process)."""

    __slots__ = ("index", "links", "rows", "signs", "parents", "pairs", "pair_of", "last", "dims", "points",
                 "which", "keys")

    def __init__(self):
        # links and forms are known by their identity, so they are kept alive here: the strata fed
        # are dropped after each step, and a freed link's id may be a new link's
        self.index, self.links, self.rows, self.signs, self.parents = {}, [], [], [], []
        self.pairs, self.pair_of = [], {}
        self.last, self.dims, self.points, self.which, self.keys = [], [], [], [], []

    def feed(self, raws):
        index, links, rows, signs, parents = self.index, self.links, self.rows, self.signs, self.parents
        pairs, pair_of = self.pairs, self.pair_of
        last, dims, points, which, keys = self.last, self.dims, self.points, self.which, self.keys
        for key, cons, forms, vals, cell in raws:
            pending = []
            c = cons
            while c is not None and id(c) not in index:
                pending.append(c)
                c = c[2]
            for link in reversed(pending):
                index[id(link)] = len(signs)
                links.append(link)
                rows.extend(link[0])
                signs.append(link[1])
                parents.append(-1 if link[2] is None else index[id(link[2])])
            last.append(-1 if cons is None else index[id(cons)])
            k = pair_of.get((id(forms), id(vals)))
            if k is None:
                k = pair_of[(id(forms), id(vals))] = len(pairs)
                pairs.append((forms, vals))
            which.append(k)
            P, q = interior_point(cell)
            points.extend(P)
            points.append(q)
            dims.append(cell.dim)
            keys.append(key)

    def blocks(self):
        """``(count, keys, rows, signs, parents, last, dims, points, which, pairs)``."""
        keys = self.keys
        if keys and type(keys[0]) is bytes and len(set(map(len, keys))) == 1:
            keys = _pack_keys(keys)
        return (len(self.dims), keys, _ints(self.rows), bytes(s + 1 for s in self.signs), _ints(self.parents),
                _ints(self.last), _ints(self.dims), _ints(self.points), _ints(self.which), _pack_pairs(self.pairs))


def _pack_keys(keys):
    """Path keys of one length as ``(size, four, block)``: one bytes block, with four codes to a
    byte (``four``) when every code is below 4, as a narrow codec's are (sign + 1 of each relu-like
    node: a stratum of 256 relus travels in 64 bytes, not 256)."""
    size = len(keys[0])
    block = b"".join(keys)
    codes = np.frombuffer(block, dtype=np.uint8)
    if size == 0 or not codes.size or int(codes.max()) > 3:
        return size, False, block
    width = -(-size // 4) * 4
    grid = np.zeros((len(keys), width), dtype=np.uint8)
    grid[:, :size] = codes.reshape(len(keys), size)
    return size, True, (grid[:, 0::4] | grid[:, 1::4] << 2 | grid[:, 2::4] << 4 | grid[:, 3::4] << 6).tobytes()


def _unpack_keys(packed):
    """:func:`_pack_keys` undone: the keys as bytes."""
    size, four, block = packed
    if four:
        quads = np.frombuffer(block, dtype=np.uint8).reshape(-1, -(-size // 4))
        grid = np.empty((quads.shape[0], quads.shape[1] * 4), dtype=np.uint8)
        for j in range(4):
            grid[:, j::4] = (quads >> (2 * j)) & 3
        block = grid[:, :size].tobytes()
    return [block[i:i + size] for i in range(0, len(block), size)]


def _pack_pairs(pairs):
    """The distinct ``(forms, vals)`` pairs of a task as one integer block when every one is a
    :class:`~mtsym.records.PackedForms` (``(m, w, same, block)``: per pair whether ``vals`` is
    ``forms``, then each object's ``m`` outputs as ``w`` numerators and a denominator), else the
    pairs themselves (pickled as objects: ten times the bytes and the time)."""
    if not pairs or type(pairs[0][0]) is not PackedForms:
        return pairs
    m, w = len(pairs[0][0].key), len(pairs[0][0].key[0][0])
    flat, same, objects = [], bytearray(), 0
    for forms, vals in pairs:
        one = forms is vals
        for f in (forms,) if one else (forms, vals):
            if type(f) is not PackedForms:
                return pairs
            for num, d in f.key:
                flat += num
                flat.append(d)
            objects += 1
        same.append(one)
    if len(flat) != objects * m * (w + 1):  # not one shape (never for one program's forms)
        return pairs
    return m, w, bytes(same), _ints(flat)


def _unpack_pairs(packed):
    """:func:`_pack_pairs` undone."""
    if type(packed) is list:
        return packed
    m, w, same, block = packed
    flat = _int_list(block)
    size = m * (w + 1)
    if m == 1:
        objects = [PackedForms(((tuple(flat[i:i + w]), flat[i + w]),)) for i in range(0, len(flat), size)]
    else:
        objects = [PackedForms(tuple((tuple(flat[j:j + w]), flat[j + w]) for j in range(i, i + size, w + 1)))
                   for i in range(0, len(flat), size)]
    pairs, k = [], 0
    for one in same:
        forms = objects[k]
        pairs.append((forms, forms if one else objects[k + 1]))
        k += 1 if one else 2
    return pairs


def _integral(forms):
    """Whether every form is a tuple of ints.  Forms with Fractions (tie weights ``1/|T|``) are
    not looked up across tasks: hashing a Fraction costs a modular inverse, and on a k-ary max
    every stratum has its own forms, so the lookups would only cost (equal forms met in different
    tasks then stay separate but equal objects).  Packed forms hash as integers: shared."""
    if type(forms) is PackedForms:
        return True
    for f in forms:
        if type(f) is not tuple:
            return False
        for c in f:
            if type(c) is not int:
                return False
    return True


def _unpack_records(plan, packed, canon, compact):
    """:meth:`_Packer.blocks` as records."""
    _, keys, rows, signs, parents, last, dims, points, which, pairs = packed
    dims = _int_list(dims)
    n = plan.n
    w = n + 1
    made = []
    for row, s, parent in zip(_tuples(rows, w), signs, _int_list(parents)):
        made.append((row, s - 1, None if parent < 0 else made[parent]))
    if type(keys) is tuple:
        keys = _unpack_keys(keys)
    codec, outs, shape = plan.codec, plan.out_nodes, plan.shape
    wide = not codec.narrow
    if wide and not compact:
        codec = None
    shared = []
    for forms, vals in _unpack_pairs(pairs):
        # shared with the other tasks' equal forms when cheap to hash (ints only)
        same = forms is vals
        if _integral(vals):
            vals = canon.setdefault(vals, vals)
        if same:
            forms = vals
        elif _integral(forms):
            forms = canon.setdefault(forms, forms)
        shared.append((forms, vals))
    out = []
    for key, link, dim, k, p in zip(keys, _int_list(last), dims, _int_list(which), _tuples(points, w)):
        if wide and compact:
            key = codec.encode(key, intern=True)
        forms, vals = shared[k]
        out.append(StratumRecord(key, None if link < 0 else made[link], forms, vals, outs, shape, dim=dim,
                                 codec=codec, point=(p[:n], p[n])))
    return out


def _walk_task(walker, plan, stack, budget, max_strata, hungry, split=None, sink=None):
    """Walk ``stack`` for at most ``budget`` strata: ``(raw strata, remaining stack)``.  With a
    ``hungry`` flag, in steps of :data:`STEAL_STEP` strata: when it is raised the rest is handed
    back at once (a worker waits for it).  ``split``: stop as soon as the stack holds that many
    entries (subtrees to share).  ``sink``: called with each step's raw strata, which are then not
    kept (the raw strata returned are none)."""
    raws = []
    walker.emit = raws.append
    walked = 0
    with gc_paused():
        try:
            step = budget if hungry is None else min(budget, STEAL_STEP)
            while True:
                before = len(raws)
                try:
                    walker.run(stack, max_strata, budget=min(step, budget - walked), split=split)
                    stack = []
                except Paused as p:
                    stack = p.stack
                walked += len(raws) - before
                if sink is not None:
                    sink(raws)
                    raws.clear()
                if not stack or hungry is None or walked >= budget or hungry.value:
                    return raws, stack
        finally:
            plan.trim()


def _task(token, payload, entries, budget, max_strata, lines=False, signs=None):
    """Walk a group of stack entries (in a worker): ``(strata, packed remaining stack)``.

    The strata are packed as they come (:class:`_Packer`), or with ``lines`` are the lines of the
    streamed file, encoded here (witness and JSON in the workers, not in the coordinator).
    """
    plan = _plan(token, payload)
    walker = _walker(token, plan, not lines)
    if lines:
        done = []

        def sink(raws):
            done.extend(_lines(plan, raws, signs))
    else:
        packer = _Packer()
        sink = packer.feed
    _, rest = _walk_task(walker, plan, _unpack_entries(entries), budget, max_strata, _HUNGRY[0], sink=sink)
    return (done if lines else packer.blocks()), _pack_entries(rest)


def _lines(plan, raws, signs):
    """Walk output as lines of the streamed file."""
    outs, shape = plan.out_nodes, plan.shape
    codec = plan.codec if plan.codec.narrow else None
    return [stratum_line(StratumRecord(key, cons, forms, vals, outs, shape, poly=cell, codec=codec), signs)
            for key, cons, forms, vals, cell in raws]


def _records(plan, raws, keep):
    """Walk output as records, as a serial walk makes them (:func:`mtsym.partition.record_maker`)."""
    return list(map(record_maker(plan, keep), raws))


# ----------------------------------------------------------------------------- order
class _Slot:
    """The strata of one task, then the slots of the subtrees it handed back, in depth-first order."""

    __slots__ = ("records", "children", "done", "sent", "added")

    def __init__(self):
        self.records, self.children, self.done, self.sent, self.added = None, (), False, 0, False


def _groups(stack, parts):
    """A paused stack as at most ``parts`` groups of consecutive entries, in depth-first order (each
    group is itself a stack).  The bottom entries (nearest the root, the largest subtrees) get a
    group each, all the others one group together: deep entries are small, and many tiny tasks
    would cost more in round trips than they hold in work."""
    parts = max(1, min(parts, len(stack)))
    if parts == 1:
        return [stack]
    head = stack[parts - 1:]           # the top of the stack: first in depth-first order
    return [head] + [[e] for e in reversed(stack[:parts - 1])]


# ----------------------------------------------------------------------------- executors
def _start_method():
    """``fork`` when this process runs no other thread (the workers start at once, with nothing to
    import); else a fork server (a clean process that imports mtsym and forks the workers: a fork
    would copy another thread, JAX's for one, in the middle of its work), which like ``spawn``
    imports the user's main module again: a script then needs ``if __name__ == "__main__":``."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1 and "jax" not in sys.modules:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


#: the threads of pools closed without waiting for their workers to exit (:meth:`_Local.close`)
_CLOSED = []
#: how long a run waits for an earlier run's pool thread to end (seconds; it ends within
#: milliseconds of the close, once the workers exit)
REAP_WAIT = 2.0


def _reap_closed():
    """Wait for the threads of the pools closed earlier: they end, and a run that follows may fork
    (a derive called in a loop would otherwise find the last run's pool thread alive, take it for
    a thread of the user's, and start a fork server: seconds instead of milliseconds)."""
    while _CLOSED:
        _CLOSED.pop().join(REAP_WAIT)


def _widen_pipe(pool):
    """The pool's result pipe widened to :data:`PIPE_SIZE` bytes where the system allows it (Linux):
    a worker writes a task's strata (up to about half a megabyte) at once and starts its next task,
    instead of waiting, blocked on a full 64 KiB pipe, for this process's reader thread to drain it
    chunk by chunk between the walking thread's turns.  Speed only: skipped where unavailable."""
    try:
        import fcntl
        fcntl.fcntl(pool._result_queue._writer.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (ImportError, AttributeError, OSError, ValueError):  # not Linux, or the pool's insides moved
        pass


class _Local:
    """Local worker processes (see :func:`_start_method`)."""

    def __init__(self, workers, token, plan):
        _reap_closed()   # an earlier run's pool threads, about to end, are not threads to copy
        method = _start_method()
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["mtsym"])
        if method == "fork":  # the workers inherit the plan already built here
            _PLANS.clear()
            _PLANS[token] = plan
            payload = None
        else:
            payload = _GraphProgram(plan.program)   # each worker builds the plan once, at start
        self.hungry = ctx.Value("b", 0, lock=False)
        before = set(threading.enumerate())
        self.pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init,
                                        initargs=(token, payload, self.hungry))
        _widen_pipe(self.pool)
        self.token = token
        if method == "fork":
            # fork every worker now (the pool forks on its first submit), with the parent's objects
            # in the collector's permanent generation (a collection in a worker would otherwise
            # touch, and so copy, every page); not waited for: this process walks meanwhile
            # (the pool's start 8.8-14 -> 6-7.8 ms on max of 14)
            with gc_frozen():
                for _ in range(workers):
                    self.pool.submit(_ping)
        else:
            self.pool.submit(_ping)
        self.threads = [t for t in threading.enumerate() if t not in before]   # the pool's own

    def wanted(self, flag):
        """Raise (or lower) the flag that asks running tasks to hand their rest back now."""
        self.hungry.value = 1 if flag else 0

    def submit(self, entries, budget, max_strata, lines, signs):  # the plan is already in the worker
        return self.pool.submit(_task, self.token, None, entries, budget, max_strata, lines, signs)

    def done(self, futures):
        return wait(futures, return_when=FIRST_COMPLETED)[0]

    def ready(self, futures):
        """The futures already done (no waiting)."""
        return [f for f in futures if f.done()]

    def close(self):
        # the workers exit on their own, this process does not wait for them (8-12 ms after the last
        # stratum, with nothing left to run); the pool's thread joins them.  A task still running
        # (an error stopped the walk) hands its rest back at its next step, unread.
        self.hungry.value = 1
        self.pool.shutdown(wait=False, cancel_futures=True)
        _CLOSED.extend(self.threads)
        _PLANS.clear()


class _Dask:
    def __init__(self, client, token, plan):
        from distributed import as_completed  # the optional dask extra
        self.client, self.token = client, token
        self.payload = client.scatter(_GraphProgram(plan.program), broadcast=True)
        self.queue = as_completed()

    def submit(self, entries, budget, max_strata, lines, signs):
        fut = self.client.submit(_task, self.token, self.payload, entries, budget, max_strata, lines, signs,
                                 pure=False)
        self.queue.add(fut)
        return fut

    def done(self, futures):
        return {next(self.queue)}

    def ready(self, futures):
        """The tasks done since the last look (no waiting)."""
        return self.queue.next_batch(block=False)

    def wanted(self, flag):  # dask tasks run to their budget
        pass

    def close(self):
        self.payload.release()  # the scattered graph: the cluster may close without losing data it needs


def _n_workers(workers, client):
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # noqa: BLE001 - any client-side failure: assume two
            return 2
    return workers


# ----------------------------------------------------------------------------- the coordinator
def explore_parallel(program, emit, max_strata=None, max_events=None, workers=None, client=None, budget=None,
                     start=None, keep=True, emit_line=None, blocks=None):
    """Every stratum of ``program``, emitted in serial order, enumerated by ``workers`` local
    processes (this one and ``workers - 1`` others) or on a dask ``client``.  Returns the number
    of strata.

    ``keep=False``: the strata are written and dropped (``emit`` streams them): no case is
    interned for good.  ``emit_line``: the strata the workers found come as lines of the
    streamed file (:func:`mtsym.export.stream.stratum_line`, paths as sign strings when
    ``emit_line.signs``), encoded by the workers.  ``blocks``: an object with
    ``add_block(records)`` and ``place(block)``, as a :class:`~mtsym.table.TableBuilder` has:
    each task's strata are added as soon as they are records, in whatever order the tasks end,
    and placed in serial order (the strata found before the first task still go to ``emit``);
    nothing then waits to be added after the last task but the numbering.
    """
    if client is None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise InputError(f"workers={workers!r}: give a number of processes (1 or more)")
    max_strata = DEFAULT_MAX_STRATA if max_strata is None else max_strata
    max_events = DEFAULT_MAX_EVENTS if max_events is None else max_events
    budget = DEFAULT_BUDGET if budget is None else budget
    locate_path(program, (0,) * program.n, max_events)
    plan = None if program.graph.has_branches() else graph_plan(program)
    k = _n_workers(workers, client)
    if plan is None or (client is None and k == 1):  # Python branches, products, one process: serial
        if keep:
            records = explore(program, max_strata=max_strata, max_events=max_events, start=start)
            for r in records:
                emit(r)
            return len(records)
        found = []

        def counted(r, count):
            found.append(None)
            emit(r)
        explore(program, max_strata=max_strata, max_events=max_events, start=start, on_stratum=counted,
                keep=False)
        return len(found)
    cell, cons = (Polyhedron.space(program.n), None) if start is None else start
    try:  # the top of the tree, serially, until there are subtrees to share
        return walk_records(plan, [root_entry(plan, cell, cons)], max_strata, emit, split=4 * k, compact=keep)
    except Paused as p:
        stack, count = p.stack, p.count
    token = uuid.uuid4().hex
    # local: this process walks too, beside k - 1 worker processes (k processes for k cores; a
    # coordinator that only waited would be a third process on two cores, unpacking the others'
    # strata in their time)
    here = None if client is not None else \
        _Walk(plan, drive_tests, lambda u: _form_check(u.prim, u.node, plan.program), None, compact=keep)
    ex = _Local(k - 1, token, plan) if client is None else _Dask(client, token, plan)
    try:
        with _quick_switching() if here is not None else contextlib.nullcontext():
            return _coordinate(plan, ex, stack, count, emit_line or emit, k, budget, max_strata, keep,
                               emit_line is not None, sign_nodes(program.graph) if emit_line is not None else None,
                               here, None if emit_line is not None else blocks)
    finally:
        ex.close()


def _quick_interval():
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
    return interval


#: the thread switch interval at most :data:`SWITCH_INTERVAL` while a block runs, as it was after
#: the last of concurrent runs ends
_quick_switching = CountedSetting(_quick_interval, sys.setswitchinterval)


def _coordinate(plan, ex, stack, count, emit, k, budget, max_strata, keep, lines, signs, here=None, blocks=None):
    """Run the tasks, earliest in depth-first order first, and emit their strata in that order.

    A slot's position is a tuple (its parent's position, then its rank among the groups its
    parent handed back): tuples sort in depth-first order, so the task submitted next is always
    the earliest one waiting, and the strata held back (done, waiting for an earlier slot) are at
    most the running tasks' budgets.

    ``here``: this process's own walker, when it walks tasks too (local workers: ``ex`` then runs
    ``k - 1`` processes, and ``k`` walk).  It walks in steps of :data:`STEAL_STEP` strata and takes
    what came back between two steps; it hands its rest back, as a worker does, at its budget, or
    whenever a worker's next task is missing (nothing queued, fewer than :data:`INFLIGHT` tasks out per worker),
    walking then only until its stack holds two subtrees to share.

    ``blocks`` (see :func:`explore_parallel`): a slot's records are added as a block as soon as
    they are records (this process's at the end of its task, a worker's when unpacked), and the
    block is placed when every slot before it is.
    """
    kids = k if here is None else k - 1
    front = deque()           # slots not yet emitted, in depth-first order
    queue = []                # heap of (position, slot, entries) not yet submitted
    for i, group in enumerate(_groups(stack, 4 * k)):
        slot = _Slot()
        front.append(slot)
        heapq.heappush(queue, ((i,), id(slot), slot, _pack_entries(group)))
    running = {}
    canon = {}
    found = count
    mine = None               # [position, slot, stack, strata, budget]: the task this process walks

    def hold(slot, records):
        """A slot's records (or lines), added to the table at once as a block when ``blocks``."""
        if blocks is None:
            slot.records = records
        else:
            slot.records, slot.added = blocks.add_block(records), True

    def finish(pos, slot, strata, rest):
        """A task's strata (records, lines, or a worker's blocks, unpacked soon after: see
        ``unpack_next``) and its rest, split into tasks placed right after it."""
        nonlocal found
        if type(strata) is tuple:
            slot.records = strata
            found += strata[0]
            packed.append(slot)
        else:
            found += len(strata)
            hold(slot, strata)
        if found > max_strata:
            raise _too_many(max_strata)
        groups = _groups(rest, k + 1) if rest else []
        slot.children = [_Slot() for _ in groups]
        for j, (child, group) in enumerate(zip(slot.children, groups)):
            heapq.heappush(queue, (pos + (j,), id(child), child, group))
        slot.done = True

    packed = deque()          # slots holding a worker's blocks, not yet unpacked

    def unpack(slot):
        nonlocal canon
        hold(slot, _unpack_records(plan, slot.records, canon, keep))
        if len(canon) > 100_000:  # forms shared within recent strata only: memory stays bounded
            canon = {}

    def unpack_next():
        """One task's blocks that came back, as records, whether or not earlier slots are done (after
        the last task only the strata held back for order are left to emit, not to unpack)."""
        while packed:
            slot = packed.popleft()
            if type(slot.records) is tuple:
                unpack(slot)
                return

    def emit_ready(limit=None):
        """Emit the strata whose turn has come, at most about ``limit`` of them (a long burst would
        delay the next look at what the workers sent, and their next tasks)."""
        sent = 0
        while front and front[0].done and (limit is None or sent < limit):
            slot = front[0]
            if type(slot.records) is tuple:
                unpack(slot)
            records = slot.records
            if slot.added:   # added already: placing it is numbering only (not counted)
                blocks.place(records)
            else:
                end = len(records) if limit is None else min(len(records), slot.sent + limit - sent)
                for i in range(slot.sent, end):
                    emit(records[i])
                sent += end - slot.sent
                if end < len(records):
                    slot.sent = end
                    return True
            front.popleft()
            slot.records = None
            front.extendleft(reversed(slot.children))
        return bool(packed) or bool(front and front[0].done)

    def take():
        """The earliest task waiting, for this process: ``[position, slot, stack, strata, budget]``."""
        pos, _, slot, entries = heapq.heappop(queue)
        return [pos, slot, _unpack_entries(entries), [], max(1, budget // 8) if len(queue) < k else budget]

    while queue or running or mine is not None:
        if here is not None and mine is None and queue and running:
            # this process takes the earliest subtree waiting (the workers have theirs running): the
            # strata it walks are next in line to be emitted, so fewer wait, done, for an earlier
            # slot, and fewer are left to emit after the last task (max of 14: that tail 56-91 ->
            # 46-68 ms)
            mine = take()
        while queue and len(running) < INFLIGHT * kids:
            pos, _, slot, entries = heapq.heappop(queue)
            # few subtrees left waiting: short tasks, whose remaining stacks come back soon to be
            # shared, so that no worker waits long for the last one (the tail of the walk)
            short = len(queue) < k
            running[ex.submit(entries, max(1, budget // 8) if short else budget, max_strata, lines, signs)] = \
                (pos, slot)
        if here is not None and mine is None and queue:
            mine = take()
        # no subtree waiting and a process free: running tasks hand their rest back at once
        ex.wanted(not queue and (len(running) < kids or (here is not None and mine is None)))
        # the workers have their next tasks: what came back is unpacked, what is ready emitted, a
        # bounded share at a time
        unpack_next()
        pending = emit_ready(EMIT_STEP)
        if mine is not None:
            pos, slot, stack, strata, left = mine
            # a worker's next task missing: walk only until there are subtrees to share
            starving = not queue and len(running) < INFLIGHT * kids
            raws, rest = _walk_task(here, plan, stack, min(STEAL_STEP, left), max_strata, None,
                                    split=2 if starving else None)
            strata.extend(_lines(plan, raws, signs) if lines else _records(plan, raws, keep))
            mine[2], mine[4] = rest, left - len(raws)
            if found + len(strata) > max_strata:
                raise _too_many(max_strata)
            # done, at its budget, or a worker's next task missing (nothing queued): the rest goes
            # to the queue, its first group back to this process (the workers always have a task
            # waiting in their pipe: a round trip would leave them idle)
            if not rest or mine[4] <= 0 or (starving and len(rest) > 1):
                finish(pos, slot, strata, _pack_entries(rest))
                mine = None
            finished = ex.ready(list(running)) if running else ()
        elif pending:   # more to unpack or emit: a look, no waiting
            finished = ex.ready(list(running))
        else:
            finished = ex.done(list(running))
        for fut in finished:
            pos, slot = running.pop(fut)
            got, rest = fut.result()
            finish(pos, slot, got, rest)
    emit_ready()
    return found
