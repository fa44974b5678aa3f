"""Starter files written by ``aichaos init``."""

EXPERIMENT = """\
# aichaos experiment: {title}
# Validate with `aichaos validate {filename}`, run with `aichaos run {filename}`.
# Editor support: `aichaos schema > aichaos.schema.json`.
title: {title}
target:
{target}
dataset: {dataset}            # golden cases: id, input, expected, context, tags
steady-state-hypothesis:
  title: healthy
  sample: 5                   # golden cases sent before and after the method
  slos:
    success_rate: {{min: 0.99}}
    latency_p95_s: {{max: 10.0}}
layers:
  capability:
    scorer: {{type: contains}}  # exact | contains | regex | json_schema | semantic
runtime:
  seed: 42
  concurrency: 2
  abort: {{error_rate: {{max: 0.5}}}}
report:
  dir: aichaos-results
"""

OPENAI_TARGET = """\
  type: openai
  base_url: {url}
  model: {model}
  api_key: {{type: env, key: OPENAI_API_KEY, default: ""}}
  stream: {stream}
  max_tokens: 64"""

HTTP_TARGET = """\
  type: http
  url: {url}
  body: {{input: "{{{{ input }}}}"}}
  answer_path: {answer_path}"""

DATASET = """\
# Golden cases. `expected` lists acceptable answer fragments (any one must appear).
cases:
  - id: capital-france
    input: What is the capital of France?
    expected: [Paris]
  - id: two-plus-two
    input: What is 2 + 2? Answer with a number.
    expected: ["4", four]
  - id: refund-window
    input: How many days do I have to return an item?
    context: Items can be returned within 30 days of delivery for a full refund.
    expected: ["30 days", thirty days]
"""
