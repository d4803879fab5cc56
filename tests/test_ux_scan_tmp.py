from tests.test_sandbox import make_world
from tests.conftest import login
from tests.uxscan import crawl

def test_scan(app, client):
    world = make_world(app)
    login(client, "alice")
    r1 = crawl(client, ["/", "/practice/", "/exam/", "/seeds/", "/bank/browse", "/practice/progress"], limit=150)
    client = app.test_client()
    login(client, "teacher")
    r2 = crawl(client, ["/", "/manage/", "/sandbox/", "/sandbox/cases", "/classes/"], limit=150)
    with open("/tmp/ux/scan.txt", "w") as f:
        for who, r in (("student", r1), ("teacher", r2)):
            for k, v in r.items():
                for p in sorted(set(v)):
                    f.write(f"{who} {k} {p}\n")
