"""The golden-case target of the agent experiments in these tests: counts its calls, so a
test can show nothing was sent."""

CALLS: list[str] = []


def answer(text: str) -> str:
    CALLS.append(text)
    return "Orders ship in two days."
