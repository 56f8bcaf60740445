"""The composition root: the ``torchgrade`` command, which puts the engine's, the service's and
the worker's subcommands side by side, and ``serve``, which runs the API beside a worker."""
