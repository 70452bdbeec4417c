"""gvae: a categorical VAE on MNIST, trained with the Gumbel-Softmax trick.

import gvae
model = gvae.load_model()                      # the shipped default weights
codes = model.sample_prior(16)                 # (16, 20) category indices
images = model.decode_codes(codes)             # (16, 784) Bernoulli means
"""

from gvae.checkpoint import (
    DEFAULT_WEIGHTS,
    WEIGHTS_DIR,
    WeightsEntry,
    list_weights,
    load_card,
    load_model,
    save_model,
    user_weights_dir,
)
from gvae.config import ModelConfig, TrainConfig
from gvae.data import binarize, fixed_test_set, load_mnist, resolve_data_dir
from gvae.elbo import LossTerms, bernoulli_nll, kl_to_uniform, negative_elbo
from gvae.errors import CheckpointError, GvaeError, MissingDataError, NonFiniteLossError
from gvae.gumbel import ESTIMATORS, gumbel_softmax, one_hot_argmax, sample_gumbel
from gvae.model import CategoricalVAE
from gvae.schedule import TemperatureSchedule
from gvae.trainer import StepMetrics, Trainer, pick_device

__all__ = [
    "CategoricalVAE",
    "CheckpointError",
    "DEFAULT_WEIGHTS",
    "ESTIMATORS",
    "GvaeError",
    "LossTerms",
    "MissingDataError",
    "ModelConfig",
    "NonFiniteLossError",
    "StepMetrics",
    "TemperatureSchedule",
    "TrainConfig",
    "Trainer",
    "WEIGHTS_DIR",
    "WeightsEntry",
    "bernoulli_nll",
    "binarize",
    "fixed_test_set",
    "gumbel_softmax",
    "kl_to_uniform",
    "list_weights",
    "load_card",
    "load_mnist",
    "load_model",
    "negative_elbo",
    "one_hot_argmax",
    "pick_device",
    "resolve_data_dir",
    "sample_gumbel",
    "save_model",
    "user_weights_dir",
]
