"""A direct reader of the DEX format: header, id tables, class defs, class data and code items.

:class:`DexFile` takes the raw bytes of one ``classes*.dex``. The id tables are unpacked once with
``struct`` into tuples of ints; strings (MUTF-8) are decoded lazily and cached; class data is parsed
on first use into plain ``(method id, access flags, code_off)`` tuples, with a sorted table of
code-item offsets for offset -> method lookups. Nothing here builds per-instruction objects: bytecode is scanned by
:mod:`scanner.apk.bytecode` and :mod:`scanner.apk.callsites` directly on the bytes.

Unreadable input raises :class:`DexError` (an :class:`~scanner.errors.InputError`) with one line
naming the DEX and the problem; :func:`classify_unreadable` tells encrypted (high-entropy) data
from other garbage so the caller can record the right limitation kind. A checksum mismatch does not
stop reading; it is reported in :attr:`DexFile.note`.
"""

from __future__ import annotations

import math
import struct
import sys
from array import array
import zlib
from bisect import bisect_right
from dataclasses import dataclass
from typing import Iterator, Sequence

from ..errors import InputError

HEADER_SIZE = 0x70
_ENDIAN_CONSTANT = 0x12345678
_NO_INDEX = 0xFFFFFFFF
_BIG_ENDIAN_HOST = sys.byteorder == "big"
_HEADER = struct.Struct("<8sI20sIII" + "I" * 17)


class DexError(InputError):
    """A DEX file that cannot be read (bad magic, truncated, tables out of range)."""


#: A method defined by a class: (method id, access flags, code item offset or 0). Plain tuples,
#: not objects: a large app defines hundreds of thousands of them.
EncodedMethod = tuple[int, int, int]


@dataclass(frozen=True)
class ClassDef:
    """One class definition (indices into the DEX's tables; ``NO_INDEX`` superclass = none)."""

    type_idx: int
    access_flags: int
    superclass_idx: int
    interfaces: tuple[int, ...]
    class_data_off: int


def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    """Decode one unsigned LEB128 at ``pos``; returns (value, next position)."""
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    result, shift = b & 0x7F, 7
    pos += 1
    while True:
        b = data[pos]
        result |= (b & 0x7F) << shift
        pos += 1
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 35:  # a sixth byte: malformed; stop here rather than run on (callers bound the value)
            return result, pos


def decode_mutf8(raw: bytes) -> str:
    """Decode Modified UTF-8 (``C0 80`` for NUL, surrogate pairs encoded as two 3-byte sequences)."""
    try:
        text = raw.decode("utf-8")
        return text
    except UnicodeDecodeError:
        pass
    try:
        text = raw.replace(b"\xc0\x80", b"\x00").decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        # Not even modified UTF-8 (a hostile or damaged string): show the bad bytes as U+FFFD
        # rather than fail; such a string can never spell a catalogue API or a class name.
        return raw.replace(b"\xc0\x80", b"\x00").decode("utf-8", "replace")
    # Join CESU-8 surrogate pairs into real code points; lone surrogates are kept as they are.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def shannon_entropy(data: bytes) -> float:
    """Bits per byte of ``data`` (8.0 = indistinguishable from random)."""
    if not data:
        return 0.0
    counts = [0] * 256
    for b in data:
        counts[b] += 1
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in counts if c)


def classify_unreadable(data: bytes) -> str:
    """``dex_encrypted`` when a file that should be a DEX looks like ciphertext, else ``dex_unreadable``."""
    sample = data[:65536]
    return "dex_encrypted" if len(sample) >= 1024 and shannon_entropy(sample) > 7.9 else "dex_unreadable"


