"""The page frame every PDF shares, without a database: embedded font only, the QR code and the code on
every page, "第 x 页 共 y 页", and the same story giving the same bytes."""

from __future__ import annotations

from backend.documents import fonts
from backend.documents.layout import PageFrame, build_pdf, para, table
from tests.pdf_checks import assert_every_font_embedded, fonts_of, page_count, page_texts, qr_texts

FRAME = PageFrame(title="测试文件", verification_code="7K3M-Q9TX-2HRD",
                  verify_url="https://fieldlog.example.org/verify/7K3M-Q9TX-2HRD")


def story(n: int = 120) -> list[object]:
    return [para("派驻工作量证明", "title"),
            table([["日期", "内容"], *([f"2025-03-{1 + i % 28:02d}", f"第{i}条 腹腔镜胆囊切除术"] for i in range(n))])]


def test_the_font_comes_from_the_installed_package() -> None:
    assert fonts.font_path().name == "wqy-microhei.ttc"
    assert fonts.font_path().stat().st_size > 4_000_000


def test_only_the_embedded_cjk_subset_is_used() -> None:
    pdf = build_pdf(story(), FRAME)
    assert_every_font_embedded(pdf)
    names = {f["name"] for f in fonts_of(pdf)}
    assert len(names) == 1
    assert "WenQuanYiMicroHei" in names.pop()  # a subset (AAAAAA+...), never Helvetica or STSong-Light


def test_every_page_has_its_number_of_total_the_code_and_the_qr_code() -> None:
    pdf = build_pdf(story(), FRAME)
    total = page_count(pdf)
    assert total >= 3
    for number, text in enumerate(page_texts(pdf), start=1):
        flat = text.replace(" ", "")
        assert f"第{number}页共{total}页" in flat
        assert "验证码7K3M-Q9TX-2HRD" in flat
    for index in range(total):
        assert qr_texts(pdf, index) == [FRAME.verify_url]


def test_the_same_story_gives_the_same_bytes() -> None:
    assert build_pdf(story(10), FRAME) == build_pdf(story(10), FRAME)
    assert build_pdf(story(10), FRAME) != build_pdf(story(11), FRAME)
