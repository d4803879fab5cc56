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
from app.extensions import db
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
    with app.app_context():  # close the pool's connections now, not when the app is collected during a later test
        db.session.remove()
        db.engine.dispose()


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
    # anything the Content-Security-Policy blocks (an inline script or handler, an outside resource) is an error
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    yield page
    context.close()
    assert errors == [], errors


AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"


def axe_check(page, name):
    """Run axe-core (the npm package, injected into the page) and fail on serious or critical violations."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `npm install` at the repository root (scripts/test.sh does)")
    # evaluated through the browser's debugging protocol: a <script> tag would be an inline script the site's CSP
    # (script-src 'self') rightly blocks
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
    }""")
    assert result == [], f"{name}: accessibility violations\n" + "\n".join(result)


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    # readable on a phone: nothing wider than the viewport
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > 392:  # name what overflows (outside any scrolling container) before failing
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => {
                if (e.getBoundingClientRect().right <= 392) return false;
                for (let p = e.parentElement; p; p = p.parentElement) {
                    if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return false;
                }
                return true;
            }).slice(0, 3).map(e => e.tagName + ' ' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
        assert width <= 392, f"{name}: page is {width}px wide on a 390px phone: {wide}"


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
    fill_small_exam(page, base, minutes=5)
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


def fill_small_exam(page, base, minutes=None):
    """The mock-exam form filled for two single-choice items and one true/false item."""
    page.goto(base + "/exam/new")
    for kind in ("multi_choice", "term_definition", "short_answer"):
        page.fill(f"input[name=count_{kind}]", "0")
    page.fill("input[name=count_single_choice]", "2")
    page.fill("input[name=count_true_false]", "1")
    if minutes:
        page.fill("#minutes", str(minutes))


def _login(page, base, username, password="secret123"):
    page.goto(base + "/auth/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def test_instructor_runs_a_class_quiz_and_sees_the_score(live_server, browser):
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Item
    from tests.conftest import make_user

    base, app = live_server
    make_user(app, "teacher", "instructor")
    with app.app_context():
        keyed = sa.select(Item.uid, Item.answer).where(Item.type == "true_false", Item.key_source == "source")
        rows = db.session.execute(keyed.order_by(Item.position)).all()
        items = [next(r for r in rows if r.answer is True), next(r for r in rows if r.answer is False)]
    teacher = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    _login(teacher, base, "teacher")
    teacher.goto(base + "/classes/new")
    teacher.fill("#name", "客户关系管理 1 班")
    teacher.click("main form button[type=submit]")
    teacher.wait_for_selector(".join-code")
    code = teacher.inner_text(".join-code").strip()
    class_url = teacher.url
    shot(teacher, "10-class")
    axe_check(teacher, "class page")
    class_id = int(class_url.rstrip("/").rsplit("/", 1)[1])

    teacher.goto(f"{base}/assignments/class/{class_id}/new")
    teacher.fill("#title", "第一次测验")
    closes = (datetime.now(UTC) + timedelta(days=2)).astimezone(ZoneInfo("Asia/Shanghai"))
    teacher.fill("#closes_at", closes.strftime("%Y-%m-%dT%H:%M"))
    teacher.fill("#picker-q", items[0].uid)  # the item picker adds ids to the list
    teacher.click("#picker-go")
    teacher.wait_for_selector("#picker-results button")
    teacher.click("#picker-results button >> nth=0")
    teacher.fill("#item_list", f"{items[0].uid} 5\n{items[1].uid} 5")
    shot(teacher, "11-quiz-form")
    axe_check(teacher, "quiz form")
    teacher.click("form.quiz-form button[type=submit]")
    teacher.wait_for_selector("text=测验已创建")

    student = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    student.goto(base + "/auth/register")
    student.fill("#username", "xiaoming")
    student.fill("#display_name", "小明")
    student.fill("#password", "secret123")
    student.fill("#confirm", "secret123")
    student.click("button[type=submit]")
    student.wait_for_url(base + "/")
    student.goto(base + "/classes/join")
    student.fill("#code", code)
    student.click("main form button[type=submit]")
    student.goto(base + "/")
    assert "第一次测验" in student.content()  # on the student's home page with its due date
    student.click("text=第一次测验")
    student.click("button:has-text('开始作答')")
    student.wait_for_selector("#timer")
    for n in range(2):
        student.goto(student.url.split("?")[0] + f"?q={n}")
        # answer "true" to both: the score then depends on the keys, which we know
        student.check("input[name=answer][value=true]")
        student.wait_for_selector("text=已保存")
    student.click("text=交卷")
    student.click("button:has-text('确认交卷')")
    student.wait_for_selector("text=成绩")
    expected = 5 * sum(1 for _, answer in items if answer is True)
    shot(student, "12-student-result")

    teacher.goto(f"{base}/assignments/class/{class_id}/gradebook")
    html = teacher.content()
    assert expected == 5
    assert "小明" in html and "5.0 / 10.0" in html
    shot(teacher, "13-gradebook")
    axe_check(teacher, "gradebook")


def test_student_walks_through_the_sandbox_crm(live_server, phone):
    """A customer's 360° page, a saved segment, a campaign against its random baseline, and one exercise."""
    import re

    from tests.test_sandbox import finish_exercises, make_world, observed, pct, top_share

    base, app = live_server
    world = make_world(app)
    finish_exercises(app, world.sandbox_id, world.alice)  # the derived figures (stage, RFM) are shown to her
    page = phone
    _login(page, base, "alice")
    sid = world.sandbox_id
    page.goto(f"{base}/sandbox/{sid}/customers?stage=退化期&sort=revenue")
    shot(page, "20-sandbox-customers")
    page.locator("table.sb-table tbody tr a:visible").first.click()  # the name (the number column is hidden on phones)
    page.wait_for_selector("svg")
    assert "RFM" in page.content()
    shot(page, "21-sandbox-customer")
    axe_check(page, "customer 360")

    page.goto(f"{base}/sandbox/{sid}/customers?stage=退化期")
    page.fill("input[name=name]", "退化期客户")
    page.click("text=保存细分")
    page.wait_for_selector("text=退化期客户")
    page.goto(f"{base}/sandbox/{sid}/campaigns")
    page.fill("#name", "挽回退化期客户")
    page.click("text=运行模拟")
    page.wait_for_url(re.compile(r"/campaigns/\d+$"))
    html = page.content()
    assert "ROI" in html and "随机" in html
    shot(page, "22-sandbox-campaign")

    page.goto(f"{base}/sandbox/{sid}/exercises/pareto_share")
    share = int(re.search(r"前 (\d+)% 的客户", page.content()).group(1)) / 100
    right = pct(top_share(observed().raw["monetary"], share))
    page.fill("input[name=percent]", f"{right:.2f}")
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=得分 100 / 100")
    shot(page, "23-sandbox-exercise")


def test_instructor_imports_a_moodle_gift_file_on_a_phone(live_server, phone):
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Item
    from tests.conftest import make_user

    base, app = live_server
    make_user(app, "teacher", "instructor")
    _login(phone, base, "teacher")
    phone.goto(base + "/manage/import")
    phone.set_input_files("#file", str(Path(__file__).parent / "exchange_corpus" / "moodle_docs.gift"))
    phone.select_option("#topic", "客户服务与沟通")
    phone.fill("#tags", "第三周")
    phone.click("main form button[type=submit]")
    phone.wait_for_selector("text=确认导入")
    assert "新增 27 题" in phone.inner_text("main") and "跳过 5 题" in phone.inner_text("main")
    assert "匹配题（matching），本站没有这种题型" in phone.inner_text("main")
    shot(phone, "20-import-dry-run")
    phone.click("text=确认导入")
    phone.wait_for_selector("text=导入完成")
    with app.app_context():
        uid = db.session.scalars(sa.select(Item.uid).where(Item.stem == "客户满意与客户忠诚的关系是")).one()
    phone.goto(f"{base}/bank/items/{uid}")
    phone.click("text=查看答案与解析")
    assert "出处：教师编写" in phone.inner_text("main") and "答案来自源文档" not in phone.inner_text("main")
    shot(phone, "21-imported-item")


def test_a_students_day_on_a_phone(live_server, phone):
    """Practise (skip, jump, star), abandon an exam, sit one, review, check progress: at 390 px, axe-clean."""
    from datetime import UTC, datetime

    from tests.conftest import Clock

    base, app = live_server
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    app.config["CLOCK"] = clock
    page = phone
    page.goto(base + "/auth/register")
    page.fill("#username", "day_student")
    page.fill("#password", "secret123")
    page.fill("#confirm", "secret123")
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/")
    axe_check(page, "home")
    shot(page, "30-day-home")

    # practise: star the first question, skip it, jump ahead on the grid, answer, come back
    page.goto(base + "/practice/start?mode=sequential&types=true_false")
    assert "第 1 / " in page.content()
    page.click("button:has-text('☆ 收藏')")
    page.wait_for_selector("button:has-text('★ 已收藏')")
    axe_check(page, "practice question")
    shot(page, "31-day-question")
    page.click("button:has-text('跳过')")
    page.wait_for_selector("text=第 2 / ")
    page.eval_on_selector(".sheet-box", "d => { d.open = true; }")  # the grid folds away in long sets
    page.click(".sheet button[value='4']")
    page.wait_for_selector("text=第 5 / ")
    page.check("input[name=answer][value=true]")
    page.click("text=提交答案")
    page.wait_for_selector("text=参考答案")
    axe_check(page, "feedback")
    shot(page, "32-day-feedback")
    page.click("text=下一题")
    page.click("button:has-text('上一题')")
    page.wait_for_selector("text=第 5 / ")
    page.eval_on_selector(".sheet-box", "d => { d.open = true; }")  # the grid folds away in long sets
    assert page.locator(".sheet button[value='4']").get_attribute("class") in ("right current", "wrong current")

    # an exam started and left alone until its time ran out: closed by the system, nothing in the 错题本
    fill_small_exam(page, base, minutes=5)
    axe_check(page, "exam blueprint")
    page.click("text=开始考试")
    page.wait_for_selector("#timer")
    abandoned = page.url
    page.goto(base + "/")
    clock.advance(hours=1)
    page.goto(base + "/exam/")
    axe_check(page, "exam list")
    shot(page, "33-day-exams")
    page.goto(abandoned + "/result")
    html = page.content()
    assert "未交卷，超时后由系统收卷" in html and "5 分 0 秒" in html
    shot(page, "34-day-abandoned")

    # a real one: answer every question, hand it in
    fill_small_exam(page, base)
    page.click("text=开始考试")
    page.wait_for_selector("#timer")
    axe_check(page, "exam question")
    for n in range(3):
        page.locator(".sheet a").nth(n).click()
        page.wait_for_selector(f"text=第 {n + 1} / 3 题")
        page.locator("input[name=answer]").first.check()
        page.wait_for_selector("text=已保存")
    page.goto(base + "/exam/")
    page.locator("main table a:has-text('模拟考试')").first.click()  # re-opened where the student stopped
    page.wait_for_selector("text=第 3 / 3 题")
    page.click("button:has-text('交卷')")
    page.click("button:has-text('确认交卷')")
    page.wait_for_selector("text=逐题回顾")
    axe_check(page, "exam result")
    shot(page, "35-day-result")

    # review and progress: the abandoned exam's three unseen questions are not wrong answers
    page.goto(base + "/practice/wrong")
    axe_check(page, "wrong book")
    shot(page, "36-day-wrong-book")
    page.goto(base + "/practice/progress")
    total = int(page.inner_text(".figures div:first-child dd"))
    assert total == 1 + 3  # one practice answer and the three questions of the exam handed in
    axe_check(page, "progress")
    shot(page, "37-day-progress")
    page.goto(base + "/seeds/")
    axe_check(page, "seeds")
    shot(page, "38-day-seeds")


def test_instructor_watches_a_sandbox_being_built(live_server, phone):
    """Creating a sandbox from the page: the progress page polls the job and goes on to the sandbox when done."""
    import re

    from app.extensions import db
    from app.models.classes import SchoolClass
    from tests.conftest import make_user

    base, app = live_server
    app.config["JOBS_INLINE"] = False  # the in-process worker thread, as in production without Redis
    teacher = make_user(app, "teacher", "instructor")
    with app.app_context():
        db.session.add(SchoolClass(name="一班", instructor_id=teacher))
        db.session.commit()
    page = phone
    _login(page, base, "teacher")
    page.goto(f"{base}/sandbox/new")
    page.fill("#customers", "3000")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    assert page.locator("progress#job-bar").count() == 1
    shot(page, "24-sandbox-job-progress")
    page.wait_for_url(re.compile(r"/sandbox/\d+/$"), timeout=120_000)  # the script follows the finished job
    assert "3,000" in page.content() or "3000" in page.content()
    shot(page, "25-sandbox-dashboard-after-job")
CHART_CHECK = """() => [...document.querySelectorAll('.chart svg')].map(svg => {
  const box = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll('text')];
  const small = texts.filter(t => parseFloat(getComputedStyle(t).fontSize) * box.width / svg.viewBox.baseVal.width < 11)
    .map(t => t.textContent);
  const out = texts.filter(t => { const r = t.getBoundingClientRect();
    return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1); }).map(t => t.textContent);
  const title = svg.querySelector('text.chart-title');
  return {title: title ? title.textContent : null, small, out};
})"""


@pytest.mark.parametrize("viewport", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_sandbox_charts_are_readable(live_server, browser, viewport):
    """Dashboard and analysis charts: a visible title, text of 11 px or more, no label outside its chart."""
    from tests.test_sandbox import make_world

    base, app = live_server
    world = make_world(app)
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, device_scale_factor=1,
                                  locale="zh-CN")
    page = context.new_page()
    _login(page, base, "teacher")
    sid = world.sandbox_id
    name = "desktop" if viewport[0] > 400 else "phone"
    for i, path in enumerate(["", "analysis/rfm", "analysis/pareto", "analysis/lifecycle", "analysis/clusters",
                              "analysis/satisfaction", "customers/1"]):
        page.goto(f"{base}/sandbox/{sid}/{path}")
        charts = page.evaluate(CHART_CHECK)
        assert charts, path
        for chart in charts:
            assert chart["title"], (path, chart)
            assert not chart["small"], (path, chart["title"], chart["small"][:5])
            assert not chart["out"], (path, chart["title"], chart["out"][:5])
        if name == "phone":
            shot(page, f"3{i}-charts-{name}")
        else:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"3{i}-charts-{name}.png"), full_page=True)
    context.close()
