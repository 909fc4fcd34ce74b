"""The batch result store: one SQLite file (``OUTDIR/piscan-batch.sqlite``), schema in docs/batch.md.

One transaction per finished scan, in WAL mode, so a crash or Ctrl-C of the batch loses at most
the scans in flight. A scan is identified by its input's sha256 and the *scan key*: the tool
version, the digest of the packs and the options that change a result (category, policy,
formats), so a resumed batch skips exactly what would come out the same.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError

STORE_FILE = "piscan-batch.sqlite"
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inputs (
  sha256 TEXT PRIMARY KEY, path TEXT NOT NULL, kind TEXT NOT NULL, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scans (
  id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL REFERENCES inputs(sha256), scan_key TEXT NOT NULL,
  tool_version TEXT NOT NULL, packs_digest TEXT NOT NULL, category TEXT, policy TEXT,
  started_at TEXT NOT NULL, finished_at TEXT NOT NULL, seconds REAL NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('complete', 'incomplete', 'failed')),
  exit_code INTEGER NOT NULL, error TEXT, out_dir TEXT, worker TEXT);
CREATE INDEX IF NOT EXISTS scans_by_input ON scans (sha256, scan_key);
CREATE TABLE IF NOT EXISTS apps (
  scan_id INTEGER PRIMARY KEY REFERENCES scans(id), platform TEXT, package TEXT, name TEXT,
  version_name TEXT, version_code TEXT, sdk_count INTEGER NOT NULL, findings INTEGER NOT NULL,
  high INTEGER NOT NULL, medium INTEGER NOT NULL, low INTEGER NOT NULL, info INTEGER NOT NULL,
  manual_checks INTEGER NOT NULL, limitations INTEGER NOT NULL, pre_consent_pi INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sdks (
  scan_id INTEGER NOT NULL REFERENCES scans(id), sdk_id TEXT NOT NULL, name TEXT, vendor TEXT, category TEXT,
  PRIMARY KEY (scan_id, sdk_id));
CREATE TABLE IF NOT EXISTS findings (
  scan_id INTEGER NOT NULL REFERENCES scans(id), finding_id TEXT NOT NULL, rule_id TEXT NOT NULL,
  severity TEXT NOT NULL, evidence_level TEXT, party TEXT, PRIMARY KEY (scan_id, finding_id));
CREATE TABLE IF NOT EXISTS legal_items (
  scan_id INTEGER NOT NULL REFERENCES scans(id), finding_id TEXT NOT NULL, doc TEXT NOT NULL, item TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS legal_by_item ON legal_items (doc, item);
CREATE VIEW IF NOT EXISTS latest_scans AS
  SELECT s.* FROM scans s WHERE s.id = (SELECT MAX(id) FROM scans t WHERE t.sha256 = s.sha256);
"""


