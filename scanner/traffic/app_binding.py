"""Which recorded requests belong to the app under test.

A proxy on a test phone also carries other apps' and the system's traffic, so a request is
the app's only when it carries a *tie* to the app:

- ``package``: the app's package name (or the mini-program's AppID) as a value of its own in the
  URL, a header (User-Agent, ``X-Requested-With``, ``Referer``) or a decoded body field. A value
  inside a list does not count: an installed-app list sent by another app names this app too;
- ``app_key``: the value of an app key from the app's manifest meta-data (``UMENG_APPKEY``,
  ``JPUSH_APPKEY``, ...) anywhere in the request;
- ``host``: the request goes to a host the app's own code or resources name, and that host is
  not a shared SDK service (every app with the SDK sends there) nor a well-known platform host;
- ``capture_scope``: the examiner recorded the session with the capture limited to this app
  (``piscan proxy --app-only``: an Android per-app VPN, mitmproxy's WireGuard mode with an app
  filter, or a phone with nothing else installed). It is the examiner's statement, and says so.

Requests with no tie are listed as unattributed traffic and never become the app's findings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .decoders import decode_request
from .observation import RequestData
from .observation import claims

#: manifest meta-data names whose value identifies this app to an SDK vendor (not secrets)
_APP_KEY_NAME = re.compile(r"(?i)(app_?key|app_?id|appkey|channel_?id)$")
_MIN_KEY_LENGTH = 8
#: hosts every app may talk to: naming them in code does not tie a request to this app
_PLATFORM_SUFFIXES = ("google.com", "googleapis.com", "gstatic.com", "android.com", "apple.com", "qq.com",
                      "weixin.qq.com", "servicewechat.com", "baidu.com", "amap.com", "w3.org", "github.com")
#: how a tie kind reads, strongest first (the report lists a request's ties in this order)
TIE_KINDS = ("package", "app_key", "host", "capture_scope")


@dataclass(frozen=True)
class AppIdentity:
    """What identifies the scanned app in a request: its package (or AppID), the app keys of its
    manifest, and the hosts its own code or resources name."""

    package: str | None
    app_keys: tuple[tuple[str, str], ...] = ()  #: (meta-data name, value)
    hosts: tuple[tuple[str, str], ...] = ()  #: (host, where it was found)

    @classmethod
    def from_result(cls, result: Mapping[str, Any]) -> AppIdentity:
        """The identity of the app a scan result describes."""
        app = result.get("app") or {}
        facts = result.get("facts") or {}
        manifest = facts.get("manifest") or {}
        keys = sorted({(str(row["name"]), str(row["value"])) for row in manifest.get("meta_data") or []
                       if _APP_KEY_NAME.search(str(row.get("name") or "")) and row.get("value") is not None
                       and len(str(row["value"]).strip()) >= _MIN_KEY_LENGTH})
        hosts: dict[str, str] = {}
        for endpoint in facts.get("endpoints") or []:
            host = (endpoint.get("host") or "").lower()
            if endpoint.get("kind") == "email" or not host:
                continue
            where = ", ".join(sorted({s.get("file", "?") for s in endpoint.get("sources") or []}))
            hosts.setdefault(host, where)
        return cls(app.get("package"), tuple(keys), tuple(sorted(hosts.items())))


@dataclass(frozen=True)
class Tie:
    """One piece of evidence that a request comes from the app under test."""

    kind: str  #: one of TIE_KINDS
    value: str
    location: str  #: where in the request (``header:User-Agent``, ``query:appkey``, ``host``)
    detail: str = ""  #: e.g. the meta-data name, or the file that names the host

    def to_json(self) -> dict[str, str]:
        """The JSON form (``observations[].ties[]``)."""
        return {"kind": self.kind, "value": self.value, "location": self.location, "detail": self.detail}


def _token_pattern(value: str) -> re.Pattern[str]:
    # a package or key as a value of its own: not inside a longer package, key or word
    return re.compile(r"(?<![\w.])" + re.escape(value) + r"(?![\w])")


class TieFinder:
    """Finds the ties of requests to one app; the patterns are compiled once per session."""

    def __init__(self, app: AppIdentity, shared_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self._package = _token_pattern(app.package) if app.package else None
        self._keys = [(name, value, _token_pattern(value)) for name, value in app.app_keys]
        shared = {h.lower() for h in shared_hosts}
        self._hosts = {host: where for host, where in app.hosts
                       if host not in shared and not _is_platform(host)}

    def ties(self, req: RequestData) -> list[Tie]:
        """Every tie of one request to the app, strongest kind first, each (kind, value, location) once."""
        found: dict[tuple[str, str, str], Tie] = {}
        fields = [("url", req.url)] + [(f.location, f.text) for f in decode_request(req).fields
                                       if not f.aggregate and "[" not in f.location]
        for location, text in fields:
            if self._package is not None and self._package.search(text):
                found.setdefault(("package", self.app.package or "", location),
                                 Tie("package", self.app.package or "", location))
            for name, value, pattern in self._keys:
                if pattern.search(text):
                    found.setdefault(("app_key", value, location), Tie("app_key", value, location, name))
        host = req.host.lower().rstrip(".")
        if host in self._hosts:
            found[("host", host, "host")] = Tie("host", host, "host", self._hosts[host])
        return sorted(found.values(), key=lambda t: (TIE_KINDS.index(t.kind), t.location, t.value))

    def observation_ties(self, observation: Mapping[str, Any]) -> list[Tie]:
        """Ties from what an observation alone records (its URL and host), for a session whose
        flows file is missing: the headers and body cannot be searched then."""
        from urllib.parse import urlsplit

        url = str(observation.get("url") or "")
        parts = urlsplit(url)
        req = RequestData(flow_id=str(observation.get("flow_id")), timestamp=0.0, method=str(observation.get("method")),
                          scheme=parts.scheme, host=str(observation.get("host") or parts.hostname or ""),
                          port=int(observation.get("port") or 0), url=url,
                          path=parts.path + (f"?{parts.query}" if parts.query else ""), http_version="",
                          headers=(), content=b"")
        return self.ties(req)


def _is_platform(host: str) -> bool:
    return any(host == s or host.endswith("." + s) for s in _PLATFORM_SUFFIXES)


def split_by_app(observations: Sequence[dict[str, Any]], ties: Mapping[str, list[Tie]],
                 app_only_capture: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the app's observations with their ``ties``, the unattributed ones), each in seq order.

    ``ties`` maps a flow id to the ties found in its request. With ``app_only_capture`` every
    request also carries the examiner's ``capture_scope`` tie.
    """
    mine, others = [], []
    for obs in observations:
        found = [t.to_json() for t in ties.get(obs["flow_id"], [])]
        if app_only_capture:
            found.append(Tie("capture_scope", "app", "session", "piscan proxy --app-only").to_json())
        if found:
            mine.append({**obs, "ties": found})
        else:
            others.append(unattributed_row(obs))
    return mine, others


def unattributed_row(obs: Mapping[str, Any]) -> dict[str, Any]:
    """The short record of a request that carries no tie to the app (``traffic.unattributed``)."""
    return {"id": obs["id"], "seq": obs["seq"], "time": obs["time"], "phase": obs["phase"], "method": obs["method"],
            "host": obs["host"], "url": obs["url"], "party": obs["party"],
            "pi_types": sorted({m["pi_type"] for m in claims(obs)})}
