"""Command line: ``qieval demo | new | validate | run | params-reference | lab``.

Exit status: 0 success; 1 a report (or a requested PDF copy) failed (the others still completed); 2 bad input (each
problem printed as ``FILE:ROW:COLUMN: message``, never a traceback).
"""

from __future__ import annotations

import argparse
import errno
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
    from .config import load_config
    from .io.load import load_data

    config = load_config(args.params)
    data = load_data(config)
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
    if args.scheduler and args.executor != "dask":
        print("--scheduler needs --executor dask", file=sys.stderr)
        return EXIT_INPUT
    from .farm.batch import run_farm, summary_table

    pdf = ("all" if args.pdf_sites or "site_pdf" in config.outputs
           else "project" if args.pdf or "pdf" in config.outputs else None)
    result = run_farm(
        config, data, sites, workers=args.workers, executor=args.executor, scheduler=args.scheduler,
        force=args.force, timeout=args.timeout or None, max_sites=args.max_sites_per_kernel,
        progress=not args.quiet, project_reports=not args.no_project_reports, audience=args.audience,
        pdf=pdf,
    )
    print(summary_table(result))
    for o in result.failed:
        print(o.describe(), file=sys.stderr)
    if result.failed:
        print(f"{len(result.failed)} report(s) failed: "
              + ", ".join(o.site_id for o in result.failed), file=sys.stderr)
    for line in dict.fromkeys(result.pdf_errors):  # one line per distinct cause (HTML kept)
        print(f"PDF not written: {line}", file=sys.stderr)
    return EXIT_FAILED if result.failed or result.pdf_errors else EXIT_OK


def _os_error_line(err: OSError) -> str:
    """One line for an error writing (or reading) files: which file and why, without a traceback."""
    from .config import display_path
    from .records.source import mask_secrets

    where = f" {display_path(err.filename)}" if getattr(err, "filename", None) else ""
    why = err.strerror or str(err) or type(err).__name__
    hint = {errno.ENOSPC: " (the disk is full)", errno.EDQUOT: " (disk quota exceeded)",
            errno.EROFS: " (the file system is read-only)",
            errno.EACCES: " (no permission: is the folder read-only?)",
            errno.EPERM: " (no permission: is the folder read-only?)"}.get(err.errno, "")
    return mask_secrets(f"qieval: cannot write or read{where}: {why}{hint}; "
                        "reports already written are complete, none is half-written")


def cmd_new(args: argparse.Namespace) -> int:
    from .config import display_path
    from .new_project import new_project

    written = new_project(args.project, args.root)
    print(f"wrote {', '.join(display_path(p) for p in written)}")
    params = display_path(written[0])
    print(f"next: replace the placeholders in {params} (every key is described in docs/params.md), "
          f"fill the tables in {display_path(written[1].parent)}, then run: qieval validate {params}")
    return EXIT_OK


def cmd_params_reference(args: argparse.Namespace) -> int:
    from .format import write_atomic
    from .params_reference import render

    text = render()
    if args.check:
        current = Path(args.check).read_text(encoding="utf-8") if Path(args.check).is_file() else ""
        if current != text:
            print(f"{args.check} is out of date with the params schema; regenerate it with "
                  f"'qieval params-reference --output {args.check}'", file=sys.stderr)
            return EXIT_FAILED
        print(f"{args.check}: up to date")
        return EXIT_OK
    if args.output:
        write_atomic(args.output, text)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def project_root(start: Path) -> Path:
    """The project root at or above ``start``: the nearest folder holding ``params/`` or
    ``notebooks/`` (else ``start``)."""
    for folder in (start, *start.parents):
        if (folder / "params").is_dir() or (folder / "notebooks").is_dir():
            return folder
    return start


