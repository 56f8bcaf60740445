"""torchgrade's student client: ``torchgrade-submit ASSIGNMENT FILE`` (cli.py); the main
``torchgrade submit`` command calls the same ``submit.submit_and_follow``."""

__version__ = "0.1.0"
