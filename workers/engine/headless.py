"""Run a whole training run from a YAML or JSON spec, with no web app, database or broker.

    python -m workers.engine.headless spec.yaml --out runs/demo
    python -m workers.engine.headless spec.yaml --out runs/cmp --compare uniform,stat_sel,sec \\
        --seeds 0,1,2 --jobs 2 --threads 1 --set stat_sel.k=3 --set sec.tau=0.05

Each run writes ``metrics.jsonl`` (one line per round) and its checkpoints under its output
directory. ``--compare`` runs every strategy with every seed (equal steps) and prints a table
of final mean accuracy and weakest-skill accuracy, mean and spread over the seeds.
``--set STRATEGY.PARAM=VALUE`` (repeatable) sets one parameter of one strategy that runs.
``--profile [STEPS]`` writes a torch profiler trace of STEPS training steps (default 5, after 2
untraced) to ``profile/`` under the output directory (``workers/engine/torch_trace.py``).
Exit status: 0 done, 1 a run failed, 2 bad spec or input (:data:`EXIT_CODES_HELP`); every
error names the spec field or the command-line flag at fault.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from pathlib import Path

import yaml

from workers.engine.errors import (
    EngineError,
    ItemError,
    ModelLoadError,
    RunCancelled,
    SkillError,
    SpecError,
)
from workers.engine.spec import RunSpec

EXIT_DONE = 0
EXIT_FAILED = 1
EXIT_BAD_SPEC = 2
EXIT_CODES_HELP = """\
exit status:
  0  done: every run finished
  1  a run failed: a teacher failed for good, the run was stopped, or training raised
  2  bad spec or input: a spec field, the task data, a model directory or a command-line
     flag is wrong; the message names the spec field or the flag
"""


class OptionError(SpecError):
    """A wrong command-line flag; ``field`` is the flag (``--set``, ``--compare``, ...)."""


def load_spec(path: Path) -> RunSpec:
    """A RunSpec from a YAML or JSON file (YAML is a superset of JSON)."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise SpecError("spec", f"cannot read {str(path)!r}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SpecError("spec", f"{str(path)!r} is not valid YAML/JSON: {exc}") from exc
    return RunSpec.from_dict(data if data is not None else {})


class _Progress:
    """tqdm bar over all training steps of a run, plus round lines and the metrics file."""

    def __init__(self, spec: RunSpec, metrics_path: Path, label: str, quiet: bool):
        from tqdm import tqdm

        from workers.engine.records import RunHooks

        total = spec.rounds * spec.train.steps_per_round
        bar = tqdm(total=total, desc=label, unit="step", disable=quiet, dynamic_ncols=True)
        metrics_path.parent.mkdir(parents=True, exist_ok=True)

        class Hooks(RunHooks):
            def on_progress(self, event) -> None:
                if event.phase == "train" and event.step:
                    done = (event.round - 1) * spec.train.steps_per_round + event.step
                    bar.update(done - bar.n)
                    bar.set_postfix(round=event.round, loss=f"{event.loss:.3f}",
                                    tok_s=f"{event.tokens_per_s:.0f}")
                elif event.phase != "train":
                    bar.set_postfix(round=event.round, phase=event.phase)

            def on_round(self, record) -> None:
                with open(metrics_path, "a") as fh:
                    fh.write(json.dumps(record.to_dict()) + "\n")
                m = record.metrics
                weakest = m["weakest_skill_accuracy"]
                bar.write(f"{label} round {record.round}: accuracy {m['accuracy']:.3f}, weakest "
                          f"skill {m['weakest_skill']} "
                          f"{weakest if weakest is None else round(weakest, 3)}"
                          + ("" if m["train_loss"] is None else f", loss {m['train_loss']:.3f}"))

        self.hooks = Hooks()
        self.bar = bar

    def close(self) -> None:
        self.bar.close()


