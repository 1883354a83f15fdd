"""Training and fine-tuning style networks: configuration lives in :mod:`videostyle.config`;
here the loss networks and losses, the training photos, the one training loop used by
train, finetune and optimize, held-out evaluation, checkpoints, model cards and run logs."""
