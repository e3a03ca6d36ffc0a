import pytest

from lesionlens.synth import load_anatomy


@pytest.fixture(scope="session")
def anatomy8():
    return load_anatomy(8)


@pytest.fixture(scope="session")
def anatomy4():
    return load_anatomy(4)
