"""Class lists as schools export them: UTF-8 (with or without BOM), GBK and GB18030 files made
here, Chinese and English headers, a column mapping, Canvas's and Moodle's exports as they come;
a re-import that changes nothing changes nothing; invitations as a CSV file a spreadsheet reads."""

from __future__ import annotations

import csv
import io
import json

import pytest

from api.services import roster
from core.errors import BadRequest
from tests.api.conftest import bearer
from torchgrade import cli

CHINESE = "学号,姓名,班级,邮箱\n{p}01,李雷,计科2301,lilei@example.edu\n{p}02,韩梅梅,计科2301,\n{p}03,王𠀀,计科2302,\n"
CANVAS = ('"Student","ID","SIS User ID","SIS Login ID","Section","Week 1 (1234)"\n'
          '"    Points Possible","","","","","10.00"\n'
          '"Lei, Li","5501","20260001","{p}li.lei","PyTorch 2026 Section A","9.00"\n'
          '"Han, Meimei","5502","20260002","{p}han.mm","PyTorch 2026 Section B","10.00"\n')
MOODLE = ('First name,Surname,ID number,Institution,Department,Email address,Username,Groups\n'
          '雷,李,20260001,某大学,计算机学院,lilei@example.edu,{p}moodle1,A班\n'
          'Meimei,Han,20260002,Some University,CS,hmm@example.edu,{p}moodle2,B班\n')


def import_file(client, course, data: bytes, **form):
    response = client.post(f"/api/v1/courses/{course['course']}/roster", headers=bearer(course, "instructor"),
                           files={"file": ("roster.csv", data)},
                           data={k: json.dumps(v) if isinstance(v, dict) else str(v).lower() for k, v in form.items()})
    return response


def members(client, course, **params) -> dict[str, dict]:
    response = client.get(f"/api/v1/courses/{course['course']}/members", headers=bearer(course, "instructor"),
                          params=params)
    assert response.status_code == 200, response.text
    return {m["student_id"]: m for m in response.json()}


def prefix(course) -> str:
    return course["course"][-6:]


