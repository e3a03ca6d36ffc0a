"""User-facing error types. The CLI prints them as one line on stderr and exits with code 2."""


class LesionLensInputError(ValueError):
    """Bad user input (manifest, image, option); one-line message: where, what, what to do."""


class CohortError(LesionLensInputError):
    """A cohort manifest or one of its files is refused."""
