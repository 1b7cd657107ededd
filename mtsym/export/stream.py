"""Tables larger than memory: strata streamed to a file one line each, and read back lazily.

``mt.derive(f, n, out="t.jsonl")`` writes each stratum as soon as it is found
(serial order, also with ``workers=`` or a dask client) and keeps none of them:
memory stays bounded whatever the count.  The file is the JSON format of
:mod:`mtsym.export.json` cut into lines:

* line 1: ``{"format": "mtsym.piecetable", "version": 1, "layout": "lines", "name", "inputs",
  "shape", "convention"}``, and ``"sign_path": [node ids]`` when every switching node is
  relu-like;
* one line per stratum, the object a ``strata`` entry of the JSON document holds (with
  ``sign_path``, its ``path`` is a string of ``-``, ``0``, ``+``, one per node: a stratum of a
  net with 700 relus takes 700 bytes for its path, not 7,000);
* last line: ``{"end": N, "graph": ...}``: the number of strata and the traced graph (complete
  only once every path ran).  A file without it was cut short and is refused.

:func:`open_table` (``mt.PieceTable.open(path)``) reads the first and last
lines and the offsets of the others (one pass over the bytes); a stratum is
parsed when it is asked for.  Strata are numbered in the order the
enumeration found them (the serial depth-first order: a table in memory sorts
them by piece instead), pieces in order of first appearance.  Everything a
table offers works on it -- ``stratum_at`` finds a point's stratum from the
graph and a hash index of the paths, ``compile()`` evaluates it in batch --
reading the file again when it needs every stratum.

Examples
--------
>>> import os, tempfile, mtsym as mt
>>> path = os.path.join(tempfile.mkdtemp(), "max3.jsonl")
>>> t = mt.derive(lambda x: mt.max(x), 3, out=path)
>>> len(t.strata), t.strata[0].text, t.strata[6].text, t.grad_at((1, 1, 1))
(7, 'x1 = x2, x1 = x3', 'x1 < x3, x2 < x3', Matrix([[1/3, 1/3, 1/3]]))
>>> sum(1 for line in open(path)), t.stratum_at((0, 2, 1)).text
(9, 'x1 < x2, x2 > x3')
"""

__all__ = ["StreamWriter", "StreamedTable", "open_table", "stratum_line", "sign_nodes", "LAYOUT"]

import hashlib
import json as _json
import os

import numpy as np

from ..errors import FormatError, InputError
from ..extensions import register
from ..primitives import PRIMITIVES
from ..table import Piece, PieceTable, Stratum
from .json import FORMAT, Reader, graph_data, head_data, read_graph, read_head, read_stratum, stratum_data
from .validate import Replay, check_alone

LAYOUT = "lines"


_SIGNS = "-0+"


def sign_nodes(graph):
    """The switching nodes, when every one is relu-like (its case a sign) in a branch-free graph:
    paths are then written as one character per node; else ``None``."""
    if graph is None or graph.has_branches():
        return None
    nodes = sorted(graph.switching_nodes())
    if all(PRIMITIVES[graph.nodes[v]["op"]].sign_input is not None for v in nodes):
        return tuple(nodes)
    return None


_CODES = bytes.maketrans(b"\x00\x01\x02", b"-0+")


def stratum_line(record, signs=None):
    """One stratum as its line of the file (without the newline); with ``signs`` (the nodes of
    :func:`sign_nodes`) the path is a string of ``-``, ``0``, ``+``, one per node."""
    if signs is None:
        data = stratum_data(record)
    else:
        data = stratum_data(record, path=False)
        key, codec = record.key, record.codec
        if codec is not None and codec.narrow and codec.nodes == signs:  # sign + 1 per node, as bytes
            data["path"] = key.translate(_CODES).decode("ascii")
        else:
            data["path"] = "".join(_SIGNS[c + 1] for _, c in record.path)
    return _json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class StreamWriter:
    """Writes strata to ``path`` as they come (:meth:`write`, :meth:`write_line`), then the end
    line (:meth:`close`).  ``program`` gives the output shape for the first line."""

    def __init__(self, path, name, symbols, convention, program=None):
        self.path, self.name, self.symbols, self.convention = path, name, symbols, convention
        self.program = program
        self.count = 0
        self._file = None
        self.signs = None

    def _open(self, shape):
        self._file = open(self.path, "w", encoding="utf-8")
        head = head_data(self.name, self.symbols, shape, self.convention)
        head["layout"] = LAYOUT
        self.signs = None if self.program is None else sign_nodes(self.program.graph)
        if self.signs is not None:
            head["sign_path"] = list(self.signs)
        self._file.write(_json.dumps(head, ensure_ascii=False) + "\n")

    def write(self, record):
        """One stratum (a :class:`~mtsym.records.StratumRecord`), as one line."""
        if self._file is None:
            self._open(record.shape)
        self._file.write(stratum_line(record, self.signs) + "\n")
        self.count += 1

    def write_line(self, line):
        """One stratum already encoded by :func:`stratum_line` (with :attr:`signs` once open)."""
        if self._file is None:
            self._open(self.program.output_shape)
        self._file.write(line + "\n")
        self.count += 1

    def close(self, graph, shape=()):
        """The end line: the count and the graph."""
        if self._file is None:
            self._open(shape)
        self._file.write(_json.dumps({"end": self.count, "graph": graph_data(graph)}, ensure_ascii=False) + "\n")
        self._file.close()

    def abort(self):
        """Close without the end line (the file is then refused by :func:`open_table`)."""
        if self._file is not None:
            self._file.close()


