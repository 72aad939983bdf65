"""The error of models/: bad user input (config, checkpoint, prompt, quantisation) is a ``ModelError``."""
from dsl.errors import DSLError


class ModelError(DSLError):
    """A model, checkpoint, prompt or quantisation the accelerator generator cannot take (the message says
    what is wrong and what is allowed)."""
