"""Reference ids of the hand-written Unigram fixture (UnigramTokenizerTest.FIXTURE) under every
Metaspace variant (prepend_scheme always/first/never x split true/false, and WhitespaceSplit +
Metaspace), from the HuggingFace `tokenizers` library (0.23.2 used). No network.

Usage: python make_unigram_variant_cases.py UnigramTokenizerTest.java OUT.json
"""
import json
import sys
import tempfile

from tokenizers import Tokenizer

PROMPTS = ["a cat", "Cat  HAT", "chat", "cax", "xyz cat", "a</s>cat", "", "  a cat  ", "a\tcat", "cat</s>", "</s>",
           "\uff43\uff41\uff54 hat", "\u216b cat", "a cat hat chat cax"]


def fixture(java_source):
    src = open(java_source, encoding="utf-8").read()
    text = src[src.index('"""') + 3:]
    return json.loads(text[:text.index('"""')].replace("\\u2581", "\u2581"))


def main(java_source, out):
    base = fixture(java_source)
    variants = {}
    for scheme in ["always", "first", "never"]:
        for split in [True, False]:
            d = json.loads(json.dumps(base))
            d["pre_tokenizer"].update(prepend_scheme=scheme, split=split)
            d["decoder"].update(prepend_scheme=scheme, split=split)
            variants[f"{scheme}_{str(split).lower()}"] = d
    d = json.loads(json.dumps(base))
    d["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, base["pre_tokenizer"]]}
    variants["whitespace_split_then_metaspace"] = d
    result = {}
    for name, d in variants.items():
        with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as f:
            json.dump(d, f, ensure_ascii=False)
            f.flush()
            t = Tokenizer.from_file(f.name)
        result[name] = {"pre_tokenizer": d["pre_tokenizer"], "cases": [{"text": p, "ids": t.encode(p).ids} for p in PROMPTS]}
    with open(out, "w", encoding="ascii") as f:
        json.dump(result, f, ensure_ascii=True, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
