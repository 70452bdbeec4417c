"""gvae: a categorical VAE on MNIST, trained with the Gumbel-Softmax trick.

import gvae
model = gvae.load_model()                      # the shipped default weights
codes = model.sample_prior(16)                 # (16, 20) category indices
images = model.decode_codes(codes)             # (16, 784) Bernoulli means

Names load on first use (PEP 562): `import gvae` does not import torch, so the app can
list models and draw its first page while torch (~3 s) is not loaded yet.
"""

import importlib

_EXPORTS = {
    "gvae.catalog": [
        "DEFAULT_WEIGHTS",
        "WEIGHTS_DIR",
        "WeightsEntry",
        "list_weights",
        "user_weights_dir",
    ],
    "gvae.checkpoint": ["load_card", "load_model", "save_model"],
    "gvae.config": ["ESTIMATORS", "ModelConfig", "TrainConfig"],
    "gvae.data": ["binarize", "fixed_test_set", "load_mnist", "resolve_data_dir"],
    "gvae.elbo": ["LossTerms", "bernoulli_nll", "kl_to_uniform", "negative_elbo"],
    "gvae.errors": ["CheckpointError", "GvaeError", "MissingDataError", "NonFiniteLossError"],
    "gvae.gumbel": ["gumbel_softmax", "one_hot_argmax", "sample_gumbel"],
    "gvae.model": ["CategoricalVAE"],
    "gvae.schedule": ["TemperatureSchedule"],
    "gvae.trainer": ["StepMetrics", "Trainer", "pick_device"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    """gvae.X imports the module that defines X the first time X is asked for."""
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    else:
        try:  # a submodule, e.g. gvae.checkpoint before anything imported it
            value = importlib.import_module(f"gvae.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module 'gvae' has no attribute {name!r}") from None
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
