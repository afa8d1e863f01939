"""How a claim reads on the terminal (:class:`backproplab.lessons.result.Claim`)."""

from __future__ import annotations

from backproplab.lessons.result import Claim


def test_a_yes_no_claim_says_holds_and_names_its_measured_number():
    """"weights cycle: 1 (bound true)" read as if 1 were the verdict, and "revived: 0 (bound true)" as false."""
    assert str(Claim.holds("the weights cycle", True, value=1)) == "[PASS] the weights cycle: holds (measured: 1)"
    assert str(Claim.holds("no unit revived", False, value=0, evidence="2 of 8")) == \
        "[FAIL] no unit revived: does not hold (measured: 0)  (2 of 8)"
    assert str(Claim.holds("sigmoid is bounded", True)) == "[PASS] sigmoid is bounded: holds"


def test_a_claim_with_a_bound_shows_value_and_bound():
    assert str(Claim.at_most("sigmoid' never exceeds 1/4", 0.25, 0.25)) == \
        "[PASS] sigmoid' never exceeds 1/4: 0.25 (bound <= 0.25)"
