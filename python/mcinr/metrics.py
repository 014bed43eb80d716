"""Error metrics as mcinr-vtk reports them (Sources/ModelDescription/Metrics.swift, SZ3's
formulas): per component and step against the component's global range, then averaged."""
import numpy as np

PSNR_CAP = 200.0  # Metrics.psnrCap: PSNR of an exact component (or of a zero range)


def global_ranges(values):
    """max − min of each component over all steps and points of a T × n × C array (float64)."""
    return (values.max(axis=(0, 1)) - values.min(axis=(0, 1))).astype(np.float64)


def evaluate(truth, pred, ranges):
    """truth, pred: T × n × C arrays; ranges: the C global ranges. Returns the means over
    components and steps of PSNR and NRMSE, the mean over components of R² pooled over all steps
    (Metrics.pooledR2), the largest |error| / range, and each component's mean PSNR."""
    ranges = np.asarray(ranges, dtype=np.float64)
    t = truth.astype(np.float64)
    err = pred.astype(np.float64) - t
    mse = np.mean(err * err, axis=1)                               # T × C
    rng = np.broadcast_to(ranges, mse.shape)
    with np.errstate(divide="ignore"):
        psnr = np.where(mse == 0, PSNR_CAP,
                        np.where(rng > 0, 20 * np.log10(np.where(rng > 0, rng, 1)) - 10 * np.log10(np.maximum(mse, 1e-300)),
                                 -10 * np.log10(np.maximum(mse, 1e-300))))
    psnr = np.minimum(psnr, PSNR_CAP)
    nrmse = np.where(rng > 0, np.sqrt(mse) / np.where(rng > 0, rng, 1), np.sqrt(mse))
    sse = np.sum(err * err, axis=(0, 1))
    sst = np.sum((t - t.mean(axis=(0, 1), keepdims=True)) ** 2, axis=(0, 1))
    r2 = np.where(sst > 0, 1 - sse / np.where(sst > 0, sst, 1), np.where(sse == 0, 1.0, 0.0))
    max_rel = float(np.max(np.abs(err).max(axis=(0, 1)) / np.where(ranges > 0, ranges, 1)))
    return dict(psnr=float(psnr.mean()), nrmse=float(nrmse.mean()), r2=float(r2.mean()), max_rel_error=max_rel,
                component_psnr=psnr.mean(axis=0).tolist())
