"""End-to-end in a real browser (Debian's Chromium driven by Playwright), on a phone-sized viewport.

Screenshots of the main pages are written to test-artifacts/ for people to look at.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from tests.conftest import BASE_CONFIG

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None


@pytest.fixture
def live_server(database_url, tmp_path):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    app.instance_path = str(tmp_path / "instance")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join(5)


@pytest.fixture
def browser():
    if sync_playwright is None or not Path(CHROMIUM).exists():
        pytest.skip("Chromium (Debian package `chromium`) or playwright is not installed: browser test skipped")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], errors


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    # readable on a phone: nothing wider than the viewport
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 392, f"{name}: page is {width}px wide on a 390px phone"


def test_student_registers_practises_and_sits_a_mock_exam(live_server, phone):
    base, _app = live_server
    page = phone
    page.goto(base + "/")
    assert "客户关系管理 教学与刷题平台" in page.content()
    shot(page, "01-home")

    page.goto(base + "/auth/register")
    page.fill("#username", "browser_student")
    page.fill("#password", "secret123")
    page.fill("#confirm", "secret123")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    assert "注册成功" in page.content()

    # practise a few true/false items in order
    page.goto(base + "/practice/start?mode=sequential&types=true_false")
    shot(page, "02-practice-question")
    for _ in range(3):
        page.check("input[name=answer][value=true]")
        page.click("text=提交答案")
        page.wait_for_selector("text=参考答案")
        assert "出处" in page.content()
        page.click("text=下一题")
    page.check("input[name=answer][value=false]")
    page.click("text=提交答案")
    shot(page, "03-practice-feedback")

    # a short mock exam: two single-choice and one true/false item, five minutes
    page.goto(base + "/exam/new")
    for kind in ("multi_choice", "term_definition", "short_answer"):
        page.fill(f"input[name=count_{kind}]", "0")
    page.fill("input[name=count_single_choice]", "2")
    page.fill("input[name=count_true_false]", "1")
    page.fill("#minutes", "5")
    shot(page, "04-exam-blueprint")
    page.click("text=开始考试")
    page.wait_for_selector("#timer")
    page.locator("input[name=answer]").first.check()
    page.wait_for_selector("text=已保存")  # autosaved without pressing anything
    shot(page, "05-exam-question")
    page.click(".sheet a >> nth=2")
    page.wait_for_selector("text=第 3 / 3 题")
    page.locator("input[name=answer]").first.check()
    page.wait_for_selector("text=已保存")
    page.reload()  # the answer survives a reload
    assert page.locator("input[name=answer]").first.is_checked()
    page.click("text=交卷")
    page.wait_for_selector("text=确认交卷")
    assert "已答 2 题" in page.content()
    page.click("button:has-text('确认交卷')")
    page.wait_for_selector("text=逐题回顾")
    shot(page, "06-exam-result")
    page.goto(base + "/practice/progress")
    assert page.locator("svg").count() >= 1
    shot(page, "07-progress")
