"""The TOML scenario format: its examples, its docs, its error messages and its data files."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from perfeng.engine.workloads import ConstantRate, RampingRate, RampingUsers, Users
from perfeng.errors import ConfigError
from perfeng.scenario.data import RowPicker, load_csv
from perfeng.scenario.model import Check, DataSource, ThinkTime
from perfeng.scenario.toml_loader import load_toml_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DOC = ROOT / "docs" / "scenarios.md"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.toml"))


def scenario(top: str = "", request: str = "", workload: str = "", tail: str = "") -> str:
    """A valid scenario, with extra lines in its top level, first request and workload."""
    return (
        f'base_url = "http://127.0.0.1:8080"\n{top}\n'
        f'[[requests]]\nname = "home"\npath = "/"\n{request}\n'
        f'[[workloads]]\ntype = "constant-rate"\nrate = "10/s"\nduration = "1s"\n{workload}\n'
        f"{tail}\n"
    )


def write(tmp_path: Path, text: str, csv: str | None = None) -> Path:
    if csv is not None:
        (tmp_path / "users.csv").write_text(csv, encoding="utf-8")
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str, csv: str | None = None) -> str:
    path = write(tmp_path, text, csv)
    with pytest.raises(ConfigError) as info:
        load_toml_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


USERS_CSV = "user,password\nalice,wonderland\nbob,builder\n"
DATA = '[data]\nfile = "users.csv"'
SECOND = '[[requests]]\nname = "login"\nmethod = "POST"\npath = "/login"\n'
USERS_WORKLOAD = '[[workloads]]\ntype = "users"\nusers = 1\nduration = "1s"\n'


# ---- examples and docs ---------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_example_loads(path: Path) -> None:
    loaded = load_toml_scenario(path)
    assert loaded.source == str(path)
    assert loaded.base_url == "http://127.0.0.1:8080"
    assert loaded.requests and loaded.workloads
    assert path.read_text(encoding="utf-8").startswith(f"# examples/{path.name}\n")


def test_there_are_examples_of_every_workload_type() -> None:
    types = {w.type for path in EXAMPLE_FILES for w in load_toml_scenario(path).workloads}
    assert types == {"constant-rate", "ramping-rate", "users", "ramping-users"}


def test_docs_show_every_example_exactly() -> None:
    doc = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(# examples/(\S+)\n.*?)```", doc, re.DOTALL)
    shown = {name: text for text, name in blocks}
    assert sorted(shown) == [p.name for p in EXAMPLE_FILES]
    for name, text in shown.items():
        assert text == (EXAMPLES / name).read_text(encoding="utf-8"), name
    csv_blocks = re.findall(r"```csv\n(.*?)```", doc, re.DOTALL)
    assert csv_blocks == [(EXAMPLES / "users.csv").read_text(encoding="utf-8")]


DOC_ERRORS = [
    'base_url = "http://127.0.0.1:8080"\n\n[[requests]]\nname = "home"\nmethod = "GET"\n'
    "weight = 2\npath = /home\n",
    scenario(workload="users = 5"),
    scenario(workload="").replace('"1s"', '"soon"'),
    scenario(top=f'[data]\nfile = "{EXAMPLES / "users.csv"}"', tail=SECOND) + 'body = "u=${usr}"\n',
    'base_url = "http://127.0.0.1:8080"\n[[requests]]\npath = "/"\n',
]


def test_docs_error_samples_are_real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The messages shown under "When a file is wrong" are what the loader says."""
    doc = DOC.read_text(encoding="utf-8")
    block = doc.split("## When a file is wrong", 1)[1].split("```\n", 2)[1]
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    said = []
    for text in DOC_ERRORS:
        Path("scenario.toml").write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            load_toml_scenario("scenario.toml")
        said.append(str(info.value))
    assert block.splitlines() == said


