#!/usr/bin/env python3
"""Writes case-variants.jsonl: each firing sysmon and flat case of the other event files twice
more, its string values in upper case and in alternating case. Sigma compares strings
case-insensitively, so each variant must fire the same rules, in every evaluator and engine.

    python3 testdata/events/make-case-variants.py    (from the repository's top)
"""
import json
from pathlib import Path

HERE = Path(__file__).parent


def alternate(s):
    out, upper = [], True
    for ch in s:
        if ch.isalpha():
            out.append(ch.upper() if upper else ch.lower())
            upper = not upper
        else:
            out.append(ch)
    return "".join(out)


def main():
    lines = []
    for path in sorted(HERE.glob("*.jsonl")):
        if path.name == "case-variants.jsonl":
            continue
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            case = json.loads(line)
            if case["format"] not in ("sysmon", "flat") or not case["fires"]:
                continue
            for name, change in (("upper case", str.upper), ("alternating case", alternate)):
                event = {k: change(v) if isinstance(v, str) else v for k, v in case["event"].items()}
                if event == case["event"]:
                    continue  # nothing with a case (an address, a port)
                lines.append(json.dumps({"why": f"{path.name}:{no} in {name}", "format": case["format"],
                                         "fires": case["fires"], "event": event}, ensure_ascii=False))
    (HERE / "case-variants.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
