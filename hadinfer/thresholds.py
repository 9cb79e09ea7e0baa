"""Score thresholds with a false-alarm rate that means what it says.

A detection threshold for a false-alarm rate ``pfa`` must be the background's ``1 - pfa``
quantile, but no map says which pixels are background.  :class:`TailModel` estimates the
background's upper tail from the map itself, as peaks-over-threshold methods of
extreme-value statistics do:

* the body of every real map is background, so its ``q0`` quantile ``u`` (default
  0.9) is the background's;
* above ``u`` the log-score exceedances are modelled as exponential (a Pareto tail on
  the scores: the tails of RX-type quadratic forms on real, non-Gaussian scenes are
  polynomial, not chi-square);
* the top ``1 - q1`` of the map (default 2 %), where the anomalies live, is *censored*:
  the fit uses only the fact that those pixels exceed the ``q1`` quantile, not their
  values, so a strong anomaly cannot stretch the tail.  Anomalies still count as tail
  mass: a map with more than about 2 % anomalous pixels gets a heavier tail, hence a
  higher threshold -- fewer false alarms than asked for, never more.  (Truncating them
  instead was more robust to such maps but noisier on the labelled scenes.)

The threshold for ``pfa < 1 - q0`` is then ``u * ((1 - q0) / pfa) ** (1 / rate)``;
for a larger ``pfa`` it is the map's own ``1 - pfa`` quantile (the body).  On the twelve
labelled scenes of ``benchmarks/results/pfa/`` this realises 0.3-3x the nominal rate on
background pixels at ``pfa=0.01`` for every RX detector, where the chi-square rule of
global RX realised 6-23x.  On a Gaussian (chi-square) background the Pareto tail is
conservative: it flags fewer than ``pfa``.

Only numpy is needed (SciPy, when installed, gives :func:`chi2_isf` its exact quantile).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np

from .errors import ParameterError

#: Threshold rules of :func:`detection_threshold`.
RULES = ("tail", "quantile", "chi2")
#: The default tail model: exceedances over the 0.9 quantile, censored at the 0.98 quantile.
TAIL_START, TAIL_CENSOR = 0.9, 0.98


def check_rate(pfa, name: str = "pfa") -> float:
    """``pfa`` as a float in (0, 1).

    Raises
    ------
    ParameterError
        Not a number, NaN, or outside (0, 1).
    """
    try:
        value = float(pfa)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name}: expected a false-alarm rate in (0, 1), got {pfa!r}") from exc
    if not 0.0 < value < 1.0:  # also refuses NaN
        raise ParameterError(f"{name}: expected a false-alarm rate in (0, 1), got {pfa!r}")
    return value


def check_threshold(threshold, name: str = "threshold") -> float:
    """``threshold`` as a finite float.

    Raises
    ------
    ParameterError
        Not a number, NaN or infinite.
    """
    try:
        value = float(threshold)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name}: expected a finite number, got {threshold!r}") from exc
    if not math.isfinite(value):
        raise ParameterError(f"{name}: expected a finite number, got {threshold!r}")
    return value


def check_rule(pfa=None, threshold=None) -> tuple[float | None, float | None]:
    """Exactly one of ``pfa`` and ``threshold``, each checked; before any work is done.

    Raises
    ------
    ParameterError
        Neither or both given, ``pfa`` outside (0, 1) or NaN, ``threshold`` not finite.
    """
    if (pfa is None) == (threshold is None):
        raise ParameterError("detections: give exactly one of pfa (--pfa) and threshold (--threshold)")
    if pfa is not None:
        return check_rate(pfa), None
    return None, check_threshold(threshold)


@dataclass(frozen=True)
class TailModel:
    """The background's upper score tail, fitted on a map (see the module docstring).

    Attributes
    ----------
    start : float
        ``q0``: the tail starts at this quantile of the map.
    censor : float
        ``q1``: exceedances above this quantile are censored.
    level : float
        ``u``, the map's ``start`` quantile.
    rate : float
        Exponential rate of the exceedances (of ``log(score / u)`` in ``log`` scale,
        of ``score - u`` otherwise); ``inf`` when the tail has no spread (a constant map).
    scale : {"log", "linear"}
        ``log`` when ``u > 0`` (the usual case: a Pareto tail), ``linear`` otherwise.
    n : int
        Finite scores the model was fitted on.
    """

    start: float
    censor: float
    level: float
    rate: float
    scale: str
    n: int

    @classmethod
    def fit(cls, scores, *, start: float = TAIL_START, censor: float = TAIL_CENSOR) -> "TailModel":
        """Fit the tail to the finite values of ``scores`` (any shape; NaN = not scored).

        Parameters
        ----------
        scores : array_like
        start, censor : float
            ``0 < start < censor < 1``.

        Raises
        ------
        ParameterError
            ``start``/``censor`` out of order, or no finite score at all.
        """
        if not 0.0 < start < censor < 1.0:
            raise ParameterError(f"tail model: expected 0 < start < censor < 1, got start={start}, censor={censor}")
        values = np.asarray(scores, dtype=np.float64).ravel()
        values = values[np.isfinite(values)]
        if values.size == 0:
            raise ParameterError("tail model: the map has no finite score to fit")
        level, cut = (float(v) for v in np.quantile(values, [start, censor]))
        scale = "log" if level > 0 else "linear"
        excess = values[values > level]
        if scale == "log":
            excess, cut_excess = np.log(excess / level), math.log(cut / level) if cut > level else 0.0
        else:
            excess, cut_excess = excess - level, cut - level
        observed = int(np.count_nonzero(excess <= cut_excess))
        exposure = float(np.minimum(excess, cut_excess).sum())
        if observed == 0 or exposure <= 0.0:
            rate = math.inf  # no spread above the level: nothing in the tail to extrapolate
        else:
            rate = observed / exposure
        return cls(start=start, censor=censor, level=level, rate=rate, scale=scale, n=int(values.size))

    def isf(self, pfa: float) -> float:
        """The score a background pixel exceeds with probability ``pfa < 1 - start``."""
        tail = 1.0 - self.start
        if math.isinf(self.rate):
            return self.level
        step = math.log(tail / pfa) / self.rate
        if self.scale == "log":
            return float(self.level * math.exp(min(step, 700.0)))
        return float(self.level + step)

    def sf(self, score: float) -> float:
        """Modelled probability that a background pixel scores above ``score`` (``>= level``)."""
        tail = 1.0 - self.start
        if score <= self.level:
            return tail
        if math.isinf(self.rate):
            return 0.0
        excess = math.log(score / self.level) if self.scale == "log" else score - self.level
        return float(tail * math.exp(-self.rate * excess))

    def as_dict(self) -> dict:
        """The model's numbers, JSON-ready (an infinite rate becomes None)."""
        out = asdict(self)
        if math.isinf(out["rate"]):
            out["rate"] = None
        return out


