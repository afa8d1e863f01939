"""Probes: what the lessons measure inside a network while it trains, recorded on the device.

A probe hooks into a model (:meth:`Probe.attach`), records on every forward or backward pass into
tensors on the model's device (no host synchronisation per batch), and hands its values to the host
only when :meth:`Probe.flush` is called: :func:`~backproplab.torchnn.train.fit` does that once per
epoch. Hooks come off with :meth:`Probe.remove` (or by leaving a ``with probe.attach(model):``
block).

* :class:`GradientMagnitudes`: per layer, the mean absolute gradient of its weight, per backward pass
  (the course records the first three Linear layers of ``ANN_relu``/``ANN_sigmoid`` per batch:
  ``GradientMagnitudes(layers=3)``; one epoch at batch 64 on 60000 images gives 938 records a layer).
* :class:`ActivationStats`: per activation module and epoch, the mean and standard deviation of its
  output, the fraction of exact zeros, and (sigmoid/tanh) the fraction saturated.
* :class:`DeadUnits`: per ReLU module, the fraction of units that output 0 for every sample seen
  since the last flush (a unit is a feature of a ``[N, F]`` output or a channel of ``[N, C, H, W]``).

Standalone use::

    probe = GradientMagnitudes(layers=3).attach(model)
    for xb, yb in batches:
        ...; loss.backward(); optimizer.step()
    probe.remove()
    probe.records["fc1"]   # list of floats, one per backward pass
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from backproplab.errors import InputError
from backproplab.torchnn.distributed import all_reduce_sum

__all__ = ["Probe", "GradientMagnitudes", "ActivationStats", "DeadUnits", "unwrap_model"]

_SATURATING = (nn.Sigmoid, nn.Tanh)
_ACTIVATIONS = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.GELU, nn.ELU, nn.SiLU, nn.Softplus)


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside a ``DistributedDataParallel``/``DataParallel``/compiled wrapper."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if isinstance(inner, nn.Module):
            model = inner
        else:
            return model


class Probe(abc.ABC):
    """Base class: hooks in, device-side recording, host read once per :meth:`flush`.

    Subclasses implement ``_install(model)`` (returning hook handles) and ``_collect()`` (returning
    this interval's values as ``{key: list of floats}`` and resetting the device accumulators).
    """

    name = "probe"

    def __init__(self) -> None:
        self._handles: list[Any] = []
        self._active = True
        #: Set by ``fit`` under DDP (:class:`ProbeSet`): records are of all ranks together, the same on each.
        self.over_ranks = False
        self._records: dict[str, list[float]] = {}
        self.model: nn.Module | None = None

    # -- life cycle --------------------------------------------------------------------------
    def attach(self, model: nn.Module) -> Probe:
        """Install the hooks on ``model`` (wrappers such as DDP are looked through); returns self."""
        if self._handles:
            raise InputError(f"{type(self).__name__} is already attached; call remove() first")
        self.model = unwrap_model(model)
        self._handles = list(self._install(self.model))
        return self

    def remove(self) -> None:
        """Remove every hook this probe installed (recorded values are kept)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    @property
    def attached(self) -> bool:
        return bool(self._handles)

    def __enter__(self) -> Probe:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Within this block the hooks record nothing (``fit`` pauses probes while evaluating)."""
        previous, self._active = self._active, False
        try:
            yield
        finally:
            self._active = previous

    # -- values ---------------------------------------------------------------------------------
    def flush(self) -> dict[str, list[float]]:
        """Read what was recorded since the last flush to the host (one sync) and return it."""
        new = self._collect()
        for key, values in new.items():
            self._records.setdefault(key, []).extend(values)
        return new

    @property
    def records(self) -> dict[str, list[float]]:
        """Everything recorded so far, ``{key: list of floats}`` (flushes pending values first)."""
        self.flush()
        return {k: list(v) for k, v in self._records.items()}

    def after_backward(self) -> None:  # noqa: B027 - a hook a probe may fill in, not one it must
        """Called by a training loop after each backward pass, once the gradients are final (averaged over
        the ranks under DDP); a probe that reads gradients then reads them here. Nothing by default."""

    def load_records(self, records: dict[str, list[float]]) -> None:
        """Replace the recorded values (used when ``fit`` resumes from a checkpoint)."""
        self._records = {k: list(v) for k, v in records.items()}

    @abc.abstractmethod
    def _install(self, model: nn.Module) -> list[Any]:
        """Register hooks on ``model``; return their handles."""

    @abc.abstractmethod
    def _collect(self) -> dict[str, list[float]]:
        """This interval's values ``{key: [floats]}``; reset the device accumulators."""


def _select_modules(model: nn.Module, layers: Any, default_types: tuple[type[nn.Module], ...],
                    what: str) -> list[tuple[str, nn.Module]]:
    named = [(n, m) for n, m in model.named_modules() if n and isinstance(m, default_types)]
    if layers is None or layers == "all":
        chosen = named
    elif isinstance(layers, int) and not isinstance(layers, bool):
        if layers < 1:
            raise InputError(f"layers must be a positive count, 'all' or a list of module names, got {layers}")
        chosen = named[:layers]
    elif isinstance(layers, (list, tuple)):
        modules = dict(model.named_modules())
        missing = [n for n in layers if n not in modules]
        if missing:
            raise InputError(f"layers names modules the model does not have: {missing}; "
                             f"{what} modules are {[n for n, _ in named]}")
        chosen = [(n, modules[n]) for n in layers]
    else:
        raise InputError(f"layers must be None, 'all', a count or a list of module names, got {layers!r}")
    if not chosen:
        raise InputError(f"the model has no {what} modules to probe (looked for {[t.__name__ for t in default_types]})")
    return chosen


class GradientMagnitudes(Probe):
    """Mean absolute gradient of each selected layer's weight, one record per backward pass.

    Parameters
    ----------
    layers : None, "all", int or list of str
        Which layers: all modules with a ``weight`` among Linear/Conv (default), the first ``n`` of
        them (``layers=3``: the course's first three Linear layers), or module names.

    The record for a backward pass is ``weight.grad.abs().mean()`` read after the gradient has been
    accumulated, exactly what the course's ``layer.weight.grad.abs().mean().item()`` reads, but kept
    as a device tensor until :meth:`flush`. Under DDP the gradient accumulated is the rank's own, before
    the average over ranks: with ``over_ranks`` (what ``fit`` sets under DDP) the hook records nothing
    and :meth:`after_backward`, called once backward has returned, reads the averaged gradient, the one
    the step uses, the same on every rank.
    """

    name = "grad_magnitudes"

    def __init__(self, layers: None | str | int | Sequence[str] = None):
        super().__init__()
        self.layers = layers
        self._pending: dict[str, list[torch.Tensor]] = {}
        self._weights: list[tuple[torch.Tensor, Any]] = []  # each selected weight and its recorder
        self.layer_names: list[str] = []

    def _install(self, model: nn.Module) -> list[Any]:
        chosen = _select_modules(model, self.layers, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d),
                                 "Linear/Conv")
        handles = []
        self.layer_names = [n for n, _ in chosen]
        for name, module in chosen:
            weight = getattr(module, "weight", None)
            if not isinstance(weight, torch.Tensor) or not weight.requires_grad:
                raise InputError(f"layer {name!r} has no trainable weight to record")
            pending = self._pending.setdefault(name, [])
            recorder = self._hook(pending)
            self._weights.append((weight, recorder))
            handles.append(weight.register_post_accumulate_grad_hook(
                lambda param, record=recorder: None if self.over_ranks else record(param)))
        return handles

    def remove(self) -> None:
        super().remove()
        self._weights = []

    def after_backward(self) -> None:
        if self.over_ranks:
            for weight, record in self._weights:
                record(weight)

    def _hook(self, pending: list[torch.Tensor]):
        scratch: list[torch.Tensor] = []

        def record(param: torch.Tensor) -> None:
            if not self._active or param.grad is None:
                return
            grad = param.grad.detach()
            # |grad| goes into a buffer kept per layer: inside backward a fresh weight-sized
            # temporary would be new memory every batch (page faults cost more than the abs itself)
            if not scratch or scratch[0].shape != grad.shape or scratch[0].dtype != grad.dtype \
                    or scratch[0].device != grad.device:
                scratch[:] = [torch.empty_like(grad, memory_format=torch.contiguous_format)]
            pending.append(torch.abs(grad, out=scratch[0]).mean())
        return record

    def _collect(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for name, pending in self._pending.items():
            out[name] = torch.stack(pending).tolist() if pending else []
            pending.clear()
        return out


class _ForwardProbe(Probe):
    default_types: tuple[type[nn.Module], ...] = _ACTIVATIONS
    what = "activation"

    def __init__(self, layers: None | str | int | Sequence[str] = None):
        super().__init__()
        self.layers = layers
        self.layer_names: list[str] = []
        self._state: dict[str, dict[str, torch.Tensor]] = {}

    def _install(self, model: nn.Module) -> list[Any]:
        chosen = _select_modules(model, self.layers, self.default_types, self.what)
        self.layer_names = [n for n, _ in chosen]
        handles = []
        for name, module in chosen:
            def hook(mod: nn.Module, inputs: Any, output: torch.Tensor, _name: str = name) -> None:
                if self._active and isinstance(output, torch.Tensor):
                    with torch.no_grad():
                        self._observe(_name, mod, output.detach())
            handles.append(module.register_forward_hook(hook))
        return handles

    @abc.abstractmethod
    def _observe(self, name: str, module: nn.Module, output: torch.Tensor) -> None:
        """Accumulate one forward output of module ``name`` on the device."""


class ActivationStats(_ForwardProbe):
    """Per activation module, per flush (epoch): mean, std, zero fraction, saturated fraction.

    Parameters
    ----------
    layers : None, "all", int or list of str
        Activation modules to watch (default: every ReLU/Sigmoid/Tanh/... module).
    saturation : float
        Sigmoid outputs within ``saturation`` of 0 or 1 (tanh: of ±1) count as saturated.

    Keys of the records: ``"<layer>.mean"``, ``"<layer>.std"``, ``"<layer>.zero_fraction"`` and, for
    sigmoid/tanh, ``"<layer>.saturated_fraction"``, one value per flush.
    """

    name = "activation_stats"

    def __init__(self, layers: None | str | int | Sequence[str] = None, saturation: float = 0.01):
        super().__init__(layers)
        if not 0.0 < saturation < 0.5:
            raise InputError(f"saturation must be in (0, 0.5), got {saturation!r}")
        self.saturation = float(saturation)
        self._saturating: dict[str, bool] = {}

    def _observe(self, name: str, module: nn.Module, output: torch.Tensor) -> None:
        out = output.float()
        st = self._state.get(name)
        if st is None:
            zero = torch.zeros((), dtype=torch.float64, device=out.device)
            st = self._state[name] = {"sum": zero.clone(), "sumsq": zero.clone(), "count": zero.clone(),
                                      "zeros": zero.clone(), "saturated": zero.clone()}
        st["sum"] += out.sum(dtype=torch.float64)
        st["sumsq"] += (out * out).sum(dtype=torch.float64)
        st["count"] += out.numel()
        st["zeros"] += (out == 0).sum()
        if isinstance(module, nn.Sigmoid):
            st["saturated"] += ((out < self.saturation) | (out > 1 - self.saturation)).sum()
        elif isinstance(module, nn.Tanh):
            st["saturated"] += (out.abs() > 1 - self.saturation).sum()
        self._saturating[name] = isinstance(module, _SATURATING)

    def _collect(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for name, st in self._state.items():
            sums = torch.stack([st["sum"], st["sumsq"], st["count"], st["zeros"], st["saturated"]])
            s, sq, n, z, sat = (all_reduce_sum(sums) if self.over_ranks else sums).tolist()
            if n > 0:
                mean = s / n
                out[f"{name}.mean"] = [mean]
                out[f"{name}.std"] = [max(sq / n - mean * mean, 0.0) ** 0.5]
                out[f"{name}.zero_fraction"] = [z / n]
                if self._saturating.get(name, False):
                    out[f"{name}.saturated_fraction"] = [sat / n]
        self._state.clear()
        return out


class DeadUnits(_ForwardProbe):
    """Fraction of each ReLU module's units that output 0 for every sample seen since the last flush.

    A unit is one feature of a ``[N, F]`` output, or one channel of a ``[N, C, ...]`` output (dead
    when it is 0 at every position of every sample). Records: ``"<layer>"`` per ReLU module and
    ``"all"`` over all their units, one value per flush (``fit``: per epoch, training batches only).
    """

    name = "dead_units"
    default_types = (nn.ReLU,)
    what = "ReLU"

    def _observe(self, name: str, module: nn.Module, output: torch.Tensor) -> None:
        fired = output > 0
        fired = fired.any(dim=0) if fired.ndim <= 2 else fired.transpose(0, 1).flatten(1).any(dim=1)
        st = self._state.get(name)
        if st is None:
            self._state[name] = {"alive": fired.clone()}
        else:
            st["alive"] |= fired

    def _collect(self) -> dict[str, list[float]]:
        if not self._state:
            return {}
        names = list(self._state)
        alive = [self._state[n]["alive"] for n in names]
        if self.over_ranks:  # alive on any rank's samples is alive
            alive = [all_reduce_sum(a.to(torch.int32)) > 0 for a in alive]
        dead = torch.stack([(~a).sum() for a in alive] + [torch.tensor(a.numel(), device=a.device)
                                                          for a in alive]).tolist()
        k = len(names)
        out = {n: [dead[i] / dead[k + i]] for i, n in enumerate(names)}
        out["all"] = [sum(dead[:k]) / sum(dead[k:])]
        self._state.clear()
        return out


class PausedProbes:
    """Pause every probe of ``probes`` for a ``with`` block (entered in order, left in reverse)."""

    def __init__(self, probes: Sequence[Probe]):
        self.contexts = [p.paused() for p in probes]

    def __enter__(self) -> None:
        for c in self.contexts:
            c.__enter__()

    def __exit__(self, *exc) -> None:
        for c in reversed(self.contexts):
            c.__exit__(*exc)



class ProbeSet:
    """The probes add-on of :func:`~backproplab.torchnn.train.fit`, for one call.

    As a context manager it attaches the probes not yet attached (to ``module``) and removes those
    again on the way out; :meth:`paused` pauses them all (validation is not training);
    :meth:`flush_into` moves each probe's records of the epoch into ``history.probes[probe.name]``.
    """

    def __init__(self, probes: Sequence[Probe], module: nn.Module, *, distributed: bool = False):
        self.probes, self.module, self.distributed = list(probes), module, distributed
        self._attached: list[Probe] = []

    def __enter__(self) -> ProbeSet:
        self._attached = [p for p in self.probes if not p.attached]
        for p in self._attached:
            p.attach(self.module)
        for p in self.probes:  # under DDP: what all ranks saw, the same history on each (flushed on all)
            p.over_ranks = self.distributed
        return self

    def __exit__(self, *exc: Any) -> None:
        for p in self.probes:
            p.over_ranks = False
        for p in self._attached:
            p.remove()

    def after_backward(self) -> None:
        """Each probe's :meth:`Probe.after_backward` (the training loop calls it after each backward)."""
        for p in self.probes:
            p.after_backward()

    def paused(self) -> PausedProbes:
        return PausedProbes(self.probes)

    def flush_into(self, history: Any) -> None:
        for p in self.probes:
            slot = history.probes.setdefault(p.name, {})
            for key, values in p.flush().items():
                slot.setdefault(key, []).extend(values)
