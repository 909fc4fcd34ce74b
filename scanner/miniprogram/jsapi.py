"""Find privacy-API use, privacy-agreement handling and URL literals in mini-program JavaScript.

Uses tree-sitter's JavaScript grammar, so text inside strings and comments never counts as a
call. Recognised forms: ``wx.getLocation(...)``, ``wx["getLocation"]``, references such as
``promisify(wx.getLocation)``, destructuring (``const { getLocation } = wx``), aliases (``var a = wx; a.getLocation()``, scoped to the function
that declares them), uni-app's ``uni.getLocation`` and Taro's ``Taro.getLocation`` (reported as
the wx interface of the same name), and ``wx.authorize({scope: "scope.userLocation"})`` with its scope. In compiled packages
every source file is wrapped as ``define("pages/x.js", function(...){...})`` inside
``app-service.js``; a use inside such a wrapper is reported against the wrapped file name, with
the line counted from the start of the wrapped module.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

import tree_sitter_javascript
from tree_sitter import Language, Node, Parser, Query, QueryCursor

# wx itself, and the cross-platform frameworks whose same-named calls become wx calls on WeChat.
ROOTS = ("wx", "uni", "Taro")
FUNCTION_TYPES = frozenset({
    "function_declaration", "function_expression", "function", "arrow_function", "method_definition",
    "generator_function_declaration", "generator_function",
})
MAX_NAME_CHAIN = 4


@dataclass(frozen=True)
class Location:
    """Where something is: reported file, 1-based line in it, byte column, enclosing function."""

    file: str
    line: int
    column: int
    function: str | None
    container: str
    container_line: int


@dataclass(frozen=True)
class JsApiUse:
    """One use of a ``wx`` interface (called or referenced)."""

    api: str
    scope: str | None
    where: Location
    framework: str | None = None  #: wx, uni (uni-app) or Taro: whose object it was reached through (an alias's root)


@dataclass(frozen=True)
class JsUrl:
    """A URL string literal and its host."""

    url: str
    host: str
    where: Location


@dataclass(frozen=True)
class JsScan:
    """Everything found in one JavaScript file."""

    api_uses: tuple[JsApiUse, ...]
    urls: tuple[JsUrl, ...]
    modules: tuple[str, ...]
    has_errors: bool
    encoding: str = "utf-8"  #: how the file was decoded: utf-8, gb18030, or utf-8-replaced (invalid bytes)


def to_utf8(source: bytes) -> tuple[bytes, str]:
    """The source as UTF-8 for the parser, and how it was decoded.

    Mini-program sources written on Chinese Windows are often GBK; tree-sitter needs valid
    UTF-8 (a single stray byte in a string literal made it fail). UTF-8 is tried first, then
    GB18030 (a superset of GBK and GB2312), and only then are invalid bytes replaced (U+FFFD),
    which the caller reports, since text inside them is not readable.
    """
    try:
        source.decode("utf-8")
        return source, "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return source.decode("gb18030").encode("utf-8"), "gb18030"
    except UnicodeDecodeError:
        return source.decode("utf-8", "replace").encode("utf-8"), "utf-8-replaced"


@cache
def _language() -> Language:
    return Language(tree_sitter_javascript.language())


@cache
def _parser() -> Parser:
    return Parser(_language())


def _quote(values: Iterable[str]) -> str:
    return " ".join(f'"{v}"' for v in sorted(set(values)))


# One query, one walk over the tree: pattern 0 = define()/definePlugin() wrappers, 1-2 = aliases
# of wx/uni, 3-4 = member / subscript access to an interface of interest, 5 = URL literals,
# 6 = destructuring (`const { getLocation } = wx`), 7 = context-object methods on any receiver.
_P_DEFINE, _P_ALIAS_VAR, _P_ALIAS_SET, _P_MEMBER, _P_SUBSCRIPT, _P_URL, _P_DESTRUCTURE, _P_METHOD = range(8)
_NO_METHOD = "0-no-method"  # no identifier is spelt like this; keeps pattern 7 valid without methods


@cache
def _query(props: tuple[str, ...], methods: tuple[str, ...]) -> Query:
    roots, names, method_names = _quote(ROOTS), _quote(props), _quote(methods or (_NO_METHOD,))
    return Query(_language(), f"""
