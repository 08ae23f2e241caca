"""``analogtrain reproduce``: the paper's single-parameter studies, one by one or all with a report.

::

    analogtrain reproduce STUDY --out DIR [--quick] [--seed S] [--overwrite] [--sigma ...]
    analogtrain reproduce single-parameter --out DIR [--quick] [--seed S] [--overwrite]
    analogtrain reproduce tt-fails | reference-offset | digital-shd --out DIR [--quick] [--seed S]
    analogtrain reproduce algorithms --out DIR [--quick] [--seed S] [--overwrite]

Each study writes its PNG figures, CSV data, ``config.json`` and ``summary.json`` (with its
``claims``); ``single-parameter`` runs them all into subdirectories and adds ``report.md`` (figures
inline, one line per claim) and a ``summary.json`` with every claim. The algorithm studies of
issue 15 (:mod:`analogtrain.studies.algorithms`) are registered the same way, and ``algorithms``
runs the three of them into one report. Bad input (an unknown study,
τ < 1, η ≤ 0, σ < 0, G₀ outside the device range) is one ``Error: ...`` line, exit status 2.
Heavy imports happen inside the commands.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from analogtrain.cli.common import AnalogGroup, CliError, handle_errors
from analogtrain.training.progress import progress_bar, progress_line
from analogtrain.training.run_dir import plan_output_dir
from analogtrain.studies.single_parameter import STUDIES

#: CLI options of the study knobs: knob -> (option names, type, help).
KNOB_OPTIONS = {
    "sigma": (("--sigma",), float, "Data noise σ ≥ 0 (variance: added to the σ sweep)."),
    "lr": (("--lr", "--eta"), float, "SGD learning rate η in (0, 1]."),
    "fast_lr": (("--fast-lr", "--eta-a"), float, "SHD rate η_A of the auxiliary array, in (0, 1]."),
    "transfer_lr": (("--transfer-lr", "--eta-c"), float, "SHD transfer rate η_C of the core array, in (0, 1]."),
    "transfer_every": (("--transfer-every", "--tau"), int, "SHD transfer period τ ≥ 1 (updates)."),
    "g0": (("--g0",), float, "Optimum G₀ = C₀ (inside the device range)."),
    "steps": (("--steps",), int, "Updates per run (≥ 20)."),
    "reps": (("--reps",), int, "Independent repetitions per setting (≥ 1)."),
}


class ReproduceGroup(AnalogGroup):
    """``reproduce``'s subcommands; an unknown study name is one error line listing the valid ones."""

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name is not None and not name.startswith("-") and self.get_command(ctx, name) is None:
            valid = ", ".join(self.list_commands(ctx))
            raise CliError(f"unknown study {name!r}; valid studies: {valid}")
        return super().resolve_command(ctx, args)

    def list_commands(self, ctx):
        return list(self.commands)


@click.group(cls=ReproduceGroup)
def reproduce() -> None:
    """Reproduce the studies of Onen, Gokmen et al. (2022), one command per study.

    The single-parameter studies (fig1 ... theory): one weight, E = ½(w − d)², d ~ N(G₀, σ²),
    trained by pulses on simulated crossbar arrays. Each writes figures (PNG), data (CSV),
    config.json and summary.json (with its claims); `single-parameter` runs all of them and
    writes report.md.

    The algorithm studies (tt-fails, reference-offset, digital-shd) compare the successor
    algorithms (TTv2, c-TTv2, AGAD, residual learning, DigitalSHD); `algorithms` runs all three
    and writes report.md in the same format.
    """


def _common_options(function):
    function = click.option("--progress/--no-progress", default=True, show_default=True,
                            help="Show progress bars (stderr).")(function)
    function = click.option("--overwrite", is_flag=True, help="Replace the output directory if it exists.")(function)
    function = click.option("--seed", type=int, default=0, show_default=True, help="Random seed (≥ 0).")(function)
    function = click.option("--quick", is_flag=True,
                            help="Reduced sizes (a first look; what the test suite runs).")(function)
    function = click.option("--out", type=click.Path(path_type=Path), default=None,
                            help="Output directory [default: a new directory runs/reproduce-STUDY-DATE-TIME].")(function)
    return function


def _make_study_command(name: str) -> click.Command:
    study = STUDIES[name]

    @handle_errors
    def callback(out, quick, seed, overwrite, progress, **knobs):
        from analogtrain.studies.report import write_study
        from analogtrain.studies.single_parameter.common import SingleParameterSettings

        settings = SingleParameterSettings(seed=seed, quick=quick, **{k: v for k, v in knobs.items() if v is not None})
        target = plan_output_dir(out, f"reproduce-{name}", overwrite)
        result = study.run(settings, progress=progress)
        with target.writing() as directory:
            write_study(result, directory)
        directory = target.path
        _echo_claims(result)
        click.echo(f"wrote {directory}")

    command = click.command(name, short_help=study.summary,
                            help=f"{study.summary}.\n\nWrites figures, data (CSV), config.json "
                                 f"and summary.json (with the claims) to --out. Parameters left out take "
                                 f"the study's defaults (see its summary.json).")(_common_options(callback))
    for knob in study.knobs:
        names, kind, text = KNOB_OPTIONS[knob]
        command = click.option(*names, knob, type=kind, default=None, help=text)(command)
    return command


