"""Qt-free retraining: preflight, split, feature cache and the transfer-learning loop.

    config.py     TrainConfig (frozen; config.json and checkpoints hold it as a plain dict)
    preflight.py  what a labelled folder holds: counts, unreadable files, duplicates, classes too small
    split.py      stratified, seeded train/validation split; split.csv; organised train/ + test/ folders
    features.py   backbone features cached on disk by file content hash (fast mode)
    augment.py    fine-tuning augmentation (torchvision, imported only when fine-tuning)
    batches.py    (inputs, targets) batches: cached features in memory, or photos decoded ahead in threads
    epochs.py     train_one_epoch and evaluate: one pass, a metric dict back
    state.py      FitState (what callbacks see, what a checkpoint holds) and FitResult
    loop.py       fit: the epochs, from the starting point to the last, an early stop or a stop request
    callbacks.py  BestWeights, EarlyStopping, Checkpointer, MetricsLogger
    run.py        a run folder start to finish: start_run, resume_run, the model artifact
    runfolder.py  reading run folders without torch (the GUI's runs list)
    cli.py        `dogbreed-desktop train`

Heads and device/precision placement live in the core (`dogbreed_desktop.core.torch.heads`, `.precision`): the
classifier builds its network with them too. The GUI and the CLI call the same functions.

These modules and their names without a leading underscore are the public API that scripts and benchmarks use.
"""
