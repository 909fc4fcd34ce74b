"""Fuzz targets and a plain mutation engine for PIScan's parsers (``tests/fuzz/``).

A target takes bytes and runs a parser the way a scan does. It may end in three ways:

* normally (the input was read, perhaps with limitations);
* with a :class:`~scanner.errors.PiscanError`: the one-line, documented rejection of bad input;
* with anything else: a **crash**, which the campaign saves as a regression input.

Budgets are part of the contract: the campaign runs under a memory limit and a time limit per
input, and reports inputs that exceed them as crashes too. The engine is deliberately simple
(random byte-level mutations of seeds from the samples and the corpus, fixed seed, no coverage
feedback) so that it runs anywhere; ``tests/fuzz/run.py --engine atheris`` uses atheris's
coverage-guided engine with the same targets where atheris installs.
"""

from __future__ import annotations

import io
import json
import random
import struct
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import PiscanError
from .corpus import REPO, corpus_dir


def build_wxapkg(entries: list[tuple[str, bytes]]) -> bytes:
    """A plain wxapkg holding ``entries`` (name as stored, content), laid out as WeChat does."""
    names = [name.encode("utf-8") for name, _ in entries]
    index_len = 4 + sum(4 + len(n) + 8 for n in names)
    offset = 14 + index_len
    index = struct.pack(">I", len(entries))
    body = b""
    for raw, (_, content) in zip(names, entries):
        index += struct.pack(">I", len(raw)) + raw + struct.pack(">II", offset + len(body), len(content))
        body += content
    return struct.pack(">BIIIB", 0xBE, 0, index_len, len(body), 0xED) + index + body


class _Entries:
    """An in-memory APK for the DEX target: just ``classes.dex``."""

    def __init__(self, dex: bytes) -> None:
        self.entries = ["classes.dex"]
        self._dex = dex

    def read(self, name: str, copy: int = 0) -> bytes:
        return self._dex


class _NoEntryPoints:
    application = "com.example.App"
    providers: tuple[str, ...] = ()
    boot_receivers: tuple[str, ...] = ()


def target_dex(data: bytes) -> None:
    """The DEX reader and every use a scan makes of it (index, strings, endpoints, call sites,
    reflection, class hierarchy, reachability). It must never raise: a bad DEX is a limitation."""
    from ..apk.catalogue import load_catalogue
    from ..apk.code import analyse_code, load_dex_index
    from ..apk.collector import dex_string_sources
    from ..apk.endpoints import extract_endpoints

    index = load_dex_index(_Entries(data))
    index.class_names()
    extract_endpoints(dex_string_sources(index))
    analyse_code(index, load_catalogue(), _NoEntryPoints(), lambda _c: {"kind": "app"}, max_seconds=5.0)


def _with_file(suffix: str, data: bytes, run: Callable[[Path, Path], object]) -> None:
    with tempfile.TemporaryDirectory(prefix="piscan-fuzz-") as tmp:
        path = Path(tmp) / f"input{suffix}"
        path.write_bytes(data)
        work = Path(tmp) / "work"
        work.mkdir()
        run(path, work)


def target_apk(data: bytes) -> None:
    """The whole Android collector (zip reader, AXML through androguard, resources, DEX)."""
    target_apk_file(".apk", data)


def target_apk_file(suffix: str, data: bytes) -> None:
    """The whole Android collector on ``data`` saved as a file with ``suffix``."""
    from ..apk.collector import AndroidCollector
    from ..model.collector import CollectContext

    def run(path: Path, work: Path) -> None:
        AndroidCollector(reach_seconds=5.0).collect(CollectContext(target=path, work_dir=work, progress=lambda _m: None))

    _with_file(suffix, data, run)


_SAMPLE_AAB = REPO / "samples" / "piscan-demo.aab"