class Store:
    """The open store of one batch folder."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / STORE_FILE
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise InputError(f"not a PIScan batch store: {exc}", self.path) from None
        found = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if found is None:
            self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(found[0]) != SCHEMA_VERSION:
            raise InputError(f"store schema version {found[0]}; this PIScan writes version {SCHEMA_VERSION}", self.path)

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def done(self, sha256: str, scan_key: str, *, retry_failed: bool = False) -> bool:
        """Whether this input was already scanned with this scan key (failed ones count unless ``retry_failed``)."""
        sql = "SELECT status FROM scans WHERE sha256=? AND scan_key=? ORDER BY id DESC LIMIT 1"
        row = self.db.execute(sql, (sha256, scan_key)).fetchone()
        return row is not None and not (retry_failed and row["status"] == "failed")

    def record(self, outcome: Mapping[str, Any]) -> int:
        """Store one finished scan (and its app, SDKs, findings) in one transaction; returns its id."""
        job = outcome["job"]
        with _transaction(self.db):
            self.db.execute("INSERT OR REPLACE INTO inputs VALUES (?, ?, ?, ?)",
                            (job["sha256"], job["path"], job["kind"], job["size"]))
            cursor = self.db.execute(
                "INSERT INTO scans (sha256, scan_key, tool_version, packs_digest, category, policy, started_at, "
                "finished_at, seconds, status, exit_code, error, out_dir, worker) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (job["sha256"], outcome["scan_key"], outcome["tool_version"], outcome["packs_digest"], job.get("category"),
                 job.get("policy"), outcome["started_at"], outcome["finished_at"], outcome["seconds"], outcome["status"],
                 outcome["exit_code"], outcome.get("error"), outcome.get("out_dir"), outcome.get("worker")))
            scan_id = int(cursor.lastrowid or 0)
            app = outcome.get("app")
            if app:
                self.db.execute("INSERT INTO apps VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                                (scan_id, app["platform"], app["package"], app["name"], app["version_name"],
                                 app["version_code"], app["sdk_count"], app["findings"], app["high"], app["medium"],
                                 app["low"], app["info"], app["manual_checks"], app["limitations"], int(app["pre_consent_pi"])))
                self.db.executemany("INSERT OR IGNORE INTO sdks VALUES (?,?,?,?,?)",
                                    [(scan_id, s["sdk_id"], s["name"], s["vendor"], s["category"]) for s in outcome["sdks"]])
                self.db.executemany("INSERT OR IGNORE INTO findings VALUES (?,?,?,?,?,?)",
                                    [(scan_id, f["id"], f["rule_id"], f["severity"], f["evidence_level"], f["party"])
                                     for f in outcome["findings"]])
                self.db.executemany("INSERT INTO legal_items VALUES (?,?,?,?)",
                                    [(scan_id, f["id"], ref["doc"], ref["item"]) for f in outcome["findings"]
                                     for ref in f["legal_refs"]])
        return scan_id

    def rows(self) -> list[dict[str, Any]]:
        """The latest scan of every input with its app summary (stable order: package, then sha256)."""
        sql = ("SELECT s.id AS scan_id, s.sha256, i.path, i.kind, s.status, s.exit_code, s.error, s.out_dir, s.seconds, "
               "s.category, a.* FROM latest_scans s JOIN inputs i USING (sha256) LEFT JOIN apps a ON a.scan_id = s.id "
               "ORDER BY COALESCE(a.package, ''), s.sha256")
        return [dict(r) for r in self.db.execute(sql)]

    def sdk_counts(self) -> list[tuple[str, str, int]]:
        """(sdk id, name, number of apps), most common first."""
        sql = ("SELECT k.sdk_id, MAX(k.name), COUNT(DISTINCT k.scan_id) FROM sdks k JOIN latest_scans s ON s.id = k.scan_id "
               "GROUP BY k.sdk_id ORDER BY 3 DESC, 1")
        return [(r[0], r[1] or r[0], int(r[2])) for r in self.db.execute(sql)]

    def legal_counts(self) -> list[tuple[str, str, int]]:
        """(document, item, number of apps with a finding citing it), most common first."""
        sql = ("SELECT l.doc, l.item, COUNT(DISTINCT l.scan_id) FROM legal_items l JOIN latest_scans s ON s.id = l.scan_id "
               "GROUP BY l.doc, l.item ORDER BY 3 DESC, 1, 2")
        return [(r[0], r[1], int(r[2])) for r in self.db.execute(sql)]

    def query(self, *, sdk: str | None = None, rule: str | None = None, legal: str | None = None) -> list[dict[str, Any]]:
        """Latest scans matching every given filter: an SDK id or name part, a rule id, a legal item ``DOC-ITEM``."""
        where, params = [], []
        if sdk:
            where.append("s.id IN (SELECT scan_id FROM sdks WHERE sdk_id LIKE ? OR name LIKE ?)")
            params += [f"%{sdk}%", f"%{sdk}%"]
        if rule:
            where.append("s.id IN (SELECT scan_id FROM findings WHERE rule_id = ?)")
            params.append(rule)
        if legal:
            doc, _, item = legal.partition("-")
            where.append("s.id IN (SELECT scan_id FROM legal_items WHERE doc = ? AND (? = '' OR item = ?))")
            params += [doc, item, item]
        sql = ("SELECT s.sha256, i.path, s.status, a.package, a.name, a.version_name, a.high, a.medium, a.low, s.out_dir "
               "FROM latest_scans s JOIN inputs i USING (sha256) LEFT JOIN apps a ON a.scan_id = s.id"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY COALESCE(a.package, ''), s.sha256")
        return [dict(r) for r in self.db.execute(sql, params)]

    def dump(self) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
        """Every table's rows without ids and times (tests compare two stores with it)."""
        yield "inputs", sorted(tuple(r) for r in self.db.execute("SELECT * FROM inputs"))
        yield "scans", sorted(tuple(r) for r in self.db.execute(
            "SELECT sha256, scan_key, status, exit_code, error FROM scans"))
        yield "apps", sorted(tuple(r)[1:] for r in self.db.execute("SELECT * FROM apps"))
        yield "sdks", sorted(tuple(r)[1:] for r in self.db.execute("SELECT * FROM sdks"))
        yield "findings", sorted(tuple(r)[1:] for r in self.db.execute("SELECT * FROM findings"))


class _transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
