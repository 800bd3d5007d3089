"""The served-model contracts (signspace/serve/contracts.py) hold for every real kind and for the tests' one shared
fake (tests/factories.FakePredictor), so the fake cannot drift from what the app and the sessions ask."""

import inspect

import pytest
from factories import SHIPPED_HAND_MODEL, FakePredictor, make_sequence_model, make_tiny_vit

from signspace.serve.contracts import HandshapeModel, LiveModel, MotionModel, ServedModel
from signspace.serve.inference import ImagePredictor, Predictor, SequencePredictor


def members(protocol) -> dict[str, object]:
    """The protocol's attributes and methods (its own and inherited), by name."""
    names = set()
    for cls in protocol.__mro__:
        if cls in (object,) or not getattr(cls, "_is_protocol", False):
            continue
        names |= {n for n, v in vars(cls).items() if inspect.isfunction(v) or isinstance(v, property)}
    return {name: getattr(protocol, name, None) for name in sorted(names) if not name.startswith("_")}


def accepts(method, protocol_method) -> bool:
    """``method`` takes every parameter the protocol's does (by name, or through *args/**kwargs)."""
    wanted = [p for p in inspect.signature(protocol_method).parameters.values() if p.name != "self"]
    given = inspect.signature(method).parameters
    if any(p.kind in (p.VAR_KEYWORD,) for p in given.values()):
        return True
    return all(p.name in given for p in wanted)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    image = Predictor.from_pretrained(str(make_tiny_vit(tmp_path_factory.mktemp("vit"))), precision="fp32")
    folder = tmp_path_factory.mktemp("seq")
    make_sequence_model(folder)
    motion = Predictor.from_pretrained(str(folder), hand_model=str(SHIPPED_HAND_MODEL))
    yield {"image": image, "motion": motion}
    image.close()
    motion.close()


@pytest.mark.parametrize(
    ("fake", "protocols"),
    [
        (FakePredictor("motion"), (ServedModel, MotionModel)),
        (FakePredictor("crops"), (ServedModel, HandshapeModel)),
        (FakePredictor("frames"), (ServedModel, HandshapeModel)),
    ],
)
def test_the_shared_fake_keeps_every_contract_its_kind_keeps(fake, protocols):
    for protocol in protocols:
        assert isinstance(fake, protocol)
        for name, spec in members(protocol).items():
            assert hasattr(fake, name), f"FakePredictor lacks {protocol.__name__}.{name}"
            if inspect.isfunction(spec):
                assert accepts(getattr(fake, name), spec), f"FakePredictor.{name} vs {protocol.__name__}.{name}"


def test_every_real_kind_keeps_its_contracts(real):
    assert isinstance(real["image"], ImagePredictor) and isinstance(real["motion"], SequencePredictor)
    for predictor, protocols in (
        (real["image"], (ServedModel, HandshapeModel)),
        (real["motion"], (ServedModel, MotionModel)),
    ):
        for protocol in protocols:
            assert isinstance(predictor, protocol), f"{type(predictor).__name__} is no {protocol.__name__}"
            for name, spec in members(protocol).items():
                if inspect.isfunction(spec):
                    assert accepts(getattr(predictor, name), spec), f"{type(predictor).__name__}.{name}"
    assert set(members(LiveModel)) < set(members(MotionModel)) and set(members(LiveModel)) < set(
        members(HandshapeModel)
    )
