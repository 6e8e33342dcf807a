"""The core: the recipe (config), vocabularies, batching, the model, prediction and model directories. It names no
task: tasks come from :mod:`hierarchy.tasks`."""
