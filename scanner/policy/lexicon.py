"""The privacy-policy lexicon (``rules/policy-lexicon.yaml``) and its term matcher.

The lexicon maps the words of Chinese and English policies onto PI types of
``rules/pi-types.yaml`` and onto Android permissions, and holds the patterns for document roles,
rights and mechanisms, negations, purposes, SDK-record keys and list-table headers. Loading
checks every PI type, PI group and permission against the shipped catalogues, so a typo fails
at once (``UsageError`` naming the entry).

Matching is plain substring search (``str.find`` per term), case-insensitive, with ASCII terms
held to word boundaries and the longest term winning where terms overlap: a few milliseconds
for a long policy, and no regular expression built from data that could backtrack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import UsageError
from ..pi import vocabulary
from ..resources import rules_dir
from ..datapack import DataFile, DataKind, load

LEXICON_FILE = "policy-lexicon.yaml"
RIGHT_KINDS = ("cancellation", "correction", "deletion", "access_copy", "withdrawal", "complaint", "contact",
               "ads_opt_out", "children", "cross_border", "retention")
ROLES = ("sdk_list", "pi_list", "permission_list", "children_policy", "summary", "privacy_policy")
SDK_FIELDS = ("name", "operator", "purpose", "pi", "method", "link", "permission")

_ASCII_WORD = re.compile(r"[A-Za-z0-9]")


@dataclass(frozen=True)
class Term:
    """One term of the lexicon and what it stands for."""

    text: str
    kind: str  # "pi" or "permission"
    targets: tuple[str, ...]  # PI type ids, or permission names
    source: str
    generic: bool = False  # a "group:" term (设备标识符): narrowed by the specific terms it introduces


@dataclass(frozen=True)
class Match:
    """One occurrence of a term in a text."""

    start: int
    end: int
    term: Term


@dataclass(frozen=True)
class Lexicon:
    """The loaded lexicon."""

    version: str
    sha256: str
    pi_terms: tuple[Term, ...]
    permission_terms: tuple[Term, ...]
    negations: tuple[str, ...]
    purpose_markers: tuple[str, ...]
    scenario_markers: tuple[str, ...]
    roles: dict[str, tuple[re.Pattern[str], ...]]
    rights: dict[str, tuple[re.Pattern[str], ...]]
    response_time: re.Pattern[str]
    sdk_fields: dict[str, tuple[str, ...]]
    pi_list_fields: dict[str, tuple[str, ...]]
    permission_list_fields: dict[str, tuple[str, ...]]

    def find_pi(self, text: str) -> list[Match]:
        """Non-overlapping PI-term matches in ``text`` (longest first), sorted by position.

        A generic term (设备标识符) that introduces specific ones of its group ("设备标识符（IMEI、
        OAID）", "设备标识OAID") or sums them up ("IDFA、OAID等设备标识符") is dropped: the
        document named exactly which identifiers it means.
        """
        matches = find_terms(text, self.pi_terms)
        if not any(m.term.generic for m in matches):
            return matches
        kept = []
        for i, m in enumerate(matches):
            if m.term.generic and (_introduces(text, matches, i) or _sums_up(text, matches, i)):
                continue
            kept.append(m)
        return kept

    def find_permissions(self, text: str) -> list[Match]:
        """Non-overlapping permission-term matches in ``text``, sorted by position."""
        return find_terms(text, self.permission_terms)

    def field_of(self, key: str, table: str = "sdk") -> str | None:
        """The field a record key or table header names (``operator``, ``pi``...), or ``None``."""
        fields = {"sdk": self.sdk_fields, "pi_list": self.pi_list_fields, "permission_list": self.permission_list_fields}[table]
        norm = normalise_key(key)
        if not norm:
            return None
        for name, keys in fields.items():
            if norm in keys:
                return name
        # a header such as "收集个人信息类型（示例）" or "SDK名称/功能": prefix match on the longest key
        best: tuple[int, str] | None = None
        for name, keys in fields.items():
            for k in keys:
                if len(k) >= 2 and norm.startswith(k) and (best is None or len(k) > best[0]):
                    best = (len(k), name)
        return best[1] if best else None


_LEAD_IN = re.compile(r"^[\s:：(（\[【]*(如|例如|包括|包含|含|即|比如|such as|e\.g\.|including)?[\s:：]*", re.I)


def _introduces(text: str, matches: list[Match], i: int) -> bool:
    generic = matches[i]
    if i + 1 >= len(matches):
        return False
    nxt = matches[i + 1]
    gap = text[generic.end:nxt.start]
    return _LEAD_IN.fullmatch(gap) is not None and not nxt.term.generic and set(nxt.term.targets) <= set(generic.term.targets)


def _sums_up(text: str, matches: list[Match], i: int) -> bool:
    generic = matches[i]
    if i == 0:
        return False
    prev = matches[i - 1]
    gap = text[prev.end:generic.start]
    return re.fullmatch(r"\s*(等|and other|and similar)\s*(的)?\s*", gap) is not None and set(prev.term.targets) <= set(generic.term.targets)


def normalise_key(key: str) -> str:
    """A record key or header as compared with the lexicon: no blanks, marks or trailing colon."""
    return re.sub(r"[\s*_#>•·:：]+", "", key).strip().lower()


def _lower(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def find_terms(text: str, terms: tuple[Term, ...]) -> list[Match]:
    """Every non-overlapping occurrence of ``terms`` in ``text``: longest term first, ASCII on word boundaries."""
    low = _lower(text)
    found: list[Match] = []
    for term in terms:
        needle = term.text
        if not needle:
            continue
        ascii_start = bool(_ASCII_WORD.match(needle[0]))
        ascii_end = bool(_ASCII_WORD.match(needle[-1]))
        pos = low.find(needle)
        while pos >= 0:
            end = pos + len(needle)
            ok = not (ascii_start and pos > 0 and _ASCII_WORD.match(low[pos - 1])) and \
                not (ascii_end and end < len(low) and _ASCII_WORD.match(low[end]))
            if ok:
                found.append(Match(pos, end, term))
            pos = low.find(needle, pos + 1)
    if not found:
        return []
    found.sort(key=lambda m: (-(m.end - m.start), m.start))
    taken = bytearray(len(text))
    kept: list[Match] = []
    for m in found:
        if any(taken[m.start:m.end]):
            continue
        taken[m.start:m.end] = b"\x01" * (m.end - m.start)
        kept.append(m)
    kept.sort(key=lambda m: m.start)
    return kept


def _fail(message: str) -> UsageError:
    return UsageError(message, f"rules/{LEXICON_FILE}")


def _patterns(raw: Any, where: str) -> tuple[re.Pattern[str], ...]:
    if not isinstance(raw, list) or not raw:
        raise _fail(f"{where}: expected a non-empty list of patterns")
    out = []
    for pattern in raw:
        try:
            out.append(re.compile(str(pattern), re.IGNORECASE))
        except re.error as exc:
            raise _fail(f"{where}: bad pattern {pattern!r}: {exc}") from None
    return tuple(out)


def _fields(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise _fail(f"{where}: expected a mapping of field -> keys")
    return {str(k): tuple(normalise_key(str(v)) for v in vals) for k, vals in raw.items()}


def build_lexicon(source: DataFile) -> Lexicon:
    """Build the lexicon from checked data (PI types and the file's shape are checked by its schema)."""
    from ..apk.permissions import load_catalogue

    return _lexicon(source.data, set(load_catalogue().permissions), source.sha256)


LEXICON_KIND: DataKind[Lexicon] = DataKind(
    name="policy-lexicon", title="privacy-policy lexicon", schema="policy-lexicon.schema.json", build=build_lexicon,
    keys=frozenset({"pi_terms", "permission_terms"}),
)


def parse_lexicon(text: str, permissions: set[str], sha256: str = "") -> Lexicon:
    """Parse and check lexicon text against the schema and the given permission names (tests)."""
    from ..datapack import check_text

    problems, data = check_text(LEXICON_KIND, text.encode("utf-8"), LEXICON_FILE)
    if problems:
        raise _fail(str(problems[0]))
    return _lexicon(data, permissions, sha256)


def _lexicon(data: dict[str, Any], permissions: set[str], sha256: str) -> Lexicon:
    vocab = vocabulary()
    groups = vocab.groups()
    pi_terms: list[Term] = []
    for n, entry in enumerate(data.get("pi_terms") or []):
        targets: list[str] = []
        generic = False
        for pi in entry.get("pi") or []:
            if str(pi).startswith("group:"):
                generic = True
                group = str(pi)[6:]
                if group not in groups:
                    raise _fail(f"pi_terms[{n}]: unknown PI group {group!r}")
                targets.extend(vocab.in_group(group))
            elif pi in vocab:
                targets.append(pi)
            else:
                raise _fail(f"pi_terms[{n}]: unknown PI type {pi!r} (see rules/pi-types.yaml)")
        for term in entry.get("terms") or []:
            pi_terms.append(Term(_lower(str(term)), "pi", tuple(dict.fromkeys(targets)), str(entry.get("source") or ""), generic))
    perm_terms: list[Term] = []
    for n, entry in enumerate(data.get("permission_terms") or []):
        names = tuple(entry.get("permissions") or ())
        unknown = [p for p in names if p not in permissions]
        if unknown or not names:
            raise _fail(f"permission_terms[{n}]: unknown permission(s) {unknown or names}")
        for term in entry.get("terms") or []:
            perm_terms.append(Term(_lower(str(term)), "permission", names, "permission_terms"))
    roles = data.get("roles") or {}
    if set(roles) != set(ROLES):
        raise _fail(f"roles: expected exactly {', '.join(ROLES)}")
    rights = data.get("rights") or {}
    if set(rights) != set(RIGHT_KINDS):
        raise _fail(f"rights: expected exactly {', '.join(RIGHT_KINDS)}")
    sdk_fields = _fields(data.get("sdk_fields"), "sdk_fields")
    if set(sdk_fields) != set(SDK_FIELDS):
        raise _fail(f"sdk_fields: expected exactly {', '.join(SDK_FIELDS)}")
    try:
        response_time = re.compile(str(data["response_time"]))
    except (KeyError, re.error) as exc:
        raise _fail(f"response_time: {exc}") from None
    return Lexicon(
        version=str(data.get("version") or ""),
        sha256=sha256,
        pi_terms=tuple(pi_terms),
        permission_terms=tuple(perm_terms),
        negations=tuple(_lower(str(x)) for x in data.get("negations") or ()),
        purpose_markers=tuple(str(x) for x in data.get("purpose_markers") or ()),
        scenario_markers=tuple(str(x) for x in data.get("scenario_markers") or ()),
        roles={k: _patterns(v, f"roles.{k}") for k, v in roles.items()},
        rights={k: _patterns(v, f"rights.{k}") for k, v in rights.items()},
        response_time=response_time,
        sdk_fields=sdk_fields,
        pi_list_fields=_fields(data.get("pi_list_fields"), "pi_list_fields"),
        permission_list_fields=_fields(data.get("permission_list_fields"), "permission_list_fields"),
    )


@cache
def default_lexicon() -> Lexicon:
    """The shipped lexicon, loaded once per process (through the one data-pack loader)."""
    return load(LEXICON_KIND, rules_dir() / LEXICON_FILE)
