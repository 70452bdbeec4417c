"""The exceptions gvae raises on bad input: each says what went wrong and what to do."""


class GvaeError(Exception):
    """Base class of every error gvae raises on purpose."""


class CheckpointError(GvaeError):
    """A weights file that cannot be loaded: missing, corrupt, foreign or mismatched."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class MissingDataError(GvaeError):
    """MNIST is not on disk and could not be downloaded."""


class NonFiniteLossError(GvaeError):
    """Training produced a NaN or infinite loss or gradient; the last good state is kept."""


class DataFileError(MissingDataError):
    """An MNIST file is there but unusable (wrong size, header or checksum); says which."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")