def _aab_with(part: str, data: bytes) -> bytes:
    """The sample App Bundle with one part replaced, stored (not deflated) so that mutations of
    ``data`` reach the protobuf reader unchanged."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(_SAMPLE_AAB) as sample, zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
        for name in sample.namelist():
            out.writestr(name, data if name == part else sample.read(name))
    return buffer.getvalue()


def target_aab_xml(data: bytes) -> None:
    """The App Bundle reader on a mutated protobuf manifest (feature module: a limitation; base: a refusal)."""
    target_apk_file(".aab", _aab_with("pay/manifest/AndroidManifest.xml", data))
    target_apk_file(".aab", _aab_with("base/manifest/AndroidManifest.xml", data))


def target_aab_resources(data: bytes) -> None:
    """The App Bundle reader on a mutated ``resources.pb`` (labels, strings, file references)."""
    target_apk_file(".aab", _aab_with("base/resources.pb", data))


def target_wxapkg(data: bytes) -> None:
    """The mini-program collector on a wxapkg: unpacker, configuration, JS and WXML scanners."""
    from ..miniprogram.collect import collect_miniprogram

    _with_file(".wxapkg", data, lambda path, work: collect_miniprogram(path, wxid=None, subpackages=[], unpack_dir=work))


def target_mp_config(data: bytes) -> None:
    """The mini-program configuration reader (app.json, page JSON, project.config.json)."""
    from ..miniprogram.config import parse_config

    parse_config({"app.json": data, "project.config.json": data, "pages/index/index.json": data})


def target_js(data: bytes) -> None:
    """The JavaScript scanner (tree-sitter) with the real privacy-API table."""
    from ..miniprogram.jsapi import scan_js
    from ..miniprogram.privacy_apis import privacy_table

    table = privacy_table()
    scan_js(data, "pages/a.js", sorted(table.apis), sorted(table.methods))


def target_har(data: bytes) -> None:
    """The HAR reader of offline analysis."""
    from ..traffic.offline import iter_capture

    _with_file(".har", data, lambda path, _work: list(iter_capture(path)))


def target_mitm(data: bytes) -> None:
    """The mitmproxy capture (tnetstring) reader of offline analysis."""
    from ..traffic.offline import iter_capture

    _with_file(".mitm", data, lambda path, _work: list(iter_capture(path)))


def target_rules(data: bytes) -> None:
    """The rule-pack loader (safe YAML, schema, selectors)."""
    from ..rules.loader import check_pack_text

    check_pack_text(data.decode("utf-8", "replace"), "fuzz.yaml")


#: targets that read captures with mitmproxy (not installed on Python 3.11: docs/architecture.md)
NEEDS_MITMPROXY = frozenset({"har", "mitm"})
TARGETS: dict[str, Callable[[bytes], None]] = {
    "dex": target_dex, "apk": target_apk, "wxapkg": target_wxapkg, "mp_config": target_mp_config,
    "js": target_js, "har": target_har, "mitm": target_mitm, "rules": target_rules,
    "aab_xml": target_aab_xml, "aab_resources": target_aab_resources,
}


def seeds(target: str) -> list[bytes]:
    """Seed inputs of a target: from the samples (always) and the corpus (when present)."""
    corpus = corpus_dir()
    out: list[bytes] = []
    if target in ("dex", "apk"):
        apks = [REPO / "samples" / "piscan-demo.apk"]
        if corpus is not None and target == "dex":
            apks += [corpus / "apk" / "umeng-cnzz-123-tiny.apk"]
        for apk in apks:
            if target == "apk":
                out.append(apk.read_bytes())
                continue
            with zipfile.ZipFile(apk) as archive:
                out += [archive.read(n) for n in archive.namelist() if n.endswith(".dex") and archive.getinfo(n).file_size < 400_000]
    elif target in ("aab_xml", "aab_resources"):
        parts = ("base/manifest/AndroidManifest.xml", "pay/manifest/AndroidManifest.xml") if target == "aab_xml" else (
            "base/resources.pb", "pay/resources.pb")
        with zipfile.ZipFile(_SAMPLE_AAB) as archive:
            out += [archive.read(part) for part in parts]
    elif target == "wxapkg":
        root = REPO / "samples" / "miniprogram"
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".js", ".json", ".wxml"))
        out.append(build_wxapkg([(f"/{p.relative_to(root).as_posix()}", p.read_bytes()) for p in files]))
    elif target == "mp_config":
        out += [p.read_bytes() for p in sorted((REPO / "samples" / "miniprogram").rglob("*.json"))]
    elif target == "js":
        out += [p.read_bytes() for p in sorted((REPO / "samples" / "miniprogram").rglob("*.js"))]
    elif target == "mitm":
        out.append((REPO / "samples" / "session" / "flows.mitm").read_bytes()[:200_000])
    elif target == "har":
        out.append(json.dumps({"log": {"version": "1.2", "entries": [{
            "startedDateTime": "2026-01-01T00:00:00.000Z",
            "request": {"method": "POST", "url": "https://a.example.com/x?imei=861234567890123", "httpVersion": "HTTP/1.1",
                        "headers": [{"name": "Content-Type", "value": "application/json"}],
                        "queryString": [], "postData": {"mimeType": "application/json", "text": "{\"oaid\": \"abc\"}"}},
            "response": {"status": 200}}]}}).encode())
    elif target == "rules":
        out += [p.read_bytes() for p in sorted((REPO / "rules" / "packs").glob("*.yaml"))[:2]]
    return out


_INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0x10000, 0x100000)


def mutate(data: bytes, rng: random.Random, max_len: int = 1 << 20) -> bytes:
    """One to four random byte-level mutations of ``data``."""
    buf = bytearray(data or b"\x00")
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        pos = rng.randrange(len(buf)) if buf else 0
        if op == 0:
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[pos] = rng.randrange(256)
        elif op == 2 and len(buf) >= pos + 4:
            struct.pack_into("<I", buf, pos, rng.choice(_INTERESTING))
        elif op == 3 and len(buf) >= pos + 2:
            struct.pack_into("<H", buf, pos, rng.choice(_INTERESTING) & 0xFFFF)
        elif op == 4:
            del buf[pos:pos + rng.randint(1, 64)]
        elif op == 5:
            chunk = buf[pos:pos + rng.randint(1, 64)]
            buf[pos:pos] = chunk * rng.randint(1, 8)
        elif op == 6:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            del buf[rng.randint(0, len(buf)):]
        if not buf:
            buf = bytearray(b"\x00")
    return bytes(buf[:max_len])


@dataclass
class Outcome:
    """What a campaign did."""

    target: str
    executions: int = 0
    rejected: int = 0  #: clean one-line rejections (PiscanError)
    crashes: list[tuple[str, bytes]] = field(default_factory=list)  #: (signature, input)


class Hang(BaseException):
    """Raised by the per-input alarm (a BaseException, so no parser's except clause eats it)."""


def run_one(target: Callable[[bytes], None], data: bytes) -> str | None:
    """Run one input; ``None`` when it ended normally or with a clean rejection, else the crash
    signature (exception type and the innermost PIScan frame)."""
    import traceback

    try:
        target(data)
    except PiscanError:
        return None
    except Hang:
        return "Hang"
    except Exception as exc:  # noqa: BLE001 - this is what a crash is
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/scanner/" in f.filename and "/testing/" not in f.filename]
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
        return f"{type(exc).__name__} at {where}"
    return None