def test_basic_example() -> None:
    loaded = load_toml_scenario(EXAMPLES / "basic.toml")
    home, api = loaded.requests
    assert (home.name, home.method, home.url, home.weight) == ("home", "GET", "/", 3.0)
    assert home.headers == (("Accept", "text/html"),)
    assert home.checks == (
        Check("status", statuses=frozenset({200})),
        Check("body_contains", text="ok"),
    )
    assert api.checks[1:] == (
        Check("json_path", path="ok", expected=True),
        Check("json_path", path="items[0].id", expected=7),
    )
    assert loaded.thresholds == ("p99<200ms", "error_rate<1%")
    assert loaded.workloads == (ConstantRate(rate=50.0, duration_s=10.0),)
    # A total timeout below the 10 s default shortens the phase timeouts, as in quick mode.
    client = loaded.client
    assert (client.total_timeout_s, client.connect_timeout_s, client.read_timeout_s) == (5, 5, 5)


def test_login_example_keeps_placeholders_in_the_json_body() -> None:
    loaded = load_toml_scenario(EXAMPLES / "login-flow.toml")
    login, profile = loaded.requests
    assert login.body == '{"user":"${user}","password":"${password}","remember":true}'
    assert ("Content-Type", "application/json") in login.headers
    assert login.templated and profile.templated
    assert profile.headers == (("Authorization", "Bearer ${token}"),)
    assert loaded.data is not None
    assert loaded.data.columns == {"user", "password", "token"}
    assert loaded.data.path == str(EXAMPLES / "users.csv")


def test_ramp_and_closed_examples() -> None:
    ramp = load_toml_scenario(EXAMPLES / "ramp.toml")
    assert ramp.workloads == (
        RampingRate(
            stages=((5.0, 100.0), (10.0, 100.0), (5.0, 300.0), (5.0, 0.0)),
            start_rate=10.0,
            max_in_flight=200,
        ),
    )
    assert (ramp.client.connect_timeout_s, ramp.client.read_timeout_s) == (2.0, 5.0)
    closed = load_toml_scenario(EXAMPLES / "closed-users.toml")
    assert closed.think_time == ThinkTime("uniform", 0.5, 1.5)
    assert closed.workloads == (
        RampingUsers(stages=((5.0, 10.0), (10.0, 10.0)), name="ramp-up"),
        Users(users=5, duration_s=15.0, name="steady"),
    )


# ---- accepted input -------------------------------------------------------------------------


def test_defaults_and_common_headers(tmp_path: Path) -> None:
    text = scenario(
        top='headers = { Authorization = "Bearer t", Accept = "*/*" }\nthresholds = "p99<1s"',
        request='headers = { accept = "text/plain" }',
        tail='[[requests]]\nmethod = "post"\npath = "/form"\nbody = "a=1"\n',
    )
    loaded = load_toml_scenario(write(tmp_path, text))
    home, form = loaded.requests
    assert home.headers == (("Authorization", "Bearer t"), ("accept", "text/plain"))
    assert (form.name, form.method, form.body, form.weight) == ("POST /form", "POST", "a=1", 1)
    assert form.headers == (("Authorization", "Bearer t"), ("Accept", "*/*"))
    assert loaded.thresholds == ("p99<1s",)
    assert loaded.think_time == ThinkTime()
    assert loaded.data is None


def test_base_url_prefix_and_absolute_request_url(tmp_path: Path) -> None:
    text = scenario(request='url = "https://other.example/x?q=1"').replace('path = "/"\n', "")
    text = text.replace(":8080", ":8080/api/")
    loaded = load_toml_scenario(write(tmp_path, text))
    assert loaded.base_url == "http://127.0.0.1:8080/api"
    assert loaded.requests[0].url == "https://other.example/x?q=1"


def test_json_body_keeps_its_content_type_and_json_checks_flatten(tmp_path: Path) -> None:
    request = (
        'method = "PUT"\njson = [1, "${user}"]\n'
        'headers = { content-type = "application/vnd.x+json" }\n'
        '[requests.check]\njson = { data = { id = 7, tags = ["a"] }, "items[1].n" = 2.5 }'
    )
    text = scenario(top='[data]\nfile = "users.csv"', request=request)
    loaded = load_toml_scenario(write(tmp_path, text, csv="user\nalice\n"))
    spec = loaded.requests[0]
    assert spec.body == '[1,"${user}"]'
    assert spec.headers == (("content-type", "application/vnd.x+json"),)
    assert [(c.path, c.expected) for c in spec.checks] == [
        ("data.id", 7),
        ("data.tags", ["a"]),
        ("items[1].n", 2.5),
    ]