def _line_offsets(path):
    """The byte offset of every line start, and the file size (one pass, in chunks)."""
    starts = [np.zeros(1, dtype=np.int64)]
    pos = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 22)
            if not chunk:
                break
            nl = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
            starts.append(nl.astype(np.int64) + (pos + 1))
            pos += len(chunk)
    return np.concatenate(starts), pos


class _Strata:
    """The strata of a streamed table, parsed on access (a sequence)."""

    def __init__(self, table):
        self._t = table

    def __len__(self):
        return self._t._count

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError(k)
        return self._t._stratum(k)

    def __iter__(self):
        t = self._t
        with open(t.path, "rb") as f:
            f.seek(int(t._offsets[1]))
            for k in range(t._count):
                yield t._make(k, f.readline())


class StreamedTable(PieceTable):
    """A piece table read lazily from a file written by ``derive(..., out=path)`` (see the module)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        offsets, size = _line_offsets(self.path)
        if len(offsets) < 3 or offsets[-1] != size:
            raise FormatError(f"{self.path}: not a complete {FORMAT} file (fewer than two lines, or no "
                              "end of line at the end)")
        self._offsets = offsets
        R = self._reader = Reader()
        head = self._json(0, "the first line")
        if head.get("layout") != LAYOUT:
            raise FormatError(f"{self.path}: the first line does not say \"layout\": \"{LAYOUT}\"; read a JSON "
                              "document with PieceTable.from_json")
        self.name, symbols, self.shape, self.convention = read_head(R, head)
        signs = head.get("sign_path")
        if signs is not None and (not isinstance(signs, list) or not all(type(v) is int for v in signs)):
            raise FormatError(f"{self.path}: \"sign_path\" must be a list of node ids")
        self._signs = signs
        self.symbols = tuple(symbols)
        end = self._json(len(offsets) - 2, "the last line")
        count = end.get("end") if isinstance(end, dict) else None
        if not isinstance(count, int) or isinstance(count, bool) or count != len(offsets) - 3:
            raise FormatError(f"{self.path}: the last line is not {{\"end\": <number of strata>, ...}} matching "
                              "the file (the enumeration stopped before the end?)")
        self._count = count
        self.graph = read_graph(R, end.get("graph"), self.symbols, self.shape[0] if self.shape else 1)
        self._nodes = None if self.graph is None else set(self.graph.nodes)
        self._replay = None if self.graph is None else Replay(self.graph, self.convention, self.symbols)
        self.program = None
        self._by_key = None
        self._piece_of = None
        self._pieces = None
        self._hash_index = None

    # ----------------------------------------------------------- reading
    def _json(self, line, what):
        with open(self.path, "rb") as f:
            f.seek(int(self._offsets[line]))
            raw = f.readline()
        try:
            return _json.loads(raw)
        except ValueError as e:
            raise FormatError(f"{self.path}: {what} is not JSON ({e})") from e

    def _record(self, k, raw):
        try:
            d = _json.loads(raw)
        except ValueError as e:
            raise FormatError(f"{self.path}: line {k + 2} is not JSON ({e})") from e
        if self._signs is not None and isinstance(d, dict) and isinstance(d.get("path"), str):
            p = d["path"]
            if len(p) != len(self._signs) or not set(p) <= set(_SIGNS):
                raise FormatError(f"{self.path}: line {k + 2}: the path string does not match \"sign_path\"")
            d["path"] = [[v, _SIGNS.index(c) - 1] for v, c in zip(self._signs, p)]
        nout = self.shape[0] if self.shape else 1
        record = read_stratum(self._reader, d, len(self.symbols), nout, self.shape, self._nodes, k)
        try:  # an untrusted file: each stratum is replayed on the graph when read (mtsym.export.validate)
            if self._replay is not None:
                self._replay.check(record)
            else:
                check_alone(record)
        except ValueError as e:
            raise FormatError(f"{self.path}: line {k + 2} disagrees with the graph: {e}") from None
        return record

    def _make(self, k, raw):
        s = Stratum(self, self._record(k, raw), k)
        s.index = k
        s.piece = None if self._piece_of is None else int(self._piece_of[k])
        return s

    def _stratum(self, k):
        with open(self.path, "rb") as f:
            f.seek(int(self._offsets[k + 1]))
            return self._make(k, f.readline())

    @property
    def strata(self):
        """The strata, in the order enumeration found them (parsed when asked for)."""
        return _Strata(self)

    @property
    def pieces(self):
        """The pieces, in order of first appearance (one pass over the file, on first use)."""
        if self._pieces is None:
            self._group()
        return self._pieces

    def _group(self):
        ids, first, forms = {}, [], []
        piece_of = np.empty(self._count, dtype=np.int64)
        dims = []
        for s in self.strata:
            p = ids.get(s.forms)
            if p is None:
                p = ids[s.forms] = len(forms)
                forms.append(s.forms)
                first.append(s.index)
                dims.append(s.dim)
            dims[p] = max(dims[p], s.dim)
            piece_of[s.index] = p
        self._piece_of = piece_of
        self._pieces = [_LazyPiece(self, i, f, d) for i, (f, d) in enumerate(zip(forms, dims))]

    def __len__(self):
        return len(self.pieces)

    # ----------------------------------------------------------- locating
    def stratum_at(self, p):
        """The stratum holding an exact point: the graph names its path, a hash index finds the line."""
        pt = self._point(p)
        path = _path_at(self.graph, pt)
        if path is not None:
            for k in self._hashed(_path_hash(path)):
                s = self._stratum(k)
                if s.path == path:
                    s.piece = None if self._piece_of is None else int(self._piece_of[k])
                    return s
        for s in self.strata:
            if s.contains(pt):
                return s
        raise InputError(f"no stratum holds {pt}; the table is incomplete")  # pragma: no cover

    def _hashed(self, h):
        if self._hash_index is None:
            hs = np.empty(self._count, dtype=np.uint64)
            for s in self.strata:
                hs[s.index] = _path_hash(s.path)
            order = np.argsort(hs, kind="stable")
            self._hash_index = (hs[order], order)
        hs, order = self._hash_index
        lo, hi = np.searchsorted(hs, np.uint64(h), "left"), np.searchsorted(hs, np.uint64(h), "right")
        return order[lo:hi].tolist()

    def piece_at(self, p):
        s = self.stratum_at(p)
        if self._piece_of is None:
            self._group()
        return self.pieces[int(self._piece_of[s.index])]

    def __repr__(self):
        return (f"<StreamedTable {self.name}({', '.join(map(str, self.symbols))}): {self._count} strata, "
                f"convention {self.convention.name}, {self.path}>")


class _LazyPiece(Piece):
    """A piece of a streamed table: its strata are read when asked for."""

    def __init__(self, table, index, forms, dim):
        self._table, self.forms, self.index, self.dim = table, forms, index, dim
        self._expr = self._grad = None

    @property
    def strata(self):
        t = self._table
        return [t.strata[k] for k in np.flatnonzero(t._piece_of == self.index).tolist()]


def _path_at(graph, point):
    """The decision path at an exact point of a branch-free graph (``None`` with branches)."""
    if graph is None or graph.has_branches():
        return None
    vals = graph.values_at(point)
    path = []
    for v in sorted(graph.nodes):
        d = graph.nodes[v]
        prim = PRIMITIVES[d["op"]]
        if prim.switching:
            path.append((v, prim.case_of([vals[u] for u in d["inputs"]], d["params"])))
    return tuple(path)


def _path_hash(path):
    return int.from_bytes(hashlib.blake2b(repr(path).encode(), digest_size=8).digest(), "little")


def open_table(path):
    """A table written by ``mt.derive(..., out=path)``, read lazily (:class:`StreamedTable`)."""
    return StreamedTable(path)


register("table.open", open_table)
