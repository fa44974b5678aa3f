"""The clarification/refusal detector against a labelled list (precision and recall)."""

from __future__ import annotations

import pytest

from aichaos.perturb import is_clarification, is_refusal

# (answer, is a clarification or polite refusal)
LABELLED: list[tuple[str, bool]] = [
    ("Could you clarify what you mean by that?", True),
    ("I'm not sure what you mean. Can you give me more details?", True),
    ("It looks like your message is empty. How can I help you today?", True),
    ("Please provide more details about the issue you're having.", True),
    ("I didn't quite understand your question. Could you rephrase it?", True),
    ("Hello! How can I assist you today?", True),
    ("Your message seems to be incomplete - what would you like to know?", True),
    ("I'm sorry, but I can't help with that.", True),
    ("I can\u2019t help with that request.", True),
    ("What do you mean? Your input doesn't seem to make sense.", True),
    ("Could you please provide more information so I can help?", True),
    ("It seems like your message got cut off. What was your question?", True),
    ("I'm afraid I cannot answer that without more context. Could you elaborate?", True),
    ("Did you mean 'reset password'? Let me know.", True),
    ("Hmm, that doesn't form a clear question. What would you like help with?", True),
    ("I am unable to assist with this request.", True),
    ("To reset your password, open Settings > Security and click 'Reset password'.", False),
    ("The capital of France is Paris.", False),
    ("You can reach support at support@example.com; they reply within 24 hours.", False),
    (
        "If you're not sure which email you used, try the address on your last invoice, "
        "then click 'Forgot password'.",
        False,
    ),
    ("Refunds take 5-7 business days. Let me know if you need more details!", False),
    ("Sure! Here are three ways to speed up your laptop: close apps, update, restart.", False),
    ("The error means the link expired; request a new one from the login page.", False),
    ("Your order #1234 shipped yesterday and should arrive on Friday.", False),
    ("Python's json module can't encode lone surrogates as UTF-8 without escaping.", False),
    ("It looks like the question was about billing, so here is the billing policy.", False),
    ("", False),
    ("   \n", False),
]


def test_labelled_precision_and_recall() -> None:
    assert len(LABELLED) >= 20
    tp = sum(1 for text, label in LABELLED if label and is_clarification(text))
    fp = sum(1 for text, label in LABELLED if not label and is_clarification(text))
    fn = sum(1 for text, label in LABELLED if label and not is_clarification(text))
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    assert precision == 1.0, [t for t, lab in LABELLED if not lab and is_clarification(t)]
    assert recall >= 0.9, [t for t, lab in LABELLED if lab and not is_clarification(t)]


@pytest.mark.parametrize(
    "text",
    ["I'm sorry, but I can't help with that.", "I am unable to assist with this request."],
)
def test_refusals_can_be_excluded(text: str) -> None:
    assert is_refusal(text)
    assert is_clarification(text)
    assert not is_clarification(text, include_refusal=False)


def test_clarification_is_not_a_refusal() -> None:
    assert not is_refusal("Could you clarify what you mean?")


def test_only_the_opening_counts() -> None:
    long_answer = "Step one, open the app. " * 30 + "Could you clarify which device you use?"
    assert len(long_answer) > 400
    assert not is_clarification(long_answer)