def chi2_isf(pfa: float, dof: int) -> float:
    """Score above which a chi-square(``dof``) pixel falls with probability ``pfa``.

    SciPy's exact quantile when SciPy is installed (extra ``mat``); otherwise the
    Wilson–Hilferty cube-root approximation, within about 1 % for ``dof >= 10``.  This is
    global RX's rate under a Gaussian background, which real scenes are not (``rule="chi2"``
    flags 6-23x the nominal rate on the labelled scenes); kept for comparison.
    """
    try:
        from scipy.stats import chi2
    except ImportError:
        z = NormalDist().inv_cdf(1.0 - pfa)
        c = 2.0 / (9.0 * dof)
        return float(dof * (1.0 - c + z * np.sqrt(c)) ** 3)
    return float(chi2.isf(pfa, dof))


@dataclass(frozen=True)
class Threshold:
    """A detection threshold and how it was chosen.

    Attributes
    ----------
    value : float
        Scores strictly above it are detections (``inf``: nothing can be).
    rule : {"threshold", "tail", "quantile", "chi2"}
    pfa : float or None
        The false-alarm rate asked for.
    tail : TailModel or None
        The fitted tail (``rule="tail"`` with ``pfa < 1 - start``).
    """

    value: float
    rule: str
    pfa: float | None = None
    tail: TailModel | None = None

    def as_dict(self) -> dict:
        """JSON-ready: ``threshold``, ``rule``, ``pfa`` and ``tail_model`` (no NaN or Infinity)."""
        out = {"threshold": self.value if math.isfinite(self.value) else None, "rule": self.rule, "pfa": self.pfa}
        if self.tail is not None:
            out["tail_model"] = self.tail.as_dict()
        return out


def choose_threshold(scores, *, pfa: float | None = None, threshold: float | None = None, rule: str = "tail",
                     chi2_dof: int | None = None) -> Threshold:
    """The score threshold for detections, with the rule that chose it.

    Parameters
    ----------
    scores : ndarray
        The map; NaN where not scored.
    pfa : float, optional
        False-alarm rate in (0, 1) on background pixels.
    threshold : float, optional
        An absolute threshold instead.
    rule : {"tail", "quantile", "chi2"}
        How ``pfa`` becomes a score: ``tail`` (default) the background tail model
        :class:`TailModel`; ``quantile`` the map's own ``1 - pfa`` quantile (flags that
        share of *every* map, even one without anomalies); ``chi2`` the chi-square quantile
        with ``chi2_dof`` degrees of freedom (global RX under Gaussian statistics).

    Returns
    -------
    Threshold

    Raises
    ------
    ParameterError
        Neither or both of ``pfa`` and ``threshold``, a NaN or out-of-range value, an
        unknown rule, ``chi2`` without ``chi2_dof``.
    """
    pfa, threshold = check_rule(pfa, threshold)
    if threshold is not None:
        return Threshold(threshold, "threshold")
    if rule not in RULES:
        raise ParameterError(f"rule: expected one of {', '.join(RULES)}, got {rule!r}")
    if rule == "chi2":
        if not chi2_dof:
            raise ParameterError("rule='chi2' needs chi2_dof (global RX: its rank)")
        return Threshold(chi2_isf(pfa, int(chi2_dof)), "chi2", pfa)
    finite = np.asarray(scores, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return Threshold(math.inf, rule, pfa)
    if rule == "quantile" or pfa >= 1.0 - TAIL_START:
        return Threshold(float(np.quantile(finite, 1.0 - pfa)), rule, pfa)
    model = TailModel.fit(finite)
    return Threshold(model.isf(pfa), "tail", pfa, model)


def detection_threshold(scores, *, pfa: float | None = None, threshold: float | None = None,
                        chi2_dof: int | None = None, rule: str | None = None) -> float:
    """The threshold's value alone (see :func:`choose_threshold`).

    ``chi2_dof`` alone selects ``rule="chi2"`` (the former behaviour); otherwise the
    default rule is ``tail``.
    """
    rule = rule or ("chi2" if chi2_dof else "tail")
    return choose_threshold(scores, pfa=pfa, threshold=threshold, rule=rule, chi2_dof=chi2_dof).value
