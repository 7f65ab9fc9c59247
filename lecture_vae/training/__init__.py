"""Training wing: data, ``fit``, checkpoints, recipes, run folders and the command line.

The lecture's mathematics lives one level up (``lecture_vae.bounds``, ``lecture_vae.model`` ...); this
package only uses it. Import the user-facing names from here::

    from lecture_vae.training import load, fit, evaluate, load_checkpoint

| module | what |
|---|---|
| ``data`` | ``load`` the 8x8 digits, MNIST and Fashion-MNIST as ``ImageData`` (idx files read by ``_idx``) |
| ``trainer`` | ``fit`` (Adam on the negative ELBO), ``evaluate``, ``TrainingDiverged`` |
| ``guards`` | ``fit``'s input checks, learning-rate schedules and divergence diagnosis |
| ``checkpoint`` | ``History``, ``save_checkpoint`` / ``load_checkpoint`` (atomic, ``weights_only``) |
| ``sweep`` | ``beta_sweep``: one model trained at several KL weights |
| ``recipes``, ``paper`` | named training settings; the paper-grade MNIST run and its shipped checkpoint |
| ``rundir``, ``cli`` | run folders and ``python -m lecture_vae train|evaluate`` |
"""

from .checkpoint import History, load_checkpoint, save_checkpoint
from .data import DatasetNotFoundError, ImageData, load
from .recipes import RECIPES, recipe_config
from .sweep import SweepPoint, beta_sweep
from .trainer import TrainingDiverged, evaluate, fit

__all__ = [
    "RECIPES",
    "DatasetNotFoundError",
    "History",
    "ImageData",
    "SweepPoint",
    "TrainingDiverged",
    "beta_sweep",
    "evaluate",
    "fit",
    "load",
    "load_checkpoint",
    "recipe_config",
    "save_checkpoint",
]
