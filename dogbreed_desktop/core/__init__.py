"""The Qt-free core: breeds, backbones, model artifacts, preprocessing and prediction.

Import submodules directly (`from dogbreed_desktop.core.predict.classifier import Classifier`): this package imports
nothing heavy on its own, so the window can appear before torch loads.
"""
