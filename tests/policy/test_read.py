"""Reading documents: formats, encodings, structure, marks, and hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.errors import InputError
from scanner.policy import load_policy
from scanner.policy.blocks import MAX_BLOCKS
from scanner.policy.read import MAX_FILE_BYTES, detect_format, parse_document, read_document
from scanner.testing.pdf import make_pdf

POLICY_MD = "# 隐私政策\n\n## 一、我们收集的信息\n\n我们会收集您的**手机号码**和<u>身份证号</u>，用于实名认证。\n\n* 第一项\n    * 嵌套项\n\n| 信息名称 | 使用目的 |\n|---|---|\n| 姓名 | 实名认证 |\n"
POLICY_HTML = """<!DOCTYPE html><html><head><title>示例隐私政策</title><style>p{}</style><script>var x='手机号码';</script></head>
<body><h1>示例隐私政策</h1><h2>一、收集的信息</h2><p>我们会收集您的<b>手机号码</b>和<span style="text-decoration: underline">通讯录</span>。</p>
<ul><li>设备信息<o:p></o:p></li></ul><table><tr><th>信息名称</th><th>使用目的</th></tr><tr><td>姓名</td><td>实名<br>认证</td></tr></table></body></html>"""


def _blocks(data: bytes, fmt: str) -> list[tuple[str, str]]:
    return [(b.kind, b.text) for b in parse_document(data, fmt).blocks]


@pytest.mark.parametrize("data, name, fmt", [
    (b"%PDF-1.4\n", "x.txt", "pdf"),
    (b"<!DOCTYPE html><html>", "x.txt", "html"),
    (b"\xef\xbb\xbf<html><body>", "", "html"),
    (b"plain", "policy.html", "html"),
    (b"plain", "policy.md", "markdown"),
    (b"# title\n\n| a | b |\n", "policy", "markdown"),
    (b"# title\n\n| a | b |\n", "policy.txt", "text"),
    ("我们会收集您的信息。".encode(), "dialog", "text"),
])
def test_detect_format(data: bytes, name: str, fmt: str) -> None:
    assert detect_format(data, name) == fmt


def test_markdown_structure_marks_and_tables() -> None:
    doc = parse_document(POLICY_MD.encode(), "markdown")
    kinds = [(b.kind, b.level, b.text) for b in doc.blocks]
    assert kinds[:3] == [("heading", 1, "隐私政策"), ("heading", 2, "一、我们收集的信息"),
                         ("para", 0, "我们会收集您的手机号码和身份证号，用于实名认证。")]
    para = doc.blocks[2]
    assert [para.text[s:e] for s, e in para.marks] == ["手机号码", "身份证号"]
    assert (doc.blocks[3].kind, doc.blocks[3].level, doc.blocks[4].level) == ("item", 0, 1)
    row = doc.blocks[-1]
    assert row.cells == ("姓名", "实名认证") and row.header == ("信息名称", "使用目的")


def test_html_structure_marks_and_tables() -> None:
    doc = parse_document(POLICY_HTML.encode(), "html")
    assert doc.title_hint == "示例隐私政策"
    texts = [(b.kind, b.text) for b in doc.blocks]
    assert ("heading", "一、收集的信息") in texts and ("item", "设备信息") in texts
    assert not any("var x" in t for _k, t in texts)
    para = next(b for b in doc.blocks if b.text.startswith("我们会收集"))
    assert [para.text[s:e] for s, e in para.marks] == ["手机号码", "通讯录"]
    row = doc.blocks[-1]
    assert row.cells == ("姓名", "实名；认证")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030"])
def test_text_encodings(encoding: str) -> None:
    text = "隐私政策\n我们会收集您的手机号码。\n"
    assert _blocks(text.encode(encoding), "text") == [("para", "隐私政策"), ("para", "我们会收集您的手机号码。")]


@pytest.mark.parametrize("content, match", [
    (b"", "empty document"),
    (b"   \n\n", "empty document"),
    (b"%PDF-1.4\n garbage", "not a readable PDF"),
    (b"\x00\x01\x02\xff\xfe\xfd" * 50, "not text in UTF-8, UTF-16 or GB18030|binary data"),
    (b"\xff\xfe\x00\xd8", "not valid UTF-16"),
])
def test_unreadable_documents_are_one_line_input_errors(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "doc.bin"
    path.write_bytes(content)
    with pytest.raises(InputError, match=match) as info:
        read_document(path)
    assert "\n" not in info.value.line() and str(path) in info.value.line()


def test_missing_and_directory_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_document(tmp_path / "nope.md")
    with pytest.raises(InputError, match="not a regular file"):
        read_document(tmp_path)


def test_oversized_document_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    with open(path, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(InputError, match="documents over"):
        read_document(path)


def test_block_budget_truncates_with_a_limitation(tmp_path: Path) -> None:
    path = tmp_path / "many.txt"
    path.write_text("我们会收集您的手机号码。\n" * (MAX_BLOCKS + 10), encoding="utf-8")
    doc = load_policy(path)
    assert [lim["kind"] for lim in doc["limitations"]] == ["policy_truncated"]


def test_deeply_nested_html_is_marked_truncated(tmp_path: Path) -> None:
    path = tmp_path / "deep.html"
    path.write_text("<html><body><p>我们会收集您的手机号码。</p>" + "<div>" * 5000 + "以及您的通讯录。" + "</div>" * 5000 + "</body></html>",
                    encoding="utf-8")
    doc = load_policy(path)
    assert [lim["kind"] for lim in doc["limitations"]] == ["policy_truncated"]
    assert [e["pi_type"] for e in doc["pi_types"]] == ["phone_number"]


def test_pdf_without_any_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf([None, None]))
    with pytest.raises(InputError, match=r"no text found in this pdf document \(2 page\(s\) without a text layer"):
        load_policy(path)


def test_pdf_page_without_text_is_a_limitation(tmp_path: Path) -> None:
    path = tmp_path / "policy.pdf"
    path.write_bytes(make_pdf(["Privacy Policy. We collect your phone number and your location.", None]))
    doc = load_policy(path)
    assert doc["format"] == "pdf" and doc["pages"] == 2
    assert [lim["kind"] for lim in doc["limitations"]] == ["policy_page_no_text"]
    assert "page(s) 2 of 2" in doc["limitations"][0]["detail"]
    assert {e["pi_type"] for e in doc["pi_types"] if e["declared"]} == {"phone_number", "location_precise", "location_coarse"}
    assert doc["pi_types"][0]["mentions"][0]["where"]["page"] == 1


@pytest.mark.corpus
def test_pdf_reads_cjk_with_headings_and_pages(corpus: Path) -> None:
    doc = parse_document((corpus / "policies" / "xiaomi" / "xiaomi-privacy-2021-01-15.pdf").read_bytes(), "pdf")
    assert doc.pages == 14 and doc.pages_without_text == []
    headings = [b.text for b in doc.blocks if b.kind == "heading"]
    assert headings[:3] == ["小米隐私政策", "关于我们", "关于本隐私政策"]
    # fake-bold headings are drawn twice; PDFium keeps one copy
    assert sum(1 for b in doc.blocks if b.text == "小米隐私政策") == 1
    assert all(b.page for b in doc.blocks)