def test_workload_tables_and_default_names(tmp_path: Path) -> None:
    tail = (
        '[[workloads]]\ntype = "ramping-rate"\nstart_rate = 5\n'
        'stages = [{ duration = "2s", target = "120/m" }, { duration = "1s", target = 0 }]\n'
        '[[workloads]]\ntype = "constant-rate"\nrate = 3\nduration = "2s"\nmax_in_flight = 4\n'
        '[[workloads]]\ntype = "users"\nname = "people"\nusers = 2\nduration = "500ms"\n'
    )
    loaded = load_toml_scenario(write(tmp_path, scenario(tail=tail)))
    assert [w.name for w in loaded.workloads] == [
        "constant-rate",
        "ramping-rate",
        "constant-rate-3",
        "people",
    ]
    assert loaded.workloads[1] == RampingRate(stages=((2.0, 2.0), (1.0, 0.0)), start_rate=5.0)
    assert loaded.workloads[2] == ConstantRate(3.0, 2.0, 4, name="constant-rate-3")


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('constant = "250ms"', ThinkTime("constant", 0.25)),
        ('constant = "0s"', ThinkTime("constant", 0.0)),
        ('uniform = ["1s", "1s"]', ThinkTime("uniform", 1.0, 1.0)),
        ('pacing = "3s"', ThinkTime("pacing", 3.0)),
    ],
)
def test_think_time(tmp_path: Path, table: str, expected: ThinkTime) -> None:
    text = scenario(tail='[[workloads]]\ntype = "users"\nusers = 1\nduration = "1s"\n')
    text = text.replace("[[requests]]", f"[think_time]\n{table}\n[[requests]]", 1)
    assert load_toml_scenario(write(tmp_path, text)).think_time == expected


def test_client_options(tmp_path: Path) -> None:
    top = (
        'timeout = "30s"\nconnect_timeout = "1s"\ninsecure = true\nfollow_redirects = true\n'
        "max_redirects = 0\nkeep_alive = false"
    )
    client = load_toml_scenario(write(tmp_path, scenario(top=top))).client
    assert (client.total_timeout_s, client.connect_timeout_s, client.read_timeout_s) == (30, 1, 10)
    assert (client.insecure, client.follow_redirects, client.keep_alive) == (True, True, False)
    assert client.max_redirects == 0


# ---- refused input: one rule per row --------------------------------------------------------

