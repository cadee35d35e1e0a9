"""The importers on recorded files of each tool: whole, truncated, and named wrongly; the
reconstruction of a distribution from printed percentiles; the documents they make are read
by compare, gate and the history like perfeng's own."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from perfeng.analysis.result_compare import compare_runs
from perfeng.errors import ConfigError, ExitCode
from perfeng.importers import hey, jmeter, k6, locust, sniff, wrk
from perfeng.importers.build import reconstruct
from perfeng.importers.parsed import ParseError
from perfeng.model import histogram as hdr
from perfeng.model.result import check_document, totals_from_document
from perfeng.workflows.importing import import_file
from tests.unit.import_samples import DATA, wrk2_text


def _summary(path: Path, source: str = "auto") -> dict[str, Any]:
    document = import_file(path, source).document
    check_document(document, str(path))
    totals_from_document(document)  # what merge, compare and the history read back
    summary: dict[str, Any] = document["summary"]
    return summary


def _close(observed: float | None, expected: float, within: float = 0.01) -> bool:
    return observed is not None and abs(observed - expected) <= within * expected + 0.001


# ---- reconstruction -----------------------------------------------------------------------


def test_reconstruct_reads_back_each_printed_percentile() -> None:
    points = ((50.0, 10.0), (90.0, 20.0), (99.0, 50.0))
    histogram = reconstruct(1000, points, low_ms=2.0, high_ms=100.0)
    assert histogram.get_total_count() == 1000
    for pct, ms in points:
        assert _close(histogram.get_value_at_percentile(pct) / 1000, ms, 0.002)
    assert histogram.get_min_value() == 2000 and _close(histogram.get_max_value() / 1000, 100)


def test_reconstruct_without_counts_or_points_is_empty() -> None:
    assert reconstruct(0, ((50.0, 1.0),)).get_total_count() == 0
    assert reconstruct(10, ()).get_total_count() == 0


# ---- wrk and wrk2 -------------------------------------------------------------------------


def test_wrk_latency_text_keeps_wrk_figures() -> None:
    summary = _summary(DATA / "wrk_latency.txt")
    assert summary["requests"] == 2615 and summary["errors"] == 0
    latency = summary["latency_ms"]
    assert (latency["p50"], latency["p90"], latency["p99"]) == (1.47, 4.26, 7.97)
    assert (latency["mean"], latency["max"], latency["min"]) == (2.14, 12.65, None)
    assert list(summary["by_name"]) == ["http://127.0.0.1:41823/fast"]
    assert summary["timeseries"] == []


def test_wrk2_spectrum_rebuilds_the_distribution_closely() -> None:
    rng = random.Random(7)
    truth = hdr.new_histogram()
    for _ in range(20_000):
        truth.record_value(int(rng.lognormvariate(7.5, 0.6)))
    parsed = wrk.parse(wrk2_text(truth, 24_000))
    assert parsed.source.tool == "wrk2"
    assert any("20000 of the 24000" in n for n in parsed.notes)  # calibration left out
    spectrum = parsed.names["http://127.0.0.1:8080/"]
    rebuilt = reconstruct(spectrum.requests, spectrum.percentiles, high_ms=spectrum.max_ms)
    for pct in (50.0, 90.0, 95.0, 99.0, 99.9):
        expected = truth.get_value_at_percentile(pct)
        assert _close(rebuilt.get_value_at_percentile(pct), expected, 0.02), pct


def test_wrk_errors_by_class_and_non_2xx() -> None:
    text = (
        (DATA / "wrk_latency.txt")
        .read_text()
        .replace(
            "Requests/sec",
            "  Socket errors: connect 2, read 3, write 1, timeout 4\n"
            "  Non-2xx or 3xx responses: 7\nRequests/sec",
        )
    )
    spectrum = next(iter(wrk.parse(text).names.values()))
    assert (spectrum.requests, spectrum.errors) == (2615 + 10, 17)
    assert spectrum.errors_by_class == {"connect": 2, "reset": 4, "timeout": 4}


def test_wrk_without_latency_distribution_is_refused() -> None:
    text = "\n".join(
        line
        for line in (DATA / "wrk_latency.txt").read_text().splitlines()
        if "%" not in line or "Stdev" in line or "Latency " in line
    )
    with pytest.raises(ParseError, match="--latency"):
        wrk.parse(text.replace("Latency Distribution", ""))


# ---- hey ----------------------------------------------------------------------------------


def test_hey_text() -> None:
    summary = _summary(DATA / "hey.txt")
    assert summary["requests"] == 2187 and summary["errors"] == 0
    latency = summary["latency_ms"]
    assert (latency["min"], latency["p50"], latency["p99"], latency["max"]) == (
        0.3,
        1.9,
        7.0,
        9.0,
    )


def test_hey_errors_are_classified_from_their_text() -> None:
    text = (DATA / "hey.txt").read_text() + (
        "\nError distribution:\n"
        '  [20]\tGet "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused\n'
        '  [2]\tGet "http://x/": context deadline exceeded\n  [1]\tsomething odd\n'
    )
    spectrum = hey.parse_text(text).names["all"]
    assert spectrum.requests == 2187 + 23 and spectrum.errors == 23
    assert spectrum.errors_by_class == {"connect": 20, "timeout": 2}


def test_hey_without_a_single_answer_has_no_latency_figures() -> None:
    summary = _summary(DATA / "hey_refused.txt")
    assert (summary["requests"], summary["errors"]) == (20, 20)
    assert summary["errors_by_class"]["connect"] == 20
    assert set(summary["latency_ms"].values()) == {None}


def test_hey_csv_is_exact() -> None:
    rows = (DATA / "hey.csv").read_text().splitlines()[1:]
    summary = _summary(DATA / "hey.csv")
    assert summary["requests"] == len(rows)
    assert sum(s["requests"] for s in summary["timeseries"]) == len(rows)
    values = sorted(round(float(r.split(",")[0]) * 1000, 1) for r in rows)
    assert _close(summary["latency_ms"]["max"], values[-1], 0.001)
    assert _close(summary["latency_ms"]["min"], values[0], 0.001)
    assert "ttfb" in summary["phases_ms"]


# ---- JMeter -------------------------------------------------------------------------------


def test_jmeter_csv_and_xml_of_one_run_agree() -> None:
    from_csv, from_xml = _summary(DATA / "jmeter.csv"), _summary(DATA / "jmeter.xml")
    assert from_csv["requests"] == from_xml["requests"] == 400
    assert from_csv["errors"] == 200 and from_csv["errors_by_class"]["http_4xx"] == 200
    assert from_csv["by_name"]["missing"]["errors"] == 200
    assert from_csv["histograms"] == from_xml["histograms"]
    assert from_csv["latency_ms"] == from_xml["latency_ms"]


def test_jmeter_csv_without_header_reads_213_defaults() -> None:
    text = (DATA / "jmeter.csv").read_text().split("\n", 1)[1]
    samples = jmeter.parse_csv(text)
    assert len(samples.requests) == 400
    assert any("2.13's default order" in n for n in samples.notes)


def test_jmeter_xml_without_closing_tag_is_recovered_with_a_note() -> None:
    document = import_file(DATA / "jmeter_unclosed.xml").document
    assert document["summary"]["requests"] == 400
    assert any("without </testResults>" in n for n in document["notes"])


def test_jmeter_xml_of_unknown_version_is_refused() -> None:
    text = (DATA / "jmeter.xml").read_text().replace('version="1.2"', 'version="9.0"', 1)
    with pytest.raises(ParseError, match=r"unknown JTL version '9\.0'"):
        jmeter.parse_xml(text)


def test_jmeter_failure_without_status_is_classified_from_its_message() -> None:
    header = "timeStamp,elapsed,label,responseCode,responseMessage,success,bytes,Latency\n"
    row = (
        "1796361246707,5,api,Non HTTP response code: java.net.ConnectException,"
        "Non HTTP response message: Connection refused,false,0,0\n"
    )
    request = jmeter.parse_csv(header + row).requests[0]
    assert (request.status, request.error) == (0, "connect")


# ---- Locust -------------------------------------------------------------------------------


def test_locust_csv_set(tmp_path: Path) -> None:
    summary = _summary(DATA / "locust" / "run_stats_history.csv")  # any file of the set
    assert summary["requests"] == 1100 and summary["errors"] == 165
    assert summary["errors_by_class"]["http_4xx"] == 165
    assert summary["by_name"]["/fast"]["latency_ms"]["p50"] == 3.0
    assert summary["latency_ms"]["max"] == 51.148
    seconds = summary["timeseries"]
    assert len(seconds) == 4 and sum(s["errors"] for s in seconds) == 165
    assert seconds[1]["errors_by_class"] == {"http_4xx": 51}  # the run's only class
    assert seconds[1]["p50_ms"] is None  # Locust's window was still empty: 0s, not 0 ms
    shutil.copy(DATA / "locust" / "run_stats.csv", tmp_path / "alone_stats.csv")
    document = import_file(tmp_path / "alone_stats.csv").document
    assert any("no per-second series" in n for n in document["notes"])
    assert any("errors not classified" in n for n in document["notes"])


def test_locust_unknown_layout_is_refused() -> None:
    text = (DATA / "locust" / "run_stats.csv").read_text().replace("99.9%,", "99.8%,")
    with pytest.raises(ParseError, match="unknown Locust stats layout"):
        locust.parse(text)


# ---- k6 -----------------------------------------------------------------------------------


def test_k6_points_are_exact_per_request() -> None:
    summary = _summary(DATA / "k6" / "points.json")
    assert summary["requests"] == 60 and summary["errors"] == 4
    assert summary["errors_by_class"]["http_5xx"] == 3
    assert summary["errors_by_class"]["connect"] == 1
    assert set(summary["by_name"]) == {"api", "home"}
    assert {"connect", "ttfb", "receive"} <= set(summary["by_name"]["api"]["phases_ms"])
    assert sum(s["requests"] for s in summary["timeseries"]) == 60


@pytest.mark.parametrize("name", ["handle_summary.json", "summary_export.json"])
def test_k6_summaries_keep_k6_figures(name: str) -> None:
    import json

    trend = json.loads((DATA / "k6" / "handle_summary.json").read_text())["metrics"]
    values = trend["http_req_duration"]["values"]
    summary = _summary(DATA / "k6" / name)
    assert summary["requests"] == 60 and summary["errors"] == 4
    latency = summary["latency_ms"]
    assert latency["p90"] == round(values["p(90)"], 3)
    assert latency["p50"] == round(values["med"], 3)
    assert latency["mean"] == round(values["avg"], 3)
    points = _summary(DATA / "k6" / "points.json")["latency_ms"]
    assert _close(points["p50"], latency["p50"], 0.02)


# ---- what goes wrong ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("jmeter_cut.xml", 24),
        ("jmeter_cut.csv", 31),
        ("hey_cut.csv", 5),
        ("wrk_cut.txt", 5),
        ("k6/points_cut.json", 19),
        ("k6/handle_summary_cut.json", 37),
    ],
)
def test_truncated_files_name_the_file_and_line(name: str, line: int) -> None:
    with pytest.raises(ConfigError, match=rf"{name}: line {line}: .*truncated") as caught:
        import_file(DATA / name)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "\n" not in str(caught.value)


def test_from_names_a_tool_the_file_is_not() -> None:
    with pytest.raises(ConfigError, match=r"this is hey -o csv, not k6 output \(--from k6\)"):
        import_file(DATA / "hey.csv", "k6")
    with pytest.raises(ConfigError, match="not wrk output: expected wrk --latency text"):
        import_file(DATA / "locust" / "locustfile.py", "wrk")


def test_unknown_and_empty_files(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hello\n")
    with pytest.raises(ConfigError, match="not a format perfeng imports"):
        import_file(tmp_path / "x.txt")
    (tmp_path / "empty.json").write_text("")
    with pytest.raises(ConfigError, match="empty file"):
        import_file(tmp_path / "empty.json")
    with pytest.raises(ConfigError, match="no such file"):
        import_file(tmp_path / "missing.jtl")


def test_impossible_figures_are_refused(tmp_path: Path) -> None:
    text = (DATA / "k6" / "summary_export.json").read_text()
    (tmp_path / "summary.json").write_text(text.replace('"passes": 4', '"passes": 400'))
    with pytest.raises(ConfigError, match="error_rate must be a number between 0 and 1"):
        import_file(tmp_path / "summary.json")
    header = "timeStamp,elapsed,label,responseCode,success\n"
    with pytest.raises(ParseError, match="negative"):
        jmeter.parse_csv(header + "1796361246707,-5,api,200,true\n")


def test_gzipped_k6_points(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "points.json.gz").write_bytes(
        gzip.compress((DATA / "k6" / "points.json").read_bytes())
    )
    assert _summary(tmp_path / "points.json.gz")["requests"] == 60


def test_sniffing_picks_each_format() -> None:
    labels = {
        "wrk_latency.txt": "wrk --latency text",
        "hey.txt": "hey text output",
        "hey.csv": "hey -o csv",
        "jmeter.csv": "JMeter JTL (CSV)",
        "jmeter.xml": "JMeter JTL (XML)",
        "locust/run_failures.csv": "Locust --csv files",
        "k6/points.json": "k6 --out json points",
        "k6/summary_export.json": "k6 end-of-test summary JSON",
    }
    for name, label in labels.items():
        found = sniff((DATA / name).read_text())
        assert found is not None and found.label == label, name


def test_trailing_text_after_the_output_is_ignored() -> None:
    text = (DATA / "wrk_latency.txt").read_text() + "\n$ echo done\ndone\n"
    assert next(iter(wrk.parse(text).names.values())).requests == 2615
    assert k6.parse_points((DATA / "k6" / "points.json").read_text() + "\n\n").requests


def test_imported_documents_compare_with_each_other() -> None:
    base = import_file(DATA / "jmeter.csv").document
    head = import_file(DATA / "k6" / "points.json").document
    comparison = compare_runs(base, head, min_effect=0.05, alpha=0.01)
    assert any(row.name == "total" for row in comparison.rows)
