"""Mini-program declarations: ``app.json`` (source), ``app-config.json`` (compiled package),
``game.json`` (mini-game), ``project.config.json`` (app id) and uni-app ``manifest.json``
(``mp-weixin`` block).

Later files only fill what earlier ones left empty; the order is app.json / app-config.json /
game.json, then manifest.json ``mp-weixin``, then project.config.json.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import safejson
from ..model.records import Limitation

CONFIG_FILES = ("app.json", "app-config.json", "game.json")


@dataclass(frozen=True)
class SubPackage:
    """A declared subpackage: its root and its pages (full paths from the package root)."""

    root: str
    name: str | None
    pages: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Plain dict in the documented key order."""
        return {"root": self.root, "name": self.name, "pages": list(self.pages)}


@dataclass(frozen=True)
class MiniProgramConfig:
    """Everything the configuration files declare that the rules and the report use."""

    app_id: str | None = None
    name: str | None = None
    version_name: str | None = None
    version_code: str | None = None
    pages: tuple[str, ...] = ()
    subpackages: tuple[SubPackage, ...] = ()
    plugins: tuple[dict[str, str | None], ...] = ()
    permission_scopes: tuple[dict[str, str | None], ...] = ()
    required_private_infos: tuple[str, ...] = ()
    use_privacy_check: bool | None = None
    is_game: bool = False
    config_files: tuple[str, ...] = ()
    limitations: tuple[Limitation, ...] = field(default=())


def strip_json_comments(text: str) -> str:
    """Remove ``//`` and ``/* */`` comments outside strings (uni-app's manifest.json allows them)."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                in_string = False
            i += 1
        elif ch == '"':
            in_string = True
            out.append(ch)
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_json_file(data: bytes, *, comments: bool = False) -> Any:
    """Decode a JSON configuration file (UTF-8, optional BOM); ``ValueError`` when it is not JSON."""
    text = data.decode("utf-8-sig")
    if comments:
        text = strip_json_comments(text)
    return safejson.loads(text)


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _subpackages(value: Any) -> list[SubPackage]:
    out: list[SubPackage] = []
    if not isinstance(value, list):
        return out
    for row in value:
        if not isinstance(row, dict) or not isinstance(row.get("root"), str):
            continue
        root = row["root"].strip("/")
        pages = []
        for page in _strings(row.get("pages")):
            page = page.lstrip("/")
            pages.append(page if page.startswith(root + "/") else f"{root}/{page}")
        name = row.get("name") if isinstance(row.get("name"), str) else None
        out.append(SubPackage(root=root, name=name, pages=tuple(pages)))
    return out


def _scopes(value: Any) -> list[dict[str, str | None]]:
    if not isinstance(value, dict):
        return []
    out = []
    for scope in sorted(value):
        body = value[scope]
        desc = body.get("desc") if isinstance(body, dict) else None
        desc = desc.strip() if isinstance(desc, str) and desc.strip() else None
        out.append({"scope": scope, "desc": desc})
    return out


def _plugins(value: Any) -> list[dict[str, str | None]]:
    if not isinstance(value, dict):
        return []
    out = []
    for name in sorted(value):
        body = value[name] if isinstance(value[name], dict) else {}
        provider = body.get("provider")
        version = body.get("version")
        out.append({
            "name": name,
            "provider": provider if isinstance(provider, str) else None,
            "version": str(version) if version is not None else None,
        })
    return out


def _label(app: dict[str, Any]) -> str | None:
    for holder in (app.get("global", {}).get("window") if isinstance(app.get("global"), dict) else None, app.get("window")):
        if isinstance(holder, dict) and isinstance(holder.get("navigationBarTitleText"), str):
            title = holder["navigationBarTitleText"].strip()
            if title:
                return title
    return None


def parse_config(files: Mapping[str, bytes], prefix: str = "") -> MiniProgramConfig:
    """Collect the declarations from the configuration files among ``files`` (package-relative
    paths; ``prefix`` is the mini-program root inside a source tree, e.g. ``"miniprogram/"``).

    A configuration file that is not valid JSON becomes an ``entry_unreadable`` limitation.
    """
    limitations: list[Limitation] = []
    used: list[str] = []

    def load(path: str, *, comments: bool = False) -> dict[str, Any] | None:
        if path not in files:
            return None
        try:
            value = parse_json_file(files[path], comments=comments)
        except (ValueError, UnicodeDecodeError) as exc:
            limitations.append(Limitation(kind="entry_unreadable", detail=f"not valid JSON: {exc}", where=path))
            return None
        if not isinstance(value, dict):
            limitations.append(Limitation(kind="entry_unreadable", detail="not a JSON object", where=path))
            return None
        used.append(path)
        return value

    app: dict[str, Any] = {}
    is_game = False
    for name in CONFIG_FILES:
        value = load(prefix + name)
        if value is not None:
            app = value
            is_game = name == "game.json"
            break
    manifest = load(prefix + "manifest.json", comments=True) or {}
    mp_weixin = manifest.get("mp-weixin") if isinstance(manifest.get("mp-weixin"), dict) else {}
    project = load("project.config.json") or (load(prefix + "project.config.json") if prefix else None) or {}
    ext = load(prefix + "ext.json") or {}

    def first(key: str) -> Any:
        for source in (app, ext, mp_weixin):
            if key in source:
                return source[key]
        return None

    app_id = next(
        (v for v in (ext.get("extAppid"), mp_weixin.get("appid"), project.get("appid"), app.get("appid"))
         if isinstance(v, str) and v.startswith("wx")),
        None,
    )
    subpackages = _subpackages(first("subPackages") or first("subpackages"))
    sub_roots = tuple(s.root + "/" for s in subpackages)
    pages = [p.lstrip("/") for p in _strings(first("pages"))]
    pages = [p for p in pages if not p.startswith(sub_roots)] if sub_roots else pages
    privacy_check = first("__usePrivacyCheck__")
    name = manifest.get("name") if isinstance(manifest.get("name"), str) else None
    name = _label(app) or name or (project.get("projectname") if isinstance(project.get("projectname"), str) else None)
    version_name = manifest.get("versionName") or app.get("version") or project.get("version")
    version_code = manifest.get("versionCode")
    return MiniProgramConfig(
        app_id=app_id,
        name=name,
        version_name=str(version_name) if version_name not in (None, "") else None,
        version_code=str(version_code) if version_code not in (None, "") else None,
        pages=tuple(pages),
        subpackages=tuple(subpackages),
        plugins=tuple(_plugins(first("plugins"))),
        permission_scopes=tuple(_scopes(first("permission"))),
        required_private_infos=tuple(sorted(set(_strings(first("requiredPrivateInfos"))))),
        use_privacy_check=privacy_check if isinstance(privacy_check, bool) else None,
        is_game=is_game,
        config_files=tuple(used),
        limitations=tuple(limitations),
    )
