"""The 120 Stanford Dogs breeds: Kaggle id, readable name, Stanford folder and ImageNet-1k class index.

The order is ImageNet's (WordNet id order), which is also the row order of an ImageNet head's dog classes:
indices 151-268 without 251 (dalmatian, not in Stanford Dogs), then 273-275.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (WordNet id, Stanford Dogs name, ImageNet-1k index), in ImageNet order.
_STANFORD = """
n02085620 Chihuahua 151|n02085782 Japanese_spaniel 152|n02085936 Maltese_dog 153|n02086079 Pekinese 154
n02086240 Shih-Tzu 155|n02086646 Blenheim_spaniel 156|n02086910 papillon 157|n02087046 toy_terrier 158
n02087394 Rhodesian_ridgeback 159|n02088094 Afghan_hound 160|n02088238 basset 161|n02088364 beagle 162
n02088466 bloodhound 163|n02088632 bluetick 164|n02089078 black-and-tan_coonhound 165
n02089867 Walker_hound 166|n02089973 English_foxhound 167|n02090379 redbone 168|n02090622 borzoi 169
n02090721 Irish_wolfhound 170|n02091032 Italian_greyhound 171|n02091134 whippet 172
n02091244 Ibizan_hound 173|n02091467 Norwegian_elkhound 174|n02091635 otterhound 175|n02091831 Saluki 176
n02092002 Scottish_deerhound 177|n02092339 Weimaraner 178|n02093256 Staffordshire_bullterrier 179
n02093428 American_Staffordshire_terrier 180|n02093647 Bedlington_terrier 181
n02093754 Border_terrier 182|n02093859 Kerry_blue_terrier 183|n02093991 Irish_terrier 184
n02094114 Norfolk_terrier 185|n02094258 Norwich_terrier 186|n02094433 Yorkshire_terrier 187
n02095314 wire-haired_fox_terrier 188|n02095570 Lakeland_terrier 189|n02095889 Sealyham_terrier 190
n02096051 Airedale 191|n02096177 cairn 192|n02096294 Australian_terrier 193|n02096437 Dandie_Dinmont 194
n02096585 Boston_bull 195|n02097047 miniature_schnauzer 196|n02097130 giant_schnauzer 197
n02097209 standard_schnauzer 198|n02097298 Scotch_terrier 199|n02097474 Tibetan_terrier 200
n02097658 silky_terrier 201|n02098105 soft-coated_wheaten_terrier 202
n02098286 West_Highland_white_terrier 203|n02098413 Lhasa 204|n02099267 flat-coated_retriever 205
n02099429 curly-coated_retriever 206|n02099601 golden_retriever 207|n02099712 Labrador_retriever 208
n02099849 Chesapeake_Bay_retriever 209|n02100236 German_short-haired_pointer 210|n02100583 vizsla 211
n02100735 English_setter 212|n02100877 Irish_setter 213|n02101006 Gordon_setter 214
n02101388 Brittany_spaniel 215|n02101556 clumber 216|n02102040 English_springer 217
n02102177 Welsh_springer_spaniel 218|n02102318 cocker_spaniel 219|n02102480 Sussex_spaniel 220
n02102973 Irish_water_spaniel 221|n02104029 kuvasz 222|n02104365 schipperke 223|n02105056 groenendael 224
n02105162 malinois 225|n02105251 briard 226|n02105412 kelpie 227|n02105505 komondor 228
n02105641 Old_English_sheepdog 229|n02105855 Shetland_sheepdog 230|n02106030 collie 231
n02106166 Border_collie 232|n02106382 Bouvier_des_Flandres 233|n02106550 Rottweiler 234
n02106662 German_shepherd 235|n02107142 Doberman 236|n02107312 miniature_pinscher 237
n02107574 Greater_Swiss_Mountain_dog 238|n02107683 Bernese_mountain_dog 239|n02107908 Appenzeller 240
n02108000 EntleBucher 241|n02108089 boxer 242|n02108422 bull_mastiff 243|n02108551 Tibetan_mastiff 244
n02108915 French_bulldog 245|n02109047 Great_Dane 246|n02109525 Saint_Bernard 247|n02109961 Eskimo_dog 248
n02110063 malamute 249|n02110185 Siberian_husky 250|n02110627 affenpinscher 252|n02110806 basenji 253
n02110958 pug 254|n02111129 Leonberg 255|n02111277 Newfoundland 256|n02111500 Great_Pyrenees 257
n02111889 Samoyed 258|n02112018 Pomeranian 259|n02112137 chow 260|n02112350 keeshond 261
n02112706 Brabancon_griffon 262|n02113023 Pembroke 263|n02113186 Cardigan 264|n02113624 toy_poodle 265
n02113712 miniature_poodle 266|n02113799 standard_poodle 267|n02113978 Mexican_hairless 268
n02115641 dingo 273|n02115913 dhole 274|n02116738 African_hunting_dog 275
"""

# Where the WordNet name is not what a dog owner would call the breed.
_READABLE_OVERRIDES = {
    "basset": "Basset Hound",
    "boston_bull": "Boston Terrier",
    "cardigan": "Cardigan Welsh Corgi",
    "chow": "Chow Chow",
    "lhasa": "Lhasa Apso",
    "malamute": "Alaskan Malamute",
    "pembroke": "Pembroke Welsh Corgi",
}


@dataclass(frozen=True)
class Breed:
    id: str  # Kaggle label, e.g. "golden_retriever"
    name: str  # readable, e.g. "Golden Retriever"
    stanford: str  # Stanford Dogs folder, e.g. "n02099601-golden_retriever"
    imagenet_index: int

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every label that names this breed: Kaggle id, readable name, Stanford folder, its name, WordNet id."""
        wnid, name = self.stanford.split("-", 1)
        return (self.id, self.name, self.stanford, name, wnid)


def _readable(stanford_name: str) -> str:
    words = stanford_name.split("_")
    return " ".join(w[:1].upper() + w[1:] for w in words)


def _parse() -> tuple[Breed, ...]:
    breeds = []
    for entry in re.split(r"[|\n]", _STANFORD.strip()):
        wnid, name, index = entry.split()
        kaggle = name.lower()
        breeds.append(
            Breed(
                id=kaggle,
                name=_READABLE_OVERRIDES.get(kaggle, _readable(name)),
                stanford=f"{wnid}-{name}",
                imagenet_index=int(index),
            )
        )
    return tuple(breeds)


BREEDS: tuple[Breed, ...] = _parse()
BREED_IDS: tuple[str, ...] = tuple(b.id for b in BREEDS)
IMAGENET_INDICES: tuple[int, ...] = tuple(b.imagenet_index for b in BREEDS)


def _key(text: str) -> str:
    # "German Short-haired Pointer", "german_short-haired_pointer" and "GERMAN SHORT HAIRED POINTER" agree.
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


_LOOKUP: dict[str, Breed] = {}
for _b in BREEDS:
    for _alias in _b.aliases:
        _LOOKUP.setdefault(_key(_alias), _b)


def find_breed(label: str) -> Breed | None:
    """The breed for a Kaggle id, Stanford folder name, WordNet id or readable name; None if unknown."""
    return _LOOKUP.get(_key(label))


def breed(label: str) -> Breed:
    found = find_breed(label)
    if found is None:
        raise KeyError(f"unknown breed {label!r}")
    return found


def readable_name(label: str) -> str:
    """A display name for any class label: the breed's name, or the label itself tidied for custom classes."""
    found = find_breed(label)
    return found.name if found else label.replace("_", " ")
