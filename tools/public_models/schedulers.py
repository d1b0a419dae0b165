"""The schedule and step math of three diffusers schedulers, written here from their documented
behaviour (EulerDiscreteScheduler, DPMSolverMultistepScheduler with dpmsolver++ / midpoint / order 2,
FlowMatchEulerDiscreteScheduler). Precision follows diffusers: the beta table is float32 (torch),
the spacing arithmetic float64 (numpy), the final sigma list float32.

Each schedule is a dict {"timesteps": [...], "sigmas": [... , last]} with len(sigmas) = steps + 1.
"""
import numpy as np
import torch


def alphas_cumprod(cfg):
    T = cfg.get("num_train_timesteps", 1000)
    b0, b1 = cfg.get("beta_start", 0.0001), cfg.get("beta_end", 0.02)
    kind = cfg.get("beta_schedule", "linear")
    if kind == "scaled_linear":
        betas = torch.linspace(b0 ** 0.5, b1 ** 0.5, T, dtype=torch.float32) ** 2
    elif kind == "linear":
        betas = torch.linspace(b0, b1, T, dtype=torch.float32)
    else:
        raise ValueError(f"beta_schedule {kind} not covered")
    return torch.cumprod(1.0 - betas, dim=0)


def table_sigmas(cfg):
    """sigma_t = sqrt((1 - a_t) / a_t) for t = 0..T-1, float32 as diffusers computes it."""
    ac = alphas_cumprod(cfg)
    return np.array(((1 - ac) / ac) ** 0.5)


def sigma_to_t(sigma, log_sigmas):
    """Fractional timestep of sigma: linear interpolation in log sigma between table neighbours."""
    ls = np.log(max(sigma, 1e-10))
    n = len(log_sigmas)
    low = int(np.clip(np.sum(ls - log_sigmas >= 0) - 1, 0, n - 2)) if np.any(ls - log_sigmas >= 0) else 0
    lo, hi = log_sigmas[low], log_sigmas[low + 1]
    w = np.clip((lo - ls) / (lo - hi), 0, 1)
    return (1 - w) * low + w * (low + 1)


def karras(sig_max, sig_min, n, rho=7.0):
    ramp = np.linspace(0, 1, n)
    a, b = sig_max ** (1 / rho), sig_min ** (1 / rho)
    return (a + ramp * (b - a)) ** rho


def euler_schedule(cfg, n):
    """EulerDiscreteScheduler.set_timesteps (interpolation_type linear, final sigma zero)."""
    T = cfg.get("num_train_timesteps", 1000)
    spacing = cfg.get("timestep_spacing", "linspace")
    if spacing == "linspace":
        ts = np.linspace(0, T - 1, n, dtype=np.float32)[::-1].copy()
    elif spacing == "leading":
        ratio = T // n
        ts = (np.arange(0, n) * ratio).round()[::-1].copy().astype(np.float32)
        ts += cfg.get("steps_offset", 0)
    elif spacing == "trailing":
        ratio = T / n
        ts = np.arange(T, 0, -ratio).round().copy().astype(np.float32)
        ts -= 1
    else:
        raise ValueError(spacing)
    table = table_sigmas(cfg)
    log_table = np.log(table)
    sig = np.interp(ts, np.arange(0, len(table)), table)
    if cfg.get("use_karras_sigmas", False):
        sig = karras(float(sig[0]), float(sig[-1]), n)
        ts = np.array([sigma_to_t(s, log_table) for s in sig])
    sig = np.concatenate([sig, [0.0]]).astype(np.float32)
    return {"timesteps": ts.astype(np.float32), "sigmas": sig}


def euler_init_noise_sigma(cfg, sigmas):
    """What diffusers multiplies the initial noise with: sigma_max for linspace/trailing,
    sqrt(sigma_max^2 + 1) for leading."""
    m = float(np.max(sigmas))
    return m if cfg.get("timestep_spacing", "linspace") in ("linspace", "trailing") else (m * m + 1) ** 0.5


def dpm_schedule(cfg, n):
    """DPMSolverMultistepScheduler.set_timesteps (lambda_min_clipped -inf, final sigma zero)."""
    T = cfg.get("num_train_timesteps", 1000)
    spacing = cfg.get("timestep_spacing", "linspace")
    last = T
    if spacing == "linspace":
        ts = np.linspace(0, last - 1, n + 1).round()[::-1][:-1].copy().astype(np.int64)
    elif spacing == "leading":
        ratio = last // (n + 1)
        ts = (np.arange(0, n + 1) * ratio).round()[::-1][:-1].copy().astype(np.int64)
        ts += cfg.get("steps_offset", 0)
    elif spacing == "trailing":
        ratio = T / n
        ts = np.arange(last, 0, -ratio).round().copy().astype(np.int64)
        ts -= 1
    else:
        raise ValueError(spacing)
    table = table_sigmas(cfg)
    log_table = np.log(table)
    if cfg.get("use_karras_sigmas", False):
        sig = karras(float(table[-1]), float(table[0]), n)  # diffusers takes .item(): float64 math
        ts = np.array([sigma_to_t(s, log_table) for s in sig]).round()
    else:
        sig = np.interp(ts, np.arange(0, len(table)), table)
    sig = np.concatenate([sig, [0.0]]).astype(np.float32)
    return {"timesteps": ts.astype(np.int64), "sigmas": sig}