BAD = [
    # the file itself
    pytest.param(
        'base_url = "http://h"\n[[requests]]\npath = \n',
        "scenario.toml:3:8: invalid",
        id="toml-syntax",
    ),
    pytest.param(scenario(request='path = "/x"'), "scenario.toml:6:", id="toml-duplicate-key"),
    # unknown keys, with suggestions
    pytest.param(
        scenario(top='tiemout = "1s"'),
        "'tiemout' at the top level; did you mean 'timeout'?",
        id="unknown-top",
    ),
    pytest.param(
        scenario(tail=SECOND + "wieght = 2"),
        "unknown key 'wieght' in [[requests]] #2 ('login'); did you mean 'weight'?",
        id="unknown-request",
    ),
    pytest.param(
        scenario(request="[requests.check]\nstatuss = 200"),
        "unknown key 'statuss' in [requests.check] of [[requests]] #1 ('home'); "
        "did you mean 'status'?",
        id="unknown-check",
    ),
    pytest.param(
        scenario(top=DATA + '\nordr = "random"'),
        "'ordr' in [data]; did you mean 'order'?",
        id="unknown-data",
    ),
    pytest.param(
        scenario(top='[think_time]\nconstnt = "1s"'),
        "unknown key 'constnt' in [think_time]; did you mean 'constant'?",
        id="unknown-think-time",
    ),
    pytest.param(
        scenario(workload="max_inflight = 3"),
        "'max_inflight' in [[workloads]] #1 (constant-rate); did you mean 'max_in_flight'?",
        id="unknown-workload",
    ),
    pytest.param(
        scenario(workload="users = 5"),
        "belongs in [[workloads]] of type users or pattern (constant-rate takes type, name, rate,",
        id="key-of-another-type",
    ),
    pytest.param(
        scenario(top='rate = "5/s"'),
        "'rate' at the top level; it belongs in [[workloads]] of type constant-rate",
        id="key-of-another-table",
    ),
    pytest.param(
        scenario(
            tail='[[workloads]]\ntype = "ramping-rate"\n'
            'stages = [{ duration = "1s", target = 1, hold = "1s" }]'
        ),
        "unknown key 'hold' in [[workloads]] #2 (ramping-rate) stage 1",
        id="unknown-stage-key",
    ),
    # types
    pytest.param(
        scenario(request='weight = "3"'),
        "'weight' in [[requests]] #1 ('home'): expected a number, got string",
        id="weight-string",
    ),
    pytest.param(
        scenario(request="weight = true"), "expected a number, got boolean", id="weight-bool"
    ),
    pytest.param(
        scenario(top='insecure = "yes"'),
        "'insecure' at the top level: expected true",
        id="insecure-string",
    ),
    pytest.param(
        scenario(tail=USERS_WORKLOAD.replace("1\n", "2.5\n")),
        "'users' in [[workloads]] #2 (users): expected a whole number, got float",
        id="users-float",
    ),
    pytest.param(
        scenario(workload="").replace('"1s"', "1"),
        "'duration' in [[workloads]] #1 (constant-rate): expected a duration string",
        id="duration-number",
    ),
    pytest.param(
        'base_url = "http://h"\n[requests]\npath = "/"\n',
        "expected an array of tables ([[requests]]), got table",
        id="requests-table",
    ),
    pytest.param(
        'base_url = "http://h"\nrequests = [1]\n',
        "item 1 is not a table (got integer)",
        id="requests-item",
    ),
    pytest.param(
        scenario(request="headers = { X-Count = 3 }"),
        "value of 'X-Count' must be a string",
        id="header-value",
    ),
    pytest.param(
        scenario(request='headers = { "Bad Name" = "x" }'),
        "'Bad Name' is not a valid header",
        id="header-name",
    ),
    pytest.param(
        scenario(request='headers = { X = "a\\r\\nB: c" }'),
        "contains a line break",
        id="header-newline",
    ),
    pytest.param(
        scenario(top="thresholds = [1]"),
        "1 is not a threshold such as 'p99<200ms'",
        id="thresholds-number",
    ),
    pytest.param(scenario(request='method = "GE T"'), "'GE T' is not an HTTP method", id="method"),
    pytest.param(
        scenario(request="weight = 0"),
        "'weight' in [[requests]] #1 ('home'): must be above 0",
        id="weight-zero",
    ),
    pytest.param(scenario(request="weight = nan"), "must be above 0", id="weight-nan"),
    # requests and URLs
    pytest.param(
        'base_url = "http://h"\n' + USERS_WORKLOAD,
        "no requests: add at least one",
        id="no-requests-key",
    ),
    pytest.param('base_url = "http://h"\nrequests = []\n', "no requests", id="empty-requests"),
    pytest.param(
        scenario(tail=SECOND.replace("login", "home")),
        "[[requests]] #2 ('home'): name 'home' is already used by [[requests]] #1 ('home')",
        id="duplicate-names",
    ),
    pytest.param(
        scenario().replace('base_url = "http://127.0.0.1:8080"', ""),
        "top level: missing required key 'base_url'",
        id="missing-base-url",
    ),
    pytest.param(
        scenario().replace("http://127.0.0.1:8080", "ftp://h"),
        "'base_url' at the top level: URL 'ftp://h' must start with http:// or https://",
        id="base-url-scheme",
    ),
    pytest.param(
        scenario().replace("http://127.0.0.1:8080", "http://"),
        "URL 'http://' has no host",
        id="base-url-host",
    ),
    pytest.param(scenario().replace("8080", "99999"), "invalid URL", id="base-url-port"),
    pytest.param(
        scenario().replace(":8080", ":8080/?a=1"), "must not have a ?query", id="base-url-query"
    ),
    pytest.param(
        scenario(request="").replace('path = "/"', 'path = "home"'),
        "'path' in [[requests]] #1 ('home'): must start with /, got 'home'",
        id="path-slash",
    ),
    pytest.param(
        scenario(request="").replace('path = "/"', 'path = "/a b"'),
        "contains whitespace",
        id="path-space",
    ),
    pytest.param(
        scenario(request='url = "/x"').replace('path = "/"\n', ""),
        "'url' in [[requests]] #1 ('home'): URL '/x' must start with http:// or https://",
        id="url-relative",
    ),
    pytest.param(
        scenario(request='url = "http://h/x"'),
        "give either 'path' or 'url', not both",
        id="path-and-url",
    ),
    pytest.param(
        scenario(request='body = "x"\njson = { a = 1 }'),
        "give either 'body' or 'json'",
        id="body-and-json",
    ),
    pytest.param(
        scenario(request="json = { x = nan }"),
        "'json' in [[requests]] #1 ('home'): cannot be",
        id="json-nan",
    ),
    # durations and rates
    pytest.param(
        scenario(workload="").replace('"1s"', '"soon"'),
        "'duration' in [[workloads]] #1 (constant-rate): invalid duration 'soon'",
        id="bad-duration",
    ),
    pytest.param(
        scenario(workload="").replace('"10/s"', '"fast"'),
        "'rate' in [[workloads]] #1 (constant-rate): invalid rate 'fast'",
        id="bad-rate",
    ),
    pytest.param(
        scenario(top='timeout = "0s"'),
        "'timeout' at the top level: must be above 0",
        id="bad-timeout",
    ),
    pytest.param(
        scenario(top='read_timeout = "ten"'),
        "'read_timeout' at the top level: invalid",
        id="bad-read-timeout",
    ),
    pytest.param(
        scenario(top="max_redirects = -1"), "must not be negative", id="negative-redirects"
    ),
    # placeholders and data files
    pytest.param(
        scenario(request='path = "/u/${user}"').replace('path = "/"\n', ""),
        "[[requests]] #1 ('home'): uses ${user} but there is no [data] file",
        id="no-data",
    ),
    pytest.param(
        scenario(top=DATA, tail=SECOND + 'json = { u = "${usr}" }'),
        "[[requests]] #2 ('login'): ${usr} is not a column of users.csv (columns: password, user)",
        id="not-a-column",
    ),
    pytest.param(
        scenario(top=DATA, request='headers = { X = "${ user}" }'),
        "malformed placeholder '${ user}'",
        id="malformed-placeholder",
    ),
    pytest.param(
        scenario(top=DATA.replace("users", "nobody")),
        "cannot read data file",
        id="missing-data-file",
    ),
    pytest.param(
        scenario(top=DATA + '\norder = "shuffle"'),
        "'order' in [data]: must be 'cycle'",
        id="data-order",
    ),
    pytest.param(
        scenario(top='[data]\norder = "random"'),
        "[data]: missing required key 'file'",
        id="data-no-file",
    ),
    # workloads
    pytest.param(
        'base_url = "http://h"\n[[requests]]\npath = "/"\n',
        "at least one workload",
        id="no-workloads",
    ),
    pytest.param(
        scenario(workload="").replace('"constant-rate"', '"constant"'),
        "unknown workload type 'constant'; did you mean 'constant-rate'?",
        id="workload-type",
    ),
    pytest.param(
        scenario(workload="").replace('type = "constant-rate"\n', ""),
        "[[workloads]] #1: missing required key 'type'",
        id="workload-no-type",
    ),
    pytest.param(
        scenario(tail=USERS_WORKLOAD.replace("users = 1\n", "")),
        "[[workloads]] #2 (users): missing required key 'users'",
        id="workload-missing-key",
    ),
    pytest.param(
        scenario(workload="").replace('"10/s"', '"0/s"'),
        "[[workloads]] #1 (constant-rate): constant-rate: rate must be above 0",
        id="workload-own-check",
    ),
    pytest.param(
        scenario(workload="max_in_flight = 0"),
        "max-in-flight must be at least 1",
        id="max-in-flight",
    ),
    pytest.param(
        scenario(tail='[[workloads]]\ntype = "ramping-rate"\nstages = "10s-100"'),
        "'stages' in [[workloads]] #2 (ramping-rate): invalid stage '10s-100'",
        id="bad-stages",
    ),
    pytest.param(
        scenario(tail='[[workloads]]\ntype = "ramping-users"\nstart_users = 2'),
        "missing required key 'stages'",
        id="no-stages",
    ),
    pytest.param(
        scenario(tail='[[workloads]]\ntype = "ramping-users"\nstages = "1s:2.5"'),
        "users must be whole",
        id="fractional-users",
    ),
    pytest.param(
        scenario(workload='name = "a"', tail=USERS_WORKLOAD + 'name = "a"'),
        "[[workloads]] #2 (users): name 'a' is already used by [[workloads]] #1 (constant-rate)",
        id="duplicate-workloads",
    ),
    # think time
    pytest.param(
        scenario(top='[think_time]\nconstant = "1s"\npacing = "2s"', tail=USERS_WORKLOAD),
        "[think_time]: give exactly one of",
        id="think-two-kinds",
    ),
    pytest.param(
        scenario(top="[think_time]", tail=USERS_WORKLOAD), "give exactly one of", id="think-empty"
    ),
    pytest.param(
        scenario(top='[think_time]\nconstant = "1s"'),
        "think time applies to users and ramping-users workloads only",
        id="think-open-only",
    ),
    pytest.param(
        scenario(top='[think_time]\nuniform = ["2s", "1s"]', tail=USERS_WORKLOAD),
        "'uniform' in [think_time]: the low end 2s is above the high end 1s",
        id="think-uniform-order",
    ),
    pytest.param(
        scenario(top='[think_time]\nuniform = ["1s"]', tail=USERS_WORKLOAD),
        "expected two duration strings",
        id="think-uniform-shape",
    ),
    pytest.param(
        scenario(top='[think_time]\npacing = "0s"', tail=USERS_WORKLOAD),
        "'pacing' in [think_time]: must be above 0",
        id="think-pacing-zero",
    ),
    pytest.param(
        scenario(top='[think_time]\nconstant = "a while"', tail=USERS_WORKLOAD),
        "'constant' in [think_time]: invalid duration 'a while'",
        id="think-bad-duration",
    ),
    # checks
    pytest.param(
        scenario(request="[requests.check]\nstatus = [200, 700]"),
        "'status' in [requests.check] of [[requests]] #1 ('home'): 700 is not an HTTP status code",
        id="check-status",
    ),
    pytest.param(
        scenario(request='[requests.check]\njson = { "a..b" = 1 }'),
        "'a..b' is not a path such as data.items[0].id",
        id="check-json-path",
    ),
    pytest.param(
        scenario(request='[requests.check]\nbody_contains = "hi ${user}"'),
        "checks are not templated",
        id="check-template",
    ),
    pytest.param(
        scenario(request='[requests.check]\nbody_contains = [""]'),
        "'' is not a non-empty string",
        id="check-empty-text",
    ),
]


