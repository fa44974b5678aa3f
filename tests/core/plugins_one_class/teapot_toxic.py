"""A toxic plugin with its layer-3 judgement: one class."""

from __future__ import annotations

from aichaos.faults import Attempts, Exchange, Reply, Toxic, Verdict, register


@register
class Teapot(Toxic):
    """Answers 418 with a JSON error body; a system must not retry it (it cannot succeed)."""

    type = "teapot"
    summary = "answer 418 I'm a teapot with a JSON error body"
    streams = ("downstream",)
    exercises = "handling of a permanent client error from a dependency"
    # a clean error is an acceptable outcome of this fault: nothing can be brewed
    acceptable = ("correct", "fallback", "error")
    condition_text = "teapot (418)"

    async def on_request(self, ex: Exchange) -> Reply | None:
        return Reply(418, b'{"error": {"message": "I am a teapot", "type": "teapot"}}')

    def judge(self, attempts: Attempts) -> list[Verdict]:
        retries = sum(max(0, len(calls) - 1) for calls in attempts)
        return [Verdict("teapot_not_retried", retries == 0, retries, "== 0", "attempts",
                        f"{retries} retries of a 418" if retries else "418 was not retried",
                        penalty="teapot_retried", metrics={"teapot_retries": retries})]