def run_one(spec: RunSpec, out: Path, *, label: str = "run", quiet: bool = False,
            resume: bool = False):
    """One run into ``out``; with ``resume`` it continues after the last complete round."""
    from workers.engine import checkpoint
    from workers.engine.loop import CHECKPOINTS, run_loop

    out.mkdir(parents=True, exist_ok=True)
    # without the teacher's API key: a resumed run reads it from the spec file again
    (out / "spec.json").write_text(json.dumps(spec.to_dict(), indent=2))
    metrics = out / "metrics.jsonl"
    resume_round = None
    if resume:
        latest = checkpoint.latest_complete(out / CHECKPOINTS)
        resume_round = latest[0] if latest else None
    if resume_round is None and metrics.exists():
        metrics.unlink()
    elif resume_round is not None and metrics.exists():
        # keep only the lines of rounds that are complete on disk
        lines = [ln for ln in metrics.read_text().splitlines()
                 if ln and json.loads(ln)["round"] <= resume_round]
        metrics.write_text("".join(ln + "\n" for ln in lines))
    progress = _Progress(spec, metrics, label, quiet)
    try:
        return run_loop(spec, artifacts_dir=out, hooks=progress.hooks, resume_round=resume_round)
    finally:
        progress.close()


def strategy_params(spec: RunSpec, name: str, overrides: dict | None = None) -> dict:
    """The parameters strategy ``name`` runs with: the spec's own when it is the spec's
    strategy (else none), with ``overrides`` (from ``--set``) over them."""
    base = dict(spec.curriculum.params) if name == spec.curriculum.strategy else {}
    return {**base, **(overrides or {})}


