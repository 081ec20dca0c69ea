"""A process that renders user-written templates (NodeRole files) under hard limits.

Run by `render.limited`: one JSON request per line on stdin, one JSON answer per line on stdout. The
limits are set here, before any template is read: an address-space cap (a `{{ 'x' * 10**9 }}` fails
with MemoryError instead of swapping the node or getting the operator OOM-killed) and a cap on output
counted while rendering. The parent enforces the time limit by killing this process."""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

import jinja2
import jinja2.sandbox


class OutputTooLarge(Exception):
    pass


def render_all(env: jinja2.Environment, request: dict[str, Any]) -> dict[str, Any]:
    budget = int(request["maxOutput"])
    rendered: list[str] = []
    for index, source in enumerate(request["templates"]):
        try:
            parts: list[str] = []
            for chunk in env.from_string(source).generate(**request["context"]):
                budget -= len(chunk)
                if budget < 0:
                    raise OutputTooLarge
                parts.append(chunk)
            rendered.append("".join(parts))
        except OutputTooLarge:
            return {"index": index, "error": f"the rendered output exceeds {request['maxOutput']} characters"}
        except MemoryError:
            return {"index": index, "error": "the template needs more memory than rendering may use"}
        except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError, RecursionError) as exc:
            return {"index": index, "error": str(exc)[:1000] or type(exc).__name__}
    return {"rendered": rendered}


def main() -> int:
    memory = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    env = jinja2.sandbox.SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    for line in sys.stdin:
        try:
            answer = render_all(env, json.loads(line))
        except MemoryError:
            answer = {"index": 0, "error": "the template needs more memory than rendering may use"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