@pytest.mark.parametrize(("text", "fragment"), BAD)
def test_refused(tmp_path: Path, text: str, fragment: str) -> None:
    message = load_error(tmp_path, text, csv=USERS_CSV)
    assert fragment.replace("scenario.toml", str(tmp_path / "scenario.toml")) in message


@pytest.mark.parametrize(
    ("csv", "fragment"),
    [
        ("", "data file is empty; its first row must name the columns"),
        ("\n\n", "data file is empty"),
        ("user,password\n", "data file has a header row but no data rows"),
        ("alice@example.com,secret\n", "the first row must name the columns"),
        ("1,2\n3,4\n", "'1', '2' is not a valid name"),
        ("user,user\nа,b\n", "column 'user' appears twice"),
        ("user,password\nalice\n", "row 2: 1 values for 2 columns (user, password)"),
        ('user\n"unclosed\n', "users.csv"),
    ],
)
def test_refused_data_files(tmp_path: Path, csv: str, fragment: str) -> None:
    text = scenario(top=DATA, request='path = "/u/${user}"').replace('path = "/"\n', "")
    message = load_error(tmp_path, text, csv=csv)
    assert f"'file' in [data]: {tmp_path / 'users.csv'}" in message
    assert fragment in message


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(None, "cannot read scenario"), (b"base_url = '\xff'\n", "is not UTF-8")],
)
def test_unreadable_scenario(tmp_path: Path, content: bytes | None, fragment: str) -> None:
    path = tmp_path / "scenario.toml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        load_toml_scenario(path)


