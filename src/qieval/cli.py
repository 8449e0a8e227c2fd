"""Command line: ``qieval demo | validate | run``.

Exit status: 0 success; 1 a site report failed (the others still completed); 2 bad input (each
problem printed as ``FILE:ROW:COLUMN: message``, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import InputError

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


def _print_problems(problems) -> None:
    for p in problems:
        print(p, file=sys.stderr)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import write_demo

    written = write_demo(args.root)
    print(f"wrote {len(written)} demo files: " + ", ".join(str(p) for p in written))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from .io.load import validate_project

    errors, warnings = validate_project(args.params)
    _print_problems(warnings)
    if errors:
        _print_problems(errors)
        print(f"{len(errors)} problem(s) found in {args.params}", file=sys.stderr)
        return EXIT_INPUT
    print(f"{args.params}: valid" + (f" ({len(warnings)} warning(s))" if warnings else ""))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from .config import display_path, load_project
    from .io.load import load_project_data

    config = load_project(args.params)
    data = load_project_data(config)
    _print_problems(data.warnings)
    sites = config.sites
    if args.sites:
        wanted = [s.strip() for s in args.sites.split(",") if s.strip()]
        unknown = [s for s in wanted if s not in sites]
        if unknown:
            print(f"{args.params}::sites: unknown site(s) {', '.join(unknown)} "
                  f"(the project has: {', '.join(sites)})", file=sys.stderr)
            return EXIT_INPUT
        sites = wanted
    from .report.runner import run_site

    outcomes = [run_site(config, site, progress=not args.quiet) for site in sites]
    print()
    for o in outcomes:
        print(o.describe(), file=sys.stdout if o.ok else sys.stderr)
    failed = [o for o in outcomes if not o.ok]
    out = config.root / "reports" / config.id / "sites"
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} site reports written to {display_path(out)}")
    return EXIT_FAILED if failed else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qieval", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="write the demo projects' data and params")
    p.add_argument("--root", default=".", help="repository root to write into (default: .)")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("validate", help="check a project's params and data")
    p.add_argument("params", help="params/<project>.yaml")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("run", help="validate, then render every site's report")
    p.add_argument("params", help="params/<project>.yaml")
    p.add_argument("--sites", help="comma-separated site ids (default: all)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError as err:
        _print_problems(err.problems)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted; reports already written are complete, none is half-written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