class DexFile:
    """One parsed DEX. ``name`` is its entry name in the APK (``classes2.dex``)."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.data = data
        self.note: str | None = None
        if len(data) < HEADER_SIZE:
            raise DexError(f"truncated DEX ({len(data)} bytes, header needs {HEADER_SIZE})", name)
        fields = _HEADER.unpack_from(data, 0)
        magic = fields[0]
        if magic[:4] != b"dex\n" or magic[7] != 0 or not magic[4:7].isdigit():
            raise DexError(f"not a DEX file (magic {magic[:8]!r})", name)
        self.version = int(magic[4:7])
        checksum, file_size, header_size, endian = fields[1], fields[3], fields[4], fields[5]
        if endian != _ENDIAN_CONSTANT:
            raise DexError(f"unsupported endian tag 0x{endian:08x}", name)
        if header_size < HEADER_SIZE:
            raise DexError(f"bad header size {header_size}", name)
        if file_size > len(data):
            raise DexError(f"truncated DEX: header says {file_size} bytes, file has {len(data)}", name)
        computed = zlib.adler32(memoryview(data)[12:file_size])
        if computed != checksum:
            self.note = f"checksum mismatch (header 0x{checksum:08x}, computed 0x{computed:08x}); read anyway"
        (self._link_size, self._link_off, self._map_off,
         n_str, off_str, n_type, off_type, n_proto, off_proto,
         n_field, off_field, n_meth, off_meth, n_cls, off_cls, _data_size, _data_off) = fields[6:]
        for what, count, off, item in (
            ("string_ids", n_str, off_str, 4), ("type_ids", n_type, off_type, 4),
            ("proto_ids", n_proto, off_proto, 12), ("field_ids", n_field, off_field, 8),
            ("method_ids", n_meth, off_meth, 8), ("class_defs", n_cls, off_cls, 32),
        ):
            if count and (off < HEADER_SIZE or off + count * item > len(data)):
                raise DexError(f"{what} table out of range (offset 0x{off:x}, {count} items)", name)
        # Id tables as compact native arrays (4 or 2 bytes per value, not Python int objects):
        # a large app has hundreds of thousands of ids.
        self._string_offs = _u32_array(data, off_str, n_str)
        self._type_str = _u32_array(data, off_type, n_type)
        self._protos = _u32_array(data, off_proto, n_proto * 3)
        fld = _u16_array(data, off_field, n_field * 4)
        meth = _u16_array(data, off_meth, n_meth * 4)
        cls = _u32_array(data, off_cls, n_cls * 8)
        # field_id / method_id: u16 class, u16 type-or-proto, u32 name (read as two u32 words).
        self.field_class = fld[0::4]
        self.field_type = fld[1::4]
        self.field_name = _u32_array(data, off_field, n_field * 2)[1::2]
        self.method_class = meth[0::4]
        self.method_proto = meth[1::4]
        self.method_name = _u32_array(data, off_meth, n_meth * 2)[1::2]
        self._class_raw = cls
        self._validate_ids(n_str, n_type, n_proto)
        self._strings: dict[int, str] = {}
        self._proto_cache: dict[int, str] = {}
        self._class_defs: list[ClassDef] | None = None
        self._methods: list[tuple[EncodedMethod, ...]] | None = None
        self._method_total = 0
        self._code_offs: list[int] = []
        self._code_methods: dict[int, tuple[int, ...]] = {}

    def _validate_ids(self, n_str: int, n_type: int, n_proto: int) -> None:
        """Every index in the id tables points inside its table, every string offset inside the
        file with a terminator after it: so that later lookups cannot run out of range. The
        checks are C-speed ``max()`` calls over the compact arrays (a few ms on a large app)."""
        name, data = self.name, self.data

        def check(what: str, values: Sequence[int], bound: int) -> None:
            if len(values) and (top := max(values)) >= bound:
                raise DexError(f"{what} refers to index {top}, beyond the {bound} entries of its table", name)

        if len(self._string_offs):
            last = max(self._string_offs)
            if last < HEADER_SIZE or last >= len(data) or data.rfind(b"\x00") < last:
                raise DexError("string data out of range (a string starts past the end of the file "
                               "or has no terminator)", name)
            if min(self._string_offs) < HEADER_SIZE:
                raise DexError("string data out of range (a string starts inside the header)", name)
        check("a type id", self._type_str, n_str)
        check("a method id's class", self.method_class, n_type)
        check("a method id's prototype", self.method_proto, n_proto)
        check("a method id's name", self.method_name, n_str)
        check("a field id's class", self.field_class, n_type)
        check("a field id's type", self.field_type, n_type)
        check("a field id's name", self.field_name, n_str)
        check("a prototype's shorty", self._protos[0::3], n_str)
        check("a prototype's return type", self._protos[1::3], n_type)
        params = [off for off in self._protos[2::3] if off]
        if params and (min(params) < HEADER_SIZE or max(params) + 4 > len(data)):
            raise DexError("a prototype's parameter list is out of range", name)

    # -- sizes ---------------------------------------------------------------------------
    @property
    def string_count(self) -> int:
        """Number of entries in the string table."""
        return len(self._string_offs)

    @property
    def method_id_count(self) -> int:
        """Number of method ids (referenced or defined methods)."""
        return len(self.method_class)

    # -- strings and types ---------------------------------------------------------------
    def string(self, idx: int) -> str:
        """String ``idx`` of the string table (decoded once, then cached)."""
        cached = self._strings.get(idx)
        if cached is None:
            cached = self._decode(idx)
            self._strings[idx] = cached
        return cached

    def _decode(self, idx: int) -> str:
        data = self.data
        off = self._string_offs[idx]
        try:
            _, start = _uleb(data, off)
        except IndexError:
            raise DexError(f"string {idx} out of range", self.name) from None
        end = data.find(b"\x00", start)
        if end < 0:
            raise DexError(f"string {idx} not terminated", self.name)
        return decode_mutf8(data[start:end])

    def strings(self) -> Iterator[str]:
        """Every string of the table, in table order (decoded on the fly, not cached: callers
        that scan all strings of a large app should not keep them all alive)."""
        cache = self._strings
        for i in range(len(self._string_offs)):
            text = cache.get(i)
            yield text if text is not None else self._decode(i)

    def strings_with(self, needle: bytes) -> Iterator[str]:
        """The strings whose MUTF-8 bytes contain ``needle``, in table order (not cached).

        The test runs on the raw bytes, so the other strings are never decoded: for an ASCII
        needle such as ``b"."`` this equals ``(s for s in self.strings() if "." in s)`` at a
        fraction of the cost (most strings of a large app are never needed as text).
        """
        data, cache, name = self.data, self._strings, self.name
        find = data.find
        for idx, off in enumerate(self._string_offs):
            try:
                start = off + 1 if data[off] < 0x80 else _uleb(data, off)[1]
            except IndexError:
                raise DexError(f"string {idx} out of range", name) from None
            end = find(b"\x00", start)
            if end < 0:
                raise DexError(f"string {idx} not terminated", name)
            if find(needle, start, end) >= 0:
                text = cache.get(idx)
                yield text if text is not None else decode_mutf8(data[start:end])

    def find_string(self, text: str) -> int | None:
        """Index of ``text`` in the (sorted) string table, or ``None``; binary search."""
        lo, hi = 0, len(self._string_offs)
        key = _utf16_key(text)
        while lo < hi:
            mid = (lo + hi) // 2
            cur = _utf16_key(self.string(mid))
            if cur < key:
                lo = mid + 1
            elif cur > key:
                hi = mid
            else:
                return mid
        return None

    def type_name(self, type_idx: int) -> str:
        """Type descriptor of type id ``type_idx`` (``Landroid/os/Build;``)."""
        return self.string(self._type_str[type_idx])

    def find_type(self, descriptor: str) -> int | None:
        """Type id of ``descriptor``, or ``None`` (type_ids are sorted by string index)."""
        sidx = self.find_string(descriptor)
        if sidx is None:
            return None
        types = self._type_str
        lo, hi = 0, len(types)
        while lo < hi:
            mid = (lo + hi) // 2
            if types[mid] < sidx:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(types) and types[lo] == sidx else None

    @property
    def type_count(self) -> int:
        """Number of type ids."""
        return len(self._type_str)

    # -- protos, fields, methods -------------------------------------------------------------
    def proto(self, proto_idx: int) -> str:
        """Prototype ``(params)ret`` of proto id ``proto_idx``."""
        cached = self._proto_cache.get(proto_idx)
        if cached is not None:
            return cached
        _shorty, ret, params_off = self._protos[proto_idx * 3: proto_idx * 3 + 3]
        params = "".join(self.type_name(t) for t in self.type_list(params_off))
        text = f"({params}){self.type_name(ret)}"
        self._proto_cache[proto_idx] = text
        return text

    def proto_param_types(self, proto_idx: int) -> list[str]:
        """Parameter type descriptors of a proto."""
        return [self.type_name(t) for t in self.type_list(self._protos[proto_idx * 3 + 2])]

    def type_list(self, off: int) -> tuple[int, ...]:
        """A type_list at ``off`` (0 = empty)."""
        if not off:
            return ()
        try:
            (size,) = struct.unpack_from("<I", self.data, off)
            if off + 4 + 2 * size > len(self.data):
                raise struct.error
            types = struct.unpack_from(f"<{size}H", self.data, off + 4)
        except struct.error:
            raise DexError(f"type list at 0x{off:x} out of range", self.name) from None
        if types and max(types) >= len(self._type_str):
            raise DexError(f"type list at 0x{off:x} names type {max(types)}, beyond the type table", self.name)
        return types

    def method_ref(self, method_idx: int) -> tuple[str, str, str]:
        """(class descriptor, name, prototype) of method id ``method_idx``."""
        return (self.type_name(self.method_class[method_idx]), self.string(self.method_name[method_idx]),
                self.proto(self.method_proto[method_idx]))

    def field_ref(self, field_idx: int) -> tuple[str, str, str]:
        """(class descriptor, name, type descriptor) of field id ``field_idx``."""
        return (self.type_name(self.field_class[field_idx]), self.string(self.field_name[field_idx]),
                self.type_name(self.field_type[field_idx]))

    def find_method_ids(self, class_desc: str, name: str, proto: str | None) -> list[int]:
        """Method ids spelling exactly ``class_desc->name proto`` (normally zero or one); with
        ``proto`` ``None``, every overload of ``class_desc->name``."""
        return self._find_member_ids(class_desc, name, proto, self.method_class, self.method_name, is_method=True)

    def find_field_ids(self, class_desc: str, name: str, type_desc: str) -> list[int]:
        """Field ids spelling exactly ``class_desc->name:type_desc`` (normally zero or one)."""
        return self._find_member_ids(class_desc, name, type_desc, self.field_class, self.field_name, is_method=False)

    def _find_member_ids(self, class_desc: str, name: str, proto: str | None, classes: Sequence[int],
                         names: Sequence[int], *, is_method: bool) -> list[int]:
        type_idx = self.find_type(class_desc)
        name_idx = self.find_string(name)
        if type_idx is None or name_idx is None:
            return []
        # Ids are sorted by defining class first: binary-search the class's range, then filter.
        lo, hi = 0, len(classes)
        while lo < hi:
            mid = (lo + hi) // 2
            if classes[mid] < type_idx:
                lo = mid + 1
            else:
                hi = mid
        found = []
        i = lo
        while i < len(classes) and classes[i] == type_idx:
            if names[i] == name_idx:
                if proto is None:
                    found.append(i)
                else:
                    other = self.proto(self.method_proto[i]) if is_method else self.type_name(self.field_type[i])
                    if other == proto:
                        found.append(i)
            i += 1
        return found

    # -- classes and code ----------------------------------------------------------------------
    def class_defs(self) -> list[ClassDef]:
        """Every class definition, in file order."""
        if self._class_defs is None:
            raw = self._class_raw
            defs = []
            for i in range(0, len(raw), 8):
                type_idx, access, super_idx, ifaces_off, _src, _ann, data_off, _static = raw[i:i + 8]
                if type_idx >= len(self._type_str):
                    raise DexError(f"class_def {i // 8} names type {type_idx} out of range", self.name)
                if super_idx != _NO_INDEX and super_idx >= len(self._type_str):
                    raise DexError(f"class_def {i // 8} names superclass {super_idx} out of range", self.name)
                defs.append(ClassDef(type_idx, access, super_idx, self.type_list(ifaces_off), data_off))
            self._class_defs = defs
        return self._class_defs

    def class_methods(self) -> list[tuple[EncodedMethod, ...]]:
        """(method id, access flags, code_off) of the direct then virtual methods of every class
        def (parallel to :meth:`class_defs`)."""
        if self._methods is None:
            self._parse_all_class_data()
        assert self._methods is not None
        return self._methods

    def _parse_all_class_data(self) -> None:
        data, uleb = self.data, _uleb
        all_methods: list[tuple[EncodedMethod, ...]] = []
        bound = len(self.method_class)
        by_code: dict[int, list[int]] = {}
        for cdef in self.class_defs():
            off = cdef.class_data_off
            if not off:
                all_methods.append(())
                continue
            try:
                n_sf, pos = uleb(data, off)
                n_if, pos = uleb(data, pos)
                n_dm, pos = uleb(data, pos)
                n_vm, pos = uleb(data, pos)
                for _ in range(n_sf + n_if):
                    _, pos = uleb(data, pos)
                    _, pos = uleb(data, pos)
                out: list[EncodedMethod] = []
                for count in (n_dm, n_vm):
                    idx = 0
                    for _ in range(count):
                        b = data[pos]  # method_idx_diff: almost always one byte
                        if b < 0x80:
                            idx += b
                            pos += 1
                        else:
                            diff, pos = uleb(data, pos)
                            idx += diff
                        access, pos = uleb(data, pos)
                        code_off, pos = uleb(data, pos)
                        out.append((idx, access, code_off))
                        if code_off:
                            row = by_code.get(code_off)
                            if row is None:
                                by_code[code_off] = [idx]
                            else:
                                row.append(idx)
                    if idx >= bound:  # ids only grow within a list: its last one is its largest
                        raise DexError(f"class data defines method {idx}, beyond the {bound} method ids", self.name)
            except IndexError:
                raise DexError(f"class data at 0x{off:x} truncated", self.name) from None
            all_methods.append(tuple(out))
        size = len(data)
        for code_off in by_code:
            if code_off + 16 > size:
                raise DexError(f"code item at 0x{code_off:x} out of range", self.name)
        self._methods = all_methods
        self._method_total = sum(len(m) for m in all_methods)
        self._code_offs = sorted(by_code)
        self._code_methods = {k: tuple(v) for k, v in by_code.items()}

    def method_count(self) -> int:
        """Number of methods defined by the DEX's classes (androguard's ``get_encoded_methods()``)."""
        self.class_methods()
        return self._method_total

    def code_span(self, code_off: int) -> tuple[int, int]:
        """Byte range ``[start, end)`` of the instructions of the code item at ``code_off``."""
        (insns_size,) = struct.unpack_from("<I", self.data, code_off + 12)
        start = code_off + 16
        end = start + insns_size * 2
        if end > len(self.data):
            raise DexError(f"code item at 0x{code_off:x} runs past the end of the file", self.name)
        return start, end

    def method_at(self, offset: int) -> tuple[int, int, int] | None:
        """(first method id, insns start, insns end) of the code item holding byte ``offset``."""
        self.class_methods()
        offs = self._code_offs
        i = bisect_right(offs, offset - 16) - 1
        if i < 0:
            return None
        code_off = offs[i]
        start, end = self.code_span(code_off)
        if offset < end:
            return self._code_methods[code_off][0], start, end
        return None

    def code_bounds(self) -> tuple[int, int]:
        """Byte range from the first instruction of the lowest code item to the end of the
        highest one (``(0, 0)`` when no method has code): where bytecode scans need to look."""
        self.class_methods()
        if not self._code_offs:
            return 0, 0
        return self._code_offs[0] + 16, self.code_span(self._code_offs[-1])[1]

    def methods_at_start(self, start: int) -> tuple[int, ...]:
        """Method ids whose instructions begin at byte ``start`` (normally exactly one)."""
        self.class_methods()
        return self._code_methods.get(start - 16, ())


def _u32_array(data: bytes, off: int, count: int) -> array:
    table = array("I", data[off: off + 4 * count])
    if _BIG_ENDIAN_HOST:
        table.byteswap()
    return table


def _u16_array(data: bytes, off: int, count: int) -> array:
    table = array("H", data[off: off + 2 * count])
    if _BIG_ENDIAN_HOST:
        table.byteswap()
    return table


def _utf16_key(text: str) -> bytes:
    """Sort key matching DEX string order (UTF-16 code units)."""
    return text.encode("utf-16-be", "surrogatepass")


def dotted(descriptor: str) -> str:
    """``Lcom/x/App;`` -> ``com.x.App`` (other descriptors unchanged)."""
    if descriptor.startswith("L") and descriptor.endswith(";"):
        return descriptor[1:-1].replace("/", ".")
    return descriptor