# ---- CSV data -------------------------------------------------------------------------------


def test_load_csv(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes('\ufeffuser, note\n\nalice,"a, b"\n\nbob,"two\nlines"\n'.encode())
    source = load_csv(path, "random")
    assert source.rows == ({"user": "alice", "note": "a, b"}, {"user": "bob", "note": "two\nlines"})
    assert (source.order, source.path, source.columns) == ("random", str(path), {"user", "note"})
    with pytest.raises(ConfigError, match="order must be 'cycle' or 'random'"):
        load_csv(path, "shuffled")


def test_row_picker_cycles_in_file_order() -> None:
    source = DataSource("d.csv", ({"n": "1"}, {"n": "2"}, {"n": "3"}))
    picker = RowPicker(source, random.Random(1))
    assert [picker.next()["n"] for _ in range(7)] == ["1", "2", "3", "1", "2", "3", "1"]


def test_row_picker_random_is_seeded_and_reaches_every_row() -> None:
    source = DataSource("d.csv", tuple({"n": str(i)} for i in range(5)), order="random")
    first = [RowPicker(source, random.Random(7)).next()["n"] for _ in range(3)]
    picker = RowPicker(source, random.Random(7))
    drawn = [picker.next()["n"] for _ in range(200)]
    assert first == [RowPicker(source, random.Random(7)).next()["n"]] * 3
    assert set(drawn) == {str(i) for i in range(5)}
    assert drawn != sorted(drawn)


def test_row_picker_needs_rows() -> None:
    with pytest.raises(ValueError, match="no rows"):
        RowPicker(DataSource("d.csv", ()), random.Random())


# ---- checks, as loaded, on sample answers ----------------------------------------------------


def loaded_checks(tmp_path: Path, check: str) -> tuple[Check, ...]:
    text = scenario(request=f"[requests.check]\n{check}")
    return load_toml_scenario(write(tmp_path, text)).requests[0].checks


def failures(checks: tuple[Check, ...], status: int, body: bytes) -> list[str]:
    return [f for c in checks if (f := c.failure(status, body)) is not None]


def test_status_check(tmp_path: Path) -> None:
    checks = loaded_checks(tmp_path, "status = [200, 404]")
    assert failures(checks, 404, b"") == []
    assert failures(checks, 500, b"") == ["status 500 not in [200, 404]"]
    assert not checks[0].needs_body


def test_body_contains_checks(tmp_path: Path) -> None:
    checks = loaded_checks(tmp_path, 'body_contains = ["Welcome", "café"]')
    assert failures(checks, 200, "<h1>Welcome to the café</h1>".encode()) == []
    assert failures(checks, 200, b"<h1>Welcome</h1>") == ["body does not contain 'café'"]


def test_json_checks(tmp_path: Path) -> None:
    checks = loaded_checks(tmp_path, 'json = { "data.items[0].id" = 7, ok = true }')
    assert failures(checks, 200, b'{"data": {"items": [{"id": 7.0}]}, "ok": true}') == []
    assert failures(checks, 200, b'{"data": {"items": [{"id": 8}]}, "ok": true}') == [
        "data.items[0].id = 8, expected 7"
    ]
    assert failures(checks, 200, b'{"data": {"items": []}}') == [
        "JSON path 'data.items[0].id' not found",
        "JSON path 'ok' not found",
    ]
    assert failures(checks, 200, b"<html>") == ["body is not JSON"] * 2
