"""Maximum-likelihood fits with right censoring, and a share of people who never notice.

A hop's durations come in two kinds: observed (it happened after ``t``) and right-censored (it
had not happened after ``c``, when watching stopped). A lognormal is fitted to both by maximum
likelihood, as studies report it (median and 90th percentile). For reading, some notifications
are never noticed at all (the scenario's ``missed`` share per channel), so a censored attempt is
either missed or not read yet: a mixture ("cure") model with one missed share per channel and
one shared reading time, fitted jointly.

scipy does the optimisation, the normal tails and the Kaplan-Meier estimate; the intervals come
from the observed information (the inverse Hessian of the negative log-likelihood), turned into
intervals for the median, the 90th percentile and the shares on scales where they are bounded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special, stats

__all__ = [
    "Durations",
    "LognormalFit",
    "ShareFit",
    "fit_lognormal",
    "fit_share",
    "kaplan_meier",
]

Z90 = float(stats.norm.ppf(0.9))
Z95 = float(stats.norm.ppf(0.975))
SMALLEST_S = 1e-3  # an observed duration of zero (a constant hop) is kept, just above zero
Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Durations:
    observed: tuple[float, ...]
    censored: tuple[float, ...] = ()

    @property
    def n(self) -> int:
        return len(self.observed) + len(self.censored)


@dataclass(frozen=True, slots=True)
class ShareFit:
    value: float
    low: float
    high: float
    events: int
    trials: int


@dataclass(frozen=True, slots=True)
class LognormalFit:
    median: float
    p90: float
    median_ci: tuple[float, float]
    p90_ci: tuple[float, float]
    observed: int
    censored: int
    ks: float  # largest distance between the Kaplan-Meier curve and the fitted one
    missed: Mapping[str, ShareFit]  # per group, when fitted with a missed share

    def cdf(self, t: Floats) -> Floats:
        sigma = (math.log(self.p90) - math.log(self.median)) / Z90
        if sigma <= 0:
            return np.where(t >= self.median, 1.0, 0.0)
        out: Floats = stats.norm.cdf((np.log(np.maximum(t, 1e-12)) - math.log(self.median)) / sigma)
        return out


def fit_share(events: int, trials: int) -> ShareFit:
    """A share with its Wilson 95% interval."""
    if trials <= 0:
        raise ValueError("expected at least one trial")
    ci = stats.binomtest(events, trials).proportion_ci(method="wilson")
    return ShareFit(events / trials, float(ci.low), float(ci.high), events, trials)


def _arrays(d: Durations) -> tuple[Floats, Floats]:
    obs = np.maximum(np.asarray(d.observed, dtype=np.float64), SMALLEST_S)
    cens = np.asarray([c for c in d.censored if c > 0], dtype=np.float64)
    return obs, cens


def _nll(theta: Floats, data: Sequence[tuple[Floats, Floats]], cure: bool) -> float:
    mu, sigma = theta[0], math.exp(theta[1])
    total = 0.0
    for i, (obs, cens) in enumerate(data):
        log_keep, log_miss = 0.0, -math.inf
        if cure:
            logit = theta[2 + i]
            log_keep, log_miss = -float(np.logaddexp(0.0, logit)), -float(np.logaddexp(0.0, -logit))
        if obs.size:
            log_t = np.log(obs)
            z = (log_t - mu) / sigma
            total += float(np.sum(log_keep - log_t - math.log(sigma) - 0.5 * z * z))
            total -= obs.size * 0.5 * math.log(2 * math.pi)
        if cens.size:
            log_sf = special.log_ndtr(-(np.log(cens) - mu) / sigma)
            total += float(np.sum(np.logaddexp(log_miss, log_keep + log_sf)))
    return -total


def _hessian(f: Callable[[Floats], float], x: Floats) -> Floats:
    """Central differences; steps scaled to each coordinate."""
    n = x.size
    h = 1e-4 * np.maximum(np.abs(x), 1.0)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            e_i, e_j = np.eye(n)[i] * h[i], np.eye(n)[j] * h[j]
            value = (f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j) + f(x - e_i - e_j)) / (
                4 * h[i] * h[j]
            )
            out[i, j] = out[j, i] = value
    return out


def _start(data: Sequence[tuple[Floats, Floats]], cure: bool) -> Floats:
    logs = np.log(np.concatenate([obs for obs, _ in data]))
    sigma = float(np.std(logs)) if logs.size > 1 else 1.0
    theta = [float(np.median(logs)), math.log(max(sigma, 0.05))]
    if cure:
        for obs, cens in data:
            share = (cens.size + 0.5) / (obs.size + cens.size + 1.0)
            theta.append(math.log(share / (1 - share)))
    return np.asarray(theta, dtype=np.float64)


def fit_lognormal(groups: Mapping[str, Durations], *, cure: bool = False) -> LognormalFit:
    """One lognormal over every group; with ``cure``, a missed share per group as well."""
    names = list(groups)
    data = [_arrays(groups[name]) for name in names]
    if sum(obs.size for obs, _ in data) < 2:
        raise ValueError("expected at least two observed durations to fit")

    def nll(theta: Floats) -> float:
        return _nll(theta, data, cure)

    result = optimize.minimize(nll, _start(data, cure), method="L-BFGS-B")
    theta: Floats = result.x
    try:
        cov = np.linalg.inv(_hessian(nll, theta))
    except np.linalg.LinAlgError:
        cov = np.full((theta.size, theta.size), np.nan)
    mu, sigma = float(theta[0]), math.exp(float(theta[1]))
    se_mu = math.sqrt(max(cov[0, 0], 0.0))
    # p90 = exp(mu + z sigma); its log's variance by the delta method in (mu, log sigma)
    grad = np.asarray([1.0, Z90 * sigma])
    se_p90 = math.sqrt(max(float(grad @ cov[:2, :2] @ grad), 0.0))
    log_p90 = mu + Z90 * sigma
    missed: dict[str, ShareFit] = {}
    if cure:
        for i, name in enumerate(names):
            logit, se = float(theta[2 + i]), math.sqrt(max(cov[2 + i, 2 + i], 0.0))
            obs, cens = data[i]
            missed[name] = ShareFit(
                float(special.expit(logit)),
                float(special.expit(logit - Z95 * se)),
                float(special.expit(logit + Z95 * se)),
                int(cens.size),
                int(obs.size + cens.size),
            )
    fit = LognormalFit(
        median=math.exp(mu),
        p90=math.exp(log_p90),
        median_ci=(math.exp(mu - Z95 * se_mu), math.exp(mu + Z95 * se_mu)),
        p90_ci=(math.exp(log_p90 - Z95 * se_p90), math.exp(log_p90 + Z95 * se_p90)),
        observed=sum(int(obs.size) for obs, _ in data),
        censored=sum(int(cens.size) for _, cens in data),
        ks=0.0,
        missed=missed,
    )
    ks = max(
        _ks(fit, obs, cens, missed[name].value if cure else 0.0)
        for name, (obs, cens) in zip(names, data, strict=True)
    )
    return replace(fit, ks=ks)


def _ks(fit: LognormalFit, obs: Floats, cens: Floats, missed: float) -> float:
    """Sup distance between the Kaplan-Meier estimate and (1 - missed) x the fitted CDF."""
    if obs.size == 0:
        return 0.0
    km = stats.ecdf(stats.CensoredData(uncensored=obs, right=cens)).cdf
    t = np.asarray(km.quantiles, dtype=np.float64)
    after = np.asarray(km.probabilities, dtype=np.float64)
    before = np.concatenate([[0.0], after[:-1]])
    model = (1.0 - missed) * fit.cdf(t)
    return float(max(np.max(np.abs(after - model)), np.max(np.abs(before - model))))


def kaplan_meier(d: Durations) -> list[tuple[float, float]]:
    """The Kaplan-Meier CDF as (t, F) steps, for plotting beside the fit."""
    obs, cens = _arrays(d)
    if obs.size == 0:
        return []
    km = stats.ecdf(stats.CensoredData(uncensored=obs, right=cens)).cdf
    return [(0.0, 0.0), *zip(map(float, km.quantiles), map(float, km.probabilities), strict=True)]
