"""Writes docs/report.md, the study's paper, from its template and the
records in results/ (`fastweights_study.reporting.report`).

    python tuning/write_report.py            # writes docs/report.md
    python tuning/write_report.py --check    # exits 1 where it differs

With `--check` it writes nothing: it exits with status 1, naming the first
line that differs, when the committed report is not what the records give
(after a record changed without the report, or a hand edit of the report).
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv=None):
    from keras_fastweights import cli

    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1, naming the first differing line, if "
        "docs/report.md is not what the records give",
    )
    parser.add_argument(
        "--root",
        default=ROOT,
        help="the repository whose docs/ and results/ to read "
        "(default: this script's)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from fastweights_study.reporting import report

    rendered = report.write_report(args.root)
    path = os.path.join(args.root, report.REPORT)
    if args.check:
        committed = ""
        if os.path.exists(path):
            with open(path, encoding="utf-8", newline="") as file:
                committed = file.read()
        difference = report.first_difference(committed, rendered)
        if difference:
            sys.exit(
                f"{difference}\nRun `python tuning/write_report.py` and commit "
                f"{report.REPORT} with the records."
            )
        print(f"{report.REPORT} is what the records give")
        return 0
    with open(path, "w", encoding="utf-8", newline="") as file:
        file.write(rendered)
    print(f"{report.REPORT} written ({len(rendered.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
