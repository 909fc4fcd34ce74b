"""Network endpoints found in strings: URLs, bare host names and e-mail addresses.

:func:`extract_endpoints` takes ``(file, kind, strings)`` sources (``kind`` is ``dex``,
``resource`` or ``asset``) and returns one :class:`Endpoint` per distinct URL / host / address,
with every file it came from. It is built to be fed hundreds of thousands of DEX strings: each
string is rejected with cheap substring tests before any (pre-compiled) regex runs.

Bare host names are reported conservatively. A dotted lower-case token counts as a host only
when its last label is a common top-level domain that is not also a usual file extension, and
it is not a reversed Java package name (``com.tencent.mm`` is a package, not the Myanmar host
``mm``). URLs are reported for any well-formed host. XML namespace URIs such as
``http://schemas.android.com/apk/res/android`` are identifiers, not endpoints, and are skipped.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Iterable

SOURCE_KINDS = ("dex", "resource", "asset")

_URL = re.compile(r"(?i)\b((?:https?|wss?)://[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]+)")
_EMAIL = re.compile(r"(?<![\w.%+-])([A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,12})(?![\w-]|\.\w)")
_HOST = re.compile(r"(?<![\w.@/:%$#-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,8}[a-z]{2,12})(?![\w-]|\.\w)")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_TRAILING = ".,;:!?)]}'\"*"

#: top-level domains accepted for bare hosts and e-mail domains: common generic TLDs and
#: country codes that are rarely an identifier. Left out on purpose: TLDs that are usual file
#: extensions (so, py, md, sh, pl, ps, rs, cc, ts, mk, am, do, pm, ai, gz) and TLDs that are
#: usual JavaScript / Java member names (``this.id``, ``window.top``, ``res.info``,
#: ``plus.os.name``, ``this.app``, ``row.th``: id, top, info, name, app, link, live, news, th,
#: tr, at, it, is, in, my, no, be, es, se, ch, ...). URLs are not limited by this list.
BARE_TLDS = frozenset("""
com net org edu gov mobi asia biz io co me tv xyz vip wang ltd tech
cn hk mo tw jp kr sg de fr uk ru eu us ca au nz br nl ie pt cz gr il ae za mx ar cl vn ph fi dk
""".split())

#: first labels of reversed-domain Java package names (``com.foo.bar``, ``cn.jpush.android``)
PACKAGE_ROOTS = frozenset("""
com org net cn io android androidx java javax kotlin kotlinx dalvik me de fr uk edu gov tv co
""".split())

#: the last label that makes ``cn.bing.com`` a host although it starts like a package name
_REAL_HOST_TLDS = frozenset({"com", "net", "org", "cn", "edu", "gov"})

#: XML namespace / schema identifiers that look like URLs but are never fetched
NAMESPACE_HOSTS = frozenset({
    "schemas.android.com", "www.w3.org", "ns.adobe.com", "xmlpull.org", "www.xmlpull.org",
    "schemas.xmlsoap.org", "schemas.openxmlformats.org", "purl.org", "xml.apache.org",
    "schemas.microsoft.com", "java.sun.com", "xml.org", "www.xml.org",
})


@dataclass(frozen=True)
class Endpoint:
    """One URL, host or e-mail address, with the files it was found in."""

    kind: str  # url | host | email
    value: str
    host: str
    cleartext: bool
    sources: tuple[tuple[str, str], ...]  # (source kind, file), sorted

    def to_json(self) -> dict[str, Any]:
        """The ``endpoints`` fact in the documented key order."""
        return {
            "id": f"endpoint:{self.kind}:{self.value}",
            "kind": self.kind,
            "value": self.value,
            "host": self.host,
            "cleartext": self.cleartext,
            "sources": [{"file": f, "kind": k} for k, f in self.sources],
        }


def _valid_host(host: str) -> bool:
    if not host or len(host) > 253:
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    labels = host.split(".")
    if len(labels) < 2 or not labels[-1].isalpha():
        return False
    return all(_LABEL.match(label) for label in labels)


def url_host(url: str) -> str | None:
    """Lower-case host of a URL, ``None`` if it has none or an invalid one."""
    rest = url.split("://", 1)[1] if "://" in url else url
    authority = re.split(r"[/?#;]", rest, maxsplit=1)[0]
    authority = authority.rsplit("@", 1)[-1]
    if authority.startswith("["):
        host = authority[: authority.find("]") + 1] if "]" in authority else ""
    else:
        host = authority.split(":", 1)[0]
    host = host.lower().rstrip(".")
    return host if _valid_host(host) else None


def is_bare_host(token: str) -> bool:
    """Whether a lower-case dotted token should be reported as a host name (conservative)."""
    labels = token.split(".")
    if len(labels) < 2 or labels[-1] not in BARE_TLDS:
        return False
    if labels[0] in PACKAGE_ROOTS and labels[-1] not in _REAL_HOST_TLDS:
        return False
    return all(_LABEL.match(label) for label in labels)


def _clean_url(url: str) -> str:
    """Drop punctuation that ends the sentence or the quote around a URL; cap its length."""
    return url.rstrip(_TRAILING)[:2048]


class _Collector:
    __slots__ = ("found",)

    def __init__(self) -> None:
        self.found: dict[tuple[str, str], tuple[str, bool, set[tuple[str, str]]]] = {}

    def add(self, kind: str, value: str, host: str, cleartext: bool, source: tuple[str, str]) -> None:
        key = (kind, value)
        entry = self.found.get(key)
        if entry is None:
            self.found[key] = (host, cleartext, {source})
        else:
            entry[2].add(source)

    def scan(self, text: str, source: tuple[str, str]) -> None:
        if "." not in text:
            return
        spans: list[tuple[int, int]] = []
        if "://" in text:
            for match in _URL.finditer(text):
                url = _clean_url(match.group(1))
                host = url_host(url)
                spans.append((match.start(1), match.start(1) + len(url)))
                if host is None or host in NAMESPACE_HOSTS:
                    continue
                scheme = url.split(":", 1)[0].lower()
                url = scheme + url[len(scheme):]
                self.add("url", url, host, scheme in ("http", "ws"), source)
        if "@" in text:
            for match in _EMAIL.finditer(text):
                if any(s <= match.start(1) < e for s, e in spans):
                    continue  # user-info of a URL
                address = match.group(1).lower()
                domain = address.rsplit("@", 1)[1]
                if domain.rsplit(".", 1)[1] in BARE_TLDS and _valid_host(domain):
                    self.add("email", address, domain, False, source)
                    spans.append((match.start(1), match.end(1)))
        for match in _HOST.finditer(text):
            start = match.start(1)
            if any(s <= start < e for s, e in spans):
                continue
            token = match.group(1)
            if is_bare_host(token) and token not in NAMESPACE_HOSTS:
                self.add("host", token, token, False, source)


def find_endpoints(sources: Iterable[tuple[str, str, Iterable[str]]]) -> list[Endpoint]:
    """Endpoints in ``(file, kind, strings)`` sources, sorted by kind then value.

    ``kind`` must be one of ``dex``, ``resource``, ``asset``; a ``ValueError`` names a bad one.
    """
    collector = _Collector()
    for file, kind, strings in sources:
        if kind not in SOURCE_KINDS:
            raise ValueError(f"endpoint source kind must be one of {', '.join(SOURCE_KINDS)}, not {kind!r}")
        source = (kind, file)
        scan = collector.scan
        for text in strings:
            scan(text, source)
    return [
        Endpoint(kind=k, value=v, host=host, cleartext=clear, sources=tuple(sorted(srcs)))
        for (k, v), (host, clear, srcs) in sorted(collector.found.items())
    ]


def extract_endpoints(sources: Iterable[tuple[str, str, Iterable[str]]]) -> list[dict[str, Any]]:
    """The ``endpoints`` fact rows (result-format dicts) for ``(file, kind, strings)`` sources.

    Same as :func:`find_endpoints`, serialised; rows are sorted by kind then value and each
    row's ``sources`` by kind then file.
    """
    return [endpoint.to_json() for endpoint in find_endpoints(sources)]
