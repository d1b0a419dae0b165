"""Builds a small T5-style Unigram tokenizer.json and its reference ids, as test data for ediff-core.

A SentencePiece Unigram model (nmt_nfkc normalization, T5's special-token layout pad=0 eos=1 unk=2)
is trained on a small caption corpus, converted to the HuggingFace tokenizer.json layout T5 uses
(Precompiled charsmap + Replace(" {2,}" -> " "), Metaspace, TemplateProcessing "$A </s>"), and the
HuggingFace `tokenizers` library encodes the prompts below to give reference ids.

Usage (no network): python make_unigram_cases.py OUT_DIR
Writes OUT_DIR/t5_mini_tokenizer.json and OUT_DIR/t5_mini_cases.json.
Needs: tokenizers (0.23.2 used), sentencepiece (0.2.2 used, with protobuf).
"""
import io
import json
import sys

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, decoders, Regex, AddedToken

CORPUS = [
    "a photograph of an astronaut riding a horse",
    "a cute cat sitting on a windowsill, digital art",
    "portrait of a woman, oil painting, highly detailed, 4k",
    "a red fox in the snow at sunset",
    "a small wooden cabin in the mountains",
    "an oil painting of a lighthouse on a rocky coast",
    "a bowl of ramen with chopsticks, studio lighting",
    "the quick brown fox jumps over the lazy dog",
    "a watercolor of a village by the river",
    "a futuristic city skyline at night with neon lights",
    "a close-up photo of a bee on a sunflower",
    "two dogs playing in a park on a sunny day",
    "a castle on a hill surrounded by fog",
    "a plate of pasta with tomato sauce and basil",
    "an astronaut floating in space above the earth",
    "a horse running on the beach at dawn",
    "café au lait and croissants on a table",
    "naïve résumé from zürich",
    "the cat and the hat",
    "a painting in the style of van gogh",
]

PROMPTS = [
    "a photograph of an astronaut riding a horse",
    "A cute cat sitting on a windowsill, digital art",
    "portrait of a woman, oil painting, highly detailed, 4k",
    "the quick brown fox",
    "a    lot   of     spaces",
    "   leading and trailing whitespace   ",
    "tabs\tand\nnewlines",
    "café au lait",
    "ｆｕｌｌｗｉｄｔｈ ｃａｔ",
    "ﬁne ligature",
    "東京タワー",
    "a cat 🐱 and a rocket 🚀",
    "qxzqxz unknown letters",
    "horse</s>cat",
    "",
    "a",
    "astronaut astronauts astro",
]


def main(out_dir):
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 5), model_writer=model, vocab_size=200, model_type="unigram",
        normalization_rule_name="nmt_nfkc", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        character_coverage=1.0, hard_vocab_limit=False, num_threads=1, seed_sentencepiece_size=2000)
    proto = pb.ModelProto()
    proto.ParseFromString(model.getvalue())
    vocab = [(p.piece, p.score) for p in proto.pieces]
    # SentencePiece gives control/unknown pieces score 0; T5's tokenizer.json keeps them so
    tok = Tokenizer(models.Unigram(vocab, unk_id=2, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(proto.normalizer_spec.precompiled_charsmap),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                       special_tokens=[("</s>", 1)])
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.add_special_tokens([AddedToken(vocab[i][0], special=True, normalized=False) for i in range(3)])
    tok.save(f"{out_dir}/t5_mini_tokenizer.json")
    cases = [{"text": p, "ids": tok.encode(p).ids} for p in PROMPTS]
    with open(f"{out_dir}/t5_mini_cases.json", "w", encoding="ascii") as f:
        json.dump(cases, f, ensure_ascii=True, indent=1)
    for c in cases:
        print(repr(c["text"]), tok.encode(c["text"]).tokens)


if __name__ == "__main__":
    main(sys.argv[1])