(call_expression
  function: (identifier) @f
  arguments: (arguments . (string (string_fragment) @name) . [(function_expression) (arrow_function)] @body)
  (#any-of? @f "define" "definePlugin"))
(variable_declarator name: (identifier) @alias value: (identifier) @root (#any-of? @root {roots}))
(assignment_expression left: (identifier) @alias right: (identifier) @root (#any-of? @root {roots}))
((member_expression object: (identifier) @obj property: (property_identifier) @prop) @m
  (#any-of? @prop {names}))
((subscript_expression object: (identifier) @obj index: (string (string_fragment) @prop)) @m
  (#any-of? @prop {names}))
((string_fragment) @s (#match? @s "^(https?|wss?)://[^ ]"))
((variable_declarator
   name: (object_pattern [(shorthand_property_identifier_pattern) @prop @m
                          (pair_pattern key: (property_identifier) @prop @m)])
   value: (identifier) @obj)
  (#any-of? @obj {roots}) (#any-of? @prop {names}))
((member_expression property: (property_identifier) @method) @m (#any-of? @method {method_names}))
""")


class _Modules:
    """The ``define("name", function(){...})`` wrappers of a compiled file, by byte range, and the
    ``definePlugin("plugin://wx…", function(){...})`` wrappers around a plugin's modules."""

    def __init__(self, matches: list[dict[str, list[Node]]], source: bytes) -> None:
        rows: list[tuple[int, int, str, int, int, bool]] = []
        for caps in matches:
            body = caps["body"][0]
            kind = _text(caps["f"][0])
            name = (_text(caps["name"][0]) or "").lstrip("/")
            block = body.child_by_field_name("body") or body
            brace_row = block.start_point.row
            line_end = source.find(b"\n", block.start_byte)
            rest = source[block.start_byte + 1 : line_end if line_end >= 0 else len(source)]
            first_row = brace_row + 1 if not rest.strip() else brace_row
            if kind == "definePlugin":
                name = "__plugin__/" + name.removeprefix("plugin://").strip("/")
            rows.append((body.start_byte, body.end_byte, name, first_row, body.id, kind == "definePlugin"))
        rows.sort()
        self._starts = [r[0] for r in rows]
        self._rows = rows
        self.body_ids = frozenset(r[4] for r in rows if not r[5])
        self.names = tuple(sorted({r[2] for r in rows if not r[5]}))

    def find(self, offset: int) -> tuple[str | None, int, str | None]:
        """(module name or None, first code row, plugin folder or None) around ``offset``."""
        module: tuple[str, int] | None = None
        plugin: str | None = None
        i = bisect.bisect_right(self._starts, offset) - 1
        while i >= 0 and (module is None or plugin is None):
            start, end, name, first_row, _, is_plugin = self._rows[i]
            if start <= offset < end:
                if is_plugin and plugin is None:
                    plugin = name
                elif not is_plugin and module is None:
                    module = (name, first_row)
            i -= 1
        if module is None:
            return None, 0, plugin
        return module[0], module[1], plugin


def _text(node: Node | None) -> str | None:
    if node is None or node.text is None:
        return None
    return node.text.decode("utf-8", "replace")


def _function_name(func: Node) -> str | None:
    name = func.child_by_field_name("name")
    if name is not None:
        return _text(name)
    parent = func.parent
    if parent is None:
        return None
    if parent.type == "variable_declarator":
        return _text(parent.child_by_field_name("name"))
    if parent.type == "pair":
        key = _text(parent.child_by_field_name("key"))
        return key.strip("'\"") if key else None
    if parent.type in {"assignment_expression", "augmented_assignment_expression"}:
        left = parent.child_by_field_name("left")
        if left is not None and left.type == "member_expression":
            return _text(left.child_by_field_name("property"))
        return _text(left)
    return None


def enclosing_function(node: Node, boundaries: frozenset[int] = frozenset()) -> str | None:
    """Dotted chain of the named functions around ``node`` (outermost first), or ``None`` at top level.

    Anonymous functions are skipped; the walk stops at a ``define()`` module wrapper. Walks
    ``node.parent``, which tree-sitter answers by descending from the root: fine for one node,
    quadratic for many; :class:`_Functions` answers the same question for every use of a file.
    """
    names: list[str] = []
    current = node.parent
    while current is not None:
        if current.id in boundaries:
            break
        if current.type in FUNCTION_TYPES:
            name = _function_name(current)
            if name:
                names.append(name)
        current = current.parent
    if not names:
        return None
    return ".".join(reversed(names[:MAX_NAME_CHAIN]))


@cache
def _function_query() -> Query:
    """Pattern 0: every function; 1-4: an anonymous function's name from where it is stored
    (``var n = function…``, ``{n: function…}``, ``o.n = function…``, ``n = function…``), which
    :func:`_function_name` finds through ``Node.parent`` one node at a time."""
    language = _language()
    fns = "[" + " ".join(f"({k})" for k in sorted(FUNCTION_TYPES) if language.id_for_node_kind(k, True)) + "]"
    return Query(language, f"""
{fns} @fn
(variable_declarator name: (_) @name value: {fns} @fn)
(pair key: (_) @name value: {fns} @fn)
([(assignment_expression left: (member_expression property: (_) @name) right: {fns} @fn)
  (augmented_assignment_expression left: (member_expression property: (_) @name) right: {fns} @fn)])
([(assignment_expression left: (identifier) @name right: {fns} @fn)
  (augmented_assignment_expression left: (identifier) @name right: {fns} @fn)])
""")


class _Functions:
    """Every function of a file by byte range, with its enclosing function: the answer of
    :func:`enclosing_function` for any node in O(log n + chain), however deep the nesting (a
    140 kB file of 10,000 nested calls took minutes through ``Node.parent``)."""

    def __init__(self, root: Node, boundaries: frozenset[int]) -> None:
        found: dict[int, Node] = {}
        stored_as: dict[int, str | None] = {}
        for pattern, caps in QueryCursor(_function_query()).matches(root):
            fn = caps["fn"][0]
            found[fn.id] = fn
            if pattern == 2:
                key = _text(caps["name"][0])
                stored_as[fn.id] = key.strip("'\"") if key else None
            elif pattern:
                stored_as[fn.id] = _text(caps["name"][0])
        rows = sorted(found.values(), key=lambda n: (n.start_byte, -n.end_byte))
        self._starts = [n.start_byte for n in rows]
        self._ends = [n.end_byte for n in rows]
        self._boundary = [n.id in boundaries for n in rows]
        self._rows = rows
        self._parent: list[int] = []
        stack: list[int] = []
        for i, n in enumerate(rows):
            while stack and self._ends[stack[-1]] <= n.start_byte:
                stack.pop()
            self._parent.append(stack[-1] if stack else -1)
            stack.append(i)

        # named chain of every function, innermost first, at most MAX_NAME_CHAIN names; a parent
        # precedes its children in this order, so one pass fills it
        self._chains: list[tuple[str, ...]] = []
        for i, n in enumerate(rows):
            if self._boundary[i]:
                self._chains.append(())
                continue
            outer = self._chains[self._parent[i]] if self._parent[i] >= 0 else ()
            own = n.child_by_field_name("name")
            name = _text(own) if own is not None else stored_as.get(n.id)
            self._chains.append(((name,) + outer)[:MAX_NAME_CHAIN] if name else outer)

    def around(self, node: Node) -> str | None:
        """Dotted chain of the named functions around ``node`` (as :func:`enclosing_function`)."""
        start, end = node.start_byte, node.end_byte
        i = bisect.bisect_right(self._starts, start) - 1
        while i >= 0 and not (self._starts[i] <= start and end <= self._ends[i] and self._rows[i].id != node.id):
            i = self._parent[i]
        chain = self._chains[i] if i >= 0 else ()
        return ".".join(reversed(chain)) if chain else None


def _aliases(matches: list[dict[str, list[Node]]], root: Node) -> dict[str, list[tuple[int, int, str]]]:
    """Alias name -> byte ranges (scope of the declaring function) where it stands for a root, and the root."""
    out: dict[str, list[tuple[int, int, str]]] = {}
    for caps in matches:
        alias = caps["alias"][0]
        name = _text(alias)
        if not name or name in ROOTS:
            continue
        scope = alias.parent
        while scope is not None and scope.type not in FUNCTION_TYPES and scope.type != "program":
            scope = scope.parent
        scope = scope or root
        out.setdefault(name, []).append((scope.start_byte, scope.end_byte, _text(caps["root"][0]) or ""))
    return out


def _scope_of_call(member: Node) -> Node | None:
    """The object literal passed as first argument when ``member`` is called, else ``None``."""
    call = member.parent
    if call is None or call.type != "call_expression" or call.child_by_field_name("function") != member:
        return None
    args = call.child_by_field_name("arguments")
    if args is None or args.named_child_count == 0:
        return None
    first = args.named_children[0]
    return first if first.type == "object" else None


def _string_property(obj: Node, key: str) -> str | None:
    for pair in obj.named_children:
        if pair.type != "pair":
            continue
        name = _text(pair.child_by_field_name("key"))
        if name is None or name.strip("'\"") != key:
            continue
        value = pair.child_by_field_name("value")
        if value is not None and value.type == "string":
            frag = [c for c in value.named_children if c.type == "string_fragment"]
            return _text(frag[0]) if len(frag) == 1 else ("" if not frag else None)
    return None


def url_host(url: str) -> str | None:
    """Lower-case host of an absolute URL literal, or ``None`` when it has no usable host."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host or "." not in host or any(c in host for c in "${}+ "):
        return None
    return host.lower().rstrip(".")


def scan_js(source: bytes, path: str, api_names: Iterable[str], methods: Iterable[str] = ()) -> JsScan:
    """Scan one JavaScript file for uses of the interfaces ``api_names`` (plus ``authorize``) and
    for URL literals (``wx.request`` URLs included). ``path`` is the package-relative file name.
    ``methods`` are context-object method names (``moveToLocation``) matched on any receiver;
    such a use is reported with ``api`` = the method name.

    Code inside a ``definePlugin("plugin://wx…")`` wrapper is reported under ``__plugin__/wx…/``,
    the folder compiled packages keep plugin files in."""
    source, encoding = to_utf8(source)
    tree = _parser().parse(source)
    root = tree.root_node
    props = tuple(sorted(set(api_names) | {"authorize"}))
    by_pattern: dict[int, list[dict[str, list[Node]]]] = {i: [] for i in range(8)}
    for pattern, caps in QueryCursor(_query(props, tuple(sorted(set(methods))))).matches(root):
        by_pattern[pattern].append(caps)
    modules = _Modules(by_pattern[_P_DEFINE], source)
    aliases = _aliases(by_pattern[_P_ALIAS_VAR] + by_pattern[_P_ALIAS_SET], root)
    functions = _Functions(root, modules.body_ids)

    def locate(node: Node) -> Location:
        row = node.start_point.row
        name, first_row, plugin = modules.find(node.start_byte)
        function = functions.around(node)
        if name is None:
            file = f"{plugin}/{path}" if plugin else path
            return Location(file, row + 1, node.start_point.column, function, path, row + 1)
        file = f"{plugin}/{name}" if plugin else name
        return Location(file, max(1, row - first_row + 1), node.start_point.column, function, path, row + 1)

    uses: list[JsApiUse] = []
    for caps in by_pattern[_P_MEMBER] + by_pattern[_P_SUBSCRIPT] + by_pattern[_P_DESTRUCTURE]:
        obj = caps["obj"][0]
        obj_name = _text(obj) or ""
        framework = obj_name
        if obj_name not in ROOTS:
            framework = next((root_name for start, end, root_name in aliases.get(obj_name, ())
                              if start <= obj.start_byte < end), "")
            if not framework:
                continue
        api = _text(caps["prop"][0]) or ""
        member = caps["m"][0]
        scope = None
        if api == "authorize":
            arg = _scope_of_call(member)
            scope = _string_property(arg, "scope") if arg is not None else None
        uses.append(JsApiUse(api=api, scope=scope or None, where=locate(member), framework=framework))
    for caps in by_pattern[_P_METHOD]:
        uses.append(JsApiUse(api=_text(caps["method"][0]) or "", scope=None, where=locate(caps["m"][0])))

    urls: list[JsUrl] = []
    for node in (caps["s"][0] for caps in by_pattern[_P_URL]):
        url = _text(node) or ""
        host = url_host(url)
        if host is not None:
            urls.append(JsUrl(url=url, host=host, where=locate(node)))

    uses.sort(key=lambda u: (u.where.container_line, u.where.column, u.api))
    urls.sort(key=lambda u: (u.where.container_line, u.where.column, u.url))
    return JsScan(api_uses=tuple(uses), urls=tuple(urls), modules=modules.names, has_errors=root.has_error,
                  encoding=encoding)
