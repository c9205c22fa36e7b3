"""Qt-free retraining: preflight, split, feature cache and the transfer-learning loop.

    config.py     TrainConfig (frozen; config.json and checkpoints hold it as a plain dict)
    preflight.py  what a labelled folder holds: counts, unreadable files, duplicates, classes too small
    split.py      stratified, seeded train/validation split; split.csv; organised train/ + test/ folders
    features.py   backbone features cached on disk by file content hash (fast mode)
    augment.py    fine-tuning augmentation (torchvision, imported only when fine-tuning)
    loop.py       train_one_epoch, evaluate, fit
    callbacks.py  EarlyStopping, Checkpointer, MetricsLogger
    run.py        a run folder start to finish: start_run, resume_run, the model artifact
    runfolder.py  reading run folders without torch (the GUI's runs list)
    cli.py        `dogbreed-desktop train`

The GUI (dogbreed_desktop/gui/train_tab.py) and the CLI call the same functions.
"""
