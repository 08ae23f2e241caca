"""Training networks on analog arrays: the config schema (:mod:`~analogtrain.training.config`),
datasets and data fetching, models, the training loop (:mod:`~analogtrain.training.loop`), its
outputs (:mod:`~analogtrain.training.report`), checkpoints and run directories."""
