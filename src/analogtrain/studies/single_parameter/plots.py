"""Figures of the single-parameter studies, laid out like the paper's panels (PNG, labelled axes).

Each ``plot_<study>(result, out_dir)`` draws from ``result.tables`` / ``result.summary`` only and
returns the file names it wrote.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analogtrain.studies.single_parameter.common import asymmetric_device, symmetric_device
from analogtrain.theory import nominal_response

SYM_COLOR, ASYM_COLOR, THEORY_COLOR = "tab:blue", "tab:red", "black"


def _figure(rows: int, cols: int, width: float = 4.2, height: float = 3.4):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    return fig, axes


def _label(ax, letter: str, title: str) -> None:
    ax.set_title(title, fontsize=10)
    if letter:
        ax.text(-0.14, 1.04, letter, transform=ax.transAxes, fontsize=13, fontweight="bold", va="bottom")


def _save(fig, out_dir, name: str) -> list[str]:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(Path(out_dir) / name, dpi=110)
    plt.close(fig)
    return [name]


def _response_panel(ax, device, letter, title, color) -> None:
    response = nominal_response(device)
    w = np.linspace(response.w_min, response.w_max, 200)
    ax.plot(w, response.up(w) / response.granularity, color=color, label="ΔG⁺ (up pulse)")
    ax.plot(w, -response.down(w) / response.granularity, color=color, ls="--", label="ΔG⁻ (down pulse)")
    if not np.isnan(response.symmetry_point):
        ax.axvline(response.symmetry_point, color="gray", lw=0.8, ls=":", label="G_symmetry")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_xlabel("conductance G (normalised weight)")
    ax.set_ylabel("step per pulse / Δw_min")
    ax.legend(fontsize=7, loc="best")
    _label(ax, letter, title)


def plot_fig1(result, out_dir) -> list[str]:
    res, tr, s = result.tables["residuals"], result.tables["traces"], result.summary
    g0, g_sym, trace_g0 = res["g0"], s["g_symmetry"], s["trace_g0"]
    fig, axes = _figure(2, 3)
    for row, (name, device, color, letters) in enumerate([
        ("symmetric", symmetric_device(), SYM_COLOR, "BCD"),
        ("asymmetric", asymmetric_device(), ASYM_COLOR, "EFG"),
    ]):
        _response_panel(axes[row, 0], device, letters[0], f"{name} device", color)
        ax = axes[row, 1]
        ax.plot(tr["step"], tr[f"{name}_w"], color=color, lw=0.7, label="w(t), SGD")
        ax.axhline(trace_g0, color="green", ls="--", label="G₀ (optimum)")
        if name == "asymmetric":
            ax.axhline(g_sym, color="gray", ls=":", label="G_symmetry")
        ax.set_xlabel("update step")
        ax.set_ylabel("weight w")
        ax.legend(fontsize=7)
        _label(ax, letters[1], f"SGD, {name} device")
        ax = axes[row, 2]
        ax.errorbar(g0, res[f"{name}_residual"], yerr=res[f"{name}_error"], fmt="o", color=color, ms=4,
                    label="simulation")
        if name == "asymmetric":
            curve = result.tables["theory_curve"]
            ax.plot(curve["g0"], curve["residual"], color=THEORY_COLOR, lw=1, label="continuum fixed point (Eq. 2)")
            ax.set_yscale("log")
            ax.axvline(g_sym, color="gray", ls=":", label="G_symmetry")
        else:
            ax.set_ylim(0, max(4 * float(np.max(res[f"{name}_residual"] + res[f"{name}_error"])), 1e-3))
        ax.set_xlabel("optimum G₀")
        ax.set_ylabel("|G_final − G₀|")
        ax.legend(fontsize=7)
        _label(ax, letters[2], f"residual vs G₀, {name} device")
    return _save(fig, out_dir, "fig1.png")


def _spiral_row(axes, tr, name, color, c0, letters, title):
    ax = axes[0]
    ax.plot(tr["step"], tr[f"{name}_C"] - c0, color=color, lw=0.7, label="C − C₀")
    ax.plot(tr["step"], tr[f"{name}_A"], color="gray", lw=0.7, alpha=0.8, label="A")
    ax.set_xlabel("update step")
    ax.set_ylabel("weight")
    ax.legend(fontsize=7)
    _label(ax, letters[0], f"{title}: C and A over time")
    ax = axes[1]
    ax.plot(tr[f"{name}_C"], tr[f"{name}_A"], color=color, lw=0.5)
    ax.plot(tr[f"{name}_C"][0], tr[f"{name}_A"][0], "ko", ms=4, label="start")
    ax.plot([c0], [0], "g*", ms=12, label="(C₀, A = 0)")
    ax.set_xlabel("C (core, 'position')")
    ax.set_ylabel("A (auxiliary, 'velocity')")
    ax.legend(fontsize=7, loc="upper right")
    _label(ax, letters[1], f"{title}: A vs C")
    ax = axes[2]
    kin, pot = tr[f"{name}_E_kin"], tr[f"{name}_E_pot"]
    ax.semilogy(tr["step"], kin + pot, color=color, label="E_kin + E_pot")
    ax.semilogy(tr["step"], kin, color="tab:orange", lw=0.5, alpha=0.7, label="E_kin ∝ A²")
    ax.semilogy(tr["step"], pot, color="tab:green", lw=0.5, alpha=0.7, label="E_pot ∝ (C − C₀)²")
    ax.set_xlabel("update step")
    ax.set_ylabel("energy (mean over runs, weight²)")
    ax.legend(fontsize=7)
    _label(ax, letters[2], f"{title}: energy")


def plot_fig2(result, out_dir) -> list[str]:
    tr, c0 = result.tables["traces"], result.settings["g0"]
    fig, axes = _figure(2, 3)
    _spiral_row(axes[0], tr, "symmetric", SYM_COLOR, c0, ("", "E", ""), "SHD, symmetric devices")
    _spiral_row(axes[1], tr, "asymmetric", ASYM_COLOR, c0, ("", "F", ""), "SHD, asymmetric devices")
    return _save(fig, out_dir, "fig2.png")


def plot_ecram(result, out_dir) -> list[str]:
    from analogtrain.devices.presets import get_device

    tr, c0 = result.tables["traces"], result.settings["g0"]
    fig, axes = _figure(1, 4)
    _response_panel(axes[0, 0], get_device("ecram-mo"), "a", "metal-oxide ECRAM (nominal)", ASYM_COLOR)
    _spiral_row(axes[0, 1:], tr, "ecram", ASYM_COLOR, c0, ("b", "c", "d"), "SHD, ECRAM")
    return _save(fig, out_dir, "ecram.png")


def plot_lucky_guess(result, out_dir) -> list[str]:
    tr, s = result.tables["traces"], result.summary
    fig, axes = _figure(1, 2)
    ax = axes[0, 0]
    ax.plot(tr["step"], tr["sgd_W"], color=ASYM_COLOR, lw=0.5, alpha=0.6, label="W(t), one run")
    ax.plot(tr["step"], tr["sgd_W_mean"], color=ASYM_COLOR, lw=1.5, label="mean of runs")
    ax.axhline(s["g0"], color="green", ls="--", label="W₀ (start = optimum)")
    ax.axhline(s["theory_sgd_final"], color=THEORY_COLOR, ls=":", label="continuum fixed point")
    ax.set_xlabel("update step")
    ax.set_ylabel("weight W")
    ax.legend(fontsize=7)
    _label(ax, "a", f"SGD started at W₀ (W_sym = {s['g_symmetry']:g})")
    ax = axes[0, 1]
    ax.plot(tr["step"], tr["shd_C"], color=SYM_COLOR, lw=0.5, alpha=0.6, label="C(t), one run")
    ax.plot(tr["step"], tr["shd_C_mean"], color=SYM_COLOR, lw=1.5, label="mean of runs")
    ax.axhline(s["g0"], color="green", ls="--", label="C₀ (start = optimum)")
    ax.axhline(s["theory_sgd_final"], color=THEORY_COLOR, ls=":", label="where SGD goes")
    ax.set_ylim(*axes[0, 0].get_ylim())
    ax.set_xlabel("update step")
    ax.set_ylabel("weight C")
    ax.legend(fontsize=7)
    _label(ax, "b", "SHD started at A = 0, C = C₀")
    return _save(fig, out_dir, "lucky_guess.png")


def plot_reference(result, out_dir) -> list[str]:
    b, tr = result.tables["bias"], result.tables["traces"]
    fig, axes = _figure(1, 2)
    ax = axes[0, 0]
    ax.errorbar(b["offset"], b["bias"], yerr=b["error"], fmt="o", color=ASYM_COLOR, label="simulation")
    ax.plot(b["offset"], b["predicted"], color=THEORY_COLOR, label="−κ_A E|g + ε| δ_r")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_xlabel("reference offset δ_r = A_ref − A_sym")
    ax.set_ylabel("bias ⟨C⟩ − C₀")
    ax.legend(fontsize=8)
    _label(ax, "a", "SHD bias against reference offset")
    ax = axes[0, 1]
    for key in [k for k in tr if k.startswith("C_offset_")][::2]:
        ax.plot(tr["step"], tr[key] - result.settings["g0"], lw=0.6, label=f"δ_r = {key[len('C_offset_'):]}")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_xlabel("update step")
    ax.set_ylabel("⟨C⟩ − C₀ (mean of runs)")
    ax.legend(fontsize=7)
    _label(ax, "b", "C over time, by reference offset")
    return _save(fig, out_dir, "reference.png")


def plot_variance(result, out_dir) -> list[str]:
    r = result.tables["residuals"]
    fig, axes = _figure(1, 1, 5.0, 3.8)
    ax = axes[0, 0]
    ax.errorbar(r["sigma"], r["residual"], yerr=r["error"], fmt="o", color=ASYM_COLOR, label="simulation")
    ax.plot(r["sigma"], r["theory_residual"], color=THEORY_COLOR, label="continuum fixed point (exact E|g + ε|)")
    ax.plot(r["sigma"], r["approx_residual"], color=THEORY_COLOR, ls="--", label="κ′|G₀ − G_sym|/(1 + κ′)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("data noise σ")
    ax.set_ylabel("|G_final − G₀|")
    ax.legend(fontsize=7)
    _label(ax, "S1", "SGD residual against data variance")
    return _save(fig, out_dir, "variance.png")


def plot_core_asymmetry(result, out_dir) -> list[str]:
    r, tr = result.tables["results"], result.tables["traces"]
    fig, axes = _figure(1, 2)
    ax = axes[0, 0]
    ax.errorbar(r["kappa_c"], np.abs(r["sgd_bias"]), yerr=r["sgd_error"], fmt="s-", color=ASYM_COLOR,
                label="SGD on a device of asymmetry κ")
    ax.errorbar(r["kappa_c"], np.abs(r["shd_bias"]), yerr=r["shd_error"], fmt="o-", color=SYM_COLOR,
                label="SHD, C of asymmetry κ_C (κ_A = 1)")
    ax.set_xlabel("asymmetry κ (SGD) / κ_C (SHD)")
    ax.set_ylabel("|W_final − W₀|")
    ax.legend(fontsize=7)
    _label(ax, "S2", "result against the asymmetry of C")
    ax = axes[0, 1]
    for key in [k for k in tr if k.startswith("C_kappa_")]:
        ax.plot(tr["step"], tr[key], lw=0.6, label=f"κ_C = {key[len('C_kappa_'):]}")
    ax.axhline(result.settings["g0"], color="green", ls="--", label="C₀")
    ax.set_xlabel("update step")
    ax.set_ylabel("C (one run)")
    ax.legend(fontsize=7)
    _label(ax, "b", "SHD: C over time")
    return _save(fig, out_dir, "core_asymmetry.png")


def plot_theory(result, out_dir) -> list[str]:
    st, fp, sh = result.tables["sgd_traces"], result.tables["sgd_fixed_points"], result.tables["shd_traces"]
    fig, axes = _figure(2, 2, 5.0, 3.6)
    ax = axes[0, 0]
    for key in [k for k in st if k.startswith("sim_g0_")]:
        g = key[len("sim_g0_"):]
        ax.plot(st["step"], st[key], lw=2.5, alpha=0.6, label=f"simulation, G₀ = {g}")
        ax.plot(st["step"], st[f"ode_g0_{g}"], color=THEORY_COLOR, ls="--", lw=0.8)
    ax.plot([], [], color=THEORY_COLOR, ls="--", label="continuum (solve_ivp)")
    ax.set_xlabel("update step")
    ax.set_ylabel("⟨w⟩ (mean of runs)")
    ax.legend(fontsize=6)
    _label(ax, "a", "SGD, asymmetric device: Eq. 2 vs simulation")
    ax = axes[0, 1]
    ax.errorbar(fp["g0"], np.abs(fp["simulation"] - fp["g0"]), yerr=fp["error"], fmt="o", color=ASYM_COLOR,
                label="simulation")
    ax.plot(fp["g0"], np.abs(fp["continuum"] - fp["g0"]), "k_", ms=14, label="continuum (exact E|g + ε|)")
    ax.plot(fp["g0"], np.abs(fp["approximation"] - fp["g0"]), "x", color="gray", label="(G₀ + κ′G_sym)/(1 + κ′)")
    ax.set_xlabel("optimum G₀")
    ax.set_ylabel("|G_final − G₀|")
    ax.legend(fontsize=7)
    _label(ax, "b", "SGD fixed point")
    ax = axes[1, 0]
    s = result.summary["shd"]
    c0 = result.settings["shd_c0"]
    ax.plot(sh["step"], sh["sim_C"] - c0, color=ASYM_COLOR, lw=1, label="simulation (mean of runs)")
    ax.plot(sh["step"], sh["ode_C"] - c0, color=THEORY_COLOR, ls="--", lw=1, label="continuum (Eqs. 3–4)")
    fit = s["simulation_fit"]
    ax.plot(sh["step"], fit["amplitude"] * np.exp(-fit["decay"] * sh["step"]), color="gray", lw=0.8, ls=":",
            label=f"fitted envelope, λ = {fit['decay']:.1e}")
    ax.set_xlabel("update step")
    ax.set_ylabel("C − C₀")
    ax.legend(fontsize=7)
    _label(ax, "c", "SHD: damped oscillation")
    ax = axes[1, 1]
    ax.plot(sh["sim_C"] - c0, sh["sim_A"], color=ASYM_COLOR, lw=0.7, label="simulation (mean of runs)")
    ax.plot(sh["ode_C"] - c0, sh["ode_A"], color=THEORY_COLOR, lw=0.7, ls="--", label="continuum")
    ax.set_xlabel("C − C₀")
    ax.set_ylabel("A")
    ax.legend(fontsize=7)
    _label(ax, "d", "SHD: phase portrait")
    return _save(fig, out_dir, "theory.png")
