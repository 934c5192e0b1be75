"""Structural latent x_t0: DDIM inversion to t0 and the reverse pass, on the official grids.

Official behaviour (``mode="official"``, default): inversion runs ``int(N_inv·t0/T)`` steps on the N_inv-point grid
and ends exactly at t0 (the last step targets ᾱ(t0)); the reverse pass then starts at grid index
``N_rev − 1 − int(N_rev·(1 − t0/T))`` of the N_rev-point grid, i.e. at t0 − T/N_rev (480 at inference, 450 in
training for t0 = 500), so the first reverse step treats x_t0 as if it lay at a slightly lower noise level.

``mode="consistent"`` starts the reverse pass at the grid index whose timestep is where inversion ended (t0 on the
official grids; one more step: 500 → 480 → ... → 0). That timestep must lie on the reverse grid.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.errors import ConfigError
from osasis.diffusion.schedule import T_DEFAULT, Schedule, ddim_timesteps

#: (inversion grid size, reverse grid size) of the official code per phase.
OFFICIAL_GRIDS = {"inference": (100, 50), "training": (50, 20)}
MODES = ("official", "consistent")


@dataclass(frozen=True)
class StructuralSchedule:
    """Grid sizes and step ranges of one inversion + reverse pass."""

    inversion_grid: int
    inversion_steps: int
    reverse_grid: int
    reverse_start: int
    num_timesteps: int = T_DEFAULT

    @property
    def inversion_indices(self) -> list[int]:
        return list(range(self.inversion_steps))

    @property
    def reverse_indices(self) -> list[int]:
        return list(range(self.reverse_start, -1, -1))

    def inversion_schedule(self) -> Schedule:
        return Schedule.ddim(self.inversion_grid, self.num_timesteps)

    def reverse_schedule(self) -> Schedule:
        return Schedule.ddim(self.reverse_grid, self.num_timesteps)

    @property
    def t_end_inversion(self) -> int:
        grid = ddim_timesteps(self.inversion_grid, self.num_timesteps)
        return grid[self.inversion_steps] if self.inversion_steps < len(grid) else self.num_timesteps

    @property
    def t_start_reverse(self) -> int:
        return ddim_timesteps(self.reverse_grid, self.num_timesteps)[self.reverse_start]


def structural_schedule(phase: str = "inference", t0: int = 500, mode: str = "official",
                        grids: tuple[int, int] | None = None,
                        num_timesteps: int = T_DEFAULT) -> StructuralSchedule:  # fmt: skip
    """The schedule for ``phase`` (``inference``: 100/50 grids, ``training``: 50/20) or explicit ``grids``."""
    if mode not in MODES:
        raise ConfigError(f"unknown structural schedule mode {mode!r}; use one of {MODES}")
    if grids is None:
        if phase not in OFFICIAL_GRIDS:
            raise ConfigError(f"unknown phase {phase!r}; use one of {tuple(OFFICIAL_GRIDS)}")
        grids = OFFICIAL_GRIDS[phase]
    n_inv, n_rev = grids
    if not 0 < t0 <= num_timesteps:
        raise ConfigError(f"t0 must be in (0, {num_timesteps}], got {t0}")
    ratio = t0 / num_timesteps
    inv_steps = int(n_inv * ratio)
    if mode == "official":
        start = n_rev - 1 - int(n_rev * (1 - ratio))
    else:
        inv_grid = ddim_timesteps(n_inv, num_timesteps)
        t_end = inv_grid[inv_steps] if inv_steps < len(inv_grid) else num_timesteps
        grid = ddim_timesteps(n_rev, num_timesteps)
        if t_end not in grid:
            raise ConfigError(f"consistent mode needs the inversion end t={t_end} on the {n_rev}-step reverse grid")
        start = grid.index(t_end)
    if inv_steps < 1 or start < 0:
        raise ConfigError(f"t0={t0} is too small for grids {grids}")
    return StructuralSchedule(n_inv, inv_steps, n_rev, start, num_timesteps)
