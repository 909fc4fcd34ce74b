"""Find PI-collecting WXML components: ``<button open-type=...>``, ``<input type="nickname">``,
``<camera>``, ``<live-pusher>``, ``<voip-room>``, and ``open-type`` on any other element: a
custom component (``<my-cell open-type="getUserInfo">``) that passes it on to its inner button.

A bound value (``open-type="{{ button.openType }}"``) is resolved when a string constant is
assigned to that key (``openType: 'getUserInfo'``, or a component property's
``value: 'getUserInfo'``) in the page's or component's own ``.js``, else in another JS file of
the same package (the caller passes a :data:`Resolver`); the element then says where the value
came from (``bound_from``).

Two inputs:

* WXML source (``*.wxml`` in a source tree): tags are tokenised with comments skipped, and every
  finding carries its 1-based line.
* Compiled WXML (``app-wxss.js``, ``page-frame.html``, ``page-frame.js`` in a wxapkg): the
  compiler turns each page into a function that builds elements with ``_n('tag')`` /
  ``_mz(z,'tag',[attr, index, ...])`` and ``_rz(z,node,'attr',index)``, where ``index`` points
  into a constant table ``Z([3,'value'])`` of a ``gz$gwx_N`` function. Static attribute values
  are resolved from that table and the page is named from the ``x=['./pages/a.wxml', ...]``
  list. The original WXML line is not recoverable, so ``line`` is ``None``; ``container`` and
  ``container_line`` say where in the compiled file the element is. Attribute values computed
  from data bindings are not resolved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

#: resolves the last key of a ``{{ }}`` binding in the WXML file's package: (values, "file:line")
Resolver = Callable[[str, str], tuple[tuple[str, ...], str | None]]
_BOUND = re.compile(r"^\s*\{\{\s*([A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*|\s*\[\s*'[\w$]+'\s*\])*)\s*\}\}\s*$")

TAGS = frozenset({"button", "input", "camera", "live-pusher", "voip-room"})
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TAG = re.compile(
    r"<([a-zA-Z][\w-]*)((?:\s+[^\s=>/\"']+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*/?>", re.S
)
_ATTR = re.compile(r"([^\s=>/\"']+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>\"']+))?")
_WXS = re.compile(r"<wxs\b[^>]*>.*?</wxs\s*>", re.S)


@dataclass(frozen=True)
class WxmlElement:
    """A PI-relevant element: tag, the attribute that matters (open-type / type) and where."""

    tag: str
    open_types: tuple[str, ...]
    input_type: str | None
    file: str
    line: int | None
    container: str
    container_line: int
    bound_from: str | None = None  #: where a ``{{ }}``-bound open-type was resolved (``file:line``)


def _blank(match: re.Match[str]) -> str:
    # keep newlines so line numbers stay right
    return re.sub(r"[^\n]", " ", match.group(0))


def _split_open_type(value: str | None) -> tuple[str, ...]:
    if not value or "{{" in value:
        return ()
    return tuple(v.strip() for v in value.split("|") if v.strip())


def binding_key(value: str) -> str | None:
    """The last key of a simple ``{{ a.b.openType }}`` binding (``openType``), else ``None``."""
    match = _BOUND.match(value)
    if match is None:
        return None
    return re.split(r"[.\[\]'\s]+", match.group(1).strip("]' "))[-1] or None


def scan_wxml(text: str, path: str, resolve: Resolver | None = None) -> list[WxmlElement]:
    """Elements of interest in a WXML source file, with 1-based lines."""
    clean = _WXS.sub(_blank, _COMMENT.sub(_blank, text))
    out: list[WxmlElement] = []
    for match in _TAG.finditer(clean):
        tag = match.group(1).lower()
        attrs: dict[str, str] = {}
        for attr in _ATTR.finditer(match.group(2)):
            value = attr.group(2) or ""
            if value[:1] in {'"', "'"}:
                value = value[1:-1]
            attrs[attr.group(1).lower()] = value
        raw_open_type = attrs.get("open-type")
        if tag not in TAGS and raw_open_type is None:
            continue
        open_types, bound_from = _split_open_type(raw_open_type), None
        key = binding_key(raw_open_type) if raw_open_type and "{{" in raw_open_type else None
        if key is not None and resolve is not None:
            open_types, bound_from = resolve(key, path)
        line = clean.count("\n", 0, match.start()) + 1
        element = WxmlElement(
            tag=tag,
            open_types=open_types if tag not in ("input", "camera", "live-pusher", "voip-room") else (),
            input_type=attrs.get("type") if tag == "input" else None,
            file=path,
            line=line,
            container=path,
            container_line=line,
            bound_from=bound_from,
        )
        if tag not in ("camera", "live-pusher", "voip-room") and not element.open_types and not element.input_type:
            continue
        out.append(element)
    return out


_X_LIST = re.compile(r"^var x=\[([^\]]*)\]")
_GZ_START = re.compile(r"^function gz\$gwx_(\w+)\(\)\{")
_Z_STATIC = re.compile(r"^Z\(\[3,'((?:[^'\\]|\\.)*)'\]\)\s*$")
_Z_REF = re.compile(r"^Z\(z\[(\d+)\]\)\s*$")
_Z_ANY = re.compile(r"^Z\(")
_M_START = re.compile(r"^var (m\d+)=function\(e,s,r,gg\)\{")
_USE_Z = re.compile(r"var z=gz\$gwx_(\w+)\(\)")
_E_MAP = re.compile(r"^e_\[x\[(\d+)\]\]=\{f:(m\d+),")
_N = re.compile(r"var (\w+)=_n\('([\w-]+)'\)")
_MZ = re.compile(r"var (\w+)=_mz\(z,'([\w-]+)',\[([^\]]*)\]")
_RZ = re.compile(r"_rz\(z,(\w+),'([\w-]+)',(-?\d+),")
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_INTERESTING = ("openType", "open-type", "type")


def is_compiled_wxml(text: str) -> bool:
    """True when ``text`` holds compiled WXML page functions."""
    return "gz$gwx_" in text and ("_mz(z," in text or "_n('" in text)


def _mz_attrs(attr_text: str) -> dict[str, int]:
    """Constant-table indexes of the interesting attributes in an ``_mz`` attribute list.

    The first index is absolute; later ones are added to a base that the runtime sets from the
    first non-zero index (``_mz`` in the WXML runtime does exactly this)."""
    attrs: dict[str, int] = {}
    parts = [p.strip() for p in attr_text.split(",")]
    base = 0
    for i in range(0, len(parts) - 1, 2):
        try:
            delta = int(parts[i + 1])
        except ValueError:
            continue
        index = base + delta
        if base == 0:
            base = delta
        name = parts[i].strip("'")
        if name in _INTERESTING and index >= 0:
            attrs[name] = index
    return attrs


class _CompiledPages:
    """Line-by-line reader of compiled WXML (one statement per line, as the compiler writes it)."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.tables: dict[str, list[str | None]] = {}
        self.m_to_file: dict[str, str] = {}
        # (page function, constant table, tag, attribute indexes, line) per element of interest
        self.found: list[tuple[str | None, str | None, str, dict[str, int], int]] = []
        self._table: list[str | None] | None = None
        self._m: str | None = None
        self._z: str | None = None
        self._nodes: dict[tuple[str | None, str], dict[str, int]] = {}

    def _table_line(self, table: list[str | None], line: str) -> None:
        if _Z_ANY.match(line):
            static, ref = _Z_STATIC.match(line), _Z_REF.match(line)
            if static:
                table.append(static.group(1).replace("\\'", "'"))
            elif ref and int(ref.group(1)) < len(table):
                table.append(table[int(ref.group(1))])
            else:
                table.append(None)
        elif line.startswith("})(__WXML_GLOBAL__.ops_cached"):
            self._table = None

    def feed(self, number: int, line: str) -> None:
        """Consume one (stripped) line of the compiled file."""
        if self._table is not None:
            self._table_line(self._table, line)
            return
        if gz := _GZ_START.match(line):
            self._table = self.tables.setdefault(gz.group(1), [])
            return
        if xs := _X_LIST.match(line):
            self.files = [f.removeprefix("./") for f in _QUOTED.findall(xs.group(1))]
            return
        if m_start := _M_START.match(line):
            self._m = m_start.group(1)
        if use_z := _USE_Z.search(line):
            self._z = use_z.group(1)
        if (e_map := _E_MAP.match(line)) and int(e_map.group(1)) < len(self.files):
            self.m_to_file[e_map.group(2)] = self.files[int(e_map.group(1))]
        for var, tag in _N.findall(line):
            if tag in TAGS:
                self._add(var, tag, {}, number)
        for var, tag, attr_text in _MZ.findall(line):
            if tag in TAGS:
                self._add(var, tag, _mz_attrs(attr_text), number)
        for var, name, index in _RZ.findall(line):
            attrs = self._nodes.get((self._m, var))
            if attrs is not None and name in _INTERESTING:
                attrs[name] = int(index)

    def _add(self, var: str, tag: str, attrs: dict[str, int], number: int) -> None:
        self._nodes[(self._m, var)] = attrs
        self.found.append((self._m, self._z, tag, attrs, number))


def scan_compiled_wxml(text: str, container: str) -> list[WxmlElement]:
    """Elements of interest in compiled WXML (``app-wxss.js``, ``page-frame.html``/``.js``)."""
    pages = _CompiledPages()
    for number, raw in enumerate(text.split("\n"), start=1):
        pages.feed(number, raw.strip())
    out: list[WxmlElement] = []
    for m_name, z_name, tag, attrs, number in pages.found:
        table = pages.tables.get(z_name or "", [])

        def value(key: str, attrs: dict[str, int] = attrs, table: list[str] = table) -> str | None:
            index = attrs.get(key)
            return table[index] if index is not None and 0 <= index < len(table) else None

        open_types = _split_open_type(value("openType") or value("open-type")) if tag == "button" else ()
        input_type = value("type") if tag == "input" else None
        if tag in {"button", "input"} and not open_types and not input_type:
            continue
        out.append(WxmlElement(
            tag=tag,
            open_types=open_types,
            input_type=input_type,
            file=pages.m_to_file.get(m_name or "", container),
            line=None,
            container=container,
            container_line=number,
        ))
    return out
