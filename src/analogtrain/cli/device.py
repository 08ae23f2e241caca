"""``analogtrain device``: list device models and presets, show a pulse response, fit measurements."""

from __future__ import annotations

from pathlib import Path

import click

from analogtrain.cli.common import AnalogGroup, handle_errors, parse_overrides, write_csv
from analogtrain.jsonio import write_json
from analogtrain.training.run_dir import plan_output_dir


@click.group(cls=AnalogGroup)
def device() -> None:
    """Device models and presets: list them, show their pulse response, fit them to data."""


def device_catalogue() -> list[tuple[str, str, str]]:
    """(name, kind, one-line description) of every device model, then every preset."""
    from analogtrain.devices.base import device_models
    from analogtrain.devices.presets import PRESETS, describe

    def description(name: str) -> str:
        text = describe(name)
        return text[len(name) + 2:] if text.startswith(f"{name}: ") else text

    models = sorted(device_models())
    presets = [name for name in PRESETS if name not in models]
    return [(name, "model", description(name)) for name in models] + [
        (name, "preset", description(name)) for name in presets
    ]


@device.command("list")
@handle_errors
def list_devices() -> None:
    """List the device models and presets, one per line: name, kind, description."""
    rows = device_catalogue()
    width = max(len(name) for name, _, _ in rows)
    for name, kind, description in rows:
        click.echo(f"{name:<{width}}  {kind:<6}  {description}")


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@device.command("show")
@click.argument("name")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="PARAM=VALUE",
    help="Override a device parameter, e.g. --set dw_min=0.002 (repeatable; values are numbers, "
    "or JSON lists such as [[-0.6,1],[0.6,0.5]]).",
)
@click.option("--devices", "n_devices", type=int, default=100, show_default=True,
              help="Number of devices sampled (device-to-device variation).")
@click.option("--pulses", type=int, default=None,
              help="Pulses per direction [default: twice the number of device states, at most 10000].")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output directory [default: a new directory runs/device-show-NAME-DATE-TIME].")
@click.option("--overwrite", is_flag=True, help="Replace the output directory if it exists.")
@handle_errors
def show(name, settings, n_devices, pulses, seed, out, overwrite) -> None:
    """Pulse response of device NAME (a model or preset; see `analogtrain device list`).

    Samples the devices, applies the up pulses then the down pulses, and separately a random
    up/down sequence from the symmetry point. Writes pulse_response.png, pulse_response.csv,
    config.json (the device) and summary.json to the output directory.
    """
    from analogtrain.devices.presets import get_device
    from analogtrain.studies.pulse_response import CSV_COLUMNS, plot_pulse_response, pulse_response

    overrides = parse_overrides(settings)
    model = get_device(name, **overrides)
    target = plan_output_dir(out, f"device-show-{name}", overwrite)
    result = pulse_response(model, n_devices=n_devices, pulses=pulses, seed=seed, name=name, progress=True)

    summary = result.summary()
    with target.writing() as path:
        plot_pulse_response(result, path / "pulse_response.png")
        write_csv(path / "pulse_response.csv", result.rows(), CSV_COLUMNS)
        write_json(path / "config.json", model.to_dict())
        write_json(path / "summary.json", summary)
    path = target.path

    sym = summary["symmetry_point"]
    measured = summary["measured_symmetry_point"]
    click.echo(f"device: {name} ({model.model} model), {n_devices} devices, {result.pulses} pulses per direction")
    click.echo(f"states (w_max - w_min)/dw_min: {_format(summary['states'])}")
    if sym["mean"] is None:
        click.echo("symmetry point: none (up and down steps are equal everywhere)")
    else:
        click.echo(
            f"symmetry point (model): mean {_format(sym['mean'])}, std {_format(sym['std'])} "
            f"over {sym['devices_with_unique_point']} devices"
        )
    click.echo(
        f"symmetry point (measured, random up/down): mean {_format(measured['mean'])}, "
        f"std {_format(measured['std'])}"
    )
    click.echo(f"wrote pulse_response.png, pulse_response.csv, config.json, summary.json to: {path}")


@device.command("fit")
@click.argument("csv_path", metavar="CSV", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", required=True, help="Device model to fit (see `analogtrain device list`).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output directory [default: a new directory runs/device-fit-MODEL-DATE-TIME].")
@click.option("--overwrite", is_flag=True, help="Replace the output directory if it exists.")
@handle_errors
def fit(csv_path, model, out, overwrite) -> None:
    """Fit device MODEL to the measured pulse response in CSV; write fit.png and fit.json."""
    from analogtrain.devices.fitting import fit_device, plot_fit

    target = plan_output_dir(out, f"device-fit-{model}", overwrite)
    result = fit_device(csv_path, model)

    with target.writing() as path:
        plot_fit(result, getattr(result, "data", None) or csv_path, path / "fit.png")
        stderr = dict(getattr(result, "stderr", None) or {})
        write_json(
            path / "fit.json",
            {
                "model": result.model_name,
                "parameters": result.parameters,
                "stderr": stderr,
                "residual": result.residual,
                "residual_kind": "RMS difference between readings and fitted response",
                "success": getattr(result, "success", True),
                "message": getattr(result, "message", ""),
                "data": str(csv_path),
                "device": result.device.to_dict(),
            },
        )
    path = target.path
    click.echo(f"fitted {result.model_name} model to {csv_path}:")
    width = max((len(k) for k in result.parameters), default=0)
    for key, value in result.parameters.items():
        error = stderr.get(key)
        spread = f" ± {_format(error)}" if isinstance(error, float) and error == error else ""
        click.echo(f"  {key:<{width}} = {_format(value)}{spread}")
    click.echo(f"residual (RMS): {_format(result.residual)}")
    if not getattr(result, "success", True):
        click.echo(f"warning: the optimiser did not converge: {result.message}", err=True)
    click.echo(f"wrote fit.png, fit.json to: {path}")
