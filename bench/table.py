"""Prints the table of `bench/all.sh` from its rows file (JSON lines from bench/rows.py):
per row, Isotherm's best against the fastest peer's best in the same run, the ratio,
and what the row measured. Rows without a peer carry their target instead.

    python bench/table.py bench/out-all/rows.jsonl
"""
import json
import sys


def fmt(value, unit):
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 0.1 else f"{value:.2f} s"
    return f"{value:.0f} {unit}"


def main(path):
    rows, order = {}, []
    for line in open(path):
        r = json.loads(line)
        if r["row"] not in rows:
            rows[r["row"]] = {"tools": {}, "input": "", "target": "", "unit": r.get("unit", "s")}
            order.append(r["row"])
        entry = rows[r["row"]]
        tool = entry["tools"].setdefault(r["tool"], {"seconds": float("inf"), "note": ""})
        if r["seconds"] < tool["seconds"]:
            tool.update(seconds=r["seconds"], note=r.get("note", ""))
        entry["input"] = r.get("input") or entry["input"]
        entry["target"] = r.get("target") or entry["target"]
    print("| row | input | Isotherm | fastest peer | peer | Isotherm vs peer |")
    print("|---|---|---|---|---|---|")
    behind = []
    for name in order:
        e = rows[name]
        ours = e["tools"].get("Isotherm")
        peers = {t: v for t, v in e["tools"].items() if t != "Isotherm"}
        ours_text = fmt(ours["seconds"], e["unit"]) + (f" {ours['note']}" if ours and ours["note"] else "") if ours else "failed"
        if peers:
            tool, best = min(peers.items(), key=lambda kv: kv[1]["seconds"])
            peer_text = fmt(best["seconds"], e["unit"]) + (f" {best['note']}" if best["note"] else "")
            if ours:
                ratio = best["seconds"] / ours["seconds"]
                shown = (lambda r: f"{r:.2f}" if r < 2 else f"{r:.1f}")
                verdict = f"**{shown(ratio)}x faster**" if ratio >= 1 else f"{shown(1 / ratio)}x slower"
                if ratio < 1:
                    behind.append(name)
            else:
                verdict = "-"
            print(f"| {name} | {e['input']} | {ours_text} | {tool} | {peer_text} | {verdict} |")
        else:
            print(f"| {name} | {e['input']} | {ours_text} | - | - | target: {e['target'] or '-'} |")
    if behind:
        print(f"\nBehind its fastest peer: {', '.join(behind)}.")


if __name__ == "__main__":
    main(sys.argv[1])