def _echo_claims(result) -> None:
    held = sum(c["holds"] for c in result.claims)
    click.echo(f"{result.name}: {held}/{len(result.claims)} claims hold ({result.seconds:.1f} s)")
    for c in result.claims:
        click.echo(f"  [{'holds' if c['holds'] else 'FAILS'}] {c['claim']}: {c['measured']}")


for _name in STUDIES:
    reproduce.add_command(_make_study_command(_name))


@reproduce.command("single-parameter")
@_common_options
@handle_errors
def single_parameter(out, quick, seed, overwrite, progress) -> None:
    """All single-parameter studies, each in a subdirectory, with report.md and summary.json."""
    from analogtrain.studies.report import write_report, write_study
    from analogtrain.studies.single_parameter.common import SingleParameterSettings

    settings = SingleParameterSettings(seed=seed, quick=quick)
    target = plan_output_dir(out, "reproduce-single-parameter", overwrite)
    start = time.perf_counter()
    results = []
    bar = progress_bar(len(STUDIES), "studies", enabled=progress, unit="study")
    for k, (name, study) in enumerate(STUDIES.items(), 1):
        bar.set_postfix_str(name)
        results.append(study.run(settings, progress=progress))
        bar.update(1)
        progress_line(f"study {k}/{len(STUDIES)}: {name} done ({time.perf_counter() - start:.0f} s)", enabled=progress)
    bar.close()
    with target.writing() as directory:
        written = [(r, r.name, write_study(r, directory / r.name)) for r in results]
        preamble = (f"Onen, Gokmen et al., \"Neural Network Training with Asymmetric Crosspoint Elements\" "
                    f"(Front. Artif. Intell. 2022): single-parameter studies. Seed {seed}"
                    f"{', quick sizes' if quick else ''}; {time.perf_counter() - start:.0f} s.")
        report = write_report(directory, written, preamble=preamble)
    report = target.path / Path(report).relative_to(directory)
    for result in results:
        _echo_claims(result)
    held = sum(c["holds"] for r in results for c in r.claims)
    total = sum(len(r.claims) for r in results)
    click.echo(f"{held}/{total} claims hold; report: {report}")


def _make_algorithm_study_command(name: str, title: str) -> click.Command:
    @handle_errors
    def callback(out, quick, seed, overwrite, progress, smoke):
        from analogtrain.studies.algorithms import run_algorithm_study
        from analogtrain.studies.report import write_study

        target = plan_output_dir(out, f"reproduce-{name}", overwrite)
        result = run_algorithm_study(name, _budget(quick, smoke), seed)
        directory = target.create()
        write_study(result, directory)
        _echo_claims(result)
        click.echo(f"wrote {directory}")

    command = click.command(name, short_help=title,
                            help=f"{title}.\n\nWrites figures, data (CSV), config.json and summary.json "
                                 f"(with the claims) to --out.")(_algorithm_options(callback))
    return command


def _algorithm_options(function):
    function = click.option("--smoke", is_flag=True, hidden=True,
                            help="Smaller than --quick (the CLI test's budget; claims not expected to hold).")(function)
    return _common_options(function)


def _budget(quick: bool, smoke: bool) -> str:
    return "smoke" if smoke else "quick" if quick else "full"


def _register_algorithm_studies() -> None:
    from analogtrain.studies.algorithms import ALGORITHM_STUDIES

    for name, entry in ALGORITHM_STUDIES.items():
        reproduce.add_command(_make_algorithm_study_command(name, entry.title))


_register_algorithm_studies()


@reproduce.command("algorithms")
@_algorithm_options
@handle_errors
def algorithms(out, quick, seed, overwrite, progress, smoke) -> None:
    """The algorithm studies (tt-fails, reference-offset, digital-shd), each in a subdirectory, with
    report.md and summary.json."""
    from analogtrain.studies.algorithms import ALGORITHM_STUDIES, run_algorithm_study
    from analogtrain.studies.report import write_report, write_study

    budget = _budget(quick, smoke)
    target = plan_output_dir(out, "reproduce-algorithms", overwrite)
    start = time.perf_counter()
    results = []
    for k, name in enumerate(ALGORITHM_STUDIES, 1):
        results.append(run_algorithm_study(name, budget, seed))
        progress_line(f"study {k}/{len(ALGORITHM_STUDIES)}: {name} done ({time.perf_counter() - start:.0f} s)",
                      enabled=progress)
    directory = target.create()
    written = [(r, r.name, write_study(r, directory / r.name)) for r in results]
    preamble = (f"Successor algorithms of issue 15 (TTv2, c-TTv2, AGAD, residual learning, DigitalSHD) against "
                f"Tiki-Taka, SHD and analog SGD. Seed {seed}, {budget} budget; "
                f"{time.perf_counter() - start:.0f} s. A claim that does not hold is reported with its numbers.")
    report = write_report(directory, written, title="Algorithm studies", preamble=preamble)
    for result in results:
        _echo_claims(result)
    held = sum(c["holds"] for r in results for c in r.claims)
    total = sum(len(r.claims) for r in results)
    click.echo(f"{held}/{total} claims hold; report: {report}")


from analogtrain.cli.reproduce_fig3 import fig3  # noqa: E402  (the War-and-Peace LSTM study)

reproduce.add_command(fig3)