def flow_schedule(cfg, n):
    """FlowMatchEulerDiscreteScheduler.set_timesteps with a static shift: the training table's
    smallest sigma is already shifted, and the inference sigmas are shifted again."""
    T = cfg.get("num_train_timesteps", 1000)
    shift = cfg.get("shift", 1.0)
    train = np.linspace(1, T, T, dtype=np.float32)[::-1].copy()
    train = torch.from_numpy(train) / T
    train = shift * train / (1 + (shift - 1) * train)
    smax, smin = train[0].item(), train[-1].item()
    ts = np.linspace(smax * T, smin * T, n)
    sig = ts / T
    sig = shift * sig / (1 + (shift - 1) * sig)
    sig = torch.from_numpy(sig).to(torch.float32)
    ts = sig * T
    sig = torch.cat([sig, torch.zeros(1)])
    return {"timesteps": ts.numpy(), "sigmas": sig.numpy()}


def alpha_sigma(s):
    a = 1.0 / np.sqrt(s * s + 1.0)
    return a, s * a


class Euler:
    """Euler discrete on the VE sample (x = x0 + sigma eps); model input x / sqrt(sigma^2 + 1)."""

    def __init__(self, cfg, sched):
        self.cfg, self.s = cfg, sched
        self.pred = cfg.get("prediction_type", "epsilon")

    def init(self, noise):
        return noise * euler_init_noise_sigma(self.cfg, self.s["sigmas"])

    def model_input(self, x, i):
        s = float(self.s["sigmas"][i])
        return x / ((s * s + 1) ** 0.5)

    def step(self, out, i, x):
        s, s_next = float(self.s["sigmas"][i]), float(self.s["sigmas"][i + 1])
        if self.pred == "epsilon":
            x0 = x - s * out
        elif self.pred == "v_prediction":
            x0 = out * (-s / (s * s + 1) ** 0.5) + x / (s * s + 1)
        else:
            raise ValueError(self.pred)
        d = (x - x0) / s
        return x + d * (s_next - s)


class DpmPP2M:
    """DPM-Solver++(2M), midpoint, on the VP sample (x = alpha (x0 + sigma eps)); the first step
    (after every reset) and the step to sigma 0 are first order."""

    def __init__(self, cfg, sched):
        self.cfg, self.s = cfg, sched
        self.pred = cfg.get("prediction_type", "epsilon")
        self.history = []

    def init(self, noise):
        return noise * 1.0

    def model_input(self, x, i):
        return x

    def step(self, out, i, x):
        sig = self.s["sigmas"]
        s0 = float(sig[i])
        a0, sg0 = alpha_sigma(s0)
        if self.pred == "epsilon":
            x0 = (x - sg0 * out) / a0
        elif self.pred == "v_prediction":
            x0 = a0 * x - sg0 * out
        else:
            raise ValueError(self.pred)
        self.history.append((s0, x0))
        s1 = float(sig[i + 1])
        if s1 == 0:
            return x0
        a1, sg1 = alpha_sigma(s1)
        lam1, lam0 = np.log(a1) - np.log(sg1), np.log(a0) - np.log(sg0)
        h = lam1 - lam0
        if len(self.history) < 2:
            return (sg1 / sg0) * x - a1 * np.expm1(-h) * x0
        sp, xp = self.history[-2]
        ap, sgp = alpha_sigma(sp)
        h0 = lam0 - (np.log(ap) - np.log(sgp))
        r0 = h0 / h
        d0, d1 = x0, (1.0 / r0) * (x0 - xp)
        return (sg1 / sg0) * x - a1 * np.expm1(-h) * d0 - 0.5 * a1 * np.expm1(-h) * d1


class FlowEuler:
    """Flow-match Euler on x_t = (1 - t) x0 + t eps with a velocity network: x += (t' - t) v."""

    def __init__(self, cfg, sched):
        self.cfg, self.s = cfg, sched

    def init(self, noise):
        return noise * 1.0

    def model_input(self, x, i):
        return x

    def step(self, out, i, x):
        return x + (float(self.s["sigmas"][i + 1]) - float(self.s["sigmas"][i])) * out


SCHEDULES = {"euler": euler_schedule, "dpmpp_2m": dpm_schedule, "flow_euler": flow_schedule}
STEPPERS = {"euler": Euler, "dpmpp_2m": DpmPP2M, "flow_euler": FlowEuler}