def cmd_lab(args: argparse.Namespace) -> int:
    import importlib.util
    import os
    import subprocess

    if importlib.util.find_spec("jupyterlab") is None:
        print("JupyterLab is not installed in this environment: run scripts/bootstrap "
              "(or pip install -c constraints.txt jupyterlab)", file=sys.stderr)
        return EXIT_INPUT
    root = Path(args.root).resolve() if args.root else project_root(Path.cwd().resolve())
    if not root.is_dir():
        print(f"{args.root}: not a folder", file=sys.stderr)
        return EXIT_INPUT
    extra = args.jupyter_args[1:] if args.jupyter_args[:1] == ["--"] else args.jupyter_args
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}"]
    cmd += [f"--ServerApp.port={args.port}"] if args.port is not None else []
    cmd += ["--no-browser"] if args.no_browser else []
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # a container's root user: JupyterLab refuses without it
        cmd.append("--allow-root")
    print(f"opening JupyterLab at {root} (notebooks in notebooks/; stop with Ctrl-C)", file=sys.stderr, flush=True)
    if os.name == "posix":  # become JupyterLab: signals (Ctrl-C, kill) reach the server itself, no orphan
        sys.stdout.flush()
        os.execv(sys.executable, [*cmd, *extra])
    proc = subprocess.Popen([*cmd, *extra])
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Ctrl-C reached JupyterLab too; let it shut down
        return proc.wait()


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qieval", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="write the demo projects' data and params")
    p.add_argument("--root", default=".", help="repository root to write into (default: .)")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("new", help="start a project: a commented params file and empty tables",
                       description="Write params/<project>.yaml (commented; placeholders for the "
                                   "required keys) and data/<project>/ sites.csv, measure_values.csv and "
                                   "pdsa_cycles.csv with their header rows. Never overwrites a file.")
    p.add_argument("project", help="project id: letters, digits, '_' or '-'")
    p.add_argument("--root", default=".", help="repository root to write into (default: .)")
    p.set_defaults(func=cmd_new)
    p = sub.add_parser("params-reference", help="print the params reference (docs/params.md) from the schema")
    p.add_argument("--output", "-o", metavar="FILE", help="write it to FILE instead of printing it")
    p.add_argument("--check", metavar="FILE",
                   help="exit 1 if FILE differs from the reference generated now")
    p.set_defaults(func=cmd_params_reference)
    p = sub.add_parser("validate", help="check a project's params and data")
    p.add_argument("params", help="params/<project>.yaml")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("run", help="validate, then render every site's report in parallel",
                       description="Validate the project, then render every site's report (and the "
                                   "project-level reports) in warm Jupyter kernels, in parallel; sites "
                                   "whose inputs are unchanged since their last good run are skipped.")
    p.add_argument("params", help="params/<project>.yaml")
    p.add_argument("--sites", help="comma-separated site ids (default: all)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="parallel workers, each with one warm kernel (default: the number of cores)")
    p.add_argument("--executor", choices=["threads", "processes", "dask"], default="threads",
                   help="threads in this process (default), a process pool, or a Dask cluster")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="with --executor dask: the scheduler of an existing cluster "
                        "(default: start a LocalCluster with --workers workers)")
    p.add_argument("--force", action="store_true", help="rerun every site, even if unchanged")
    p.add_argument("--timeout", type=float, default=600,
                   help="seconds a notebook cell may run before the site fails (default: 600; 0: none); "
                        "project reports: this per 1,000 sites, at least this")
    p.add_argument("--max-sites-per-kernel", type=_positive_int, default=50, metavar="K",
                   help="replace a worker's kernel after K sites (default: 50; 1: a fresh kernel per site)")
    p.add_argument("--no-project-reports", action="store_true",
                   help="do not run the project-level notebooks (e.g. network_report.ipynb) after the sites")
    p.add_argument("--audience", choices=["evaluator", "commissioner", "public"], default="evaluator",
                   help="evaluator (restricted, full numbers; default) or commissioner/public "
                        "(small-number policy applied; written to reports/<project>/<audience>/)")
    p.add_argument("--pdf", action="store_true",
                   help="also write PDF copies (A4) of the project-level reports (network, accreditation, "
                        "abstract) beside their HTML, printed by Debian's chromium (same as outputs: [html, pdf])")
    p.add_argument("--pdf-sites", action="store_true",
                   help="like --pdf, and PDF copies of the site reports too (outputs: [html, site_pdf])")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("lab", help="open JupyterLab at the project root",
                       description="Start JupyterLab with the project root (the nearest folder at or above "
                                   "the working directory that holds params/ or notebooks/) as its top folder. Arguments "
                                   "after -- go to JupyterLab.")
    p.add_argument("--root", help="folder to open (default: the project root found from here)")
    p.add_argument("--port", type=int, help="port to listen on (default: JupyterLab's, 8888 or the next free)")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.add_argument("jupyter_args", nargs=argparse.REMAINDER, help="-- then arguments for JupyterLab")
    p.set_defaults(func=cmd_lab)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError as err:
        _print_problems(err.problems)
        return EXIT_INPUT
    except OSError as err:  # a read-only or full reports/ folder, a vanished disk …
        print(_os_error_line(err), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted; reports already written are complete, none is half-written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
