import csv

import pytest

from dogbreed_desktop.core.breeds import BREED_IDS, BREEDS, IMAGENET_INDICES, breed, find_breed, readable_name


def test_120_breeds_in_imagenet_order():
    assert len(BREEDS) == 120 and len(set(BREED_IDS)) == 120
    assert list(IMAGENET_INDICES) == [i for i in range(151, 269) if i != 251] + [273, 274, 275]


@pytest.mark.parametrize(
    "label",
    ["golden_retriever", "Golden Retriever", "n02099601-golden_retriever", "GOLDEN-RETRIEVER", "golden retriever"],
)
def test_lookup_accepts_every_alias(label):
    assert breed(label).id == "golden_retriever"


def test_examples_from_the_spec():
    assert breed("german_short-haired_pointer").name == "German Short-haired Pointer"
    assert breed("n02085620-Chihuahua").id == "chihuahua"
    assert breed("Chihuahua").imagenet_index == 151
    assert breed("african_hunting_dog").imagenet_index == 275


def test_every_alias_maps_back_to_its_own_breed():
    for b in BREEDS:
        for alias in (b.id, b.name, b.stanford, b.stanford.split("-", 1)[1]):
            assert find_breed(alias) is b, alias


def test_unknown_label():
    assert find_breed("dalmatian") is None
    with pytest.raises(KeyError):
        breed("cat")
    assert readable_name("my_own_class") == "my own class"


def test_ids_match_the_kaggle_labels(real_data):
    with open(real_data / "labels.csv", newline="") as f:
        labels = {row["breed"] for row in csv.DictReader(f)}
    assert labels == set(BREED_IDS)
