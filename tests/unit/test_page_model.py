"""The pure parts of ``perfeng page``: CDP framing, CLS session windows, TBT, the median run,
page thresholds and Lighthouse budgets, and the document's declared shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfeng.analysis.page import band, cls_of, median_run, run_of, tbt_of
from perfeng.browser.cdp import Messages
from perfeng.errors import ConfigError
from perfeng.gates.page import evaluate_page, load_budget, parse_page_threshold, path_matches
from perfeng.gates.parser import ThresholdSyntaxError
from perfeng.model.page import LongTask, Observation, Resource, Shift, read_page
from perfeng.model.watch import ShapeError


def test_cdp_messages_number_frame_and_sort() -> None:
    messages = Messages()
    first, data = messages.command("Page.navigate", {"url": "http://x/"}, session="S")
    assert first == 1 and data.endswith(b"\0")
    assert json.loads(data[:-1]) == {
        "id": 1,
        "method": "Page.navigate",
        "params": {"url": "http://x/"},
        "sessionId": "S",
    }
    assert messages.command("Browser.close")[0] == 2
    whole = b'{"id":1,"result":{"frameId":"F"}}\0{"method":"Page.loadEventFired","params":{}}\0'
    for byte in range(len(whole)):  # one byte at a time: framing survives any split
        messages.feed(whole[byte : byte + 1])
    assert messages.answers == {1: {"id": 1, "result": {"frameId": "F"}}}
    assert [e["method"] for e in messages.events] == ["Page.loadEventFired"]
    messages.feed(b'{"id":2,"result":{}}\0{"id":3')  # trailing half message waits
    assert set(messages.answers) == {1, 2}


def shift(at: float, value: float) -> Shift:
    return Shift(start_ms=at, value=value)


def test_cls_is_the_largest_session_window() -> None:
    assert cls_of([]) == 0.0
    # 0.1 + 0.05 in one window (gap 500 ms); a 1 s gap starts the next: 0.12 alone.
    assert cls_of([shift(100, 0.1), shift(600, 0.05), shift(1700, 0.12)]) == pytest.approx(0.15)
    # A window never spans more than 5 s, even with shifts every 900 ms.
    steady = [shift(i * 900.0, 0.01) for i in range(12)]
    assert cls_of(steady) == pytest.approx(0.06)  # 0, 900, ..., 4500: six shifts


def test_tbt_counts_long_tasks_after_fcp_beyond_50ms() -> None:
    tasks = [
        LongTask(start_ms=10, duration_ms=500),
        LongTask(start_ms=300, duration_ms=120),
        LongTask(start_ms=900, duration_ms=50),
    ]
    assert tbt_of(tasks, fcp_ms=200) == pytest.approx(70.0)
    assert tbt_of(tasks, fcp_ms=None) == pytest.approx(450 + 70)


def observation(fcp: float, lcp: float) -> Observation:
    resource = Resource(
        url="http://a/x.js",
        type="script",
        third_party=False,
        status=200,
        start_ms=1,
        end_ms=2,
        transfer_bytes=2048,
    )
    return Observation(
        ttfb_ms=5,
        fcp_ms=fcp,
        lcp_ms=lcp,
        lcp_element="img#hero",
        lcp_url=None,
        dom_content_loaded_ms=fcp,
        load_ms=lcp,
        resources=[resource],
        shifts=[],
        long_tasks=[],
        timed_out=False,
    )


def test_the_median_run_is_closest_to_both_medians() -> None:
    runs = [
        run_of(observation(f, c)) for f, c in ((100, 900), (120, 1000), (300, 1100), (110, 3000))
    ]
    assert median_run(runs) == 1
    assert runs[0].by_type["script"].transfer_kb == 2.0 and runs[0].by_type["total"].requests == 1


def test_bands() -> None:
    assert band("lcp_ms", 2500) == "good"
    assert band("lcp_ms", 2501) == "needs improvement"
    assert band("cls", 0.3) == "poor"
    assert band("load_ms", 1.0) is None


@pytest.mark.parametrize(
    ("text", "metric", "limit", "unit", "kind"),
    [
        ("lcp<2.5s", "lcp", 2500.0, "ms", None),
        ("cls<0.1", "cls", 0.1, "score", None),
        ("tbt <= 200 ms", "tbt", 200.0, "ms", None),
        ("transfer_kb{type=script}<300", "transfer_kb", 300.0, "KB", "script"),
        ("transfer_kb{type=third-party}<=50KB", "transfer_kb", 50.0, "KB", "third-party"),
        ("requests{type=image}<=20", "requests", 20.0, "count", "image"),
    ],
)
def test_page_thresholds_parse(
    text: str, metric: str, limit: float, unit: str, kind: str | None
) -> None:
    threshold = parse_page_threshold(text)
    assert (threshold.metric, threshold.limit, threshold.unit) == (metric, limit, unit)
    assert threshold.selector_name == kind


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("lcp<2.5", "needs a unit"),
        ("speed<1s", "unknown page metric"),
        ("lcp{type=image}<1s", "takes no selector"),
        ("requests{type=video}<3", "unknown resource type"),
        ("cls<0.1ms", "takes no unit"),
        ("lcp=<1s", "did you mean"),
    ],
)
def test_bad_page_thresholds_name_the_column(text: str, says: str) -> None:
    with pytest.raises(ThresholdSyntaxError, match=says):
        parse_page_threshold(text)


def test_thresholds_judge_the_run() -> None:
    run = run_of(observation(100, 3000))
    verdicts = evaluate_page(
        [parse_page_threshold(t) for t in ("lcp<2.5s", "transfer_kb{type=script}<=2", "ttfb<1ms")],
        run,
    )
    assert [(v.observed, v.passed) for v in verdicts] == [(3000, False), (2.0, True), (5, False)]


def test_lighthouse_path_patterns() -> None:
    assert path_matches("/*", "/anything/at/all")
    assert path_matches("/shop", "/shop/cart")
    assert not path_matches("/shop$", "/shop/cart")
    assert path_matches("/*.html$", "/a/b.html")
    assert not path_matches("/blog", "/")


def test_a_lighthouse_budget_becomes_thresholds(tmp_path: Path) -> None:
    budget = [
        {"path": "/*", "resourceSizes": [{"resourceType": "total", "budget": 500}]},
        {
            "path": "/checkout",
            "timings": [
                {"metric": "largest-contentful-paint", "budget": 2000, "tolerance": 100},
                {"metric": "cumulative-layout-shift", "budget": 0.05},
            ],
            "resourceCounts": [{"resourceType": "third-party", "budget": 5}],
        },
    ]
    path = tmp_path / "budget.json"
    path.write_text(json.dumps(budget))
    found = [t.expression for t in load_budget(path, "https://shop.example/checkout/pay")]
    assert found == ["lcp<=2100ms", "cls<=0.05", "requests{type=third-party}<=5"]
    assert [t.expression for t in load_budget(path, "https://shop.example/")] == [
        "transfer_kb{type=total}<=500"
    ]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("[{", "not a budget.json"),
        ('{"path": "/"}', "Expected `array`"),
        ('[{"timing": []}]', "unknown field `timing`"),
        ('[{"timings": [{"metric": "interactive", "budget": 1}]}]', "not measured by perfeng"),
        ('[{"resourceSizes": [{"resourceType": "video", "budget": 1}]}]', "is not one of"),
    ],
)
def test_bad_budgets_say_what_is_wrong(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "budget.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=says):
        load_budget(path, "http://a/")


def test_a_damaged_page_document_names_the_field() -> None:
    with pytest.raises(ShapeError, match="missing required field `settings`"):
        read_page({"format": "perfeng-page", "url": "http://a/", "metadata": {}}, "p.json")
    with pytest.raises(ShapeError, match="newer"):
        read_page({"format": "perfeng-page", "format_version": 9}, "p.json")