def compare(spec: RunSpec, out: Path, strategies: list[str], seeds: list[int], *,
            quiet: bool = False, jobs: int = 1, threads: int = 0,
            params: dict[str, dict] | None = None) -> list[dict]:
    """Every strategy x seed at equal steps; one result row per strategy.

    ``params`` maps a strategy to parameters set over its defaults (``--set``). With ``jobs``
    > 1 the runs go to that many worker processes (each with ``threads`` torch threads when
    given); every run depends only on its spec and seed, so the rows are the same as from one
    process.
    """
    from workers.engine.curriculum import get_strategy
    from workers.engine.curriculum.base import ParamError, validate_params

    params = params or {}
    runs = []
    used: dict[str, dict] = {}
    for name in strategies:
        chosen = strategy_params(spec, name, params.get(name))
        try:
            used[name] = validate_params(get_strategy(name).params, chosen)  # defaults filled
        except ParamError as exc:
            bad = next(iter(exc.errors))
            raise SpecError(f"spec.curriculum.params.{bad}", exc.errors[bad]) from exc
        for seed in seeds:
            run_spec = dataclasses.replace(
                spec, seed=seed,
                curriculum=dataclasses.replace(spec.curriculum, strategy=name, params=chosen))
            RunSpec.from_dict(run_spec.to_dict())  # validate the combination
            # in memory to the worker processes, so with the key (spec.json has none)
            runs.append((run_spec.to_dict(secrets=True), str(out / f"{name}-seed{seed}"),
                         f"{name}/s{seed}", quiet, threads))
    if jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: a forked torch process can hang on its parent's thread pools
        with ProcessPoolExecutor(max_workers=jobs,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            finals = list(pool.map(_final_metrics, runs))
    else:
        finals = [_final_metrics(run) for run in runs]
    n = len(seeds)
    return [{**summarize(name, seeds, finals[i * n:(i + 1) * n]), "params": used[name]}
            for i, name in enumerate(strategies)]


def _final_metrics(run: tuple[dict, str, str, bool, int]) -> dict:
    """One run of :func:`compare` (a top-level function so worker processes can call it)."""
    spec_dict, out, label, quiet, threads = run
    if threads:
        import torch

        torch.set_num_threads(threads)
    summary = run_one(RunSpec.from_dict(spec_dict), Path(out), label=label, quiet=quiet)
    return summary.final.metrics


def summarize(name: str, seeds: list[int], finals: list[dict]) -> dict:
    acc = [m["accuracy"] for m in finals]
    weak = [m["weakest_skill_accuracy"] or 0.0 for m in finals]
    held = [m["held_out_accuracy"] for m in finals if m["held_out_accuracy"] is not None]
    return {
        "strategy": name, "seeds": seeds,
        "accuracy": acc, "weakest": weak, "weakest_skill": [m["weakest_skill"] for m in finals],
        "accuracy_mean": statistics.fmean(acc),
        "accuracy_sd": statistics.stdev(acc) if len(acc) > 1 else 0.0,
        "weakest_mean": statistics.fmean(weak),
        "weakest_sd": statistics.stdev(weak) if len(weak) > 1 else 0.0,
        "held_out_mean": statistics.fmean(held) if held else None,
    }


def format_table(rows: list[dict]) -> str:
    head = f"{'strategy':<14} {'mean accuracy':>18} {'weakest skill':>18} {'held-out':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        held = "-" if r["held_out_mean"] is None else f"{100 * r['held_out_mean']:.1f}"
        acc = f"{100 * r['accuracy_mean']:.1f} ± {100 * r['accuracy_sd']:.1f}"
        weak = f"{100 * r['weakest_mean']:.1f} ± {100 * r['weakest_sd']:.1f}"
        lines.append(f"{r['strategy']:<14} {acc:>18} {weak:>18} {held:>9}")
    return "\n".join(lines)


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") \
            from None


def _at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {value}")
        return value

    return parse


def _scalar(text: str):
    """A ``--set`` value: a JSON scalar where it parses as one (3, 0.05, true, "x"), else the
    text itself (``linear``)."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if value is None or isinstance(value, (str, int, float, bool)) else text


def parse_sets(items: list[str], spec: RunSpec, strategies: list[str]) -> dict[str, dict]:
    """``--set STRATEGY.PARAM=VALUE`` flags as ``{strategy: {param: value}}``, checked against
    the strategies that run and their parameter schemas. OptionError naming ``--set``."""
    from workers.engine.curriculum import STRATEGIES
    from workers.engine.curriculum.base import ParamError, validate_params

    out: dict[str, dict] = {}
    for item in items:
        key, eq, text = item.partition("=")
        name, dot, param = key.strip().partition(".")
        if not eq or not dot or not name or not param:
            raise OptionError("--set", f"{item!r} is not STRATEGY.PARAM=VALUE "
                                       "(e.g. --set sec.tau=0.05)")
        if name not in STRATEGIES:
            raise OptionError("--set", f"{item!r}: unknown strategy {name!r} "
                                       f"(known: {', '.join(STRATEGIES)})")
        if name not in strategies:
            raise OptionError("--set", f"{item!r}: {name} does not run here "
                                       f"(running: {', '.join(strategies)})")
        known = [p.name for p in STRATEGIES[name].params]
        if param not in known:
            listed = f"its parameters: {', '.join(known)}" if known else "it has none"
            raise OptionError("--set", f"{item!r}: {name} has no parameter {param!r} "
                                       f"({listed})")
        out.setdefault(name, {})[param] = _scalar(text)
    for name, overrides in out.items():
        try:
            validate_params(STRATEGIES[name].params, strategy_params(spec, name, overrides))
        except ParamError as exc:
            bad = next(iter(exc.errors))
            if bad in overrides:
                raise OptionError("--set", f"{name}.{bad}={overrides[bad]!r}: "
                                           f"{exc.errors[bad]}") from None
            raise SpecError(f"spec.curriculum.params.{bad}", exc.errors[bad]) from None
    return out


def _strategies(text: str) -> list[str]:
    from workers.engine.curriculum import STRATEGIES

    names = [s.strip() for s in text.split(",") if s.strip()]
    for name in names:
        if name not in STRATEGIES:
            raise OptionError("--compare", f"unknown strategy {name!r} "
                                           f"(known: {', '.join(STRATEGIES)})")
    if len(set(names)) != len(names):
        raise OptionError("--compare", "names a strategy twice")
    return names


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise OptionError("--out", f"{str(out)!r} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OptionError("--out", f"cannot create {str(out)!r}: {exc.strerror}") from None


def _input_field(exc: EngineError, spec: RunSpec | None) -> str:
    """The spec field behind a bad-input error that does not name one itself."""
    if spec is None:
        return ""
    if isinstance(exc, ModelLoadError):
        for field, value in (("spec.student.model_dir", spec.student.model_dir),
                             ("spec.teacher.model_dir", spec.teacher.model_dir)):
            if value and Path(exc.path) == Path(value):
                return f"{field}: "
    if isinstance(exc, ItemError) and spec.task.family == "jsonl":
        return "spec.task.options.path: " if "path" in spec.task.options \
            else "spec.task.options: "
    return ""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m workers.engine.headless",
                                     description=__doc__.split("\n\n")[0],
                                     epilog=EXIT_CODES_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", type=Path, help="run spec, YAML or JSON")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--compare", default="",
                        help="comma-separated strategies to run side by side")
    parser.add_argument("--set", action="append", default=[], metavar="STRATEGY.PARAM=VALUE",
                        help="set one strategy parameter, e.g. --set sec.tau=0.05 "
                             "--set stat_syn.max_synth=512 (repeatable; the value is read as "
                             "a JSON scalar where it is one)")
    parser.add_argument("--seeds", type=_int_list, default=None,
                        help="comma-separated seeds (default: the spec's seed)")
    parser.add_argument("--resume", action="store_true",
                        help="continue after the last complete round in --out")
    parser.add_argument("--threads", type=_at_least(0), default=0,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--jobs", type=_at_least(1), default=1,
                        help="with --compare: runs at a time, in worker processes (default 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--profile", type=_at_least(1), nargs="?", const=5, default=0,
                        metavar="STEPS",
                        help="trace STEPS training steps (default 5) with the torch profiler "
                             "into profile/ under --out")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command; returns the exit status (EXIT_CODES_HELP)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0), or a bad flag (2) that argparse has named
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_SPEC
    spec = None
    try:
        spec = load_spec(args.spec)
        strategies = _strategies(args.compare)
        if args.profile and strategies and args.jobs > 1:
            raise OptionError("--profile", "does not combine with --jobs above 1 (the trace "
                                           "is taken in this process)")
        if args.resume and strategies:
            raise OptionError("--resume", "does not combine with --compare (compared runs "
                                          "start afresh)")
        sets = parse_sets(args.set, spec, strategies or [spec.curriculum.strategy])
        if not strategies and sets:
            curriculum = dataclasses.replace(
                spec.curriculum, params=strategy_params(spec, spec.curriculum.strategy,
                                                        sets[spec.curriculum.strategy]))
            spec = dataclasses.replace(spec, curriculum=curriculum)
        _check_out(args.out)
        return _run(args, spec, strategies, sets)
    except OptionError as exc:
        print(f"bad option: {exc}", file=sys.stderr)
        return EXIT_BAD_SPEC
    except SpecError as exc:
        print(f"bad spec: {exc}", file=sys.stderr)
        return EXIT_BAD_SPEC
    except (ItemError, SkillError, ModelLoadError) as exc:
        print(f"bad input: {_input_field(exc, spec)}{exc}", file=sys.stderr)
        return EXIT_BAD_SPEC
    except RunCancelled as exc:
        print(f"cancelled: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except EngineError as exc:
        print(f"run failed: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _run(args: argparse.Namespace, spec: RunSpec, strategies: list[str],
         sets: dict[str, dict]) -> int:
    if not args.profile:
        return _run_all(args, spec, strategies, sets)
    from workers.engine import torch_trace

    with torch_trace.tracing(args.out / "profile", steps=args.profile, report=print):
        return _run_all(args, spec, strategies, sets)


def _run_all(args: argparse.Namespace, spec: RunSpec, strategies: list[str],
             sets: dict[str, dict]) -> int:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    seeds = args.seeds or [spec.seed]
    if strategies:
        rows = compare(spec, args.out, strategies, seeds, quiet=args.quiet,
                       jobs=args.jobs, threads=args.threads, params=sets)
        (args.out / "compare.json").write_text(json.dumps(rows, indent=2))
        print(format_table(rows))
        return EXIT_DONE
    runs = []
    for seed in seeds:
        run_spec = dataclasses.replace(spec, seed=seed)
        out = args.out if len(seeds) == 1 else args.out / f"seed{seed}"
        runs.append(run_one(run_spec, out, label=f"seed {seed}", quiet=args.quiet,
                            resume=args.resume))
    for seed, summary in zip(seeds, runs, strict=True):
        m = summary.final.metrics
        print(f"seed {seed}: accuracy {m['accuracy']:.3f}, weakest skill "
              f"{m['weakest_skill']} {m['weakest_skill_accuracy']}, "
              f"checkpoint {summary.final.checkpoint_dir}")
    return EXIT_DONE


if __name__ == "__main__":
    sys.exit(main())