# ---------------------------------------------------------------------- reading the bytes
@pytest.mark.parametrize("encoding, said", [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 with BOM"), ("gbk", "GBK")])
def test_each_encoding_is_detected_and_named(encoding, said):
    text = "学号,姓名,班级\n2026001,李雷,计科2301\n2026002,韩梅梅,计科2301\n"
    assert roster.decode(text.encode(encoding)) == (text, said)


def test_gb18030_reads_what_gbk_cannot():
    text = "学号,姓名\n2026003,王𠀀\n"  # U+20000 is beyond GBK
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    assert roster.decode(text.encode("gb18030")) == (text, "GB18030")


def test_unreadable_bytes_are_refused_with_their_lines():
    data = "学号,姓名\n2026001,李雷\n".encode() + b"2026002,\xff\xfe\xfd\n2026003,ok\n\xff\n"
    with pytest.raises(BadRequest) as refused:
        roster.decode(data)
    assert "line(s) 3, 5 cannot be read" in str(refused.value.message)


def test_headers_in_chinese_english_and_a_mapping():
    rows, used, ignored = roster.parse("学籍号,Name,Class,E-mail,角色,备注\n2026001,Li Lei,CS1,l@x.cn,教师,x\n",
                                       {"学籍号": "student_id"})
    assert used == {"student_id": "学籍号", "name": "Name", "class": "Class", "email": "E-mail", "role": "角色"}
    assert ignored == ["备注"] and (rows[0].student_id, rows[0].name, rows[0].role) == ("2026001", "Li Lei", "instructor")
    with pytest.raises(BadRequest, match="no column 'Matrikel'"):
        roster.parse("学号\n1\n", {"Matrikel": "student_id"})
    with pytest.raises(BadRequest, match="the fields are"):
        roster.parse("学号\n1\n", {"学号": "matrikel"})
    with pytest.raises(BadRequest, match="needs a student ID column"):
        roster.parse("姓名\n李雷\n")


def test_semicolons_and_tabs_are_read_too():
    for separator in (";", "\t"):
        rows, _, _ = roster.parse(f"学号{separator}姓名\n2026001{separator}李雷\n")
        assert (rows[0].student_id, rows[0].name) == ("2026001", "李雷")


def test_windows_line_ends_and_a_quoted_line_break():
    rows, _, _ = roster.parse('学号,姓名,班级\r\n2026001,李雷,计科\r\n2026002,"韩\n梅梅",x\r\n2026003,"Wang, Wu",y\r\n')
    assert [(r.line, r.student_id, r.name, r.class_name) for r in rows] == [
        (2, "2026001", "李雷", "计科"), (3, "2026002", "韩\n梅梅", "x"), (5, "2026003", "Wang, Wu", "y")]


def test_bad_rows_name_their_line():
    with pytest.raises(BadRequest, match="roster line 3: student ID 'bad id!'"):
        roster.parse("学号,姓名\n2026001,a\nbad id!,b\n")
    with pytest.raises(BadRequest, match="roster line 4: student ID 2026001 is on line 2 already"):
        roster.parse("学号,姓名\n2026001,a\n2026002,b\n2026001,c\n")
    with pytest.raises(BadRequest, match="roster line 2: role 'dean'"):
        roster.parse("学号,角色\n2026001,dean\n")


def test_canvas_and_moodle_exports_as_they_come():
    rows, used, _ = roster.parse(CANVAS.format(p=""))
    assert used["student_id"] == "SIS Login ID" and used["class"] == "Section"
    assert [(r.line, r.student_id, r.name, r.class_name) for r in rows] == [
        (3, "li.lei", "Lei, Li", "PyTorch 2026 Section A"), (4, "han.mm", "Han, Meimei", "PyTorch 2026 Section B")]
    rows, used, _ = roster.parse(MOODLE.format(p=""))
    assert used["student_id"] == "Username" and used["email"] == "Email address"
    assert [(r.student_id, r.name, r.class_name, r.email) for r in rows] == [
        ("moodle1", "李雷", "A班", "lilei@example.edu"), ("moodle2", "Meimei Han", "B班", "hmm@example.edu")]
    without_login = roster.parse(CANVAS.format(p="").replace('"SIS Login ID"', '"Login"', 1))[0]
    assert without_login[0].student_id == "li.lei"
    no_login_column = "Student,SIS User ID,Section\n\"Lei, Li\",20260001,A\n"
    assert roster.parse(no_login_column)[0][0].student_id == "20260001"


# ---------------------------------------------------------------------- importing
def test_a_gbk_roster_imports_and_reimports_idempotently(client, course):
    p = prefix(course)
    data = CHINESE.format(p=p).replace("王𠀀", "王五").encode("gbk")
    first = import_file(client, course, data)
    assert first.status_code == 200, first.text
    report = first.json()
    assert report["encoding"] == "GBK"
    assert report["added"] == [f"{p}01", f"{p}02", f"{p}03"] and report["updated"] == report["unchanged"] == []
    assert sorted(report["missing"]) == sorted(course["students"]) and report["dropped"] == []
    assert [(i["student_id"], i["name"], i["class_name"]) for i in report["invitations"]] == [
        (f"{p}01", "李雷", "计科2301"), (f"{p}02", "韩梅梅", "计科2301"), (f"{p}03", "王五", "计科2302")]
    assert all(i["url"].endswith("/invite/" + i["code"]) for i in report["invitations"])
    listed = members(client, course)
    assert (listed[f"{p}01"]["name"], listed[f"{p}01"]["class"], listed[f"{p}01"]["email"]) == \
        ("李雷", "计科2301", "lilei@example.edu")

    again = import_file(client, course, data).json()
    assert again["unchanged"] == [f"{p}01", f"{p}02", f"{p}03"]
    assert again["added"] == again["updated"] == again["invitations"] == []

    moved = CHINESE.format(p=p).replace("王𠀀", "王五").replace("韩梅梅,计科2301", "韩梅梅,计科2302")
    moved = "\n".join(line for line in moved.splitlines() if not line.startswith(f"{p}01")) + "\n"
    changed = import_file(client, course, moved.encode("gb18030"), drop_missing=True).json()
    assert changed["encoding"] == "GBK"  # GB18030 of these characters is GBK
    assert changed["updated"] == [f"{p}02"] and changed["unchanged"] == [f"{p}03"]
    assert sorted(changed["dropped"]) == sorted([f"{p}01", *course["students"]])
    assert set(members(client, course)) == {course["instructor"], f"{p}02", f"{p}03"}
    assert members(client, course)[f"{p}02"]["class"] == "计科2302"

    back = import_file(client, course, data).json()
    assert back["added"] == [f"{p}01"] and back["invitations"] == []  # re-enrolled: their account exists


def test_gb18030_canvas_and_moodle_rosters_import(client, course):
    p = prefix(course)
    report = import_file(client, course, CHINESE.format(p=p).encode("gb18030")).json()
    assert report["encoding"] == "GB18030" and members(client, course)[f"{p}03"]["name"] == "王𠀀"
    canvas = import_file(client, course, CANVAS.format(p=p).encode("utf-8-sig")).json()
    assert canvas["encoding"] == "UTF-8 with BOM" and canvas["added"] == [f"{p}li.lei", f"{p}han.mm"]
    moodle = import_file(client, course, MOODLE.format(p=p).encode()).json()
    assert moodle["added"] == [f"{p}moodle1", f"{p}moodle2"] and members(client, course)[f"{p}moodle1"]["name"] == "李雷"


def test_a_mapping_and_a_refusal_through_the_api(client, course):
    p = prefix(course)
    mapped = import_file(client, course, f"学籍号,姓名\n{p}x1,赵六\n".encode(), mapping={"学籍号": "student_id"})
    assert mapped.status_code == 200 and mapped.json()["added"] == [f"{p}x1"]
    broken = import_file(client, course, f"学号,姓名\n{p}y1,ok\n{p}y1,twice\n".encode())
    assert broken.status_code == 400 and "line 3" in broken.json()["error"]["message"]
    assert f"{p}y1" not in members(client, course)  # nothing stored
    unreadable = import_file(client, course, b"\xd1\xa7\xba\xc5\n\xff\xff\n")
    assert unreadable.status_code == 400 and unreadable.json()["error"]["code"] == "roster_encoding"
    bad_mapping = import_file(client, course, b"a\n1\n", mapping="not json")
    assert bad_mapping.status_code == 400 and bad_mapping.json()["error"]["code"] == "roster_mapping"


def check_invitations_csv(data: bytes) -> list[dict]:
    """What a spreadsheet program needs: a BOM, LF line ends, the bilingual header."""
    assert data.startswith(b"\xef\xbb\xbf") and b"\r" not in data and data.endswith(b"\n")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == ["学号/student_id", "姓名/name", "班级/class", "邀请码/invitation_code",
                             "邀请链接/invitation_url"] if rows else True
    return rows


def test_invitations_as_a_csv_file(client, course):
    p = prefix(course)
    imported = import_file(client, course, CHINESE.format(p=p).encode("utf-8-sig"), format="csv")
    response = client.post(f"/api/v1/courses/{course['course']}/roster", headers=bearer(course, "instructor"),
                           params={"format": "csv"}, files={"file": ("r.csv", f"学号,姓名\n{p}z1,钱七\n".encode())})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = check_invitations_csv(response.content)
    assert [(r["学号/student_id"], r["姓名/name"]) for r in rows] == [(f"{p}z1", "钱七")]
    assert imported.status_code == 200

    reissued = client.post(f"/api/v1/courses/{course['course']}/invitations", headers=bearer(course, "instructor"),
                           json={"students": [f"{p}01", f"{p}02"]})
    assert reissued.status_code == 200, reissued.text
    again = check_invitations_csv(reissued.content)
    assert [(r["学号/student_id"], r["姓名/name"], r["班级/class"]) for r in again] == [
        (f"{p}01", "李雷", "计科2301"), (f"{p}02", "韩梅梅", "计科2301")]
    assert again[0]["邀请码/invitation_code"] and again[0]["邀请链接/invitation_url"].endswith(
        again[0]["邀请码/invitation_code"])
    everyone = check_invitations_csv(client.post(f"/api/v1/courses/{course['course']}/invitations",
                                                 headers=bearer(course, "instructor")).content)
    assert {r["学号/student_id"] for r in everyone} == {f"{p}01", f"{p}02", f"{p}03", f"{p}z1", *course["students"]}
    stranger = client.post(f"/api/v1/courses/{course['course']}/invitations", headers=bearer(course, "instructor"),
                           json={"students": ["nobody"]})
    assert stranger.status_code == 404


def test_the_cli_imports_with_a_mapping_and_writes_the_invitations(api_settings, monkeypatch, capsysbinary, tmp_path,
                                                                    client, course):
    monkeypatch.setattr("torchgrade.service_commands.get_settings", lambda: api_settings)
    p = prefix(course)
    source = tmp_path / "名单.csv"
    source.write_bytes(f"学籍号,姓名,班级\n{p}c1,孙八,计科2301\n".encode("gbk"))
    out = tmp_path / "invitations.csv"
    assert cli.main(["--lang", "zh", "roster", "import", str(source), "--course", course["course"],
                     "--map", "学籍号=student_id", "--invitations", str(out)]) == 0
    err = capsysbinary.readouterr().err.decode()
    assert "按 GBK 读取；新增 1" in err and "--drop-missing" in err
    assert [r["学号/student_id"] for r in check_invitations_csv(out.read_bytes())] == [f"{p}c1"]
    assert cli.main(["--lang", "en", "roster", "invitations", course["course"], f"{p}c1"]) == 0
    assert [r["姓名/name"] for r in check_invitations_csv(capsysbinary.readouterr().out)] == ["孙八"]
    assert cli.main(["--lang", "en", "roster", "import", str(source), "--course", course["course"],
                     "--map", "学籍号"]) == 2
    assert "--map takes HEADER=FIELD" in capsysbinary.readouterr().err.decode()
