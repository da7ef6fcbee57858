"""The kit's guard: a plugin cannot delete or silently override a standard test."""

from __future__ import annotations

import textwrap

import pytest

from venuekit.testing import VenueConformanceTests
from venuekit.testing.guard import standard_tests, violations

pytest_plugins = ["pytester"]

HEADER = """
import pytest
from venuekit.testing import VenueConformanceTests


class TestPaperVenue(VenueConformanceTests):
    symbol = "XYZ"
"""


def module(body: str) -> str:
    return HEADER + textwrap.indent(textwrap.dedent(body), "    ")


def test_the_kit_has_the_standard_tests_of_the_issue() -> None:
    names = set(standard_tests(VenueConformanceTests))
    assert {"test_instruments_and_quantization", "test_submit_and_ack", "test_full_fill",
            "test_partial_fills", "test_cancel", "test_cancel_of_a_filled_order",
            "test_replace", "test_lookup_by_client_order_id", "test_lookup_by_fingerprint",
            "test_not_found_after_the_grace_window", "test_stream_and_polling_agree",
            "test_dropped_create_response_resolves_without_duplicate",
            "test_declared_rate_limits_are_respected", "test_error_insufficient_funds",
            "test_error_bad_quantity_or_tick", "test_error_authentication_failure",
            "test_error_unknown_symbol", "test_strategy_market",
            "test_strategy_aggressive_limit_falls_back_to_market"} <= names


def test_every_standard_test_says_how_to_fix_a_failure() -> None:
    for name, owner in standard_tests(VenueConformanceTests).items():
        doc = getattr(owner, name).__doc__ or ""
        assert "If this fails" in doc, f"{owner.__name__}.{name} has no fixing advice"


def test_a_deleted_standard_test_fails_collection(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_paper=module("test_cancel = None\n"))
    result = pytester.runpytest("--collect-only", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([
        "*venuekit conformance kit*",
        "*TestPaperVenue.test_cancel deletes the standard test OrderTests.test_cancel*"])


def test_an_overridden_standard_test_fails_collection(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_paper=module("""
        def test_full_fill(self):
            pass  # "passes" without checking anything
    """))
    result = pytester.runpytest("--collect-only", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([
        "*TestPaperVenue.test_full_fill overrides the standard test OrderTests.test_full_fill "
        "without @pytest.mark.xfail(reason=...)*"])


def test_an_override_through_a_helper_base_is_caught(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_paper="""
        from venuekit.testing import VenueConformanceTests

        class Quiet(VenueConformanceTests):
            def test_cancel(self):
                pass

        class TestPaperVenue(Quiet):
            symbol = "XYZ"
    """)
    result = pytester.runpytest("--collect-only", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*TestPaperVenue.test_cancel overrides*"])


def test_an_xfail_without_a_reason_is_not_enough(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_paper=module("""
        @pytest.mark.xfail
        def test_cancel(self):
            super().test_cancel()
    """))
    result = pytester.runpytest("--collect-only", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*TestPaperVenue.test_cancel overrides*"])


def test_an_xfail_with_a_reason_is_accepted(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_paper=module("""
        @pytest.mark.xfail(reason="the paper venue cannot cancel", strict=True)
        def test_cancel(self):
            raise AssertionError("cancel is not implemented by this venue")
    """))
    collected = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    assert collected.ret == pytest.ExitCode.OK
    collected.stdout.fnmatch_lines(["*TestPaperVenue::test_cancel*"])
    result = pytester.runpytest("-k", "test_cancel and not filled", "-p", "no:cacheprovider")
    result.assert_outcomes(xfailed=1)


def test_violations_lists_every_problem_at_once() -> None:
    class TestBoth(VenueConformanceTests):
        test_cancel = None

        def test_replace(self) -> None:
            pass

    problems = violations(TestBoth)
    assert len(problems) == 2
    assert "test_cancel deletes" in problems[0] and "test_replace overrides" in problems[1]


def test_every_standard_test_is_in_the_authoring_guide() -> None:
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "plugins" / "authoring.md")
    text = guide.read_text(encoding="utf-8")
    missing = [name for name in standard_tests(VenueConformanceTests) if f"`{name}`" not in text]
    assert missing == [], f"docs/plugins/authoring.md does not list {missing}"
